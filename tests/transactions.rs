//! MULTI/EXEC/WATCH and Pub/Sub: differential cases against redis-server
//! 7.0.15 (line syntax in tests/compat.rs), then behaviour that needs several
//! connections: transactions across cores under concurrent writers (no
//! partial state ever seen), WATCH invalidated from another connection and
//! by expiry, messages across cores, RESP3 pushes, slow subscribers cut off
//! by client-output-buffer-limit, keyspace notifications.
//!
//! Keys `a`, `d`, `foo` live on core 1 and `b`, `c`, `bar` on core 0 of a
//! `--threads 2` server (tests/common/compat.rs).

mod common;

use common::compat::*;
use common::{query, Raw, Server};
use std::io::Read;
use std::time::{Duration, Instant};

const CASES: &[Case] = &[
    (
        "multi exec basics",
        &[
            "MULTI", "SET a 1", "SET b 2", "INCR a", "MGET a b", "PING", "ECHO hi", "EXEC", "GET a",
        ],
    ),
    (
        "multi errors",
        &[
            "EXEC",
            "DISCARD",
            "MULTI",
            "MULTI",
            "WATCH a",
            "SET a",
            "NOSUCHCMD x",
            "SET a 1",
            "EXEC",
            "GET a",
            "MULTI",
            "INCR a",
            "DISCARD",
            "EXEC",
        ],
    ),
    (
        "runtime errors inside exec",
        &[
            "SET a x",
            "MULTI",
            "INCR a",
            "SET b 1",
            "LPUSH a 1",
            "EXEC",
            "MGET a b",
        ],
    ),
    (
        "watch",
        &[
            "WATCH a b",
            "SET a 1",
            "MULTI",
            "SET b 2",
            "EXEC",
            "GET b",
            "WATCH a",
            "UNWATCH",
            "SET a 2",
            "MULTI",
            "SET b 3",
            "EXEC",
            "WATCH nokey",
            "MULTI",
            "SET b 4",
            "EXEC",
            "WATCH a",
            "FLUSHDB",
            "MULTI",
            "PING",
            "EXEC",
            "WATCH",
        ],
    ),
    (
        "blocking commands do not block inside multi",
        &[
            "MULTI",
            "BLPOP a 0",
            "BRPOP a b 0",
            "BLMOVE a b LEFT RIGHT 0",
            "EXEC",
        ],
    ),
    (
        "select inside multi",
        &[
            "MULTI",
            "SET a db0",
            "SELECT 1",
            "SET a db1",
            "GET a",
            "SELECT 0",
            "GET a",
            "EXEC",
        ],
    ),
    (
        "pubsub commands",
        &[
            "PUBLISH nobody hello",
            "PUBSUB CHANNELS",
            "PUBSUB NUMSUB a b",
            "PUBSUB NUMPAT",
            "PUBSUB SHARDCHANNELS",
            "PUBSUB SHARDNUMSUB x",
            "PUBSUB",
            "PUBSUB FOO",
            "PUBLISH a",
            "SPUBLISH a b",
            "UNSUBSCRIBE",
            "PUNSUBSCRIBE",
            "SUNSUBSCRIBE",
        ],
    ),
    (
        "subscribe on one connection",
        &[
            "SUBSCRIBE c1 c2",
            "~raw:1 PING\\r\\n",
            "PSUBSCRIBE p*",
            "SSUBSCRIBE s1",
            "UNSUBSCRIBE c1",
            "PUNSUBSCRIBE",
            "SUNSUBSCRIBE s1 s2",
            "UNSUBSCRIBE",
            "GET a",
        ],
    ),
];

#[test]
fn replies_match_redis() {
    run_cases(CASES);
}

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

