//! The thread-per-core core through the real binary: strings, keys, expiry,
//! cross-core forwarding and atomicity, protocol handling, RESP3.

mod common;

use common::*;
use redis::{Commands, Value};
use std::time::{Duration, Instant};

#[test]
fn strings_and_their_errors() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let _: () = c.set("s", "hello").unwrap();
    assert_eq!(c.get::<_, String>("s").unwrap(), "hello");
    assert_eq!(c.append::<_, _, i64>("s", " world").unwrap(), 11);
    assert_eq!(c.strlen::<_, i64>("s").unwrap(), 11);
    assert_eq!(c.getrange::<_, String>("s", 0, 4).unwrap(), "hello");
    assert_eq!(c.getrange::<_, String>("s", -5, -1).unwrap(), "world");
    assert_eq!(c.setrange::<_, _, i64>("s", 6, "W").unwrap(), 11);
    assert_eq!(c.get::<_, String>("s").unwrap(), "hello World");
    assert_eq!(c.incr::<_, _, i64>("n", 5).unwrap(), 5);
    assert_eq!(c.decr::<_, _, i64>("n", 7).unwrap(), -2);
    let f: String = redis::cmd("INCRBYFLOAT")
        .arg("f")
        .arg("10.5")
        .query(&mut c)
        .unwrap();
    assert_eq!(f, "10.5");
    let f: String = redis::cmd("INCRBYFLOAT")
        .arg("f")
        .arg("0.1")
        .query(&mut c)
        .unwrap();
    assert_eq!(f, "10.6");
    assert_eq!(
        err_text(c.incr::<_, _, i64>("s", 1)),
        "ERR value is not an integer or out of range"
    );
    let _: () = c.set("big", i64::MAX).unwrap();
    assert_eq!(
        err_text(c.incr::<_, _, i64>("big", 1)),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        err_text(
            redis::cmd("SET")
                .arg("a")
                .arg("b")
                .arg("EX")
                .arg("0")
                .query::<()>(&mut c)
        ),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        err_text(
            redis::cmd("SET")
                .arg("a")
                .arg("b")
                .arg("NX")
                .arg("XX")
                .query::<()>(&mut c)
        ),
        "ERR syntax error"
    );
    assert_eq!(
        err_text(redis::cmd("GET").query::<()>(&mut c)),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        err_text(redis::cmd("NOSUCH").arg("x").query::<()>(&mut c)),
        "ERR unknown command 'NOSUCH', with args beginning with: 'x'"
    );
    // SET options
    let r: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("v1")
        .arg("NX")
        .arg("GET")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, None);
    let r: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("v2")
        .arg("XX")
        .arg("GET")
        .query(&mut c)
        .unwrap();
    assert_eq!(r.as_deref(), Some("v1"));
    let r: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("v3")
        .arg("NX")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, None);
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v4")
        .arg("PX")
        .arg("100000")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v5")
        .arg("KEEPTTL")
        .query(&mut c)
        .unwrap();
    let pttl: i64 = c.pttl("k").unwrap();
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
    assert_eq!(c.get_del::<_, String>("k").unwrap(), "v5");
    assert!(!c.exists::<_, bool>("k").unwrap());
    // MSET/MGET/MSETNX over keys of both cores
    let keys = keys_on_cores(2, 3);
    let all: Vec<&String> = keys.iter().flatten().collect();
    let pairs: Vec<(&String, usize)> = all.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let _: () = c.mset(&pairs).unwrap();
    let vals: Vec<usize> = c.mget(&all).unwrap();
    assert_eq!(vals, (0..all.len()).collect::<Vec<_>>());
    let r: i64 = redis::cmd("MSETNX")
        .arg(all[0])
        .arg("x")
        .arg("fresh")
        .arg("y")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, 0);
    assert!(!c.exists::<_, bool>("fresh").unwrap());
    assert_eq!(
        err_text(
            redis::cmd("MSET")
                .arg("a")
                .arg("1")
                .arg("b")
                .query::<()>(&mut c)
        ),
        "ERR wrong number of arguments for 'mset' command"
    );
}

