//! Start-up and configuration through the real binary: fatal config errors,
//! config files and the command line, CONFIG GET/SET/REWRITE/RESETSTAT,
//! signals and SHUTDOWN, threads and CPU pinning, client limits.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

fn config_get(c: &mut redis::Connection, name: &str) -> String {
    let v: Vec<String> = query(c, &["CONFIG", "GET", name]);
    assert_eq!(v.len(), 2, "{name}: {v:?}");
    v[1].clone()
}

/// Runs a server binary with `args` expecting it to stop by itself.
fn run(bin: &str, args: &[&str]) -> Ran {
    run_bounded(Command::new(bin).args(args), b"", T)
}

/// Replaces the server's name and version in a fatal config error.
fn normalize_fatal(s: &str) -> String {
    s.replace(
        &format!("(shardis {})", env!("CARGO_PKG_VERSION")),
        "(SERVER)",
    )
    .replace("(Redis 7.0.15)", "(SERVER)")
}

#[test]
fn bad_options_stop_start_up_with_redis_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "# ok so far\nport 7000\n\nmaxclients lots\n").expect("write");
    let conf = conf.to_str().expect("utf8 path").to_string();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["--nosuchopt", "1"],
            ">>> 'nosuchopt \"1\"'",
            "Bad directive or wrong number of arguments",
        ),
        (
            vec!["--port", "abc"],
            ">>> 'port \"abc\"'",
            "argument couldn't be parsed into an integer",
        ),
        (
            vec!["--port", "70000"],
            ">>> 'port \"70000\"'",
            "argument must be between 0 and 65535 inclusive",
        ),
        (
            vec!["--appendfsync", "sometimes"],
            ">>> 'appendfsync \"sometimes\"'",
            "argument(s) must be one of the following: everysec, always, no",
        ),
        (
            vec![&conf],
            ">>> 'maxclients lots'",
            "argument couldn't be parsed into an integer",
        ),
    ];
    let redis = which("redis-server");
    if redis.is_none() {
        println!("redis-server missing: checking shardis's messages alone");
    }
    for (args, quoted, reason) in cases {
        let ours = run(BIN, &args);
        assert_eq!(
            ours.status.and_then(|s| s.code()),
            Some(1),
            "{args:?}: {}",
            ours.stderr
        );
        assert!(
            ours.stderr
                .starts_with("\n*** FATAL CONFIG FILE ERROR (shardis "),
            "{args:?}: {:?}",
            ours.stderr
        );
        assert!(ours.stderr.contains(quoted), "{args:?}: {}", ours.stderr);
        assert!(ours.stderr.contains(reason), "{args:?}: {}", ours.stderr);
        assert!(ours.stdout.is_empty(), "{args:?}: {}", ours.stdout);
        if let Some(r) = redis.as_ref().and_then(|p| p.to_str()) {
            let theirs = run(r, &args);
            assert_eq!(theirs.status.and_then(|s| s.code()), Some(1));
            assert_eq!(
                normalize_fatal(&ours.stderr),
                normalize_fatal(&theirs.stderr),
                "{args:?}"
            );
        }
    }
}

#[test]
fn version_and_help_exit_zero() {
    let v = run(BIN, &["--version"]);
    assert!(v.ok(), "{}", v.stderr);
    assert!(
        v.stdout
            .starts_with(&format!("shardis server v={}", env!("CARGO_PKG_VERSION"))),
        "{}",
        v.stdout
    );
    let v2 = run(BIN, &["-v"]);
    assert_eq!(v2.stdout, v.stdout);
    let h = run(BIN, &["--help"]);
    assert!(h.ok());
    assert!(h.stderr.contains("Usage: ./shardis-server"), "{}", h.stderr);
    assert!(run(BIN, &["-h"]).ok());
}

