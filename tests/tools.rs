//! Redis's own tools against shardis: redis-cli (commands, --no-raw, pipes,
//! --pipe, INFO, --scan, MONITOR) and redis-benchmark. Each test is skipped,
//! with the reason printed, when its tool is not installed.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);

fn cli(s: &Server, args: &[&str]) -> Ran {
    redis_cli(s.port, args, b"", T).expect("redis-cli")
}

fn has(tool: &str) -> bool {
    if which(tool).is_some() {
        return true;
    }
    println!("skipped: {tool} is not installed");
    false
}

#[test]
fn redis_cli_commands_raw_and_no_raw() {
    if !has("redis-cli") {
        return;
    }
    let s = Server::start(&["--threads", "2"]);
    let out = |a: &[&str]| {
        let r = cli(&s, a);
        assert!(r.ok(), "{a:?}: {}", r.stderr);
        r.stdout
    };
    assert_eq!(out(&["PING"]), "PONG\n");
    assert_eq!(out(&["set", "a", "hello world"]), "OK\n");
    assert_eq!(out(&["get", "a"]), "hello world\n");
    assert_eq!(out(&["--no-raw", "get", "a"]), "\"hello world\"\n");
    assert_eq!(out(&["incr", "n"]), "1\n");
    assert_eq!(out(&["--no-raw", "incr", "n"]), "(integer) 2\n");
    assert_eq!(out(&["--no-raw", "get", "missing"]), "(nil)\n");
    assert_eq!(out(&["mset", "k1", "v1", "k2", "v2"]), "OK\n");
    assert_eq!(out(&["mget", "k1", "missing", "k2"]), "v1\n\nv2\n");
    assert_eq!(
        out(&["--no-raw", "mget", "k1", "missing", "k2"]),
        "1) \"v1\"\n2) (nil)\n3) \"v2\"\n"
    );
    // Errors: printed, and the exit status stays 0 as with redis-server.
    // (redis-cli prints an error in raw mode followed by an empty line.)
    let e = cli(&s, &["incr", "a"]);
    assert_eq!(e.stdout, "ERR value is not an integer or out of range\n\n");
    let e = cli(&s, &["--no-raw", "incr", "a"]);
    assert_eq!(
        e.stdout,
        "(error) ERR value is not an integer or out of range\n"
    );
    // Binary-safe values through -x (stdin as the last argument).
    let x = redis_cli(s.port, &["-x", "set", "bin"], b"a\x00b\r\nc", T).expect("cli");
    assert_eq!(x.stdout, "OK\n");
    assert_eq!(out(&["strlen", "bin"]), "6\n");
    assert_eq!(out(&["--no-raw", "get", "bin"]), "\"a\\x00b\\r\\nc\"\n");
    // -r repeats; -n selects a db.
    assert_eq!(out(&["-r", "3", "incr", "rep"]), "1\n2\n3\n");
    assert_eq!(out(&["-n", "3", "set", "indb3", "x"]), "OK\n");
    assert_eq!(out(&["-n", "3", "dbsize"]), "1\n");
    assert_eq!(out(&["-n", "0", "exists", "indb3"]), "0\n");

    // The same session against redis-server prints the same.
    if let Some(redis) = Server::redis(&[]) {
        let script = "set a 1\nincr a\nget a\nmget a nokey\nincr nokey\nset s \"two words\"\nget s\n\
                      append s !\nstrlen s\ngetrange s 0 2\nexpire s 100\nttl s\npersist s\ntype s\n\
                      del a s nokey\nexists a\nset a b xx\nset a b nx\nset a c nx get\nsetnx a d\n\
                      incrbyfloat f 1.5\ndecrby n2 5\ngetset a z\ngetdel a\ndbsize\nflushdb\ndbsize\n";
        for args in [&[][..], &["--no-raw"][..]] {
            let flush = redis::cmd("FLUSHALL");
            let _: () = flush.query(&mut redis.conn()).unwrap();
            let _: () = flush.query(&mut s.conn()).unwrap();
            let theirs = redis_cli(redis.port, args, script.as_bytes(), T).expect("cli");
            let ours = redis_cli(s.port, args, script.as_bytes(), T).expect("cli");
            assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
        }
    } else {
        println!("redis-server missing: no side-by-side comparison");
    }
}