#[test]
fn keys_ttl_rename_copy_across_cores() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let keys = keys_on_cores(2, 2);
    let (a, b) = (&keys[0][0], &keys[1][0]);
    let _: () = c.set(a, "va").unwrap();
    let _: () = redis::cmd("EXPIRE").arg(a).arg(100).query(&mut c).unwrap();
    // RENAME moves the value and its TTL to a key on the other core.
    let _: () = c.rename(a, b).unwrap();
    assert!(!c.exists::<_, bool>(a).unwrap());
    assert_eq!(c.get::<_, String>(b).unwrap(), "va");
    let ttl: i64 = c.ttl(b).unwrap();
    assert!((99..=100).contains(&ttl), "{ttl}");
    assert_eq!(err_text(c.rename::<_, _, ()>(a, b)), "ERR no such key");
    // COPY across cores, then REPLACE.
    let r: i64 = redis::cmd("COPY").arg(b).arg(a).query(&mut c).unwrap();
    assert_eq!(r, 1);
    let r: i64 = redis::cmd("COPY").arg(b).arg(a).query(&mut c).unwrap();
    assert_eq!(r, 0);
    let r: i64 = redis::cmd("COPY")
        .arg(b)
        .arg(a)
        .arg("REPLACE")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, 1);
    assert_eq!(c.get::<_, String>(a).unwrap(), "va");
    // COPY into another db with the destination on the other core.
    let (src, dst) = (&keys[0][1], &keys[1][1]);
    let _: () = c.set(src, "cp").unwrap();
    let copy_to_db1 = ["COPY", src.as_str(), dst.as_str(), "DB", "1"];
    assert_eq!(query::<i64>(&mut c, &copy_to_db1), 1);
    assert_eq!(
        query::<i64>(&mut c, &copy_to_db1),
        0,
        "destination in db 1 exists now"
    );
    assert!(!c.exists::<_, bool>(dst).unwrap(), "db 0 untouched");
    let _: () = redis::cmd("SELECT").arg(1).query(&mut c).unwrap();
    assert_eq!(c.get::<_, String>(dst).unwrap(), "cp");
    let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
    // DEL / EXISTS / TOUCH count across cores, duplicates included like Redis.
    let n: i64 = redis::cmd("EXISTS")
        .arg(a)
        .arg(b)
        .arg(a)
        .arg("nokey")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 3);
    let n: i64 = redis::cmd("TOUCH").arg(a).arg(b).query(&mut c).unwrap();
    assert_eq!(n, 2);
    let n: i64 = c.del(&[a, b, &"nokey".to_string()]).unwrap();
    assert_eq!(n, 2);
    // TTL family
    let _: () = c.set("t", "v").unwrap();
    assert_eq!(c.ttl::<_, i64>("t").unwrap(), -1);
    assert_eq!(c.ttl::<_, i64>("nokey").unwrap(), -2);
    let r: i64 = redis::cmd("EXPIRE")
        .arg("t")
        .arg(100)
        .arg("XX")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, 0);
    let r: i64 = redis::cmd("EXPIRE")
        .arg("t")
        .arg(100)
        .arg("NX")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, 1);
    let r: i64 = redis::cmd("EXPIRE")
        .arg("t")
        .arg(50)
        .arg("GT")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, 0);
    let r: i64 = redis::cmd("EXPIRE")
        .arg("t")
        .arg(50)
        .arg("LT")
        .query(&mut c)
        .unwrap();
    assert_eq!(r, 1);
    assert_eq!(
        err_text(
            redis::cmd("EXPIRE")
                .arg("t")
                .arg(5)
                .arg("NX")
                .arg("GT")
                .query::<()>(&mut c)
        ),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    let at: i64 = redis::cmd("EXPIRETIME").arg("t").query(&mut c).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now + 49..=now + 51).contains(&at), "{at} vs {now}");
    assert_eq!(c.persist::<_, i64>("t").unwrap(), 1);
    assert_eq!(c.ttl::<_, i64>("t").unwrap(), -1);
    // A past expiry deletes.
    let r: i64 = redis::cmd("PEXPIREAT")
        .arg("t")
        .arg(1)
        .query(&mut c)
        .unwrap();
    assert_eq!(r, 1);
    assert!(!c.exists::<_, bool>("t").unwrap());
    // TYPE, OBJECT
    let _: () = c.set("i", "123").unwrap();
    let _: () = c.set("e", "abc").unwrap();
    assert_eq!(
        redis::cmd("TYPE").arg("i").query::<String>(&mut c).unwrap(),
        "string"
    );
    assert_eq!(
        redis::cmd("TYPE")
            .arg("zz")
            .query::<String>(&mut c)
            .unwrap(),
        "none"
    );
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("i")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "int");
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("e")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "embstr");
    // SELECT / MOVE / SWAPDB
    let r: i64 = redis::cmd("MOVE").arg("e").arg(1).query(&mut c).unwrap();
    assert_eq!(r, 1);
    let _: () = redis::cmd("SELECT").arg(1).query(&mut c).unwrap();
    assert_eq!(c.get::<_, String>("e").unwrap(), "abc");
    let _: () = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut c).unwrap();
    assert_eq!(c.get::<_, String>("i").unwrap(), "123");
    assert_eq!(
        err_text(redis::cmd("SELECT").arg(99).query::<()>(&mut c)),
        "ERR DB index is out of range"
    );
}

