//! The hash commands: differential cases against redis-server 7.0.15 (RESP2
//! and RESP3, keys on both cores of a two-core shardis), then properties of
//! the random and large cases through the `redis` crate.

mod common;

use common::compat::*;
use common::{err_text, Server};
use redis::Commands;
use std::collections::{HashMap, HashSet};

const CASES: &[Case] = &[
    (
        "hash basic",
        &[
            "HSET a f1 v1",
            "HSET a f2 v2 f3 v3",
            "HSET a f1 new f4 v4",
            "HGET a f1",
            "HGET a nofield",
            "HGET nokey f",
            "HGETALL a",
            "HKEYS a",
            "HVALS a",
            "HLEN a",
            "HLEN nokey",
            "HEXISTS a f2",
            "HEXISTS a nofield",
            "HEXISTS nokey f",
            "HSTRLEN a f1",
            "HSTRLEN a nofield",
            "HSTRLEN nokey f",
            "HMGET a f1 nofield f3",
            "HMGET nokey x y",
            "HGETALL nokey",
            "HKEYS nokey",
            "HVALS nokey",
            "TYPE a",
            "OBJECT ENCODING a",
            "HSET b x 1",
            "HGETALL b",
            "OBJECT ENCODING b",
        ],
    ),
    (
        "hash empty and binary",
        &[
            "HSET a \"\" \"\"",
            "HGET a \"\"",
            "HSTRLEN a \"\"",
            "HSET a \"\\x00\\xff\" \"\\r\\n\\x00\"",
            "HGETALL a",
            "HSET b \"\\x00\" z",
            "HEXISTS b \"\\x00\"",
            "HEXISTS b \"\"",
        ],
    ),
    (
        "hmset and hsetnx",
        &[
            "HMSET a f1 v1 f2 v2",
            "HMSET a f1 x",
            "HGETALL a",
            "HSETNX a f1 nope",
            "HSETNX a f3 v3",
            "HSETNX d f v",
            "HGETALL a",
            "HGETALL d",
            "HMSET b",
            "HMSET b f",
            "HMSET b f v x",
            "HSETNX c f",
            "HSETNX c f v x",
        ],
    ),
    (
        "hset arity",
        &[
            "HSET",
            "HSET a",
            "HSET a f",
            "HSET a f v g",
            "HSET a f v g w h",
            "EXISTS a",
            "HGET a",
            "HGET a f g",
            "HMGET a",
            "HGETALL",
            "HGETALL a b",
            "HDEL a",
            "HLEN",
            "HEXISTS a",
            "HSTRLEN a",
            "HKEYS",
            "HVALS a b",
            "HINCRBY a f",
            "HINCRBYFLOAT a f",
            "HRANDFIELD",
            "HSCAN a",
        ],
    ),
    (
        "hdel",
        &[
            "HSET b f1 v1 f2 v2 f3 v3",
            "HDEL b f1 nofield",
            "HDEL b f1",
            "HDEL nokey f",
            "HGETALL b",
            "HDEL b f2 f3 f4",
            "EXISTS b",
            "HSET d f v",
            "HDEL d f f",
            "EXISTS d",
        ],
    ),
    (
        "hash wrongtype",
        &[
            "SET a str",
            "HSET a f v",
            "HSETNX a f v",
            "HMSET a f v",
            "HGET a f",
            "HMGET a f",
            "HGETALL a",
            "HDEL a f",
            "HEXISTS a f",
            "HLEN a",
            "HSTRLEN a f",
            "HKEYS a",
            "HVALS a",
            "HINCRBY a f 1",
            "HINCRBYFLOAT a f 1",
            "HRANDFIELD a",
            "HRANDFIELD a 2",
            "HSCAN a 0",
            "HSET b f v",
            "GET b",
            "SADD b x",
        ],
    ),
    (
        "hincrby",
        &[
            "HINCRBY a n 5",
            "HINCRBY a n -7",
            "HGET a n",
            "HSET a s hello i 10 big 9223372036854775807 neg -9223372036854775808 sp \" 1\"",
            "HINCRBY a s 1",
            "HINCRBY a sp 1",
            "HINCRBY a i abc",
            "HINCRBY a i 1.5",
            "HINCRBY a i 9223372036854775808",
            "HINCRBY a big 1",
            "HINCRBY a big 0",
            "HINCRBY a big -1",
            "HINCRBY a neg -1",
            "HINCRBY a neg 1",
            "HINCRBY nokey2 f abc",
            "EXISTS nokey2",
            "HGETALL a",
            "HSET b lead 007",
            "HINCRBY b lead 1",
            "OBJECT ENCODING a",
        ],
    ),
    (
        "hincrbyfloat",
        &[
            "HINCRBYFLOAT a f 10.5",
            "HINCRBYFLOAT a f 0.1",
            "HINCRBYFLOAT a f -5",
            "HINCRBYFLOAT a g 3.0e3",
            "HINCRBYFLOAT a g 5.6",
            "HINCRBYFLOAT a i 1",
            "HSET a s abc int 17 e 1e3 hex 0x10",
            "HINCRBYFLOAT a s 1",
            "HINCRBYFLOAT a int 1.5",
            "HINCRBYFLOAT a e 1",
            "HINCRBYFLOAT a hex 1",
            "HINCRBYFLOAT a f abc",
            "HINCRBYFLOAT a f inf",
            "HINCRBYFLOAT a f -inf",
            "HINCRBYFLOAT a f nan",
            "HINCRBYFLOAT a f \"\"",
            "HINCRBYFLOAT a f \" 1\"",
            "HSET a huge 1e4000",
            "HINCRBYFLOAT a huge 1e4000",
            "HINCRBYFLOAT a huge 1",
            "HSET a over 1e5000",
            "HINCRBYFLOAT a over 1",
            "HINCRBYFLOAT nokey f nan",
            "EXISTS nokey",
            "~sort HGETALL a",
            "OBJECT ENCODING a",
        ],
    ),
    (
        "hrandfield deterministic",
        &[
            "HRANDFIELD nokey",
            "HRANDFIELD nokey 3",
            "HRANDFIELD nokey -3 WITHVALUES",
            "HRANDFIELD nokey 0",
            "HSET a only v",
            "HRANDFIELD a",
            "HRANDFIELD a 1",
            "HRANDFIELD a 1 WITHVALUES",
            "HRANDFIELD a -3",
            "HRANDFIELD a -3 WITHVALUES",
            "HRANDFIELD a 0",
            "HRANDFIELD a 0 WITHVALUES",
            "HSET a two 2",
            "HRANDFIELD a 2",
            "HRANDFIELD a 5 WITHVALUES",
            "HRANDFIELD a 9223372036854775807",
            "HRANDFIELD a abc",
            "HRANDFIELD a 1.5",
            "HRANDFIELD a -9223372036854775808",
            "HRANDFIELD a 4611686018427387904 WITHVALUES",
            "HRANDFIELD a -4611686018427387904 WITHVALUES",
            "HRANDFIELD a 5 withvalues",
            "HRANDFIELD a 5 WITHSCORES",
            "HRANDFIELD a 5 WITHVALUES x",
            "HRANDFIELD nokey abc",
            "HRANDFIELD nokey 5 nope",
        ],
    ),
    (
        "hrandfield shapes",
        &[
            "HSET d f1 v1 f2 v2 f3 v3 f4 v4 f5 v5 f6 v6 f7 v7 f8 v8 f9 v9 f10 v10",
            "~shape HRANDFIELD d",
            "~shape HRANDFIELD d 3",
            "~shape HRANDFIELD d 9",
            "~shape HRANDFIELD d 3 WITHVALUES",
            "~shape HRANDFIELD d -15",
            "~shape HRANDFIELD d -15 WITHVALUES",
            "~sort HRANDFIELD d 10",
            "~sort HRANDFIELD d 100",
            "CONFIG SET hash-max-listpack-entries 4",
            "HSET b f1 v1 f2 v2 f3 v3 f4 v4 f5 v5 f6 v6 f7 v7 f8 v8 f9 v9 f10 v10",
            "OBJECT ENCODING b",
            "~shape HRANDFIELD b",
            "~shape HRANDFIELD b 2",
            "~shape HRANDFIELD b 8 WITHVALUES",
            "~shape HRANDFIELD b -20 WITHVALUES",
            "~sort HRANDFIELD b 10",
            "CONFIG SET hash-max-listpack-entries 128",
        ],
    ),
    (
        "hash encoding by entries",
        &[
            "CONFIG SET hash-max-listpack-entries 3",
            "HSET a f1 1 f2 2 f3 3",
            "OBJECT ENCODING a",
            "HSET a f1 x",
            "OBJECT ENCODING a",
            "HSET a f4 4",
            "OBJECT ENCODING a",
            "HDEL a f1 f2 f3",
            "OBJECT ENCODING a",
            "HGETALL a",
            "HSET c f1 1 f2 2 f3 3 f4 4",
            "OBJECT ENCODING c",
            "~sort HKEYS c",
            "~sort HVALS c",
            "~sort HGETALL c",
            "HSETNX d f1 1",
            "HSETNX d f2 1",
            "HSETNX d f3 1",
            "HSETNX d f4 1",
            "OBJECT ENCODING d",
            "HINCRBY bar f1 1",
            "HINCRBY bar f2 1",
            "HINCRBY bar f3 1",
            "OBJECT ENCODING bar",
            "HINCRBYFLOAT bar f4 1.5",
            "OBJECT ENCODING bar",
            "CONFIG SET hash-max-ziplist-entries 0",
            "HSET foo f v",
            "OBJECT ENCODING foo",
            "CONFIG SET hash-max-listpack-entries 128",
        ],
    ),
    (
        "hash encoding by value length",
        &[
            "CONFIG SET hash-max-listpack-value 5",
            "HSET a f 12345",
            "OBJECT ENCODING a",
            "HSET a f 123456",
            "OBJECT ENCODING a",
            "HSET b f12345 x",
            "OBJECT ENCODING b",
            "HSET c f123456 x",
            "OBJECT ENCODING c",
            "HSET d f 1",
            "HSETNX d f 1234567",
            "OBJECT ENCODING d",
            "HSETNX d g 1234567",
            "OBJECT ENCODING d",
            "HSET foo f 99999",
            "HINCRBY foo f 1",
            "OBJECT ENCODING foo",
            "HINCRBY foo f 1",
            "OBJECT ENCODING foo",
            "HSET bar f 1.5",
            "HINCRBYFLOAT bar f 0.25",
            "OBJECT ENCODING bar",
            "HINCRBYFLOAT bar f 0.125",
            "OBJECT ENCODING bar",
            "HSET a x y",
            "HINCRBY long_field_name f 1",
            "OBJECT ENCODING long_field_name",
            "CONFIG SET hash-max-ziplist-value 64",
        ],
    ),
    (
        "hscan",
        &[
            "HSCAN nokey 0",
            "HSCAN nokey abc",
            "HSCAN nokey 0 COUNT 0",
            "HSET a f1 v1 f2 v2 g1 w1",
            "HSCAN a 0",
            "HSCAN a 0 COUNT 1",
            "HSCAN a 5",
            "HSCAN a 0 MATCH f*",
            "HSCAN a 0 MATCH * COUNT 100",
            "HSCAN a 0 match g? count 2",
            "HSCAN a 0 COUNT 0",
            "HSCAN a 0 COUNT -1",
            "HSCAN a 0 COUNT abc",
            "HSCAN a 0 COUNT",
            "HSCAN a 0 MATCH",
            "HSCAN a 0 TYPE hash",
            "HSCAN a 0 NOPE x",
            "HSCAN a -1",
            "HSCAN a 18446744073709551616",
            "HSCAN a \" 0\"",
            "HSCAN a 0x",
            "HSCAN a \"\"",
            "CONFIG SET hash-max-listpack-entries 2",
            "HSET b f1 v1 f2 v2 g1 w1",
            "HSCAN b abc",
            "CONFIG SET hash-max-listpack-entries 128",
        ],
    ),
    (
        "hash cross-core",
        &[
            "HSET a f a",
            "HSET b f b",
            "HSET c f c",
            "HSET d f d",
            "HGET a f",
            "HGET b f",
            "HGET c f",
            "HGET d f",
            "DEL a b c d",
            "EXISTS a b c d",
            "HSET foo x 1",
            "RENAME foo bar",
            "HGETALL bar",
            "COPY bar a",
            "HGETALL a",
            "OBJECT ENCODING a",
        ],
    ),
    (
        "hash ttl kept by writes",
        &[
            "HSET a f v",
            "EXPIRE a 100",
            "HSET a g w",
            "HDEL a f",
            "HINCRBY a n 1",
            "TTL a",
        ],
    ),
    (
        "hash command info",
        &[
            "~info6 COMMAND INFO hset hsetnx hmset hget hmget hgetall hdel hexists",
            "~info6 COMMAND INFO hlen hstrlen hkeys hvals hincrby hincrbyfloat hrandfield hscan",
        ],
    ),
    (
        "hash digest",
        &[
            "HSET a f v x y",
            "DEBUG DIGEST-VALUE a",
            "CONFIG SET hash-max-listpack-entries 1",
            "HSET b f v x y",
            "DEBUG DIGEST-VALUE b",
            "CONFIG SET hash-max-listpack-entries 128",
        ],
    ),
];