/// RESP2 clients in subscribed mode may only (un)subscribe, PING, QUIT, RESET.
#[test]
fn subscribed_mode_matches_redis() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let ours = server();
    let mut replies = Vec::new();
    for port in [redis.port, ours.port] {
        let mut c = Raw::connect(port);
        let mut out = vec![
            c.call(&[b"SUBSCRIBE", b"x"]),
            c.call(&[b"GET", b"a"]),
            c.call(&[b"PING"]),
            c.call(&[b"PING", b"hi"]),
            c.call(&[b"RESET"]),
            c.call(&[b"GET", b"a"]),
        ];
        let mut c3 = Raw::connect(port);
        out.push(
            c3.call(&[b"HELLO", b"3"])
                .split(|&b| b == b'%')
                .count()
                .to_le_bytes()
                .to_vec(),
        );
        out.push(c3.call(&[b"SUBSCRIBE", b"x"]));
        out.push(c3.call(&[b"SET", b"k", b"v"]));
        out.push(c3.call(&[b"PUBLISH", b"x", b"m"]));
        out.push(c3.read_replies(1));
        replies.push(out);
    }
    for (a, b) in replies[0].iter().zip(&replies[1]) {
        assert_eq!(
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b),
            "redis vs shardis"
        );
    }
}

/// Transactions touching keys of both cores, from several clients at once,
/// while a reader checks that it never sees one half of a transaction.
#[test]
fn cross_core_transactions_are_atomic() {
    let s = server();
    let mut setup = s.conn();
    let _: () = query(&mut setup, &["MSET", "a", "0", "b", "0"]);
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                for _ in 0..300 {
                    let r: Vec<i64> = redis::pipe()
                        .atomic()
                        .cmd("INCR")
                        .arg("a")
                        .cmd("INCR")
                        .arg("b")
                        .query(&mut c)
                        .unwrap();
                    assert_eq!(r.len(), 2);
                }
            })
        })
        .collect();
    let mut reader = s.conn();
    let mut checks = 0;
    while !writers.iter().all(|w| w.is_finished()) && checks < 100_000 {
        let (a, b): (i64, i64) = redis::pipe()
            .atomic()
            .cmd("GET")
            .arg("a")
            .cmd("GET")
            .arg("b")
            .query(&mut reader)
            .unwrap();
        assert_eq!(a, b, "a transaction was seen half done");
        let v: Vec<i64> = redis::cmd("MGET")
            .arg("a")
            .arg("b")
            .query(&mut reader)
            .unwrap();
        assert_eq!(v[0], v[1], "a transaction was seen half done (MGET)");
        checks += 1;
    }
    for w in writers {
        w.join().unwrap();
    }
    let v: Vec<i64> = redis::cmd("MGET")
        .arg("a")
        .arg("b")
        .query(&mut reader)
        .unwrap();
    assert_eq!(v, vec![900, 900]);
    assert!(checks > 0);
}

/// A WATCHed key changed by another connection (on any core), or expired,
/// makes EXEC fail; an untouched one lets it run.
#[test]
fn watch_sees_other_clients_and_expiry() {
    let s = server();
    let mut c1 = s.conn();
    let mut c2 = s.conn();
    for key in ["a", "b"] {
        let _: () = query(&mut c1, &["SET", key, "1"]);
        let _: () = query(&mut c1, &["WATCH", key]);
        let _: () = query(&mut c2, &["SET", key, "2"]);
        let r: Option<Vec<String>> = redis::pipe()
            .atomic()
            .cmd("GET")
            .arg(key)
            .query(&mut c1)
            .unwrap();
        assert_eq!(r, None, "EXEC must fail after {key} changed");
    }
    let _: () = query(&mut c1, &["WATCH", "a", "b"]);
    let r: Option<Vec<String>> = redis::pipe()
        .atomic()
        .cmd("GET")
        .arg("a")
        .cmd("GET")
        .arg("b")
        .query(&mut c1)
        .unwrap();
    assert_eq!(r, Some(vec!["2".to_string(), "2".to_string()]));
    // Expiry counts as a change.
    let _: () = query(&mut c1, &["SET", "d", "1", "PX", "50"]);
    let _: () = query(&mut c1, &["WATCH", "d"]);
    std::thread::sleep(Duration::from_millis(120));
    let _: Option<String> = query(&mut c2, &["GET", "d"]);
    let r: Option<Vec<i64>> = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("x")
        .query(&mut c1)
        .unwrap();
    assert_eq!(r, None, "EXEC must fail after the WATCHed key expired");
}

