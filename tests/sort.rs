//! SORT and SORT_RO: differential cases against redis-server 7.0.15 (RESP2
//! and RESP3, shardis with two cores), and the sort engine checked against
//! redis-server on random lists, sets and sorted sets.

mod common;

use bytes::Bytes;
use common::compat::*;
use common::Server;
use shardis::command::sort::{parse_opts, run_sort, SortKind};
use std::collections::HashMap;

/// Cases that need no list, set or sorted set in the keyspace.
const CASES: &[Case] = &[
    (
        "sort missing key",
        &[
            "SORT nokey",
            "SORT nokey DESC",
            "SORT nokey ALPHA LIMIT 0 10",
            "SORT nokey BY w_* GET # GET w_* GET h_*->f",
            "SORT nokey BY nosort",
            "SORT_RO nokey",
            "SORT_RO nokey BY w_* GET #",
            "SORT nokey LIMIT 5 -1",
            "SORT nokey LIMIT -5 3",
        ],
    ),
    (
        "sort syntax",
        &[
            "SORT",
            "SORT k FOO",
            "SORT k LIMIT",
            "SORT k LIMIT 1",
            "SORT k LIMIT 1 2 3",
            "SORT k LIMIT a 1",
            "SORT k LIMIT 1 b",
            "SORT k LIMIT 1.5 1",
            "SORT k BY",
            "SORT k GET",
            "SORT k STORE",
            "SORT k ASC DESC ALPHA asc desc alpha",
            "SORT_RO k STORE d",
            "SORT_RO k LIMIT 0 1 STORE d",
            "SORT_RO",
            "SET s x",
            "SORT s",
            "SORT s FOO",
            "SORT s LIMIT x 1",
            "SORT s BY nosort",
            "SORT_RO s",
            "SORT s STORE d",
            "EXISTS d",
        ],
    ),
    (
        "sort store empty",
        &[
            "SET d x",
            "SORT nokey STORE d",
            "EXISTS d",
            "SORT nokey STORE d",
            "SET bar x",
            "SORT a STORE bar",
            "EXISTS bar",
            "SET foo y",
            "SORT b BY w_* GET # STORE foo",
            "EXISTS foo",
            "SORT b STORE c STORE foo",
        ],
    ),
    ("sort command info", &["~info6 COMMAND INFO sort sort_ro"]),
];

