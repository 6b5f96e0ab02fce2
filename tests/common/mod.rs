//! Test servers: the real shardis binary (or redis-server, for differential
//! tests) on a free port in a temp dir, killed on drop.
#![allow(dead_code)]

pub mod cluster;
pub mod compat;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_shardis-server");

pub fn free_port() -> u16 {
    // Ports above 10000 are avoided: a cluster node also needs port+10000.
    for _ in 0..100 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let p = l.local_addr().expect("addr").port();
        if p < 55000 && TcpListener::bind(("127.0.0.1", p + 10000)).is_ok() {
            return p;
        }
    }
    panic!("no free port");
}

pub struct Server {
    pub port: u16,
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
}

impl Server {
    /// Starts shardis with `args` (after --port/--dir/--bind defaults).
    pub fn start(args: &[&str]) -> Server {
        Self::start_bin(BIN, args, true)
    }

    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Server {
        Self::spawn(BIN, dir, args, true)
    }

    /// Starts shardis again in `dir` on `port` (a restart: cluster nodes
    /// keep their address).
    pub fn restart_in(dir: tempfile::TempDir, port: u16, args: &[&str]) -> Server {
        Self::spawn_on(BIN, dir, args, true, port)
    }

    /// Starts Debian's redis-server, or None when it is not installed.
    pub fn redis(args: &[&str]) -> Option<Server> {
        let bin = which("redis-server")?;
        Some(Self::start_bin(bin.to_str()?, args, false))
    }

