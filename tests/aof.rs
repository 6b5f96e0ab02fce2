//! The append-only file through the real binary: every data type and
//! expiries survive restarts (with the same and with other thread counts,
//! and match redis-server's DEBUG DIGEST for the same commands), `appendfsync
//! always` keeps every acknowledged write across `kill -9`, fsyncs are
//! grouped per batch, truncated tails and corruption are handled as Redis
//! does, writes are refused with -MISCONF while the file cannot be written,
//! and CONFIG SET appendonly turns it on and off at run time.
//!
//! Write failures are provoked with RLIMIT_FSIZE lowered on the running
//! server (prlimit(2)): its AOF writes then fail with EFBIG ("File too
//! large") until the limit is raised again. The server ignores SIGXFSZ for
//! this reason, as the tests run as root where a read-only directory would
//! not stop a write.

mod common;

use common::{info_field, info_shards, keys_on_cores, query, Raw, Server, BIN};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn aof_args(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["--appendonly", "yes", "--enable-debug-command", "yes"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn start(extra: &[&str]) -> Server {
    let a = aof_args(extra);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    Server::start(&refs)
}

fn restart(s: Server, extra: &[&str]) -> Server {
    let dir = s.stop();
    let a = aof_args(extra);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    Server::start_in(dir, &refs)
}

fn run(c: &mut redis::Connection, line: &str) -> redis::Value {
    let words: Vec<&str> = line.split(' ').collect();
    let mut cmd = redis::cmd(words[0]);
    for w in &words[1..] {
        cmd.arg(*w);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{line} failed: {e:?}"))
}

fn digest(c: &mut redis::Connection) -> String {
    query(c, &["DEBUG", "DIGEST"])
}

fn aof_dir(s: &Server) -> PathBuf {
    s.path().join("appendonlydir")
}

fn incr_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.to_string_lossy().ends_with(".incr.aof"));
    v.sort();
    v
}

/// The commands of the dataset test, deterministic (so redis-server gets
/// the same data). Keys spread over the cores; db 5, 6 and 7 used too.
fn dataset_lines(now_ms: u64) -> Vec<String> {
    let mut v: Vec<String> = [
        "SET str hello",
        "APPEND str _world",
        "SETRANGE str 0 J",
        "SET num 12345",
        "INCR counter",
        "INCRBY counter 41",
        "INCRBYFLOAT fl 1.25",
        "INCRBYFLOAT fl 0.5",
        "SET ttl1 v EX 1000",
        "SETEX ttl2 1000 v",
        "PSETEX ttl3 1000000 v",
        "SET kt v KEEPTTL",
        "GETEX ttl1 PERSIST",
        "GETEX kt EX 5000",
        "RPUSH list a b c d e f",
        "LPUSH list z",
        "LPOP list",
        "LINSERT list BEFORE c x",
        "LSET list 0 A",
        "LREM list 1 e",
        "HSET hash f1 v1 f2 v2 f3 v3",
        "HINCRBY hash n 5",
        "HINCRBYFLOAT hash fl 0.5",
        "HDEL hash f1",
        "SADD set a b c d",
        "SREM set b",
        "SADD intset 1 2 3 -7",
        "SADD one only",
        "SPOP one",
        "ZADD zset 1 a 2 b 3.5 c 4 d -inf lo",
        "ZINCRBY zset 2 a",
        "ZPOPMIN zset",
        "ZREM zset d",
        "PFADD hll a b c d e",
        "SETBIT bits 100 1",
        "EXPIRE hash 1000",
        "PEXPIRE list 2000000",
        "MSET m1 1 m2 2 m3 3 m4 4 m5 5",
        "RENAME m1 m1renamed",
        "DEL m2",
        "MULTI",
        "INCR counter",
        "RPUSH list t",
        "SADD set q",
        "SET m3 three",
        "EXEC",
        "SUNIONSTORE uni set intset",
        "LMOVE list list2 LEFT RIGHT",
        "RPOPLPUSH list list2",
        "GETDEL num",
        "COPY str strcopy",
        "SELECT 7",
        "SET in7 x",
        "RPUSH l7 a b",
        "FLUSHDB",
        "SET after7 y",
        "SELECT 5",
        "SET in5 five",
        "HSET h5 a 1",
        "SELECT 6",
        "SET in6 six",
        "SWAPDB 5 6",
        "SELECT 0",
        "MOVE m4 5",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("SET ttl4 v PXAT {}", now_ms + 5_000_000));
    v.push(format!("PEXPIREAT kt {}", now_ms + 6_000_000));
    let big: Vec<String> = (0..300).map(|i| format!("e{i}")).collect();
    v.push(format!("RPUSH biglist {}", big.join(" ")));
    let pairs: Vec<String> = (0..200)
        .map(|i| format!("f{i} {}", "v".repeat(i % 70)))
        .collect();
    v.push(format!("HSET bighash {}", pairs.join(" ")));
    let members: Vec<String> = (0..600).map(|i| format!("m{i}")).collect();
    v.push(format!("SADD bigset {}", members.join(" ")));
    let zs: Vec<String> = (0..200)
        .map(|i| format!("{} z{i}", i as f64 / 7.0 + 0.25))
        .collect();
    v.push(format!("ZADD bigzset {}", zs.join(" ")));
    v.push("SORT biglist ALPHA LIMIT 0 10 STORE sorted".into());
    v.push(format!("SET bigstr {}", "x".repeat(5000)));
    v.push("SET gone v PX 1".into());
    v
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn apply_dataset(c: &mut redis::Connection, now: u64) {
    for line in dataset_lines(now) {
        run(c, &line);
    }
    std::thread::sleep(Duration::from_millis(20));
    // The expired key is deleted on access (and that deletion propagated).
    let v: Option<String> = query(c, &["GET", "gone"]);
    assert_eq!(v, None);
}

/// A blocking pop served later, by a push from another connection.
fn blocking_pop(s: &Server) {
    let url = s.url();
    let t = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        let r: Vec<String> = query(&mut c, &["BLPOP", "q", "10"]);
        r
    });
    let mut c = s.conn();
    // Time for the BLPOP to park (a push before it is served at once,
    // which propagates the same LPOP).
    std::thread::sleep(Duration::from_millis(300));
    let _: i64 = query(&mut c, &["RPUSH", "q", "x", "y"]);
    let got = t.join().unwrap();
    assert_eq!(got, ["q", "x"]);
}

