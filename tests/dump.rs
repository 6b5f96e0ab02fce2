//! DUMP, RESTORE and RDB files against Redis 7.0.15's redis-server and
//! redis-check-rdb (each test skips, saying why, when they are missing):
//!
//! - every type and encoding, set up the same way on both servers: DUMP
//!   payloads equal byte for byte where the encoding has an order (all but
//!   hashtables), and each server's payload RESTOREd into both gives the
//!   same contents and OBJECT ENCODING;
//! - RESTORE's options and errors, reply bytes compared (the compat runner);
//! - a file written by `RdbWriter` passes redis-check-rdb and redis-server
//!   loads it; a dump.rdb that redis-server SAVEd reads back with `RdbReader`.

mod common;

use common::compat::{run_cases, Case};
use common::*;
use shardis::keyspace::{CBytes, EncLimits, Hash, List, Set, Value, ZSet};
use shardis::persistence::rdb::{Aux, Item, KeyMeta, RdbReader, RdbWriter, WriterOptions};
use std::collections::BTreeMap;
use std::time::Duration;

/// A value as a client sees it: sets and hashes sorted.
#[derive(Debug, Clone, PartialEq)]
enum View {
    None,
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    ZSet(Vec<(Vec<u8>, f64)>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| {
        panic!(
            "{:?} failed: {e:?}",
            String::from_utf8_lossy(&args.concat()[..args.concat().len().min(80)])
        )
    })
}

fn score(b: &[u8]) -> f64 {
    std::str::from_utf8(b).unwrap().parse().unwrap()
}

fn view_server(c: &mut redis::Connection, key: &[u8]) -> View {
    let t: String = q(c, &[b"TYPE", key]);
    match t.as_str() {
        "none" => View::None,
        "string" => View::Str(q(c, &[b"GET", key])),
        "list" => View::List(q(c, &[b"LRANGE", key, b"0", b"-1"])),
        "set" => {
            let mut m: Vec<Vec<u8>> = q(c, &[b"SMEMBERS", key]);
            m.sort();
            View::Set(m)
        }
        "zset" => {
            let v: Vec<Vec<u8>> = q(c, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]);
            View::ZSet(v.chunks(2).map(|p| (p[0].clone(), score(&p[1]))).collect())
        }
        "hash" => {
            let v: Vec<Vec<u8>> = q(c, &[b"HGETALL", key]);
            let mut p: Vec<(Vec<u8>, Vec<u8>)> =
                v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
            p.sort();
            View::Hash(p)
        }
        other => panic!("type {other}"),
    }
}

fn view_value(v: &Value) -> View {
    match v {
        Value::Str(s) => View::Str(s.to_vec()),
        Value::List(l) => View::List(l.iter().map(|e| e.to_vec()).collect()),
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            m.sort();
            View::Set(m)
        }
        Value::ZSet(z) => View::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
        Value::Hash(h) => {
            let mut p: Vec<(Vec<u8>, Vec<u8>)> =
                h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            p.sort();
            View::Hash(p)
        }
    }
}

fn encoding(c: &mut redis::Connection, key: &[u8]) -> String {
    q(c, &[b"OBJECT", b"ENCODING", key])
}

/// A command as owned arguments.
fn cmd(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}

/// `name key prefix0 prefix1 ... n generated arguments`.
fn many(name: &str, n: usize, gen: impl Fn(usize) -> Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v = vec![name.as_bytes().to_vec(), b"k".to_vec()];
    for i in 0..n {
        v.extend(gen(i));
    }
    v
}

/// Commands, each as its arguments.
type Script = Vec<Vec<Vec<u8>>>;