    fn start_bin(bin: &str, args: &[&str], shardis: bool) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::spawn(bin, dir, args, shardis)
    }

    fn spawn(bin: &str, dir: tempfile::TempDir, args: &[&str], shardis: bool) -> Server {
        Self::spawn_on(bin, dir, args, shardis, free_port())
    }

    fn spawn_on(
        bin: &str,
        dir: tempfile::TempDir,
        args: &[&str],
        shardis: bool,
        port: u16,
    ) -> Server {
        let log = dir.path().join("server.log");
        let mut cmd = Command::new(bin);
        // A config file given first stays first, as redis-server wants.
        let (file, rest): (Vec<&str>, Vec<&str>) = match args.first() {
            Some(a) if !a.starts_with("--") => (vec![a], args[1..].to_vec()),
            _ => (vec![], args.to_vec()),
        };
        cmd.args(&file)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(dir.path());
        if !shardis {
            cmd.args(["--save", "", "--appendonly", "no"]);
        }
        cmd.args(&rest)
            .stdout(Stdio::from(std::fs::File::create(&log).expect("log")))
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn server");
        let mut s = Server {
            port,
            child,
            dir,
            log,
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(e) = self.child.stderr.as_mut() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("server exited early ({status}): {err}\n{}", self.log_text());
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                if s.write_all(b"PING\r\n").is_ok() {
                    let mut buf = [0u8; 64];
                    if let Ok(n) = s.read(&mut buf) {
                        if buf[..n].starts_with(b"+PONG") || buf[..n].starts_with(b"-NOAUTH") {
                            return;
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not answer PING in time\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("client")
    }

    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().expect("connect")
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// Stops the server and hands back its directory (for restarts).
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// A raw TCP client for byte-exact protocol tests.
pub struct Raw {
    pub s: TcpStream,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.set_nodelay(true).expect("nodelay");
        Raw { s }
    }

    pub fn send(&mut self, b: &[u8]) {
        self.s.write_all(b).expect("write");
    }

    /// Encodes `args` as a RESP multibulk command.
    pub fn cmd(&mut self, args: &[&[u8]]) {
        self.send(&resp(args));
    }

    /// Reads until `n` complete top-level replies arrived (or the peer closed);
    /// returns their bytes.
    pub fn read_replies(&mut self, n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        let deadline = Instant::now() + Duration::from_secs(10);
        while count_replies(&buf) < n && Instant::now() < deadline {
            match self.s.read(&mut chunk) {
                Ok(0) => break,
                Ok(k) => buf.extend_from_slice(&chunk[..k]),
                Err(_) => break,
            }
        }
        buf
    }

    /// Sends one command and returns its reply bytes.
    pub fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.cmd(args);
        self.read_replies(1)
    }

    /// True when the server closed the connection.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 16];
        matches!(self.s.read(&mut b), Ok(0))
    }
}

pub fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Counts complete RESP2/RESP3 replies at the start of `b`.
pub fn count_replies(b: &[u8]) -> usize {
    let mut pos = 0;
    let mut n = 0;
    while let Some(next) = skip_reply(b, pos) {
        pos = next;
        n += 1;
    }
    n
}

fn line_end(b: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

fn skip_reply(b: &[u8], pos: usize) -> Option<usize> {
    let t = *b.get(pos)?;
    let e = line_end(b, pos)?;
    let head = std::str::from_utf8(&b[pos + 1..e]).ok()?;
    match t {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(e + 2),
        b'$' | b'=' | b'!' => {
            let len: i64 = head.parse().ok()?;
            if len < 0 {
                return Some(e + 2);
            }
            let end = e + 2 + len as usize + 2;
            (b.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let mut len: i64 = head.parse().ok()?;
            if len < 0 {
                return Some(e + 2);
            }
            if t == b'%' || t == b'|' {
                len *= 2;
            }
            let mut p = e + 2;
            for _ in 0..len {
                p = skip_reply(b, p)?;
            }
            Some(p)
        }
        _ => None,
    }
}

/// Keys that land on each of `cores` shards (standalone slot split).
pub fn keys_on_cores(cores: usize, per_core: usize) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new(); cores];
    let mut i = 0;
    while out.iter().any(|v| v.len() < per_core) {
        let k = format!("key:{i}");
        let slot = slot_of(k.as_bytes()) as usize;
        let core = slot * cores / 16384;
        if out[core].len() < per_core {
            out[core].push(k);
        }
        i += 1;
    }
    out
}

/// CRC16/XMODEM slot, written here independently of the server's code.
pub fn slot_of(key: &[u8]) -> u16 {
    let k = match key.iter().position(|&c| c == b'{') {
        Some(s) => match key[s + 1..].iter().position(|&c| c == b'}') {
            Some(0) | None => key,
            Some(e) => &key[s + 1..s + 1 + e],
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for &b in k {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

// ---- Helpers for the cluster, config and tools tests (additions). ----

/// What a bounded child process run produced.
pub struct Ran {
    /// None when the process was killed at the deadline.
    pub status: Option<std::process::ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs `cmd` with stdin `input`, killing it after `timeout`.
pub fn run_bounded(cmd: &mut Command, input: &[u8], timeout: Duration) -> Ran {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let w = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let ro = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let re = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break Some(st);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = w.join();
    let stdout = String::from_utf8_lossy(&ro.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&re.join().unwrap_or_default()).into_owned();
    Ran {
        status,
        stdout,
        stderr,
    }
}

/// Runs redis-cli against `port` with `args` (bounded); None when it is missing.
pub fn redis_cli(port: u16, args: &[&str], input: &[u8], timeout: Duration) -> Option<Ran> {
    let cli = which("redis-cli")?;
    Some(run_bounded(
        Command::new(cli)
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args),
        input,
        timeout,
    ))
}

/// The value of `field` in an INFO-style `name:value` text.
pub fn info_field(text: &str, field: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// The `shardN:` lines of INFO shards, as `field -> value` per shard.
pub fn info_shards(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| {
            name.strip_prefix("shard")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|(_, v)| {
            v.trim()
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Polls CLUSTER INFO until `cluster_state:<want>` (bounded by `limit`).
pub fn wait_cluster_state(c: &mut redis::Connection, want: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query(c)
            .unwrap_or_default();
        if info_field(&info, "cluster_state").as_deref() == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `sig` to the server process.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// Waits (bounded) for the process to exit; its status, or None.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

/// Runs a command given as words through the `redis` crate; panics with the
/// command on error.
pub fn query<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e:?}"))
}

/// A redis-crate error as Redis wrote it: `CODE detail`.
pub fn err_text<T: std::fmt::Debug>(r: redis::RedisResult<T>) -> String {
    let e = r.expect_err("expected an error");
    let code = e.code().unwrap_or("").to_string();
    let detail = e.detail().unwrap_or("").to_string();
    format!("{code} {detail}").trim().to_string()
}