fn check_values(c: &mut redis::Connection) {
    let get = |c: &mut redis::Connection, k: &str| -> Option<String> { query(c, &["GET", k]) };
    assert_eq!(get(c, "str").as_deref(), Some("Jello_world"));
    assert_eq!(get(c, "counter").as_deref(), Some("43"));
    assert_eq!(get(c, "fl").as_deref(), Some("1.75"));
    assert_eq!(get(c, "gone"), None);
    assert_eq!(get(c, "num"), None);
    assert_eq!(get(c, "m3").as_deref(), Some("three"));
    let ttl: i64 = query(c, &["TTL", "ttl2"]);
    assert!((900..=1000).contains(&ttl), "ttl2 {ttl}");
    let ttl: i64 = query(c, &["TTL", "ttl1"]);
    assert_eq!(ttl, -1);
    let pttl: i64 = query(c, &["PTTL", "ttl4"]);
    assert!(pttl > 4_000_000, "ttl4 {pttl}");
    let pttl: i64 = query(c, &["PTTL", "kt"]);
    assert!(pttl > 5_000_000, "kt {pttl}");
    let l: Vec<String> = query(c, &["LRANGE", "list2", "0", "-1"]);
    assert_eq!(l.len(), 2);
    let q: Vec<String> = query(c, &["LRANGE", "q", "0", "-1"]);
    assert_eq!(q, ["y"]);
    let n: i64 = query(c, &["HLEN", "bighash"]);
    assert_eq!(n, 200);
    let n: i64 = query(c, &["ZCARD", "bigzset"]);
    assert_eq!(n, 200);
    let enc: String = query(c, &["OBJECT", "ENCODING", "bigzset"]);
    assert_eq!(enc, "skiplist");
    let s: Option<f64> = query(c, &["ZSCORE", "bigzset", "z150"]);
    assert_eq!(s, Some(150.0 / 7.0 + 0.25));
    let n: i64 = query(c, &["DBSIZE"]);
    assert!(n > 25, "dbsize {n}");
    let _: () = query(c, &["SELECT", "6"]);
    assert_eq!(get(c, "in5").as_deref(), Some("five"));
    let _: () = query(c, &["SELECT", "5"]);
    assert_eq!(get(c, "in6").as_deref(), Some("six"));
    assert_eq!(get(c, "m4").as_deref(), Some("4"));
    let _: () = query(c, &["SELECT", "7"]);
    assert_eq!(get(c, "in7"), None);
    assert_eq!(get(c, "after7").as_deref(), Some("y"));
    let _: () = query(c, &["SELECT", "0"]);
}

#[test]
fn every_type_and_expiry_survive_restarts_with_any_thread_count() {
    let s = start(&["--threads", "2"]);
    let now = now_ms();
    {
        let mut c = s.conn();
        apply_dataset(&mut c, now);
    }
    blocking_pop(&s);
    let (want, info) = {
        let mut c = s.conn();
        check_values(&mut c);
        (
            digest(&mut c),
            query::<String>(&mut c, &["INFO", "persistence"]),
        )
    };
    assert_eq!(info_field(&info, "aof_enabled").as_deref(), Some("1"));
    assert_eq!(
        info_field(&info, "aof_last_write_status").as_deref(),
        Some("ok")
    );
    let size: u64 = info_field(&info, "aof_current_size")
        .unwrap()
        .parse()
        .unwrap();
    assert!(size > 10_000, "aof_current_size {size}");

    // The same commands on redis-server give the same dataset digest.
    if let Some(r) = Server::redis(&["--enable-debug-command", "yes"]) {
        let mut c = r.conn();
        apply_dataset(&mut c, now);
        blocking_pop(&r);
        let mut c = r.conn();
        assert_eq!(digest(&mut c), want, "shardis and redis-server differ");
    }

    let mut s = s;
    for threads in ["2", "3", "1", "2"] {
        s = restart(s, &["--threads", threads]);
        let mut c = s.conn();
        assert_eq!(
            digest(&mut c),
            want,
            "after a restart with --threads {threads}"
        );
        check_values(&mut c);
        assert!(
            s.log_text().contains("DB loaded from append only file"),
            "{}",
            s.log_text()
        );
    }
    // Thread counts changed: one generation per change in the manifest.
    let m = std::fs::read_to_string(aof_dir(&s).join("appendonly.aof.manifest")).unwrap();
    assert_eq!(m.lines().count(), 2 + 3 + 1 + 2, "{m}");
    assert!(
        m.contains("file appendonly.aof.2.2.incr.aof seq 2 type i core 2"),
        "{m}"
    );
}