#[test]
fn hash_replies_match_redis() {
    run_cases(CASES);
}

#[test]
fn hrandfield_properties() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    for (key, n) in [("a", 10usize), ("b", 300)] {
        let pairs: Vec<(String, String)> =
            (0..n).map(|i| (format!("f{i}"), format!("v{i}"))).collect();
        let _: () = c.hset_multiple(key, &pairs).unwrap();
        let all: HashMap<String, String> = pairs.iter().cloned().collect();
        // Positive counts: distinct fields, min(count, len) of them.
        for count in [1usize, 3, n / 2, n - 1, n, n + 5] {
            let got: Vec<String> = redis::cmd("HRANDFIELD")
                .arg(key)
                .arg(count)
                .query(&mut c)
                .unwrap();
            assert_eq!(got.len(), count.min(n), "{key} {count}");
            let uniq: HashSet<&String> = got.iter().collect();
            assert_eq!(uniq.len(), got.len());
            assert!(got.iter().all(|f| all.contains_key(f)));
        }
        // Negative counts: exactly that many, repeats allowed.
        let got: Vec<String> = redis::cmd("HRANDFIELD")
            .arg(key)
            .arg(-(3 * n as i64))
            .query(&mut c)
            .unwrap();
        assert_eq!(got.len(), 3 * n);
        assert!(got.iter().all(|f| all.contains_key(f)));
        // Values go with their fields.
        let got: Vec<String> = redis::cmd("HRANDFIELD")
            .arg(key)
            .arg(-25)
            .arg("WITHVALUES")
            .query(&mut c)
            .unwrap();
        assert_eq!(got.len(), 50);
        for p in got.chunks(2) {
            assert_eq!(all.get(&p[0]), Some(&p[1]));
        }
        let got: Vec<String> = redis::cmd("HRANDFIELD")
            .arg(key)
            .arg(n / 3)
            .arg("WITHVALUES")
            .query(&mut c)
            .unwrap();
        assert_eq!(got.len(), 2 * (n / 3));
        for p in got.chunks(2) {
            assert_eq!(all.get(&p[0]), Some(&p[1]));
        }
        // Every field turns up eventually.
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let f: String = redis::cmd("HRANDFIELD").arg(key).query(&mut c).unwrap();
            seen.insert(f);
        }
        assert!(seen.len() >= n.min(10), "{key}: {}", seen.len());
    }
    // A huge negative count is served (no up-front allocation of its size)
    // while the connection stays usable.
    let got: Vec<String> = redis::cmd("HRANDFIELD")
        .arg("a")
        .arg(-200_000)
        .query(&mut c)
        .unwrap();
    assert_eq!(got.len(), 200_000);
    assert_eq!(
        err_text(
            redis::cmd("HRANDFIELD")
                .arg("a")
                .arg(i64::MIN)
                .query::<()>(&mut c)
        ),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
}