/// Set-ups of key `k` in every type and encoding: name, the encoding Redis
/// gives it, commands.
fn cases() -> Vec<(&'static str, &'static str, Script)> {
    let noise: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    vec![
        ("int", "int", vec![cmd(&[b"SET", b"k", b"12345"])]),
        ("negative int", "int", vec![cmd(&[b"SET", b"k", b"-7"])]),
        (
            "big int",
            "int",
            vec![cmd(&[b"SET", b"k", b"-9223372036854775808"])],
        ),
        ("short", "embstr", vec![cmd(&[b"SET", b"k", b"hello"])]),
        ("empty", "embstr", vec![cmd(&[b"SET", b"k", b""])]),
        (
            "long compressible",
            "raw",
            vec![cmd(&[b"SET", b"k", "abcdefgh".repeat(200).as_bytes()])],
        ),
        ("long noise", "raw", vec![cmd(&[b"SET", b"k", &noise])]),
        (
            "appended int",
            "raw",
            vec![cmd(&[b"SET", b"k", b"12"]), cmd(&[b"APPEND", b"k", b"34"])],
        ),
        (
            "hll sparse",
            "raw",
            vec![cmd(&[b"PFADD", b"k", b"a", b"b", b"c"])],
        ),
        (
            "hll dense",
            "raw",
            vec![many("PFADD", 5000, |i| vec![format!("e{i}").into_bytes()])],
        ),
        (
            "small hash",
            "listpack",
            vec![cmd(&[
                b"HSET", b"k", b"a", b"1", b"b", b"hello", b"c", b"-300", b"", b"",
            ])],
        ),
        (
            "large hash",
            "hashtable",
            vec![many("HSET", 600, |i| {
                vec![
                    format!("f{i}").into_bytes(),
                    format!("{}", i * 7).into_bytes(),
                ]
            })],
        ),
        (
            "hash long value",
            "hashtable",
            vec![cmd(&[b"HSET", b"k", b"f", &[b'v'; 100]])],
        ),
        (
            "intset",
            "intset",
            vec![cmd(&[b"SADD", b"k", b"1", b"-5", b"70000", b"5000000000"])],
        ),
        (
            "large int set",
            "hashtable",
            vec![many("SADD", 600, |i| vec![format!("{i}").into_bytes()])],
        ),
        (
            "string set",
            "hashtable",
            vec![cmd(&[b"SADD", b"k", b"x", b"y", b"1"])],
        ),
        (
            "small zset",
            "listpack",
            vec![cmd(&[
                b"ZADD", b"k", b"1", b"a", b"2.5", b"b", b"-inf", b"c", b"inf", b"d", b"0.1", b"e",
                b"5e18", b"f",
            ])],
        ),
        (
            "large zset",
            "skiplist",
            vec![many("ZADD", 300, |i| {
                vec![
                    format!("{}", i as f64 / 3.0).into_bytes(),
                    format!("m{i}").into_bytes(),
                ]
            })],
        ),
        (
            "zset long member",
            "skiplist",
            vec![cmd(&[b"ZADD", b"k", b"1", &[b'm'; 100]])],
        ),
        (
            "small list",
            "quicklist",
            vec![cmd(&[
                b"RPUSH", b"k", b"a", b"1", b"hello", b"-5", b"100000",
            ])],
        ),
        (
            "large list",
            "quicklist",
            vec![many("RPUSH", 3000, |i| {
                vec![if i % 2 == 0 {
                    format!("{i}").into_bytes()
                } else {
                    format!("element-{i}").into_bytes()
                }]
            })],
        ),
        (
            "list big element",
            "quicklist",
            vec![
                cmd(&[b"RPUSH", b"k", b"a", &[b'z'; 10000], b"b"]),
                cmd(&[b"LPUSH", b"k", b"c"]),
            ],
        ),
    ]
}

fn run(c: &mut redis::Connection, args: &[Vec<u8>]) {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    let _: redis::Value = q(c, &refs);
}