#[test]
fn flushall_on_one_core_does_not_reach_later_writes_of_another() {
    // FLUSHALL is written once (after a barrier in every core's file); a
    // key written afterwards on the other core must survive the replay.
    let s = start(&["--threads", "2"]);
    let keys = keys_on_cores(2, 3);
    {
        let mut c = s.conn();
        for k in keys.iter().flatten() {
            let _: () = query(&mut c, &["SET", k, "before"]);
        }
        let _: () = query(&mut c, &["FLUSHALL"]);
        let _: () = query(&mut c, &["SET", &keys[0][0], "after0"]);
        let _: () = query(&mut c, &["SET", &keys[1][0], "after1"]);
        let _: () = query(&mut c, &["FLUSHDB"]);
        let _: () = query(&mut c, &["SET", &keys[1][1], "late1"]);
        let _: () = query(&mut c, &["SET", &keys[0][1], "late0"]);
    }
    for threads in ["2", "1", "3"] {
        let s2 = restart_owned(&s, threads);
        let mut c = s2.conn();
        let n: i64 = query(&mut c, &["DBSIZE"]);
        assert_eq!(n, 2, "--threads {threads}");
        let v: Option<String> = query(&mut c, &["GET", &keys[1][1]]);
        assert_eq!(v.as_deref(), Some("late1"));
        let v: Option<String> = query(&mut c, &["GET", &keys[0][1]]);
        assert_eq!(v.as_deref(), Some("late0"));
        drop(c);
        drop(s2);
    }
}

/// A copy of `s`'s directory started as a new server (the original keeps
/// its files).
fn restart_owned(s: &Server, threads: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let src = aof_dir(s);
    let dst = dir.path().join("appendonlydir");
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    let a = aof_args(&["--threads", threads]);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    Server::start_in(dir, &refs)
}

/// Parses the RESP replies of a pipeline: how many `+OK` came first.
fn leading_oks(b: &[u8]) -> usize {
    let mut n = 0;
    let mut rest = b;
    while let Some(r) = rest.strip_prefix(b"+OK\r\n") {
        n += 1;
        rest = r;
    }
    n
}

/// One acknowledged write of the kill -9 test: what must be there after
/// the restart.
#[derive(Clone)]
enum Acked {
    /// SET k v (alone or in a pipeline of 10) or MSET of keys on both cores.
    Value(String, String),
    /// INCR k acknowledged with n: after the restart k is n, or n + 1 when
    /// the next INCR reached the disk without its reply reaching us.
    Counter(String, i64),
}

/// A client of the kill -9 test: `kind` 0-1 single SETs, 2 pipelines of
/// 10 SETs, 3 INCRs of one counter, 4 MSETs of two keys on both cores
/// (hash tags keep each key on its core).
fn acking_client(
    port: u16,
    cycle: usize,
    kind: usize,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
) {
    let Ok(mut sock) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
    let cores = keys_on_cores(2, 1);
    let counter = format!("ctr:{cycle}");
    for i in 0..100_000 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mut out = Vec::new();
        let mut want: Vec<Acked> = Vec::new();
        match kind {
            3 => {
                out.extend(common::resp(&[b"INCR", counter.as_bytes()]));
            }
            4 => {
                let (a, b) = (
                    format!("{{{}}}:{cycle}:m{i}", cores[0][0]),
                    format!("{{{}}}:{cycle}:m{i}", cores[1][0]),
                );
                let v = format!("m{i}");
                out.extend(common::resp(&[
                    b"MSET",
                    a.as_bytes(),
                    v.as_bytes(),
                    b.as_bytes(),
                    v.as_bytes(),
                ]));
                want.push(Acked::Value(a, v.clone()));
                want.push(Acked::Value(b, v));
            }
            _ => {
                let per = if kind == 2 { 10 } else { 1 };
                for j in 0..per {
                    let (k, v) = (format!("c{cycle}:t{kind}:{i}:{j}"), format!("v{i}.{j}"));
                    out.extend(common::resp(&[b"SET", k.as_bytes(), v.as_bytes()]));
                    want.push(Acked::Value(k, v));
                }
            }
        }
        if sock.write_all(&out).is_err() {
            break;
        }
        let replies = if kind == 2 { 10 } else { 1 };
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while common::count_replies(&got) < replies {
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        if kind == 3 {
            let text = String::from_utf8_lossy(&got);
            match text
                .strip_prefix(':')
                .and_then(|t| t.trim_end().parse::<i64>().ok())
            {
                Some(n) => acked
                    .lock()
                    .unwrap()
                    .push(Acked::Counter(counter.clone(), n)),
                None => break,
            }
            continue;
        }
        let ok = leading_oks(&got);
        let done = if kind == 4 { ok * 2 } else { ok };
        acked.lock().unwrap().extend(want.into_iter().take(done));
        if ok < replies {
            break;
        }
    }
}

