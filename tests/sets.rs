//! The set commands: differential cases against redis-server 7.0.15 (RESP2
//! and RESP3, keys on both cores of a two-core shardis), then properties of
//! the random and large cases through the `redis` crate. (Keyspace events
//! are unit-tested in src/command/sets.rs: the server does not publish them
//! yet.)

mod common;

use common::compat::*;
use common::{err_text, Server};
use redis::Commands;
use std::collections::HashSet;

const CASES: &[Case] = &[
    (
        "set basic",
        &[
            "SADD a 3 1 2",
            "SADD a 2 5 -7",
            "SMEMBERS a",
            "SCARD a",
            "SCARD nokey",
            "SISMEMBER a 5",
            "SISMEMBER a 6",
            "SISMEMBER a 05",
            "SISMEMBER a x",
            "SISMEMBER nokey 1",
            "SMISMEMBER a 1 x 5 1",
            "SMISMEMBER nokey 1 2",
            "SMEMBERS nokey",
            "TYPE a",
            "OBJECT ENCODING a",
            "SADD b x y",
            "SADD b x",
            "~sort SMEMBERS b",
            "SISMEMBER b x",
            "SMISMEMBER b x z",
            "OBJECT ENCODING b",
        ],
    ),
    (
        "set empty and binary members",
        &[
            "SADD a \"\" \"\\x00\\xff\" \"\\r\\n\"",
            "SCARD a",
            "SISMEMBER a \"\"",
            "SISMEMBER a \"\\x00\\xff\"",
            "~sort SMEMBERS a",
            "SREM a \"\"",
            "SCARD a",
        ],
    ),
    (
        "set arity",
        &[
            "SADD",
            "SADD a",
            "SREM a",
            "SMEMBERS",
            "SMEMBERS a b",
            "SISMEMBER a",
            "SISMEMBER a b c",
            "SMISMEMBER a",
            "SCARD",
            "SPOP",
            "SPOP a 1 2",
            "SRANDMEMBER",
            "SRANDMEMBER a 1 2",
            "SMOVE a b",
            "SMOVE a b c d",
            "SINTER",
            "SINTERSTORE a",
            "SINTERCARD 1",
            "SUNION",
            "SUNIONSTORE a",
            "SDIFF",
            "SDIFFSTORE a",
            "SSCAN a",
        ],
    ),
    (
        "srem",
        &[
            "SADD b 1 2 3 x",
            "SREM b 1 nope",
            "SREM b 1",
            "SREM nokey 1",
            "~sort SMEMBERS b",
            "SREM b 2 3 x 4",
            "EXISTS b",
            "SADD d 1",
            "SREM d 1 1",
            "EXISTS d",
            "SADD d 1 2",
            "SREM d 01 x",
            "SMEMBERS d",
        ],
    ),
    (
        "set wrongtype",
        &[
            "SET a str",
            "SADD a x",
            "SREM a x",
            "SMEMBERS a",
            "SISMEMBER a x",
            "SMISMEMBER a x",
            "SCARD a",
            "SPOP a",
            "SPOP a 2",
            "SRANDMEMBER a",
            "SRANDMEMBER a 2",
            "SSCAN a 0",
            "SINTER a",
            "SADD b 1",
            "SINTER b a",
            "SINTER nokey a",
            "SINTERCARD 2 b a",
            "SUNION b a",
            "SDIFF b a",
            "SDIFF nokey a",
            "SINTERSTORE c b a",
            "SUNIONSTORE c b a",
            "SDIFFSTORE c b a",
            "SMOVE a b x",
            "SMOVE b a 1",
            "SMOVE nokey a 1",
            "SISMEMBER b 1",
            "HSET b f v",
        ],
    ),
    (
        "intset encoding",
        &[
            "SADD a 1 2 3",
            "OBJECT ENCODING a",
            "SADD a -9223372036854775808 9223372036854775807",
            "OBJECT ENCODING a",
            "SMEMBERS a",
            "SADD a 9223372036854775808",
            "OBJECT ENCODING a",
            "~sort SMEMBERS a",
            "SREM a 9223372036854775808",
            "OBJECT ENCODING a",
            "SADD b 01",
            "OBJECT ENCODING b",
            "SADD c +1",
            "OBJECT ENCODING c",
            "SADD d -0",
            "OBJECT ENCODING d",
            "SADD foo 1.0",
            "OBJECT ENCODING foo",
            "SADD bar 70000 -5 40000000000 2",
            "OBJECT ENCODING bar",
            "SMEMBERS bar",
            "SREM bar 40000000000",
            "SMEMBERS bar",
            "SRANDMEMBER bar 10",
            "SPOP bar 10",
            "EXISTS bar",
        ],
    ),
    (
        "intset entries threshold",
        &[
            "CONFIG SET set-max-intset-entries 3",
            "SADD a 1 2 3",
            "OBJECT ENCODING a",
            "SADD a 3",
            "OBJECT ENCODING a",
            "SADD a 4",
            "OBJECT ENCODING a",
            "SREM a 1 2",
            "OBJECT ENCODING a",
            "SADD b 1 2 3 4",
            "OBJECT ENCODING b",
            "~sort SMEMBERS b",
            "SADD c 1 2",
            "SUNIONSTORE d b c",
            "OBJECT ENCODING d",
            "SINTERSTORE d b c",
            "OBJECT ENCODING d",
            "SMEMBERS d",
            "SMOVE b c 3",
            "OBJECT ENCODING c",
            "SMOVE b c 4",
            "OBJECT ENCODING c",
            "CONFIG SET set-max-intset-entries 0",
            "SADD foo 1",
            "OBJECT ENCODING foo",
            "CONFIG SET set-max-intset-entries 512",
        ],
    ),
    (
        "spop deterministic",
        &[
            "SPOP nokey",
            "SPOP nokey 3",
            "SPOP nokey 0",
            "SPOP nokey abc",
            "SPOP nokey -1",
            "SADD a 1 2 3",
            "SPOP a 0",
            "SPOP a -1",
            "SPOP a abc",
            "SPOP a 1.5",
            "SPOP a 9223372036854775808",
            "SPOP a 3",
            "EXISTS a",
            "SADD b 5",
            "SPOP b",
            "EXISTS b",
            "SADD c x",
            "SPOP c 1",
            "EXISTS c",
            "SADD d 1 2 3 x",
            "~sort SPOP d 9223372036854775807",
            "EXISTS d",
            "SADD foo 3 2 1",
            "SPOP foo 4",
        ],
    ),
    (
        "spop shapes",
        &[
            "SADD a 1 2 3 4 5 6 7 8 9 10 11 12",
            "~shape SPOP a",
            "~shape SPOP a 2",
            "SCARD a",
            "~shape SPOP a 7",
            "SCARD a",
            "OBJECT ENCODING a",
            "SADD b a b c d e f g h i j k l",
            "~shape SPOP b",
            "~shape SPOP b 2",
            "~shape SPOP b 8",
            "SCARD b",
        ],
    ),
    (
        "spop rebuild goes back to intset",
        &[
            "CONFIG SET set-max-intset-entries 5",
            "SADD a 1 2 3 4 5 6 7 8 9 10",
            "OBJECT ENCODING a",
            "~shape SPOP a 9",
            "OBJECT ENCODING a",
            "SADD b 1 2 3 4 5 6 7 8 9 10",
            "~shape SPOP b 2",
            "OBJECT ENCODING b",
            "CONFIG SET set-max-intset-entries 512",
        ],
    ),
    (
        "srandmember",
        &[
            "SRANDMEMBER nokey",
            "SRANDMEMBER nokey 5",
            "SRANDMEMBER nokey -5",
            "SRANDMEMBER nokey abc",
            "SADD a 7",
            "SRANDMEMBER a",
            "SRANDMEMBER a 1",
            "SRANDMEMBER a -3",
            "SRANDMEMBER a 0",
            "SADD a 1 2",
            "SRANDMEMBER a 3",
            "SRANDMEMBER a 100",
            "SRANDMEMBER a 9223372036854775807",
            "SRANDMEMBER a -9223372036854775808",
            "SRANDMEMBER a abc",
            "SRANDMEMBER a 1.0",
            "SADD b x",
            "SRANDMEMBER b -2",
            "SADD d 1 2 3 4 5 6 7 8 9 10 x",
            "~shape SRANDMEMBER d",
            "~shape SRANDMEMBER d 3",
            "~shape SRANDMEMBER d 8",
            "~shape SRANDMEMBER d -30",
            "~sort SRANDMEMBER d 11",
        ],
    ),
    (
        "smove",
        &[
            "SADD a 1 2 x",
            "SADD b 3",
            "SMOVE a b 1",
            "SMOVE a b 1",
            "SMOVE a b nope",
            "SMEMBERS b",
            "SMOVE a c x",
            "SMEMBERS c",
            "OBJECT ENCODING c",
            "SMOVE a a 2",
            "SMOVE a a 9",
            "SMOVE a d 2",
            "EXISTS a",
            "SMEMBERS d",
            "SMOVE nokey b 1",
            "SADD foo 5",
            "SMOVE foo b 3",
            "SMOVE b foo 3",
            "SMEMBERS foo",
            "SMOVE b foo 3",
        ],
    ),
    (
        "sinter",
        &[
            "SADD a 1 2 3 4 5",
            "SADD b 2 3 4 6",
            "SADD c 3 4 7",
            "SINTER a b c",
            "SINTER a",
            "SINTER a a",
            "SINTER c b a",
            "SINTER a b nokey",
            "SINTER nokey a",
            "SADD d 3 4 x",
            "~sort SINTER d a",
            "~sort SINTER a d",
            "SINTERCARD 2 a b",
            "SINTERCARD 3 a b c",
            "SINTERCARD 2 a b LIMIT 2",
            "SINTERCARD 2 a b limit 0",
            "SINTERCARD 2 a b LIMIT 1 LIMIT 10",
            "SINTERCARD 2 a nokey",
            "SINTERCARD 1 nokey",
            "SINTERCARD 0 a",
            "SINTERCARD -1 a",
            "SINTERCARD abc a",
            "SINTERCARD 3 a b",
            "SINTERCARD 1 a LIMIT",
            "SINTERCARD 1 a LIMIT -1",
            "SINTERCARD 1 a LIMIT abc",
            "SINTERCARD 1 a b",
            "SINTERCARD 1 a NOPE 1",
        ],
    ),
    (
        "sinterstore",
        &[
            "SADD a 1 2 3",
            "SADD b 2 3 4",
            "SINTERSTORE c a b",
            "SMEMBERS c",
            "OBJECT ENCODING c",
            "SINTERSTORE d a b",
            "SMEMBERS d",
            "SINTERSTORE a a b",
            "SMEMBERS a",
            "SINTERSTORE c a nokey",
            "EXISTS c",
            "SINTERSTORE c nokey",
            "SET foo str EX 100",
            "SINTERSTORE foo a b",
            "TYPE foo",
            "TTL foo",
            "SADD bar 9",
            "SINTERSTORE bar a bar",
            "EXISTS bar",
            "SADD x1 a b c",
            "SADD x2 b c d",
            "SINTERSTORE d x1 x2",
            "~sort SMEMBERS d",
            "OBJECT ENCODING d",
        ],
    ),
    (
        "sunion and sdiff",
        &[
            "SADD a 1 2 3",
            "SADD b 3 4 5",
            "SADD c 5 6 x",
            "SUNION a b",
            "~sort SUNION a b c",
            "SUNION a nokey",
            "SUNION nokey",
            "SDIFF a b",
            "SDIFF b a c",
            "SDIFF a nokey",
            "SDIFF nokey a",
            "SDIFF a a",
            "SDIFF a b a",
            "~sort SDIFF c a",
            "SUNIONSTORE d a b",
            "SMEMBERS d",
            "OBJECT ENCODING d",
            "SUNIONSTORE d a c",
            "OBJECT ENCODING d",
            "~sort SMEMBERS d",
            "SDIFFSTORE foo b a",
            "SMEMBERS foo",
            "SDIFFSTORE foo a a",
            "EXISTS foo",
            "SUNIONSTORE foo nokey",
            "EXISTS foo",
            "SET bar str",
            "EXPIRE bar 100",
            "SUNIONSTORE bar a",
            "TTL bar",
            "SMEMBERS bar",
            "SDIFFSTORE bar bar",
            "EXISTS bar",
        ],
    ),
    (
        "sdiff algorithm decides the encoding",
        &[
            "CONFIG SET set-max-intset-entries 5",
            "SADD a 1 2 3 4 5 6 7",
            "SADD b 1",
            "SADD c 2",
            "SADD d 3",
            "SDIFFSTORE foo a b c d",
            "OBJECT ENCODING foo",
            "SDIFFSTORE bar a b",
            "OBJECT ENCODING bar",
            "SADD x 1 2 3 y",
            "SREM x y",
            "SDIFFSTORE foo x a",
            "EXISTS foo",
            "SADD z 8 9",
            "SDIFFSTORE foo x z",
            "OBJECT ENCODING foo",
            "CONFIG SET set-max-intset-entries 512",
        ],
    ),
    (
        "sscan",
        &[
            "SSCAN nokey 0",
            "SSCAN nokey abc",
            "SSCAN nokey 0 COUNT 0",
            "SADD a 10 2 33 4",
            "SSCAN a 0",
            "SSCAN a 7 COUNT 1",
            "SSCAN a 0 MATCH 3*",
            "SSCAN a 0 MATCH * COUNT 100",
            "SSCAN a 0 COUNT 0",
            "SSCAN a 0 COUNT abc",
            "SSCAN a 0 MATCH",
            "SSCAN a 0 TYPE set",
            "SSCAN a x",
            "SADD b onlyone",
            "SSCAN b 0",
            "SSCAN b 0 MATCH z*",
        ],
    ),
    (
        "set cross-core",
        &[
            "SADD a 1",
            "SADD b 2",
            "SADD c 3",
            "SADD d 4",
            "SUNION a b c d",
            "SUNIONSTORE foo a b c d",
            "SMEMBERS foo",
            "SMOVE foo bar 2",
            "SMEMBERS bar",
            "SINTERCARD 2 foo bar",
            "SCARD foo",
            "DEL a b c d foo bar",
            "DBSIZE",
        ],
    ),
    (
        "set command info",
        &[
            "~info6 COMMAND INFO sadd srem smembers sismember smismember scard spop srandmember",
            "~info6 COMMAND INFO smove sinter sinterstore sunion sunionstore sdiff sdiffstore sscan",
            "~info6 COMMAND INFO sintercard",
        ],
    ),
    (
        "set digest",
        &[
            "SADD a 1 2 3",
            "DEBUG DIGEST-VALUE a",
            "SADD b x 1",
            "DEBUG DIGEST-VALUE b",
        ],
    ),
];