#[test]
fn large_hash_and_hscan() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let n = 1000;
    for key in ["a", "b"] {
        let pairs: Vec<(String, String)> = (0..n)
            .map(|i| (format!("field:{i}"), format!("{i}")))
            .collect();
        for chunk in pairs.chunks(100) {
            let _: () = c.hset_multiple(key, chunk).unwrap();
        }
        let enc: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(key)
            .query(&mut c)
            .unwrap();
        assert_eq!(enc, "hashtable");
        assert_eq!(c.hlen::<_, usize>(key).unwrap(), n);
        let all: HashMap<String, String> = c.hgetall(key).unwrap();
        assert_eq!(all.len(), n);
        assert_eq!(all.get("field:777").map(String::as_str), Some("777"));
        // HSCAN returns every field, with its value, in pieces.
        let mut cursor = 0u64;
        let mut seen = HashMap::new();
        let mut calls = 0;
        loop {
            let (next, items): (u64, Vec<String>) = redis::cmd("HSCAN")
                .arg(key)
                .arg(cursor)
                .arg("COUNT")
                .arg(50)
                .query(&mut c)
                .unwrap();
            for p in items.chunks(2) {
                seen.insert(p[0].clone(), p[1].clone());
            }
            calls += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, all);
        assert!(calls >= n / 50, "{calls}");
        // Deleting during a scan still returns every field that stayed.
        let mut cursor = 0u64;
        let mut seen = HashSet::new();
        let mut deleted = HashSet::new();
        let mut i = 0;
        loop {
            let (next, items): (u64, Vec<String>) = redis::cmd("HSCAN")
                .arg(key)
                .arg(cursor)
                .arg("COUNT")
                .arg(37)
                .arg("MATCH")
                .arg("field:*")
                .query(&mut c)
                .unwrap();
            for p in items.chunks(2) {
                seen.insert(p[0].clone());
            }
            for _ in 0..5 {
                let f = format!("field:{}", (i * 7919) % n);
                i += 1;
                if c.hdel::<_, _, i64>(key, &f).unwrap() == 1 {
                    deleted.insert(f);
                }
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for f in all.keys() {
            assert!(seen.contains(f) || deleted.contains(f), "{f} missed");
        }
        // Counters on a large hash.
        assert_eq!(c.hincr::<_, _, _, i64>(key, "field:1", 10).unwrap(), 11);
        let v: String = redis::cmd("HINCRBYFLOAT")
            .arg(key)
            .arg("field:2")
            .arg("0.5")
            .query(&mut c)
            .unwrap();
        assert_eq!(v, "2.5");
    }
    // A long value converts on the spot.
    let long = "x".repeat(100);
    let _: () = c.hset("c", "f", &long).unwrap();
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg("c")
        .query(&mut c)
        .unwrap();
    assert_eq!(enc, "hashtable");
    let n: usize = redis::cmd("HSTRLEN")
        .arg("c")
        .arg("f")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 100);
}