#[test]
fn appendfsync_always_keeps_every_acknowledged_write_across_kill_9() {
    let args = ["--threads", "2", "--appendfsync", "always"];
    let mut s = start(&args);
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::new(Mutex::new(Vec::new()));
    for cycle in 0..6 {
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..5)
            .map(|kind| {
                let (port, stop, acked) = (s.port, stop.clone(), acked.clone());
                std::thread::spawn(move || acking_client(port, cycle, kind, stop, acked))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        s.signal(libc::SIGKILL);
        let _ = s.wait_exit(Duration::from_secs(10));
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        s = restart(s, &args);
        let acked = acked.lock().unwrap().clone();
        assert!(
            acked.len() > 10,
            "cycle {cycle}: only {} writes acknowledged",
            acked.len()
        );
        let mut c = s.conn();
        let mut counters: std::collections::HashMap<String, i64> = Default::default();
        let mut values = Vec::new();
        for a in acked {
            match a {
                Acked::Value(k, v) => values.push((k, v)),
                Acked::Counter(k, n) => {
                    let m = counters.entry(k).or_insert(n);
                    *m = (*m).max(n);
                }
            }
        }
        assert!(
            !counters.is_empty() && values.iter().any(|(k, _)| k.starts_with('{')),
            "cycle {cycle}: no INCR or no MSET acknowledged"
        );
        for chunk in values.chunks(500) {
            let mut cmd = redis::cmd("MGET");
            for (k, _) in chunk {
                cmd.arg(k);
            }
            let got: Vec<Option<String>> = cmd.query(&mut c).unwrap();
            for ((k, v), g) in chunk.iter().zip(got) {
                assert_eq!(g.as_deref(), Some(v.as_str()), "cycle {cycle}: {k} lost");
            }
        }
        for (k, n) in counters {
            let v: i64 = query(&mut c, &["GET", &k]);
            assert!(
                v == n || v == n + 1,
                "cycle {cycle}: counter {k} acknowledged at {n}, {v} after the restart"
            );
        }
    }
}

fn shard_sum(s: &Server, field: &str) -> u64 {
    let mut c = s.conn();
    let info: String = query(&mut c, &["INFO", "shards"]);
    info_shards(&info)
        .iter()
        .map(|m| {
            m.get(field)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

#[test]
fn appendfsync_always_groups_fsyncs_per_batch() {
    let s = start(&["--threads", "2", "--appendfsync", "always"]);
    // One command at a time: each reply waits for its own fsync.
    let before = shard_sum(&s, "aof_fsyncs");
    {
        let mut c = s.conn();
        for i in 0..20 {
            let _: () = query(&mut c, &["SET", &format!("p1:{i}"), "v"]);
        }
    }
    let single = shard_sum(&s, "aof_fsyncs") - before;
    assert!(single >= 20, "20 writes at pipeline 1 made {single} fsyncs");
    // A pipeline of 400 writes over both cores: a handful of writes and
    // fsyncs per core, not one per command.
    let (f0, w0) = (shard_sum(&s, "aof_fsyncs"), shard_sum(&s, "aof_writes"));
    let mut raw = s.raw();
    let mut out = Vec::new();
    for i in 0..400 {
        out.extend(common::resp(&[
            b"SET",
            format!("p400:{i}").as_bytes(),
            b"v",
        ]));
    }
    raw.send(&out);
    let got = raw.read_replies(400);
    assert_eq!(leading_oks(&got), 400);
    let (f1, w1) = (shard_sum(&s, "aof_fsyncs"), shard_sum(&s, "aof_writes"));
    assert!(
        f1 - f0 <= 16,
        "400 pipelined writes made {} fsyncs",
        f1 - f0
    );
    assert!(
        w1 - w0 <= 16,
        "400 pipelined writes made {} writes",
        w1 - w0
    );
    let mut c = s.conn();
    let n: i64 = query(&mut c, &["DBSIZE"]);
    assert_eq!(n, 420);
}

/// Starts the binary expecting it to exit; its exit status and log.
fn start_failing(dir: &Path, extra: &[&str]) -> (Option<std::process::ExitStatus>, String) {
    let port = common::free_port();
    let ran = common::run_bounded(
        Command::new(BIN)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(dir)
            .args(aof_args(extra)),
        b"",
        Duration::from_secs(20),
    );
    (ran.status, ran.stdout + &ran.stderr)
}

/// A stopped server's directory with data on both cores, and the path and
/// bytes of core 0's incremental file.
fn stopped_with_data() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let s = start(&["--threads", "2"]);
    {
        let mut c = s.conn();
        for i in 0..50 {
            let _: () = query(&mut c, &["SET", &format!("k{i}"), &format!("v{i}")]);
        }
    }
    let dir = s.stop();
    let f = incr_files(&dir.path().join("appendonlydir"))
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("aof.0.1.incr.aof"))
        .unwrap();
    let bytes = std::fs::read(&f).unwrap();
    assert!(bytes.len() > 100);
    (dir, f, bytes)
}

#[test]
fn a_truncated_tail_is_cut_off_when_aof_load_truncated_is_yes() {
    let (dir, f, good) = stopped_with_data();
    // An incomplete command, then (second round) a MULTI without EXEC.
    for (tail, what) in [
        (
            &b"*3\r\n$3\r\nSET\r\n$5\r\ntrunc\r\n$3\r\nab"[..],
            "short read",
        ),
        (
            &b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$5\r\ntrunc\r\n$1\r\nx\r\n"[..],
            "Revert incomplete MULTI/EXEC",
        ),
    ] {
        let mut b = good.clone();
        b.extend_from_slice(tail);
        std::fs::write(&f, &b).unwrap();
        let a = aof_args(&["--threads", "2"]);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), tmp.path());
        let s = Server::start_in(tmp, &refs);
        let log = s.log_text();
        assert!(log.contains(what), "{log}");
        assert!(
            log.contains("loaded anyway because aof-load-truncated is enabled"),
            "{log}"
        );
        let mut c = s.conn();
        let n: i64 = query(&mut c, &["DBSIZE"]);
        assert_eq!(n, 50);
        let v: Option<String> = query(&mut c, &["GET", "trunc"]);
        assert_eq!(v, None);
        // The file was cut back to its last complete command, and the
        // server appends after it.
        let _: () = query(&mut c, &["SET", "k0", "new"]);
        let s = restart(s, &["--threads", "2"]);
        let mut c = s.conn();
        let v: Option<String> = query(&mut c, &["GET", "k0"]);
        assert_eq!(v.as_deref(), Some("new"));
        let cut = std::fs::read(aof_dir(&s).join("appendonly.aof.0.1.incr.aof")).unwrap();
        assert!(cut.starts_with(&good), "the good part is kept");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

#[test]
fn a_truncated_tail_stops_start_up_when_aof_load_truncated_is_no() {
    let (dir, f, good) = stopped_with_data();
    let mut b = good.clone();
    b.extend_from_slice(b"*2\r\n$3\r\nDEL\r\n$2\r\nk");
    std::fs::write(&f, &b).unwrap();
    let (status, log) = start_failing(
        dir.path(),
        &["--threads", "2", "--aof-load-truncated", "no"],
    );
    assert!(status.is_some_and(|s| !s.success()), "{status:?} {log}");
    assert!(log.contains("Unexpected end of file"), "{log}");
    assert!(log.contains("appendonly.aof.0.1.incr.aof"), "{log}");
    assert!(log.contains(&format!("at offset {}", good.len())), "{log}");
    assert_eq!(std::fs::read(&f).unwrap(), b, "the file is left untouched");
}

#[test]
fn corruption_in_the_middle_stops_start_up_naming_file_and_offset() {
    let (dir, f, good) = stopped_with_data();
    // Break the `$` of a command's second argument in the middle.
    let (items, _) = split_commands(&good);
    let (at, _) = items[items.len() / 2];
    let mut b = good.clone();
    let dollar = at + b[at..].iter().skip(1).position(|&c| c == b'$').unwrap() + 1;
    b[dollar] = b'X';
    std::fs::write(&f, &b).unwrap();
    for truncated in ["yes", "no"] {
        let (status, log) = start_failing(
            dir.path(),
            &["--threads", "2", "--aof-load-truncated", truncated],
        );
        assert!(status.is_some_and(|s| !s.success()), "{status:?} {log}");
        assert!(
            log.contains("Bad file format reading the append only file"),
            "{log}"
        );
        assert!(log.contains("appendonly.aof.0.1.incr.aof"), "{log}");
        assert!(log.contains(&format!("at offset {at}")), "{log}");
        assert!(log.contains("expected '$', got 'X'"), "{log}");
        assert_eq!(std::fs::read(&f).unwrap(), b, "the file is left untouched");
    }
}

/// Start offsets of the top-level `*` commands of a clean file.
fn split_commands(b: &[u8]) -> (Vec<(usize, usize)>, usize) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let line_end =
            |from: usize| from + b[from..].windows(2).position(|w| w == b"\r\n").unwrap();
        let e = line_end(i);
        let n: usize = std::str::from_utf8(&b[i + 1..e]).unwrap().parse().unwrap();
        i = e + 2;
        for _ in 0..n {
            let e = line_end(i);
            let len: usize = std::str::from_utf8(&b[i + 1..e]).unwrap().parse().unwrap();
            i = e + 2 + len + 2;
        }
        out.push((start, i));
    }
    (out, i)
}