#[test]
fn set_replies_match_redis() {
    run_cases(CASES);
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(c)
        .unwrap()
}

#[test]
fn random_members_properties() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    for (key, members) in [
        ("a", (0..20).map(|i| i.to_string()).collect::<Vec<_>>()),
        ("b", (0..600).map(|i| format!("m{i}")).collect::<Vec<_>>()),
    ] {
        let n = members.len();
        let _: () = c.sadd(key, &members).unwrap();
        let all: HashSet<String> = members.iter().cloned().collect();
        for count in [1usize, 2, n / 3, n / 2, n - 1, n, n + 1] {
            let got: Vec<String> = c.srandmember_multiple(key, count).unwrap();
            assert_eq!(got.len(), count.min(n));
            let uniq: HashSet<&String> = got.iter().collect();
            assert_eq!(uniq.len(), got.len(), "{key} {count}");
            assert!(got.iter().all(|m| all.contains(m)));
        }
        let got: Vec<String> = redis::cmd("SRANDMEMBER")
            .arg(key)
            .arg(-(2 * n as i64))
            .query(&mut c)
            .unwrap();
        assert_eq!(got.len(), 2 * n);
        assert!(got.iter().all(|m| all.contains(m)));
        let mut seen = HashSet::new();
        for _ in 0..300 {
            let m: String = c.srandmember(key).unwrap();
            seen.insert(m);
        }
        assert!(seen.len() >= 15, "{key}: {}", seen.len());
        // SPOP with counts in every strategy: what comes out is distinct,
        // was in the set, and is gone from it.
        let mut left = all.clone();
        for count in [1usize, n / 10, n / 2] {
            let got: Vec<String> = redis::cmd("SPOP")
                .arg(key)
                .arg(count)
                .query(&mut c)
                .unwrap();
            assert_eq!(got.len(), count);
            for m in &got {
                assert!(left.remove(m), "{m} popped twice or never there");
            }
            assert_eq!(c.scard::<_, usize>(key).unwrap(), left.len());
        }
        // Most of what is left: the rebuild strategy.
        let count = left.len() - 2;
        let got: Vec<String> = redis::cmd("SPOP")
            .arg(key)
            .arg(count)
            .query(&mut c)
            .unwrap();
        assert_eq!(got.len(), count);
        for m in &got {
            assert!(left.remove(m));
        }
        let rest: HashSet<String> = c.smembers(key).unwrap();
        assert_eq!(rest, left);
        let one: String = c.spop(key).unwrap();
        assert!(left.remove(&one));
        let last: Vec<String> = redis::cmd("SPOP")
            .arg(key)
            .arg(i64::MAX)
            .query(&mut c)
            .unwrap();
        assert_eq!(last.into_iter().collect::<HashSet<_>>(), left);
        assert!(!c.exists::<_, bool>(key).unwrap());
    }
    // A huge negative count is served without reserving its size up front.
    let _: () = c.sadd("d", 1).unwrap();
    let got: Vec<String> = redis::cmd("SRANDMEMBER")
        .arg("d")
        .arg(-300_000)
        .query(&mut c)
        .unwrap();
    assert_eq!(got.len(), 300_000);
    assert!(got.iter().all(|m| m == "1"));
    assert_eq!(
        err_text(redis::cmd("SPOP").arg("d").arg(-1).query::<()>(&mut c)),
        "ERR value is out of range, must be positive"
    );
}