#[test]
fn payloads_move_both_ways_for_every_type() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let mut r = redis.conn();
    let mut s = ours.conn();
    for (name, want_enc, setup) in cases() {
        for c in [&mut r, &mut s] {
            let _: () = q(c, &[b"FLUSHALL"]);
            for args in &setup {
                run(c, args);
            }
        }
        let want = view_server(&mut r, b"k");
        assert_eq!(view_server(&mut s, b"k"), want, "[{name}] set-up differs");
        assert_eq!(encoding(&mut r, b"k"), want_enc, "[{name}]");
        let pr: Vec<u8> = q(&mut r, &[b"DUMP", b"k"]);
        let ps: Vec<u8> = q(&mut s, &[b"DUMP", b"k"]);
        if want_enc != "hashtable" {
            assert_eq!(ps, pr, "[{name}] DUMP bytes differ");
        }
        for (key, p) in [(&b"from-redis"[..], &pr), (b"from-shardis", &ps)] {
            for c in [&mut r, &mut s] {
                let ok: String = q(c, &[b"RESTORE", key, b"0", p]);
                assert_eq!(ok, "OK", "[{name}]");
                assert_eq!(view_server(c, key), want, "[{name}] {key:?}");
            }
            assert_eq!(
                encoding(&mut s, key),
                encoding(&mut r, key),
                "[{name}] encoding after RESTORE"
            );
        }
    }
    // Thresholds of the restoring side decide the encoding.
    let _: () = q(&mut s, &[b"FLUSHALL"]);
    let _: () = q(&mut r, &[b"FLUSHALL"]);
    for c in [&mut r, &mut s] {
        let _: () = q(c, &[b"CONFIG", b"SET", b"hash-max-listpack-entries", b"2"]);
        let _: () = q(c, &[b"CONFIG", b"SET", b"set-max-intset-entries", b"2"]);
    }
    let _: i64 = q(&mut r, &[b"HSET", b"h", b"a", b"1", b"b", b"2"]);
    let _: i64 = q(&mut r, &[b"SADD", b"i", b"1", b"2"]);
    let _: i64 = q(&mut r, &[b"HSET", b"h", b"c", b"3"]);
    let _: i64 = q(&mut r, &[b"SADD", b"i", b"3"]);
    for key in [&b"h"[..], b"i"] {
        let p: Vec<u8> = q(&mut r, &[b"DUMP", key]);
        let _: String = q(&mut s, &[b"RESTORE", key, b"0", &p]);
        assert_eq!(encoding(&mut s, key), "hashtable");
        assert_eq!(view_server(&mut s, key), view_server(&mut r, key));
    }
}