fn set_fsize(pid: u32, soft: Option<u64>) -> u64 {
    // SAFETY: prlimit(2) on our child with local structs.
    unsafe {
        let mut old: libc::rlimit = std::mem::zeroed();
        libc::prlimit(pid as i32, libc::RLIMIT_FSIZE, std::ptr::null(), &mut old);
        if let Some(s) = soft {
            let new = libc::rlimit {
                rlim_cur: s,
                rlim_max: old.rlim_max,
            };
            assert_eq!(
                libc::prlimit(pid as i32, libc::RLIMIT_FSIZE, &new, std::ptr::null_mut()),
                0
            );
        }
        old.rlim_cur
    }
}

fn persistence(c: &mut redis::Connection, field: &str) -> String {
    let info: String = query(c, &["INFO", "persistence"]);
    info_field(&info, field).unwrap_or_default()
}

#[test]
fn write_errors_refuse_writes_with_misconf_until_a_write_succeeds() {
    for policy in ["everysec", "always"] {
        let s = start(&["--threads", "2", "--appendfsync", policy]);
        let mut c = s.conn();
        let _: () = query(&mut c, &["SET", "a", "1"]);
        let old = set_fsize(s.pid(), Some(0));
        // This write cannot reach the file: its reply waits.
        let url = s.url();
        let t = std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let r: redis::RedisResult<()> = redis::cmd("SET").arg("b").arg("2").query(&mut c);
            r.is_ok()
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while persistence(&mut c, "aof_last_write_status") != "err" {
            assert!(Instant::now() < deadline, "no write error seen");
            std::thread::sleep(Duration::from_millis(20));
        }
        let e = common::err_text(redis::cmd("SET").arg("c").arg("3").query::<()>(&mut c));
        assert_eq!(e, "MISCONF Errors writing to the AOF file: File too large");
        let e = common::err_text(redis::cmd("PING").query::<String>(&mut c));
        assert!(e.starts_with("MISCONF"), "{e}");
        let v: Option<String> = query(&mut c, &["GET", "a"]);
        assert_eq!(v.as_deref(), Some("1"), "reads still work");
        assert!(!t.is_finished(), "acknowledged before it was written");
        set_fsize(s.pid(), Some(old));
        assert!(t.join().unwrap(), "the waiting write went through");
        let deadline = Instant::now() + Duration::from_secs(10);
        while persistence(&mut c, "aof_last_write_status") != "ok" {
            assert!(Instant::now() < deadline, "still failing");
            std::thread::sleep(Duration::from_millis(20));
        }
        let _: () = query(&mut c, &["SET", "c", "3"]);
        drop(c);
        let s = restart(s, &["--threads", "2"]);
        let mut c = s.conn();
        let v: Vec<Option<String>> = query(&mut c, &["MGET", "a", "b", "c"]);
        assert_eq!(
            v,
            [Some("1".into()), Some("2".into()), Some("3".into())],
            "{policy}"
        );
    }
}