#[test]
fn config_file_is_loaded_and_the_command_line_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("my.conf");
    std::fs::write(
        &conf,
        "# shardis test config\n\
         \n\
         maxclients 77\n\
         \t# an indented comment\n\
         timeout 7\n\
         requirepass \"pa ss\\x21\"\n\
         'loglevel' 'warning'\n\
         databases 4\n",
    )
    .expect("write");
    let s = Server::start(&[conf.to_str().expect("utf8"), "--maxclients", "50"]);
    let mut c = redis::Client::open(format!("redis://:pa%20ss!@127.0.0.1:{}/", s.port))
        .expect("client")
        .get_connection()
        .expect("connect with the file's password");
    assert_eq!(config_get(&mut c, "maxclients"), "50", "command line wins");
    assert_eq!(config_get(&mut c, "timeout"), "7");
    assert_eq!(config_get(&mut c, "requirepass"), "pa ss!");
    assert_eq!(config_get(&mut c, "loglevel"), "warning");
    assert_eq!(config_get(&mut c, "databases"), "4");
    let info: String = query(&mut c, &["INFO", "server"]);
    let path = std::fs::canonicalize(&conf).expect("canonical");
    assert_eq!(
        info_field(&info, "config_file").as_deref(),
        Some(path.to_str().expect("utf8"))
    );
    // Without the password: NOAUTH.
    let mut r = s.raw();
    assert_eq!(
        r.call(&[b"GET", b"x"]),
        b"-NOAUTH Authentication required.\r\n"
    );
}

#[test]
fn config_set_takes_effect() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    for (name, value) in [
        ("maxclients", "123"),
        ("timeout", "300"),
        ("proto-max-bulk-len", "1048576"),
        ("hz", "20"),
        ("loglevel", "verbose"),
    ] {
        let r: String = query(&mut c, &["CONFIG", "SET", name, value]);
        assert_eq!(r, "OK");
        assert_eq!(config_get(&mut c, name), value);
    }
    let r: String = query(
        &mut c,
        &["CONFIG", "SET", "timeout", "0", "maxclients", "10000"],
    );
    assert_eq!(r, "OK");
    assert_eq!(config_get(&mut c, "timeout"), "0");
    let mut raw = s.raw();
    assert_eq!(
        raw.call(&[b"CONFIG", b"SET", b"proto-max-bulk-len", b"1"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n"
    );
    assert_eq!(
        raw.call(&[b"CONFIG", b"SET", b"nosuch", b"1"]),
        b"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );

    // A bulk at the new limit is accepted, one byte more is a protocol error.
    let at = vec![b'x'; 1048576];
    assert_eq!(raw.call(&[b"SET", b"big", &at]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"STRLEN", b"big"]), b":1048576\r\n");
    let mut over = s.raw();
    over.send(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1048577\r\n");
    assert_eq!(
        over.read_replies(1),
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(over.is_closed(), "a protocol error closes the connection");
    // Raising it again lets the longer bulk in.
    let _: String = query(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "2mb"]);
    assert_eq!(config_get(&mut c, "proto-max-bulk-len"), "2097152");
    let more = vec![b'y'; 1048577];
    assert_eq!(s.raw().call(&[b"SET", b"big", &more]), b"+OK\r\n");
}

#[test]
fn config_rewrite_keeps_the_file_and_restarts_with_new_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("rw.conf");
    let original = "# Top comment, kept\n\
                    maxclients 77\n\
                    \n\
                    # Timeout section\n\
                    timeout 5\n\
                    hz 10\n\
                    save \"\"\n";
    std::fs::write(&conf, original).expect("write");
    let conf_s = conf.to_str().expect("utf8").to_string();
    let s = Server::start(&[&conf_s]);
    let mut c = s.conn();
    for (k, v) in [
        ("maxclients", "88"),
        ("timeout", "9"),
        ("loglevel", "warning"),
    ] {
        let _: String = query(&mut c, &["CONFIG", "SET", k, v]);
    }
    let r: String = query(&mut c, &["CONFIG", "REWRITE"]);
    assert_eq!(r, "OK");
    let text = std::fs::read_to_string(&conf).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    // Comments and lines stay where they were; changed values in place.
    assert_eq!(
        &lines[..7],
        [
            "# Top comment, kept",
            "maxclients 88",
            "",
            "# Timeout section",
            "timeout 9",
            "hz 10",
            "save \"\""
        ],
        "{text}"
    );
    // New options are appended after Redis's marker.
    assert!(text.contains("\n# Generated by CONFIG REWRITE\n"), "{text}");
    assert!(lines.contains(&"loglevel warning"), "{text}");
    // The port/bind/dir given on the command line are written too, as Redis does.
    assert!(
        lines.contains(&format!("port {}", s.port).as_str()),
        "{text}"
    );

    // The rewritten file starts a server with the new values.
    drop(c);
    let dir = s.stop();
    let s = Server::start_in(dir, &[&conf_s]);
    let mut c = s.conn();
    assert_eq!(config_get(&mut c, "maxclients"), "88");
    assert_eq!(config_get(&mut c, "timeout"), "9");
    assert_eq!(config_get(&mut c, "loglevel"), "warning");
    // Rewriting again without changes leaves the file as it is.
    let before = std::fs::read_to_string(&conf).expect("read");
    let _: String = query(&mut c, &["CONFIG", "REWRITE"]);
    let after = std::fs::read_to_string(&conf).expect("read");
    // (Like Redis, each rewrite leaves one more empty line at the end.)
    let strip = |t: &str| -> Vec<String> {
        t.trim_end()
            .lines()
            .filter(|l| !l.starts_with("port ") && !l.starts_with("dir "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(strip(&before), strip(&after));

    // Without a config file, CONFIG REWRITE is an error.
    let bare = Server::start(&[]);
    assert_eq!(
        bare.raw().call(&[b"CONFIG", b"REWRITE"]),
        b"-ERR The server is running without a config file\r\n"
    );
}

#[test]
fn config_resetstat_zeroes_the_stats() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    for i in 0..20 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut c)
            .unwrap();
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("k{i}"))
            .query(&mut c)
            .unwrap();
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("nokey{i}"))
            .query(&mut c)
            .unwrap();
    }
    let _ = redis::cmd("NOSUCHCMD").query::<()>(&mut c);
    let info: String = query(&mut c, &["INFO", "everything"]);
    let n = |t: &str, f: &str| -> u64 {
        info_field(t, f)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{f} missing"))
    };
    assert!(n(&info, "total_commands_processed") >= 60);
    assert_eq!(n(&info, "keyspace_hits"), 20);
    assert_eq!(n(&info, "keyspace_misses"), 20);
    assert!(n(&info, "total_error_replies") >= 1);
    assert!(info.contains("cmdstat_set:calls=20"), "{info}");

    let r: String = query(&mut c, &["CONFIG", "RESETSTAT"]);
    assert_eq!(r, "OK");
    let info: String = query(&mut c, &["INFO", "everything"]);
    assert!(n(&info, "total_commands_processed") <= 2, "{info}");
    assert_eq!(n(&info, "keyspace_hits"), 0);
    assert_eq!(n(&info, "keyspace_misses"), 0);
    assert_eq!(n(&info, "total_error_replies"), 0);
    assert_eq!(n(&info, "rejected_connections"), 0);
    assert!(!info.contains("cmdstat_set:"), "{info}");
    assert!(!info.contains("errorstat_ERR"), "{info}");
    for sh in info_shards(&info) {
        assert_eq!(sh.get("forwarded_out").map(String::as_str), Some("0"));
    }
    // The data is untouched.
    assert_eq!(query::<i64>(&mut c, &["DBSIZE"]), 20);
}