/// The escaped form of `b` for a compat line ("\xNN" for every byte).
fn esc(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for c in b {
        s.push_str(&format!("\\x{c:02x}"));
    }
    s.push('"');
    s
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn with_footer(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = shardis::persistence::rdb::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn leak(lines: Vec<String>) -> &'static [&'static str] {
    let v: Vec<&'static str> = lines
        .into_iter()
        .map(|l| &*Box::leak(l.into_boxed_str()))
        .collect();
    Box::leak(v.into_boxed_slice())
}

#[test]
fn restore_options_and_errors_match_redis() {
    // redis-server 7.0.15's DUMP of SET x hello, and of RPUSH x a b 1 2.
    let hello = hex("000568656c6c6f0a006372df766534200a");
    let p = esc(&hello);
    let list = esc(&hex(
        "1201021111000000040081610281620201010201ff0a006d72713e9b43482b",
    ));
    let mut bad_crc = hello.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 1;
    let bad_crc = esc(&bad_crc);
    let v11 = esc(&with_footer(&hello[..hello.len() - 10], 11));
    let v9 = esc(&with_footer(&hello[..hello.len() - 10], 9));
    let garbage = esc(&with_footer(&[0x00, 0x3f, b'a'], 10));
    let bad_type = esc(&with_footer(&[42, 1, b'a'], 10));
    let empty_set = esc(&with_footer(&[2, 0], 10));
    let stream = esc(&with_footer(&[19, 0], 10));
    let cases: Vec<(&'static str, Vec<String>)> = vec![
        (
            "dump",
            vec![
                "DUMP nokey".into(),
                "SET a hello".into(),
                "DUMP a".into(),
                "RPUSH l a b 1 2".into(),
                "DUMP l".into(),
                "DUMP".into(),
                "DUMP a b".into(),
                "SET n 123".into(),
                "DUMP n".into(),
            ],
        ),
        (
            "restore basics",
            vec![
                format!("RESTORE b 0 {p}"),
                "GET b".into(),
                "TTL b".into(),
                "OBJECT ENCODING b".into(),
                format!("RESTORE b 0 {p}"),
                format!("RESTORE b 0 {list}"),
                format!("RESTORE b 0 {list} REPLACE"),
                "LRANGE b 0 -1".into(),
                "TYPE b".into(),
                format!("RESTORE-ASKING c 0 {p}"),
                "GET c".into(),
                format!("RESTORE-ASKING c 0 {p}"),
                "RESTORE".into(),
                "RESTORE a 0".into(),
                "RESTORE-ASKING a 0".into(),
                format!("restore d 0 {p} replace absttl"),
                "GET d".into(),
            ],
        ),
        (
            "restore ttl",
            vec![
                format!("RESTORE c -1 {p}"),
                format!("RESTORE c abc {p}"),
                format!("RESTORE c 1.5 {p}"),
                format!("RESTORE c 100000 {p}"),
                "TTL c".into(),
                format!("RESTORE d 4102444800000 {p} ABSTTL"),
                "PEXPIRETIME d".into(),
                format!("RESTORE e 1 {p} ABSTTL"),
                "EXISTS e".into(),
                "SET f old".into(),
                format!("RESTORE f 1 {p} ABSTTL REPLACE"),
                "EXISTS f".into(),
                "SET g old".into(),
                format!("RESTORE g 1 {p} ABSTTL"),
                "GET g".into(),
                "SET h old".into(),
                format!("RESTORE h -5 {p} REPLACE"),
                "GET h".into(),
            ],
        ),
        (
            "restore payload errors",
            vec![
                format!("RESTORE c 0 {bad_crc}"),
                "RESTORE c 0 \"\"".into(),
                "RESTORE c 0 \"123456789\"".into(),
                format!("RESTORE c 0 {v11}"),
                format!("RESTORE c 0 {v9}"),
                "GET c".into(),
                format!("RESTORE d 0 {garbage}"),
                format!("RESTORE d 0 {bad_type}"),
                format!("RESTORE d 0 {empty_set}"),
                format!("RESTORE d 0 {stream}"),
                "EXISTS d".into(),
                "SET e x".into(),
                format!("RESTORE e 0 {bad_crc}"),
                format!("RESTORE e 0 {bad_crc} REPLACE"),
                "GET e".into(),
            ],
        ),
        (
            "restore idletime and freq",
            vec![
                format!("RESTORE c 0 {p} IDLETIME"),
                format!("RESTORE c 0 {p} IDLETIME -1"),
                format!("RESTORE c 0 {p} IDLETIME abc"),
                format!("RESTORE c 0 {p} FREQ 256"),
                format!("RESTORE c 0 {p} FREQ -1"),
                format!("RESTORE c 0 {p} FREQ x"),
                format!("RESTORE c 0 {p} FREQ"),
                format!("RESTORE c 0 {p} IDLETIME 10 FREQ 5"),
                format!("RESTORE c 0 {p} FREQ 5 IDLETIME 10"),
                format!("RESTORE c 0 {p} FOO"),
                format!("RESTORE c 0 {p} REPLACE REPLACE ABSTTL"),
                format!("RESTORE d 0 {p} IDLETIME 1000"),
                "~shape OBJECT IDLETIME d".into(),
                "OBJECT FREQ d".into(),
                format!("RESTORE e 0 {p} FREQ 77"),
                "CONFIG SET maxmemory-policy allkeys-lfu".into(),
                format!("RESTORE f 0 {p} FREQ 77"),
                "OBJECT FREQ f".into(),
                format!("RESTORE g 0 {p} IDLETIME 1000"),
                "OBJECT IDLETIME g".into(),
                "CONFIG SET maxmemory-policy noeviction".into(),
            ],
        ),
        (
            "restore busykey",
            vec![
                "SET a x".into(),
                format!("RESTORE a 0 {p}"),
                format!("RESTORE a -1 {p}"),
                format!("RESTORE a 0 {bad_crc}"),
                format!("RESTORE a 0 {p} FOO"),
                "GET a".into(),
            ],
        ),
    ];
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|(name, lines)| (name, leak(lines)))
        .collect();
    run_cases(&cases);
}