#[test]
fn config_set_appendonly_turns_the_aof_on_and_off() {
    let s = Server::start(&["--threads", "2", "--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let _: () = query(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    let _: () = query(&mut c, &["SET", "t", "v", "EX", "1000"]);
    let _: () = query(&mut c, &["ZADD", "z", "1.5", "m"]);
    let _: () = query(&mut c, &["SELECT", "3"]);
    let _: () = query(&mut c, &["HSET", "h", "f", "v"]);
    let _: () = query(&mut c, &["SELECT", "0"]);
    assert_eq!(persistence(&mut c, "aof_enabled"), "0");
    let _: () = query(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    assert_eq!(persistence(&mut c, "aof_enabled"), "1");
    assert_eq!(persistence(&mut c, "aof_rewrites"), "1");
    let base: u64 = persistence(&mut c, "aof_base_size").parse().unwrap();
    assert!(base > 0);
    let dir = aof_dir(&s);
    assert!(dir.join("appendonly.aof.0.1.base.rdb").exists());
    assert!(dir.join("appendonly.aof.1.1.base.rdb").exists());
    let _: () = query(&mut c, &["SET", "after", "on"]);
    let want = digest(&mut c);
    let _: () = query(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    assert_eq!(persistence(&mut c, "aof_enabled"), "0");
    let _: () = query(&mut c, &["SET", "while", "off"]);
    drop(c);
    let s = restart(s, &["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(digest(&mut c), want);
    let v: Option<String> = query(&mut c, &["GET", "while"]);
    assert_eq!(v, None);
    let ttl: i64 = query(&mut c, &["TTL", "t"]);
    assert!(ttl > 900);
    // Turned on again: a new generation replaces the old files.
    let _: () = query(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    let _: () = query(&mut c, &["SET", "x", "1"]);
    let _: () = query(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    let m = std::fs::read_to_string(aof_dir(&s).join("appendonly.aof.manifest")).unwrap();
    assert!(!m.contains("seq 1 "), "{m}");
    assert!(!dir_has(&aof_dir(&s), "appendonly.aof.0.1.base.rdb"));
    let want = digest(&mut c);
    drop(c);
    let s = restart(s, &["--threads", "3"]);
    let mut c = s.conn();
    assert_eq!(digest(&mut c), want);
}

fn dir_has(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

#[test]
fn an_aof_dir_that_cannot_be_created_fails_config_set() {
    let s = Server::start(&["--threads", "2"]);
    // A plain file where the directory should be.
    std::fs::write(s.path().join("appendonlydir"), b"not a dir").unwrap();
    let mut c = s.conn();
    let e = common::err_text(
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("appendonly")
            .arg("yes")
            .query::<()>(&mut c),
    );
    assert!(e.contains("Unable to turn on AOF"), "{e}");
    assert_eq!(persistence(&mut c, "aof_enabled"), "0");
    let v: Vec<String> = query(&mut c, &["CONFIG", "GET", "appendonly"]);
    assert_eq!(v[1], "no");
    let _: () = query(&mut c, &["SET", "still", "works"]);
}

#[test]
fn clients_get_loading_while_a_large_aof_loads() {
    // A large incremental file written directly: 300k SETs.
    let dir = tempfile::tempdir().unwrap();
    let ad = dir.path().join("appendonlydir");
    std::fs::create_dir_all(&ad).unwrap();
    let mut f = Vec::new();
    f.extend(common::resp(&[b"SELECT", b"0"]));
    for i in 0..300_000 {
        f.extend(common::resp(&[
            b"SET",
            format!("key:{i}").as_bytes(),
            b"value",
        ]));
    }
    std::fs::write(ad.join("appendonly.aof.0.1.incr.aof"), &f).unwrap();
    std::fs::write(
        ad.join("appendonly.aof.manifest"),
        "file appendonly.aof.0.1.incr.aof seq 1 type i core 0\n",
    )
    .unwrap();
    let port = common::free_port();
    let log = dir.path().join("server.log");
    let mut child = Command::new(BIN)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
        .arg(dir.path())
        .args(aof_args(&["--threads", "2"]))
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut saw_loading = false;
    let mut loaded = false;
    while Instant::now() < deadline {
        let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut r = Raw { s };
        let got = r.call(&[b"PING"]);
        if got.starts_with(b"-LOADING Redis is loading the dataset in memory") {
            if !saw_loading {
                let info = r.call(&[b"INFO", b"persistence"]);
                let text = String::from_utf8_lossy(&info);
                assert!(text.contains("loading:1"), "{text}");
                assert!(text.contains("loading_total_bytes:"), "{text}");
            }
            saw_loading = true;
        } else if got.starts_with(b"+PONG") {
            let n = r.call(&[b"DBSIZE"]);
            assert_eq!(n, b":300000\r\n");
            loaded = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        loaded,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // A debug build takes well over the polling period to load 300k
    // commands; say so rather than fail when a fast machine did not.
    if !saw_loading {
        eprintln!("note: the AOF loaded before -LOADING could be observed");
    }
}

/// Waits (bounded) until no AOF rewrite runs.
fn wait_rewrite_done(c: &mut redis::Connection) {
    for _ in 0..500 {
        if persistence(c, "aof_rewrite_in_progress") == "0" {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the AOF rewrite did not finish");
}

fn manifest_text(s: &Server) -> String {
    std::fs::read_to_string(aof_dir(s).join("appendonly.aof.manifest")).unwrap()
}

#[test]
fn bgrewriteaof_under_writes_keeps_everything_and_drops_old_files() {
    rewrites_under_writes("yes");
}

#[test]
fn bgrewriteaof_with_command_bases_under_writes_keeps_everything() {
    rewrites_under_writes("no");
}

/// Three BGREWRITEAOFs while a client writes, with aof-use-rdb-preamble
/// `preamble` (RDB bases or command bases, both from the fork-less
/// snapshot), then restarts with other thread counts.
fn rewrites_under_writes(preamble: &str) {
    let s = start(&["--threads", "2", "--aof-use-rdb-preamble", preamble]);
    let ext = if preamble == "yes" { "rdb" } else { "aof" };
    let now = now_ms();
    {
        let mut c = s.conn();
        apply_dataset(&mut c, now);
    }
    // A counter bumped without pause while the rewrites run.
    let stop = Arc::new(AtomicBool::new(false));
    let bumper = {
        let (port, stop) = (s.port, stop.clone());
        std::thread::spawn(move || {
            let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
            let mut c = client.get_connection().unwrap();
            let mut last = 0i64;
            for i in 0..1_000_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                last = query(&mut c, &["INCR", "bumped"]);
                let _: () = query(&mut c, &["SET", &format!("w{}", i % 500), &i.to_string()]);
            }
            last
        })
    };
    blocking_pop(&s);
    let mut c = s.conn();
    for round in 0..3 {
        let r: String = query(&mut c, &["BGREWRITEAOF"]);
        assert_eq!(r, "Background append only file rewriting started");
        wait_rewrite_done(&mut c);
        assert_eq!(persistence(&mut c, "aof_rewrites"), (round + 1).to_string());
        assert_eq!(persistence(&mut c, "aof_last_bgrewrite_status"), "ok");
    }
    stop.store(true, Ordering::Relaxed);
    let last = bumper.join().unwrap();
    assert!(last > 0);
    let want = digest(&mut c);
    drop(c);
    // Only the last generation is left, bases and increments.
    let m = manifest_text(&s);
    assert_eq!(
        m,
        format!(
            "file appendonly.aof.0.4.base.{ext} seq 4 type b core 0\n\
             file appendonly.aof.1.4.base.{ext} seq 4 type b core 1\n\
             file appendonly.aof.0.4.incr.aof seq 4 type i core 0\n\
             file appendonly.aof.1.4.incr.aof seq 4 type i core 1\n"
        )
    );
    let mut names: Vec<String> = std::fs::read_dir(aof_dir(&s))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("appendonly.aof.0.4.base.{ext}"),
            "appendonly.aof.0.4.incr.aof".to_string(),
            format!("appendonly.aof.1.4.base.{ext}"),
            "appendonly.aof.1.4.incr.aof".to_string(),
            "appendonly.aof.manifest".to_string()
        ]
    );
    let base = std::fs::read(aof_dir(&s).join(format!("appendonly.aof.1.4.base.{ext}"))).unwrap();
    if ext == "aof" {
        assert!(
            base.starts_with(b"*2\r\n$6\r\nSELECT\r\n"),
            "a command base"
        );
    } else {
        assert!(base.starts_with(b"REDIS0010"), "an RDB base");
    }
    if let (Some(check), "rdb") = (common::which("redis-check-rdb"), ext) {
        let ran = common::run_bounded(
            Command::new(check).arg(aof_dir(&s).join("appendonly.aof.1.4.base.rdb")),
            b"",
            Duration::from_secs(60),
        );
        assert!(ran.stdout.contains("RDB looks OK"), "{}", ran.stdout);
    }
    let mut s = s;
    for threads in ["1", "3"] {
        s = restart(s, &["--threads", threads]);
        let mut c = s.conn();
        assert_eq!(digest(&mut c), want, "--threads {threads}");
        let n: i64 = query(&mut c, &["GET", "bumped"]);
        assert_eq!(n, last);
        check_values(&mut c);
    }
    // A rewrite after a change of thread count folds every generation.
    let mut c = s.conn();
    let _: String = query(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite_done(&mut c);
    let m = manifest_text(&s);
    assert_eq!(m.lines().count(), 6, "{m}");
    assert!(m.lines().all(|l| l.contains(" seq 7 ")), "{m}");
    drop(c);
    let s = restart(s, &["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(digest(&mut c), want);
}

#[test]
fn bgrewriteaof_refuses_a_second_one_and_works_with_the_aof_off() {
    let s = Server::start(&["--threads", "2", "--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let _: () = query(&mut c, &["DEBUG", "POPULATE", "200000"]);
    // Both in one pipeline: the second finds the first running.
    let mut raw = s.raw();
    raw.send(
        &[
            common::resp(&[b"BGREWRITEAOF"]),
            common::resp(&[b"BGREWRITEAOF"]),
        ]
        .concat(),
    );
    let got = String::from_utf8(raw.read_replies(2)).unwrap();
    assert_eq!(
        got,
        "+Background append only file rewriting started\r\n\
         -ERR Background append only file rewriting already in progress\r\n"
    );
    wait_rewrite_done(&mut c);
    // With the AOF off the manifest names the bases alone; turning the AOF
    // on at the next start loads them.
    let m = manifest_text(&s);
    assert_eq!(m.lines().count(), 2, "{m}");
    assert!(m.lines().all(|l| l.contains("type b")), "{m}");
    let want = digest(&mut c);
    drop(c);
    let s = restart(s, &["--threads", "1"]);
    let mut c = s.conn();
    assert_eq!(digest(&mut c), want);
    let n: i64 = query(&mut c, &["DBSIZE"]);
    assert_eq!(n, 200_000);
}

#[test]
fn the_aof_is_rewritten_automatically_when_it_doubles() {
    let s = start(&[
        "--threads",
        "2",
        "--auto-aof-rewrite-min-size",
        "64kb",
        "--auto-aof-rewrite-percentage",
        "100",
        // Bases as commands here (the other rewrite tests write RDB bases).
        "--aof-use-rdb-preamble",
        "no",
    ]);
    let mut c = s.conn();
    for i in 0..3000 {
        let _: () = query(&mut c, &["SET", "same", &format!("{i:0>64}")]);
    }
    // One key left: once rewritten (again, if writes went on past 64kb
    // after a rewrite) the AOF is far below 64kb.
    let (mut rewrites, mut size) = (0u64, u64::MAX);
    for _ in 0..500 {
        rewrites = persistence(&mut c, "aof_rewrites").parse().unwrap();
        size = persistence(&mut c, "aof_current_size").parse().unwrap();
        if rewrites > 0 && size < 64 * 1024 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(rewrites > 0, "no automatic rewrite");
    assert!(size < 64 * 1024, "aof_current_size {size}");
    assert!(s.log_text().contains("Starting automatic rewriting of AOF"));
    drop(c);
    let s = restart(s, &["--threads", "2"]);
    let mut c = s.conn();
    let v: String = query(&mut c, &["GET", "same"]);
    assert_eq!(v, format!("{:0>64}", 2999));
}

/// Waits (bounded) until INFO persistence `field` reads `want`.
fn wait_field(c: &mut redis::Connection, field: &str, want: &str) {
    let mut got = String::new();
    for _ in 0..750 {
        got = persistence(c, field);
        if got == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{field} is {got}, waited for {want}");
}

#[test]
fn saves_and_rewrites_wait_for_or_schedule_each_other_as_in_redis() {
    let s = start(&["--threads", "2"]);
    let mut c = s.conn();
    let _: () = query(&mut c, &["DEBUG", "POPULATE", "10000", "k", "8"]);
    // 100 µs per key: each snapshot (a save or a rewrite's bases) ~1 s.
    let _: () = query(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "100"]);
    let saves: u64 = persistence(&mut c, "rdb_saves").parse().unwrap();
    let rewrites: u64 = persistence(&mut c, "aof_rewrites").parse().unwrap();

    // A rewrite runs: BGSAVE is refused with Redis's text, BGSAVE SCHEDULE
    // is scheduled, SAVE waits for the rewrite and then saves.
    let r: String = query(&mut c, &["BGREWRITEAOF"]);
    assert_eq!(r, "Background append only file rewriting started");
    assert_eq!(persistence(&mut c, "aof_rewrite_in_progress"), "1");
    let e = common::err_text(redis::cmd("BGSAVE").query::<String>(&mut c));
    assert!(
        e.starts_with("ERR Another child process is active (AOF?)"),
        "{e}"
    );
    let r: String = query(&mut c, &["BGSAVE", "SCHEDULE"]);
    assert_eq!(r, "Background saving scheduled");
    assert_eq!(persistence(&mut c, "rdb_bgsave_in_progress"), "0");
    let _: () = query(&mut c, &["SET", "k:1", "changed"]);
    let r: String = query(&mut c, &["SAVE"]);
    assert_eq!(r, "OK");
    assert_eq!(persistence(&mut c, "aof_rewrite_in_progress"), "0");
    let n: u64 = persistence(&mut c, "aof_rewrites").parse().unwrap();
    assert_eq!(n, rewrites + 1);
    // The scheduled BGSAVE runs too.
    wait_field(&mut c, "rdb_saves", &(saves + 2).to_string());
    wait_field(&mut c, "rdb_bgsave_in_progress", "0");

    // A BGSAVE runs: BGREWRITEAOF is scheduled (and runs after it), SAVE
    // and BGSAVE SCHEDULE are refused.
    let _: () = query(&mut c, &["SET", "k:2", "changed"]);
    let r: String = query(&mut c, &["BGSAVE"]);
    assert_eq!(r, "Background saving started");
    let r: String = query(&mut c, &["BGREWRITEAOF"]);
    assert_eq!(r, "Background append only file rewriting scheduled");
    assert_eq!(persistence(&mut c, "aof_rewrite_scheduled"), "1");
    assert_eq!(persistence(&mut c, "aof_rewrite_in_progress"), "0");
    for cmd in [&["SAVE"][..], &["BGSAVE", "SCHEDULE"]] {
        let e = common::err_text(redis::cmd(cmd[0]).arg(&cmd[1..]).query::<String>(&mut c));
        assert_eq!(e, "ERR Background save already in progress", "{cmd:?}");
    }
    wait_field(&mut c, "aof_rewrites", &(rewrites + 2).to_string());
    wait_field(&mut c, "aof_rewrite_scheduled", "0");
    wait_field(&mut c, "aof_rewrite_in_progress", "0");
    assert_eq!(persistence(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(persistence(&mut c, "aof_last_bgrewrite_status"), "ok");
    let want = digest(&mut c);
    drop(c);

    // Both files hold everything: the AOF, and dump.rdb from the last BGSAVE.
    let s = restart(s, &["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(digest(&mut c), want);
    drop(c);
    let dir = s.stop();
    let s = Server::start_in(
        dir,
        &[
            "--threads",
            "1",
            "--appendonly",
            "no",
            "--enable-debug-command",
            "yes",
        ],
    );
    let mut c = s.conn();
    assert_eq!(digest(&mut c), want);
}