#[test]
fn sigterm_and_shutdown_exit_cleanly() {
    let mut s = Server::start(&["--threads", "2"]);
    let _: () = redis::cmd("SET")
        .arg("a")
        .arg("b")
        .query(&mut s.conn())
        .unwrap();
    let t0 = Instant::now();
    s.signal(libc::SIGTERM);
    let st = s
        .wait_exit(Duration::from_secs(5))
        .expect("exited after SIGTERM");
    assert!(st.success(), "{st}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    let log = s.log_text();
    assert!(
        log.contains("Received SIGTERM scheduling shutdown"),
        "{log}"
    );
    assert!(log.contains("bye bye"), "{log}");

    let mut s = Server::start(&["--threads", "2"]);
    let mut r = s.raw();
    r.cmd(&[b"SHUTDOWN"]);
    // Redis closes the connection without a reply.
    assert_eq!(r.read_replies(1), b"");
    let st = s
        .wait_exit(Duration::from_secs(5))
        .expect("exited after SHUTDOWN");
    assert!(st.success(), "{st}");
    let log = s.log_text();
    assert!(log.contains("User requested shutdown..."), "{log}");
    assert!(log.contains("bye bye"), "{log}");
}

#[test]
fn threads_give_one_info_shards_line_each() {
    for n in [1usize, 2] {
        let s = Server::start(&["--threads", &n.to_string()]);
        let mut c = s.conn();
        let info: String = query(&mut c, &["INFO", "shards"]);
        let shards = info_shards(&info);
        assert_eq!(shards.len(), n, "{info}");
        let slots: usize = shards
            .iter()
            .map(|m| m["slots"].parse::<usize>().unwrap())
            .sum();
        assert_eq!(slots, 16384);
        let server: String = query(&mut c, &["INFO", "server"]);
        assert_eq!(info_field(&server, "shardis_threads"), Some(n.to_string()));
    }
}

#[test]
fn taskset_decides_where_the_shard_runs() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        println!("skipped: fewer than 2 CPUs");
        return;
    }
    let Some(taskset) = which("taskset") else {
        println!("skipped: taskset is not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let log = dir.path().join("server.log");
    let mut child = Command::new(taskset)
        .args(["-c", "1", BIN, "--threads", "1", "--bind", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .arg("--dir")
        .arg(dir.path())
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut info = String::new();
    while Instant::now() < deadline {
        if let Ok(mut c) = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .and_then(|c| c.get_connection())
        {
            info = redis::cmd("INFO")
                .arg("shards")
                .query(&mut c)
                .unwrap_or_default();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let shards = info_shards(&info);
    assert_eq!(shards.len(), 1, "{info}");
    assert_eq!(
        shards[0].get("cpu").map(String::as_str),
        Some("1"),
        "{info}"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("shard 0 on CPU 1"), "{text}");
}

#[test]
fn protected_mode_refuses_non_loopback_clients() {
    // A non-loopback peer needs a non-loopback address on this machine, and
    // these tests send no traffic outside 127.0.0.0/8. What can be checked
    // from loopback: the default is on, and loopback clients get in.
    println!(
        "partly skipped: a non-loopback client would need traffic outside 127.0.0.0/8; \
         checking only that loopback clients are accepted under protected mode"
    );
    let s = Server::start(&["--protected-mode", "yes"]);
    let mut c = s.conn();
    assert_eq!(config_get(&mut c, "protected-mode"), "yes");
    assert_eq!(s.raw().call(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn maxclients_refuses_the_extra_connection() {
    let s = Server::start(&["--maxclients", "2", "--threads", "2"]);
    // (The harness's readiness probe may not be seen closed yet: retry.)
    let admitted = || {
        let deadline = Instant::now() + T;
        loop {
            let mut r = s.raw();
            if r.call(&[b"PING"]) == b"+PONG\r\n" {
                return r;
            }
            assert!(Instant::now() < deadline, "not admitted");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let a = admitted();
    let b = admitted();
    let mut third = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    third.set_read_timeout(Some(T)).expect("timeout");
    let mut buf = Vec::new();
    let _ = third.read_to_end(&mut buf);
    assert_eq!(buf, b"-ERR max number of clients reached\r\n");
    let info: String = query(&mut s_conn_after_drop(&s, a), &["INFO", "stats"]);
    // (Reconnecting may be refused again until the server saw the close.)
    let rejected: u64 = info_field(&info, "rejected_connections")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(rejected >= 1, "{info}");
    drop(b);
}

/// Frees one client slot (closing `r`) and connects a client in its place.
fn s_conn_after_drop(s: &Server, r: Raw) -> redis::Connection {
    drop(r);
    let deadline = Instant::now() + T;
    loop {
        if let Ok(mut c) = s.client().get_connection() {
            if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                return c;
            }
        }
        assert!(Instant::now() < deadline, "no slot freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn timeout_closes_idle_clients() {
    let s = Server::start(&["--timeout", "1", "--threads", "2"]);
    let mut idle = s.raw();
    assert_eq!(idle.call(&[b"PING"]), b"+PONG\r\n");
    let mut busy = s.raw();
    let t0 = Instant::now();
    // The busy client keeps talking for 2.5 s and stays connected.
    while t0.elapsed() < Duration::from_millis(2500) {
        assert_eq!(busy.call(&[b"PING"]), b"+PONG\r\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Redis checks timeouts in its cron, so a 1 s timeout closes within ~2 s.
    idle.s
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut b = [0u8; 16];
    let n = idle.s.read(&mut b);
    assert!(matches!(n, Ok(0)), "idle client still open: {n:?}");
    let _ = idle.s.write_all(b"PING\r\n");
    assert_eq!(busy.call(&[b"PING"]), b"+PONG\r\n");
}

/// A port another server listens on stops start-up with Redis's message
/// (the cores' SO_REUSEPORT sockets would otherwise share it silently).
#[test]
fn a_port_in_use_stops_start_up() {
    let first = Server::start(&["--threads", "2"]);
    let port = first.port.to_string();
    let second = run(
        BIN,
        &["--port", &port, "--bind", "127.0.0.1", "--threads", "2"],
    );
    assert!(!second.ok(), "a second server started on port {port}");
    let all = format!("{}{}", second.stdout, second.stderr);
    assert!(all.contains("bind: Address already in use"), "{all}");
    let mut c = first.conn();
    let pong: String = common::query(&mut c, &["PING"]);
    assert_eq!(pong, "PONG");
}