/// Cases with lists, sets, sorted sets and hashes: they run once shardis
/// has those types (they arrive from other branches).
const TYPED: &[Case] = &[
    (
        "sort list numeric",
        &[
            "RPUSH l 3 1 2 10 -5 2.5 1e2 0x10",
            "SORT l",
            "SORT l DESC",
            "SORT l LIMIT 1 3",
            "SORT l LIMIT -1 3",
            "SORT l LIMIT 2 -1",
            "SORT l LIMIT 100 2",
            "SORT l LIMIT 0 0",
            "SORT l DESC LIMIT 1 2",
            "SORT l ALPHA",
            "SORT l ALPHA DESC LIMIT 0 3",
            "SORT_RO l",
            "SORT l BY nosort",
            "SORT l BY nosort DESC",
            "SORT l BY nosort LIMIT 1 2",
            "SORT l BY nosort DESC LIMIT 1 2",
            "SORT l BY nosort LIMIT 7 5",
            "RPUSH bad 1 x 3",
            "SORT bad",
            "SORT bad ALPHA",
            "SORT bad BY nosort",
            "RPUSH sp \" 1\" \"2 \"",
            "SORT sp",
            "RPUSH inf inf -inf 1",
            "SORT inf",
            "RPUSH nan nan",
            "SORT nan",
            "RPUSH e \"\" 1 -1",
            "SORT e",
        ],
    ),
    (
        "sort by and get",
        &[
            "RPUSH l a b c d",
            "MSET w_a 3 w_b 1 w_c 2",
            "HSET h_a f 30 g x",
            "HSET h_b f 10",
            "HSET h_c f 20",
            "SORT l BY w_*",
            "SORT l BY w_* DESC",
            "SORT l BY w_* GET #",
            "SORT l BY w_* GET # GET w_* GET h_*->f GET h_*->g GET nokey_* GET constant",
            "SORT l BY h_*->f",
            "SORT l BY h_*->f GET h_*->f",
            "SORT l BY h_*->nofield",
            "SORT l BY w_* ALPHA",
            "SORT l BY w_*->f",
            "SORT l BY h_*",
            "SORT l GET h_*->",
            "SORT l BY w_* LIMIT 1 2 GET # GET w_*",
            "SORT l BY nosort GET w_*",
            "SORT l BY const GET # GET w_*",
            "SORT_RO l BY w_* GET w_*",
            "SORT l BY w_* STORE dst",
            "LRANGE dst 0 -1",
            "TYPE dst",
            "SORT l BY w_* GET w_* GET nokey_* STORE dst",
            "LRANGE dst 0 -1",
            "SET w_d notanumber",
            "SORT l BY w_*",
            "SORT l BY w_* ALPHA",
        ],
    ),
    (
        "sort across cores",
        &[
            "RPUSH a x y z",
            "MSET w_x 3 w_y 2 w_z 1",
            "SORT a BY w_* GET # GET w_*",
            "SORT a BY w_* STORE bar",
            "LRANGE bar 0 -1",
            "SORT a ALPHA STORE c",
            "LRANGE c 0 -1",
            "SORT a BY nosort STORE foo",
            "LRANGE foo 0 -1",
            "SORT a LIMIT 0 1 ALPHA STORE b",
            "LRANGE b 0 -1",
        ],
    ),
    (
        "sort sets and zsets",
        &[
            "SADD s 5 3 9 1",
            "SORT s",
            "SORT s DESC LIMIT 0 2",
            "SORT s ALPHA",
            "SORT s BY nosort STORE dst",
            "LRANGE dst 0 -1",
            "SADD t b c a",
            "SORT t ALPHA",
            "SORT t BY nosort ALPHA STORE dst",
            "LRANGE dst 0 -1",
            "ZADD z 3 c 1 a 2 b 0 d",
            "SORT z BY nosort",
            "SORT z BY nosort DESC",
            "SORT z BY nosort LIMIT 1 2",
            "SORT z BY nosort DESC LIMIT 1 2",
            "SORT z ALPHA",
            "SORT z ALPHA DESC",
            "SORT z BY nosort STORE dst",
            "LRANGE dst 0 -1",
            "HSET h f v",
            "SORT h",
        ],
    ),
];

#[test]
fn sort_compat() {
    run_cases(CASES);
}

#[test]
fn sort_compat_typed() {
    run_cases(TYPED);
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

fn bulks(v: &redis::Value) -> Vec<Option<Bytes>> {
    match v {
        redis::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                redis::Value::BulkString(b) => Some(Bytes::from(b.clone())),
                redis::Value::Nil => None,
                other => panic!("unexpected {other:?}"),
            })
            .collect(),
        other => panic!("unexpected {other:?}"),
    }
}