fn read_until(c: &mut Raw, want: &[&[u8]], limit: Duration) -> Vec<u8> {
    let start = Instant::now();
    let mut got = Vec::new();
    while start.elapsed() < limit {
        if want.iter().all(|w| got.windows(w.len()).any(|x| x == *w)) {
            break;
        }
        let mut b = [0u8; 4096];
        match c.s.read(&mut b) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&b[..n]),
            Err(_) => {}
        }
    }
    got
}

/// Subscribers connected to either core get every message; PUBLISH counts
/// them all; patterns and keyspace notifications arrive too.
#[test]
fn messages_reach_every_core() {
    let s = Server::start(&["--threads", "2", "--notify-keyspace-events", "KEA"]);
    let subscribe = || {
        let mut c = Raw::connect(s.port);
        c.s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let r = c.call(&[b"SUBSCRIBE", b"news"]);
        assert!(
            r.starts_with(b"*3\r\n$9\r\nsubscribe"),
            "{}",
            String::from_utf8_lossy(&r)
        );
        c
    };
    let mut pat = Raw::connect(s.port);
    pat.s
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let _ = pat.call(&[b"PSUBSCRIBE", b"__key*__:*"]);
    // The kernel spreads connections over the cores' listeners by hash:
    // subscribe until both cores hold subscribers (bounded).
    let mut subs: Vec<Raw> = Vec::new();
    let mut info = String::new();
    for _ in 0..64 {
        subs.push(subscribe());
        info = query(&mut s.conn(), &["INFO", "shards"]);
        let busy = common::info_shards(&info)
            .iter()
            .filter(|m| m.get("connections").is_some_and(|c| c != "0"))
            .count();
        if subs.len() >= 8 && busy == 2 {
            break;
        }
    }
    assert!(
        subs.len() < 64,
        "connections never reached both cores: {info}"
    );
    let want = subs.len() as i64;
    let mut p = s.conn();
    let n: i64 = query(&mut p, &["PUBLISH", "news", "hello"]);
    assert_eq!(n, want);
    for c in subs.iter_mut() {
        let got = read_until(c, &[b"hello"], Duration::from_secs(5));
        assert!(
            got.windows(5).any(|w| w == b"hello"),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }
    let nsub: Vec<redis::Value> = query(&mut p, &["PUBSUB", "NUMSUB", "news"]);
    assert_eq!(nsub.len(), 2);
    let _: () = query(&mut p, &["SET", "foo", "1"]);
    let _: () = query(&mut p, &["SET", "bar", "1"]);
    let got = read_until(
        &mut pat,
        &[
            b"__keyspace@0__:foo",
            b"__keyspace@0__:bar",
            b"__keyevent@0__:set",
        ],
        Duration::from_secs(5),
    );
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains("__keyspace@0__:foo") && text.contains("__keyspace@0__:bar"),
        "{text}"
    );
    // Unsubscribing and closing releases the subscriptions everywhere.
    drop(subs);
    let start = Instant::now();
    loop {
        let n: i64 = query(&mut p, &["PUBLISH", "news", "x"]);
        if n == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "closed subscribers still counted: {n}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A subscriber that stops reading is closed once its queued messages pass
/// the pubsub output-buffer limit; the server keeps serving.
#[test]
fn slow_subscriber_is_cut_off() {
    let s = Server::start(&[
        "--threads",
        "2",
        "--client-output-buffer-limit",
        "pubsub 256kb 0 0",
    ]);
    let mut slow = Raw::connect(s.port);
    let _ = slow.call(&[b"SUBSCRIBE", b"flood"]);
    // The slow client never reads again; fill the socket buffers and the queue.
    let mut p = s.conn();
    let payload = "x".repeat(64 * 1024);
    let mut cut = false;
    for _ in 0..2000 {
        let n: i64 = query(&mut p, &["PUBLISH", "flood", &payload]);
        if n == 0 {
            cut = true;
            break;
        }
    }
    assert!(cut, "the slow subscriber was never disconnected");
    let pong: String = query(&mut p, &["PING"]);
    assert_eq!(pong, "PONG");
    assert!(
        s.log_text().contains("output buffer limits"),
        "{}",
        s.log_text()
    );
}