#[test]
fn large_sets_across_cores() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    // `a` and `d` live on core 1, `b` and `c` on core 0.
    let n = 10_000;
    let evens: Vec<String> = (0..n).map(|i| (2 * i).to_string()).collect();
    let threes: Vec<String> = (0..n).map(|i| (3 * i).to_string()).collect();
    for chunk in evens.chunks(1000) {
        let _: () = c.sadd("a", chunk).unwrap();
    }
    for chunk in threes.chunks(1000) {
        let _: () = c.sadd("b", chunk).unwrap();
    }
    assert_eq!(c.scard::<_, usize>("a").unwrap(), n);
    assert_eq!(encoding(&mut c, "a"), "hashtable");
    let inter: HashSet<i64> = c.sinter(&["a", "b"]).unwrap();
    // Evens stop below 2n, multiples of three go further: multiples of 6.
    let expect: HashSet<i64> = (0..2 * n as i64).filter(|x| x % 6 == 0).collect();
    assert_eq!(inter, expect);
    let card: usize = redis::cmd("SINTERCARD")
        .arg(2)
        .arg("a")
        .arg("b")
        .query(&mut c)
        .unwrap();
    assert_eq!(card, expect.len());
    let card: usize = redis::cmd("SINTERCARD")
        .arg(2)
        .arg("b")
        .arg("a")
        .arg("LIMIT")
        .arg(100)
        .query(&mut c)
        .unwrap();
    assert_eq!(card, 100);
    // STORE forms with the destination on a third place.
    let stored: usize = c.sinterstore("c", &["a", "b"]).unwrap();
    assert_eq!(stored, expect.len());
    let got: HashSet<i64> = c.smembers("c").unwrap();
    assert_eq!(got, expect);
    let stored: usize = c.sunionstore("d", &["a", "b"]).unwrap();
    let union: HashSet<i64> = (0..n as i64)
        .map(|i| 2 * i)
        .chain((0..n as i64).map(|i| 3 * i))
        .collect();
    assert_eq!(stored, union.len());
    assert_eq!(c.smembers::<_, HashSet<i64>>("d").unwrap(), union);
    let stored: usize = c.sdiffstore("c", &["a", "b"]).unwrap();
    assert_eq!(stored, n - expect.len());
    let diff: HashSet<i64> = c.sdiff(&["a", "b"]).unwrap();
    assert_eq!(diff.len(), stored);
    assert!(diff.iter().all(|x| x % 2 == 0 && x % 3 != 0));
    // SMOVE between cores.
    let moved: bool = c.smove("a", "b", "4").unwrap();
    assert!(moved);
    assert!(!c.sismember::<_, _, bool>("a", "4").unwrap());
    assert!(c.sismember::<_, _, bool>("b", "4").unwrap());
    // SSCAN visits every member.
    let mut cursor = 0u64;
    let mut seen = HashSet::new();
    loop {
        let (next, items): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg("a")
            .arg(cursor)
            .arg("COUNT")
            .arg(500)
            .query(&mut c)
            .unwrap();
        seen.extend(items);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), n - 1);
    // An intset of 512 stays one; 513 does not.
    let ints: Vec<i64> = (0..512).collect();
    let _: () = c.sadd("ints", &ints).unwrap();
    assert_eq!(encoding(&mut c, "ints"), "intset");
    let _: () = c.sadd("ints", 512).unwrap();
    assert_eq!(encoding(&mut c, "ints"), "hashtable");
}