/// The sort engine (options, LIMIT arithmetic, scores, ALPHA, patterns,
/// STORE contents) against redis-server on random inputs: redis-server
/// holds the data, the engine gets the same elements in the same order and
/// a model of the pattern keys.
#[test]
fn sort_engine_matches_redis() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let mut r = redis.conn();
    let mut rng = Rng(0x853c49e6748fea9b);
    let pool = [
        "1", "2", "3", "10", "-1", "2.5", "a", "b", "B", "ab", "", "1e2", "0x1A", "007", " 4",
        "z\u{e9}", "inf",
    ];
    let weights = [
        "1", "2", "3", "-7", "0.5", "1e3", "0x10", "inf", "-inf", "10", "2", "abc", " 5", "", "9",
        "x",
    ];
    let safe_weights = [
        "1", "2", "3", "-7", "0.5", "1e3", "0x10", "inf", "-inf", "10", "2", "9",
    ];
    for round in 0..1500 {
        let _: () = redis::cmd("FLUSHALL").query(&mut r).unwrap();
        let kind = match rng.next() % 3 {
            0 => SortKind::List,
            1 => SortKind::Set,
            _ => SortKind::ZSet,
        };
        let n = rng.next() % if round % 4 == 0 { 90 } else { 12 };
        let mut members: Vec<&str> = Vec::new();
        for _ in 0..n {
            let e = rng.pick(&pool);
            if kind != SortKind::List && members.contains(&e) {
                continue;
            }
            members.push(e);
        }
        match kind {
            SortKind::List => {
                for m in &members {
                    let _: i64 = redis::cmd("RPUSH").arg("k").arg(*m).query(&mut r).unwrap();
                }
            }
            SortKind::Set => {
                for m in &members {
                    let _: i64 = redis::cmd("SADD").arg("k").arg(*m).query(&mut r).unwrap();
                }
            }
            SortKind::ZSet => {
                for m in &members {
                    let _: i64 = redis::cmd("ZADD")
                        .arg("k")
                        .arg(rng.next() % 5)
                        .arg(*m)
                        .query(&mut r)
                        .unwrap();
                }
            }
        }
        let bad_weights = rng.next().is_multiple_of(4);
        let mut strings: HashMap<Vec<u8>, Bytes> = HashMap::new();
        let mut hashes: HashMap<Vec<u8>, HashMap<Vec<u8>, Bytes>> = HashMap::new();
        for m in &members {
            if !rng.next().is_multiple_of(5) {
                let w = if bad_weights {
                    rng.pick(&weights)
                } else {
                    rng.pick(&safe_weights)
                };
                let k = format!("w_{m}");
                let _: () = redis::cmd("SET").arg(&k).arg(w).query(&mut r).unwrap();
                strings.insert(k.into_bytes(), Bytes::from(w.to_string()));
            }
            if !rng.next().is_multiple_of(4) {
                let v = rng.pick(&safe_weights);
                let k = format!("h_{m}");
                let _: i64 = redis::cmd("HSET")
                    .arg(&k)
                    .arg("f")
                    .arg(v)
                    .query(&mut r)
                    .unwrap();
                hashes
                    .entry(k.into_bytes())
                    .or_default()
                    .insert(b"f".to_vec(), Bytes::from(v.to_string()));
            }
        }
        // The sort key's elements in Redis's iteration order.
        let elems: Vec<Bytes> = match kind {
            SortKind::List => redis::cmd("LRANGE")
                .arg("k")
                .arg(0)
                .arg(-1)
                .query::<Vec<Vec<u8>>>(&mut r),
            SortKind::Set => redis::cmd("SMEMBERS")
                .arg("k")
                .query::<Vec<Vec<u8>>>(&mut r),
            SortKind::ZSet => redis::cmd("ZRANGE")
                .arg("k")
                .arg(0)
                .arg(-1)
                .query::<Vec<Vec<u8>>>(&mut r),
        }
        .unwrap()
        .into_iter()
        .map(Bytes::from)
        .collect();
        // Options.
        let mut args: Vec<String> = vec!["SORT".into(), "k".into()];
        let by = rng.next() % 6;
        match by {
            1 => args.extend(["BY".into(), "w_*".into()]),
            2 => args.extend(["BY".into(), "nosort".into()]),
            3 => args.extend(["BY".into(), "h_*->f".into()]),
            4 => args.extend(["BY".into(), "missing_*".into()]),
            _ => {}
        }
        let alpha = rng.next().is_multiple_of(3);
        if alpha {
            args.push("ALPHA".into());
        }
        if rng.next().is_multiple_of(2) {
            args.push("DESC".into());
        }
        let limited = rng.next().is_multiple_of(2);
        if limited {
            args.push("LIMIT".into());
            args.push(((rng.next() % 16) as i64 - 3).to_string());
            args.push(((rng.next() % 16) as i64 - 3).to_string());
        }
        for _ in 0..rng.next() % 3 {
            args.push("GET".into());
            args.push(
                rng.pick(&["#", "w_*", "h_*->f", "nokey_*", "const", "h_*->"])
                    .into(),
            );
        }
        let store = rng.next().is_multiple_of(4);
        if store {
            args.extend(["STORE".into(), "dst".into()]);
        }
        let unordered_ties = {
            // Equal sort keys keep Redis's iteration order, and a sorted
            // set's dict order is not observable.
            let by_pattern = matches!(by, 1 | 3 | 4);
            alpha && by_pattern && kind == SortKind::ZSet
        };
        if unordered_ties {
            continue;
        }
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.clone())).collect();
        let mut cmd = redis::cmd(&args[0]);
        for a in &args[1..] {
            cmd.arg(a);
        }
        let theirs = cmd.query::<redis::Value>(&mut r);
        let opts = parse_opts(&argv, false, false).expect("options parse");
        let mut resolve = |l: &(Bytes, Option<Bytes>)| -> Option<Bytes> {
            match &l.1 {
                None => strings.get(&l.0[..]).cloned(),
                Some(f) => hashes.get(&l.0[..]).and_then(|h| h.get(&f[..]).cloned()),
            }
        };
        let kind_opt = (!members.is_empty()).then_some(kind);
        let ours = run_sort(kind_opt, elems.clone(), &opts, &mut resolve);
        let ctx = format!("round {round}: {args:?} elems {elems:?}");
        match (theirs, ours) {
            (Err(e), Err(o)) => {
                let shardis::protocol::Reply::Error(msg) = o else {
                    panic!("{ctx}")
                };
                assert!(
                    msg.ends_with(e.detail().unwrap_or("?")),
                    "{ctx}: {e} vs {msg}"
                );
            }
            (Ok(v), Ok(sorted)) if store => {
                assert_eq!(v, redis::Value::Int(sorted.items.len() as i64), "{ctx}");
                let stored: Vec<Vec<u8>> = redis::cmd("LRANGE")
                    .arg("dst")
                    .arg(0)
                    .arg(-1)
                    .query(&mut r)
                    .unwrap();
                let want: Vec<Vec<u8>> = sorted
                    .items
                    .iter()
                    .map(|i| i.as_ref().map_or(Vec::new(), |b| b.to_vec()))
                    .collect();
                assert_eq!(stored, want, "{ctx}");
            }
            (Ok(v), Ok(sorted)) => assert_eq!(bulks(&v), sorted.items, "{ctx}"),
            (t, o) => panic!("{ctx}: redis {t:?} ours {:?}", o.map(|s| s.items)),
        }
    }
}