#[test]
fn forwarding_between_cores_reads_back_everywhere() {
    let s = Server::start(&["--threads", "2"]);
    // Many connections: the kernel spreads them over both cores, so writes
    // and reads cross cores in both directions.
    let keys = keys_on_cores(2, 50);
    let mut conns: Vec<redis::Connection> = (0..8).map(|_| s.conn()).collect();
    for (i, k) in keys.iter().flatten().enumerate() {
        let c = &mut conns[i % 8];
        let _: () = c.set(k, i).unwrap();
    }
    for (i, k) in keys.iter().flatten().enumerate() {
        let c = &mut conns[(i + 3) % 8];
        assert_eq!(c.get::<_, usize>(k).unwrap(), i);
    }
    let n: usize = redis::cmd("DBSIZE").query(&mut conns[0]).unwrap();
    assert_eq!(n, 100);
    let info: String = redis::cmd("INFO")
        .arg("shards")
        .query(&mut conns[0])
        .unwrap();
    let lines: Vec<&str> = info.lines().filter(|l| l.starts_with("shard")).collect();
    assert_eq!(lines.len(), 2, "{info}");
    for l in &lines {
        assert!(l.contains("slots=8192"), "{l}");
        assert!(l.contains("keys=50"), "{l}");
    }
    let fwd: u64 = lines
        .iter()
        .map(|l| {
            l.split(',')
                .find_map(|f| f.strip_prefix("forwarded_in="))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
    assert!(fwd > 0, "no command crossed cores: {info}");
    // INFO's instantaneous_ops_per_sec follows the load (100 ms samples).
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        let _: () = redis::cmd("PING").query(&mut conns[2]).unwrap();
    }
    let stats: String = redis::cmd("INFO")
        .arg("stats")
        .query(&mut conns[0])
        .unwrap();
    let ops: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("instantaneous_ops_per_sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(ops > 0, "{stats}");
    // A pipeline mixing both cores' keys keeps request order.
    let mut p = redis::pipe();
    for k in keys.iter().flatten() {
        p.get(k);
    }
    let vals: Vec<usize> = p.query(&mut conns[1]).unwrap();
    assert_eq!(vals, (0..100).collect::<Vec<_>>());
}

#[test]
fn multi_core_writes_are_never_seen_half_done() {
    let s = Server::start(&["--threads", "2"]);
    let keys = keys_on_cores(2, 1);
    let (a, b) = (keys[0][0].clone(), keys[1][0].clone());
    let mut w = s.conn();
    let _: () = w.mset(&[(&a, 0), (&b, 0)]).unwrap();
    let url = s.url();
    let (ra, rb) = (a.clone(), b.clone());
    let reader = std::thread::spawn(move || {
        let mut r = redis::Client::open(url).unwrap().get_connection().unwrap();
        let mut checks = 0;
        let deadline = Instant::now() + Duration::from_secs(20);
        while checks < 3000 && Instant::now() < deadline {
            let v: Vec<i64> = r.mget(&[&ra, &rb]).unwrap();
            assert_eq!(v[0], v[1], "MGET saw a half-done MSET");
            checks += 1;
        }
        checks
    });
    for i in 1..=3000 {
        let _: () = w.mset(&[(&a, i), (&b, i)]).unwrap();
    }
    assert!(reader.join().unwrap() > 0);
    // RENAME back and forth: the value is always in exactly one of the keys.
    let (ra, rb) = (a.clone(), b.clone());
    let url = s.url();
    let reader = std::thread::spawn(move || {
        let mut r = redis::Client::open(url).unwrap().get_connection().unwrap();
        for _ in 0..2000 {
            let n: i64 = redis::cmd("EXISTS")
                .arg(&ra)
                .arg(&rb)
                .query(&mut r)
                .unwrap();
            assert_eq!(n, 1, "RENAME observed half done");
        }
    });
    let _: () = w.del(&b).unwrap();
    for i in 0..2000 {
        let (from, to) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let _: () = w.rename(from, to).unwrap();
    }
    reader.join().unwrap();
}

#[test]
fn expiry_lazy_and_active() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let _: () = redis::cmd("SET")
        .arg("lazy")
        .arg("v")
        .arg("PX")
        .arg(50)
        .query(&mut c)
        .unwrap();
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(c.get::<_, Option<String>>("lazy").unwrap(), None);
    // Keys never touched again disappear through the active cycle.
    let mut p = redis::pipe();
    for i in 0..500 {
        p.cmd("SET")
            .arg(format!("vol:{i}"))
            .arg("x")
            .arg("PX")
            .arg(100)
            .ignore();
    }
    for i in 0..100 {
        p.set(format!("keep:{i}"), "x").ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("INFO").arg("keyspace").query(&mut c).unwrap();
        if info.contains("db0:keys=100,expires=0") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "active expiry did not run: {info}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let stats: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert!(stats.contains("expired_keys:501"), "{stats}");
}

#[test]
fn scan_keys_randomkey_cover_all_cores() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..1000 {
        p.set(format!("k:{i}"), i).ignore();
    }
    for i in 0..10 {
        p.set(format!("other:{i}"), i).ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    for round in 0.. {
        assert!(round < 100_000, "SCAN did not finish");
        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("MATCH")
            .arg("k:*")
            .arg("COUNT")
            .arg(50)
            .query(&mut c)
            .unwrap();
        seen.extend(keys);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 1000);
    let mut all: Vec<String> = c.keys("other:*").unwrap();
    all.sort();
    assert_eq!(all.len(), 10);
    let k: String = redis::cmd("RANDOMKEY").query(&mut c).unwrap();
    assert!(k.starts_with("k:") || k.starts_with("other:"));
    assert_eq!(
        err_text(redis::cmd("SCAN").arg("abc").query::<()>(&mut c)),
        "ERR invalid cursor"
    );
    let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut c).unwrap(), 0);
    assert_eq!(
        redis::cmd("RANDOMKEY")
            .query::<Option<String>>(&mut c)
            .unwrap(),
        None
    );
}