/// An IDLETIME restored under an LRU policy shows in OBJECT IDLETIME.
#[test]
fn restored_idletime_is_kept() {
    let ours = Server::start(&["--threads", "2"]);
    let mut s = ours.conn();
    let _: () = q(&mut s, &[b"SET", b"a", b"v"]);
    let p: Vec<u8> = q(&mut s, &[b"DUMP", b"a"]);
    let _: String = q(&mut s, &[b"RESTORE", b"b", b"0", &p, b"IDLETIME", b"5000"]);
    let idle: i64 = q(&mut s, &[b"OBJECT", b"IDLETIME", b"b"]);
    assert!((5000..5010).contains(&idle), "{idle}");
}

// ---------- files ----------

fn file_values() -> Vec<(u64, Vec<u8>, Value, Option<i64>)> {
    let lim = EncLimits::default();
    let ints: Vec<Vec<u8>> = (0..1000).map(|i| i.to_string().into_bytes()).collect();
    // More than the 512 entries of hash-max-listpack-entries (EncLimits's
    // default says 128, redis-server's built-in default is 512).
    let strs: Vec<Vec<u8>> = (0..600).map(|i| format!("m{i}").into_bytes()).collect();
    let far = 4_102_444_800_000i64;
    vec![
        (0, b"str".to_vec(), Value::Str(CBytes::new(b"hello")), None),
        (
            0,
            b"int".to_vec(),
            Value::Str(CBytes::new(b"-42")),
            Some(far),
        ),
        (
            0,
            b"long".to_vec(),
            Value::Str(CBytes::new("xyz".repeat(1000).as_bytes())),
            None,
        ),
        (
            0,
            b"list".to_vec(),
            Value::List(Box::new(List::from_elems(-2, ints.iter()))),
            None,
        ),
        (
            0,
            b"intset".to_vec(),
            Value::Set(Box::new(Set::from_members(
                ints.iter().take(100).map(|v| &v[..]),
                &lim,
            ))),
            Some(far + 1),
        ),
        (
            0,
            b"set".to_vec(),
            Value::Set(Box::new(Set::from_members(
                strs.iter().map(|v| &v[..]),
                &lim,
            ))),
            None,
        ),
        (
            3,
            b"zsmall".to_vec(),
            Value::ZSet(Box::new(ZSet::from_pairs(
                [(&b"a"[..], 1.5), (b"b", -2.0), (b"c", f64::INFINITY)],
                &lim,
            ))),
            None,
        ),
        (
            3,
            b"zbig".to_vec(),
            Value::ZSet(Box::new(ZSet::from_pairs(
                strs.iter()
                    .enumerate()
                    .map(|(i, m)| (&m[..], i as f64 * 0.25)),
                &lim,
            ))),
            None,
        ),
        (
            3,
            b"hsmall".to_vec(),
            Value::Hash(Box::new(Hash::from_pairs(
                [(&b"f"[..], &b"1"[..]), (b"g", b"two")],
                &lim,
            ))),
            Some(far + 2),
        ),
        (
            3,
            b"hbig".to_vec(),
            Value::Hash(Box::new(Hash::from_pairs(
                strs.iter().map(|m| (&m[..], &m[..])),
                &lim,
            ))),
            None,
        ),
    ]
}