/// Cluster mode: Redis refuses BY patterns and GET there, and SORT's keys
/// (the sort key, and for SORT the STORE destination) go through the slot
/// checks first.
#[test]
fn sort_in_cluster_mode_matches_redis() {
    let Some(redis) = Server::redis(&["--cluster-enabled", "yes"]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let ours = Server::start(&["--cluster-enabled", "yes", "--threads", "2"]);
    let script: &[&[&str]] = &[
        &["SORT", "x"],
        &["SORT", "x", "BY", "w_*"],
        &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"],
    ];
    let after: &[&[&str]] = &[
        &["SORT", "nokey", "BY", "w_*"],
        &["SORT", "nokey", "BY", "nosort"],
        &["SORT", "nokey", "BY", "const", "LIMIT", "0", "1"],
        &["SORT", "nokey", "GET", "#"],
        &["SORT", "nokey", "BY", "nosort", "GET", "w_*"],
        &["SORT_RO", "nokey", "GET", "#"],
        &["SORT", "{a}x", "STORE", "{a}y"],
        &["SORT", "a", "STORE", "b"],
        &["SORT", "a", "STORE", "b", "BY", "w_*"],
        &["SORT", "a", "LIMIT", "0", "1", "STORE", "a"],
        &["SORT", "a", "GET", "x", "STORE", "b"],
        &["SORT_RO", "a", "STORE", "b"],
        &["SORT", "a", "FOO"],
        &["SET", "{a}s", "x"],
        &["SORT", "{a}s"],
        &["SORT", "{a}s", "STORE", "{a}d"],
    ];
    let mut rr = redis.raw();
    let mut sr = ours.raw();
    let mut run = |cmds: &[&[&str]]| {
        for c in cmds {
            let a: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
            let x = rr.call(&a);
            let y = sr.call(&a);
            assert_eq!(
                String::from_utf8_lossy(&x),
                String::from_utf8_lossy(&y),
                "{c:?}"
            );
        }
    };
    run(script);
    let mut c = redis.conn();
    assert!(common::wait_cluster_state(
        &mut c,
        "ok",
        std::time::Duration::from_secs(15)
    ));
    let mut c = ours.conn();
    assert!(common::wait_cluster_state(
        &mut c,
        "ok",
        std::time::Duration::from_secs(15)
    ));
    run(after);
}