#[test]
fn protocol_errors_close_only_the_offender() {
    let s = Server::start(&["--threads", "2"]);
    let mut good = s.raw();
    assert_eq!(good.call(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*abc\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n+x\r\n",
            b"-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$999999999999\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"SET \"a b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for (input, want) in cases {
        let mut bad = s.raw();
        bad.send(input);
        assert_eq!(
            bad.read_replies(1),
            *want,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
        assert!(
            bad.is_closed(),
            "connection stays open after {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A huge declared multibulk count allocates nothing up front and waits.
    let mut big = s.raw();
    big.send(b"*1000000\r\n$3\r\nfoo\r\n");
    // Inline commands with quoting, as telnet sends them.
    let mut tel = s.raw();
    tel.send(b"SET \"sp ace\" 'it''\r\n");
    assert_eq!(
        tel.read_replies(1),
        b"-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    let mut tel = s.raw();
    tel.send(b"set \"sp ace\" \"a\\x41\"\r\nget \"sp ace\"\r\n");
    assert_eq!(tel.read_replies(2), b"+OK\r\n$2\r\naA\r\n");
    assert_eq!(good.call(&[b"GET", b"k"]), b"$1\r\nv\r\n");
    drop(big);
}

#[test]
fn resp3_and_hello() {
    let s = Server::start(&["--threads", "1", "--enable-debug-command", "yes"]);
    let mut r = s.raw();
    let hello = r.call(&[b"HELLO", b"3"]);
    let text = String::from_utf8_lossy(&hello).to_string();
    assert!(text.starts_with("%7\r\n"), "{text}");
    assert!(text.contains("$5\r\nproto\r\n:3\r\n"), "{text}");
    assert_eq!(r.call(&[b"GET", b"missing"]), b"_\r\n");
    assert_eq!(r.call(&[b"DEBUG", b"PROTOCOL", b"true"]), b"#t\r\n");
    assert_eq!(r.call(&[b"DEBUG", b"PROTOCOL", b"double"]), b",3.141\r\n");
    assert_eq!(
        r.call(&[b"DEBUG", b"PROTOCOL", b"map"]),
        b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
    );
    let e = r.call(&[b"HELLO", b"4"]);
    assert_eq!(e, b"-NOPROTO unsupported protocol version\r\n");
    assert_eq!(r.call(&[b"HELLO", b"2"]).first(), Some(&b'*'));
    assert_eq!(r.call(&[b"GET", b"missing"]), b"$-1\r\n");
    let mut c = s.conn();
    let v: Value = redis::cmd("PING").query(&mut c).unwrap();
    assert!(
        matches!(v, Value::SimpleString(ref p) if p == "PONG"),
        "{v:?}"
    );
}

#[test]
fn auth_and_requirepass() {
    let s = Server::start(&["--requirepass", "s3cret", "--threads", "1"]);
    let mut r = s.raw();
    assert_eq!(
        r.call(&[b"GET", b"k"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        r.call(&[b"AUTH", b"nope"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(r.call(&[b"AUTH", b"s3cret"]), b"+OK\r\n");
    assert_eq!(r.call(&[b"GET", b"k"]), b"$-1\r\n");
    let mut r2 = s.raw();
    let h = r2.call(&[
        b"HELLO", b"3", b"AUTH", b"default", b"s3cret", b"SETNAME", b"me",
    ]);
    assert_eq!(h.first(), Some(&b'%'));
    assert_eq!(r2.call(&[b"CLIENT", b"GETNAME"]), b"$2\r\nme\r\n");
}

#[test]
fn random_garbage_never_hurts_the_server() {
    let s = Server::start(&["--threads", "2"]);
    let mut good = s.raw();
    assert_eq!(good.call(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    // A fixed-seed xorshift: the same bytes every run.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..200 {
        let mut r = s.raw();
        let len = (next() % 512) as usize + 1;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Every few rounds, garbage that looks like RESP headers.
        if round % 3 == 0 {
            buf.splice(
                0..0,
                format!("*{}\r\n${}\r\n", next() % 5, next() % 9).into_bytes(),
            );
        }
        let _ = std::io::Write::write_all(&mut r.s, &buf);
        r.s.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let _ = r.read_replies(1);
    }
    // The server still serves everyone else, on both cores.
    assert_eq!(good.call(&[b"GET", b"k"]), b"$1\r\nv\r\n");
    for _ in 0..8 {
        let mut r = s.raw();
        assert_eq!(r.call(&[b"PING"]), b"+PONG\r\n");
    }
}

#[test]
fn query_buffer_limit_closes_a_client_that_never_finishes_a_command() {
    let s = Server::start(&["--threads", "1", "--client-query-buffer-limit", "1mb"]);
    let mut r = s.raw();
    // A multibulk announcing far more arguments than it sends, fed past 1 MiB.
    r.send(b"*100000000\r\n");
    let arg = b"$5\r\nhello\r\n".repeat(4096);
    let mut closed = false;
    for _ in 0..200 {
        if std::io::Write::write_all(&mut r.s, &arg).is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        closed = r.is_closed();
    }
    assert!(
        closed,
        "a client over client-query-buffer-limit stays connected"
    );
    let mut good = s.raw();
    assert_eq!(good.call(&[b"PING"]), b"+PONG\r\n");
    assert!(
        s.log_text().contains("max query buffer length"),
        "{}",
        s.log_text()
    );
}