#[test]
fn redis_cli_pipes_and_pipe_mode() {
    if !has("redis-cli") {
        return;
    }
    let s = Server::start(&["--threads", "2"]);
    // Commands from a pipe, one per line.
    let mut input = String::new();
    for i in 0..300 {
        input.push_str(&format!("set key:{i} {i}\n"));
    }
    input.push_str("dbsize\n");
    let r = redis_cli(s.port, &[], input.as_bytes(), T).expect("cli");
    assert!(r.ok(), "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 301);
    assert!(lines[..300].iter().all(|l| *l == "OK"));
    assert_eq!(lines[300], "300");

    // --pipe: raw RESP on stdin, replies counted.
    let mut proto = Vec::new();
    for i in 0..5000 {
        proto.extend(resp(&[
            b"SET",
            format!("p:{i}").as_bytes(),
            format!("{i}").as_bytes(),
        ]));
    }
    proto.extend(resp(&[b"INCR", b"p:1"]));
    proto.extend(resp(&[b"INCR", b"nonint"]));
    proto.extend(resp(&[b"SET", b"nonint", b"x"]));
    proto.extend(resp(&[b"INCR", b"nonint"]));
    let r = redis_cli(s.port, &["--pipe"], &proto, T).expect("cli");
    assert!(
        r.stdout.contains("errors: 1, replies: 5004"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    let n = cli(&s, &["dbsize"]);
    assert_eq!(n.stdout, "5301\n");
    assert_eq!(cli(&s, &["get", "p:1"]).stdout, "2\n");
}

#[test]
fn redis_cli_info_parses() {
    if !has("redis-cli") {
        return;
    }
    let s = Server::start(&["--threads", "2"]);
    let _ = cli(&s, &["set", "x", "1"]);
    for args in [&["INFO"][..], &["INFO", "everything"][..]] {
        let r = cli(&s, args);
        assert!(r.ok());
        let mut sections = Vec::new();
        for line in r.stdout.lines() {
            // redis-cli prints INFO with \r\n line ends kept as \r.
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            if let Some(sec) = line.strip_prefix("# ") {
                sections.push(sec.to_string());
                continue;
            }
            let (k, _v) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("not name:value: {line:?}"));
            assert!(
                !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "{line:?}"
            );
        }
        for want in ["Server", "Clients", "Memory", "Stats", "Keyspace", "Shards"] {
            assert!(sections.iter().any(|s| s == want), "{args:?}: {sections:?}");
        }
        assert!(r.stdout.contains("redis_version:7.0.15"));
        assert!(r.stdout.contains("db0:keys=1,expires=0"));
    }
    let r = cli(&s, &["INFO", "keyspace"]);
    assert_eq!(
        r.stdout.replace('\r', ""),
        "# Keyspace\ndb0:keys=1,expires=0,avg_ttl=0\n"
    );
}

#[test]
fn redis_cli_scan_returns_every_key() {
    if !has("redis-cli") {
        return;
    }
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let mut want = Vec::new();
    let mut pipe = redis::pipe();
    for i in 0..1500 {
        let k = format!("k:{i}");
        pipe.cmd("SET").arg(&k).arg(i).ignore();
        want.push(k);
        pipe.cmd("SET").arg(format!("other:{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    let r = cli(&s, &["--scan", "--pattern", "k:*"]);
    assert!(r.ok(), "{}", r.stderr);
    let mut got: Vec<String> = r.stdout.lines().map(str::to_string).collect();
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    let r = cli(&s, &["--scan"]);
    assert_eq!(r.stdout.lines().count(), 3000);
}

#[test]
fn redis_cli_monitor_sees_other_clients() {
    if !has("redis-cli") {
        return;
    }
    let s = Server::start(&["--threads", "2"]);
    let mut mon = Command::new(which("redis-cli").expect("cli"))
        .args(["-p", &s.port.to_string(), "MONITOR"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn monitor");
    let stdout = mon.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait until MONITOR is on ("OK"), then talk from other clients.
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    assert_eq!(first, "OK");
    let mut seen = Vec::new();
    let mut round = 0;
    while Instant::now() < deadline && seen.len() < 3 {
        round += 1;
        let mut c = s.conn();
        let _: () = redis::cmd("SET")
            .arg(format!("mon:{round}"))
            .arg("hello world")
            .query(&mut c)
            .unwrap();
        let _: Option<String> = redis::cmd("GET").arg("other key").query(&mut c).unwrap();
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            seen.push(line);
        }
    }
    let _ = mon.kill();
    let _ = mon.wait();
    let _ = reader.join();
    let text = seen.join("\n");
    assert!(text.contains("\"SET\" \"mon:1\" \"hello world\""), "{text}");
    assert!(text.contains("\"GET\" \"other key\""), "{text}");
    // Redis's line shape: `<unix time> [<db> <ip:port>] "cmd" "arg"...`
    let line = seen
        .iter()
        .find(|l| l.contains("\"SET\""))
        .expect("a SET line");
    let (time, rest) = line.split_once(' ').expect("time");
    assert!(time.parse::<f64>().is_ok(), "{line}");
    assert!(rest.starts_with("[0 127.0.0.1:"), "{line}");
}

/// The `TEST: N requests per second` lines of `redis-benchmark -q`.
fn rps(out: &str) -> Vec<(String, f64)> {
    out.split(['\r', '\n'])
        .filter_map(|l| {
            let (name, rest) = l.split_once(": ")?;
            let n = rest
                .strip_suffix(" requests per second")
                .or_else(|| rest.split(" requests per second").next())?;
            Some((name.trim().to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn redis_benchmark_runs_clean() {
    if !has("redis-benchmark") {
        return;
    }
    let s = Server::start(&["--threads", "2"]);
    for pipeline in ["16", "1"] {
        let r = run_bounded(
            Command::new(which("redis-benchmark").expect("bench")).args([
                "-h",
                "127.0.0.1",
                "-p",
                &s.port.to_string(),
                "-q",
                "-t",
                "set,get,incr,mset,ping",
                "-n",
                "20000",
                "-P",
                pipeline,
            ]),
            b"",
            Duration::from_secs(60),
        );
        assert!(r.ok(), "-P {pipeline}: {:?}\n{}", r.status, r.stderr);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(
            !all.contains("ERR") && !all.to_lowercase().contains("error"),
            "-P {pipeline}: {all}"
        );
        let results = rps(&r.stdout);
        let names: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
        for want in [
            "PING_INLINE",
            "PING_MBULK",
            "SET",
            "GET",
            "INCR",
            "MSET (10 keys)",
        ] {
            assert!(
                names.contains(&want),
                "-P {pipeline}: {names:?}\n{}",
                r.stdout
            );
        }
        for (name, n) in &results {
            assert!(*n > 0.0, "-P {pipeline}: {name} {n}");
        }
        println!("-P {pipeline}: {results:?}");
    }
    // The data it wrote is there: key:__rand_int__ and counter:__rand_int__.
    let mut c = s.conn();
    let get: Option<String> = redis::cmd("GET")
        .arg("key:__rand_int__")
        .query(&mut c)
        .unwrap();
    assert_eq!(get.map(|v| v.len()), Some(3), "-d 3 by default");
    let n: i64 = redis::cmd("GET")
        .arg("counter:__rand_int__")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 40000, "every INCR counted");
}

/// redis-benchmark's whole default test list (every data type it knows)
/// runs without an error against a standalone node (keys on both cores).
/// The `--cluster` run waits for the multi-node cluster issue: redis-benchmark
/// detects a cluster node by itself and refuses fewer than three masters.
#[test]
fn redis_benchmark_default_tests_run_clean() {
    if !has("redis-benchmark") {
        return;
    }
    let want = [
        "PING_INLINE",
        "SET",
        "GET",
        "INCR",
        "LPUSH",
        "RPUSH",
        "LPOP",
        "RPOP",
        "SADD",
        "HSET",
        "SPOP",
        "ZADD",
        "ZPOPMIN",
        "LRANGE_100 (first 100 elements)",
        "LRANGE_600 (first 600 elements)",
        "MSET (10 keys)",
    ];
    let s = Server::start(&["--threads", "2"]);
    let port = s.port.to_string();
    let r = run_bounded(
        Command::new(which("redis-benchmark").expect("bench")).args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-q",
            "-n",
            "3000",
            "-c",
            "10",
        ]),
        b"",
        Duration::from_secs(120),
    );
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(r.ok(), "{:?}\n{all}", r.status);
    assert!(
        !all.contains("ERR") && !all.to_lowercase().contains("error"),
        "{all}"
    );
    let names: Vec<String> = rps(&r.stdout).into_iter().map(|(n, _)| n).collect();
    for w in want {
        assert!(names.iter().any(|n| n == w), "{w} missing\n{all}");
    }
    println!("{}", names.join(", "));
}