#[test]
fn our_rdb_file_passes_redis_check_rdb_and_loads_in_redis() {
    let Some(check) = which("redis-check-rdb") else {
        eprintln!("skipping: redis-check-rdb not installed");
        return;
    };
    if which("redis-server").is_none() {
        eprintln!("skipping: redis-server not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.rdb");
    let values = file_values();
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut w = RdbWriter::new(file, &Aux::now(1 << 20), WriterOptions::default()).unwrap();
    for db in [0u64, 3] {
        let mine: Vec<_> = values.iter().filter(|v| v.0 == db).collect();
        let exp = mine.iter().filter(|v| v.3.is_some()).count();
        w.select_db(db, mine.len() as u64, exp as u64).unwrap();
        for (_, k, v, e) in mine {
            w.entry(k, v, *e).unwrap();
        }
    }
    w.finish().unwrap();

    let ran = run_bounded(
        std::process::Command::new(check).arg(&path),
        b"",
        Duration::from_secs(30),
    );
    assert!(
        ran.ok() && ran.stdout.contains("RDB looks OK"),
        "redis-check-rdb: {}\n{}",
        ran.stdout,
        ran.stderr
    );

    let dirs = dir.path().to_str().unwrap();
    let redis = Server::redis(&["--dir", dirs, "--dbfilename", "ours.rdb"]).expect("redis-server");
    let mut c = redis.conn();
    for (db, k, v, e) in &values {
        let _: () = q(&mut c, &[b"SELECT", db.to_string().as_bytes()]);
        assert_eq!(view_server(&mut c, k), view_value(v), "{k:?}");
        assert_eq!(encoding(&mut c, k), v.encoding(), "{k:?}");
        let at: i64 = q(&mut c, &[b"PEXPIRETIME", k]);
        assert_eq!(at, e.unwrap_or(-1), "{k:?}");
    }
    let _: () = q(&mut c, &[b"SELECT", b"0"]);
    let n: i64 = q(&mut c, &[b"DBSIZE"]);
    assert_eq!(n, 6);
}

#[test]
fn redis_saved_rdb_reads_back() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let mut c = redis.conn();
    let mut keys: Vec<(u64, Vec<u8>)> = Vec::new();
    for db in [0u64, 5] {
        let _: () = q(&mut c, &[b"SELECT", db.to_string().as_bytes()]);
        for (name, _, setup) in cases() {
            for args in &setup {
                run(&mut c, args);
            }
            let key = format!("{name}@{db}").into_bytes();
            let _: () = q(&mut c, &[b"RENAME", b"k", &key]);
            keys.push((db, key));
        }
    }
    let _: () = q(&mut c, &[b"SELECT", b"5"]);
    let _: i64 = q(&mut c, &[b"PEXPIREAT", b"int@5", b"4102444800123"]);
    let _: String = q(
        &mut c,
        &[
            b"FUNCTION",
            b"LOAD",
            b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)",
        ],
    );
    let _: String = q(&mut c, &[b"SAVE"]);

    let f = std::fs::File::open(redis.path().join("dump.rdb")).unwrap();
    let mut reader = RdbReader::new(f).unwrap();
    assert_eq!(reader.version(), 10);
    let mut aux = BTreeMap::new();
    let mut entries = BTreeMap::new();
    let mut functions = 0;
    while let Some(item) = reader.next_item().unwrap() {
        match item {
            Item::Aux { key, value } => {
                aux.insert(String::from_utf8(key).unwrap(), value);
            }
            Item::Entry(e) => {
                entries.insert((e.db, e.key.clone()), (e.value, e.meta));
            }
            Item::Function(_) => functions += 1,
            Item::SelectDb(_) | Item::ResizeDb { .. } => {}
        }
    }
    assert_eq!(aux.get("redis-ver").map(|v| &v[..]), Some(&b"7.0.15"[..]));
    assert_eq!(functions, 1);
    assert_eq!(entries.len(), keys.len());
    for (db, key) in &keys {
        let _: () = q(&mut c, &[b"SELECT", db.to_string().as_bytes()]);
        let (v, meta) = &entries[&(*db, key.clone())];
        assert_eq!(view_value(v), view_server(&mut c, key), "{key:?}");
        let want = if key == b"int@5" {
            Some(4_102_444_800_123)
        } else {
            None
        };
        assert_eq!(
            meta,
            &KeyMeta {
                expire_ms: want,
                ..KeyMeta::default()
            },
            "{key:?}"
        );
    }
}
