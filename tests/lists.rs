//! The list family: differential cases against redis-server 7.0.15 (see
//! tests/compat.rs for the line syntax), then long lists checked against a
//! model through the `redis` crate, cross-core moves and blocking pops.
//!
//! Keys `a`, `d`, `foo` live on core 1 and `b`, `c`, `bar` on core 0 of a
//! `--threads 2` server (tests/common/compat.rs).

mod common;

use common::compat::*;
use common::{query, Server};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const CASES: &[Case] = &[
    (
        "push and length",
        &[
            "LPUSH a 1 2 3",
            "RPUSH a 4 5",
            "LRANGE a 0 -1",
            "LLEN a",
            "LLEN nokey",
            "LPUSH b x",
            "RPUSH b y z",
            "LRANGE b 0 -1",
            "LPUSH",
            "LPUSH a",
            "RPUSH a",
            "LLEN",
            "LLEN a b",
            "TYPE a",
            "OBJECT ENCODING a",
            "OBJECT ENCODING b",
            "RPUSH e \"\" \"\\x00\\xff\" \"hello world\"",
            "LRANGE e 0 -1",
            "RPUSH n 0 -1 127 128 -4096 4095 4096 32767 -32768 8388607 -8388608 2147483648 9223372036854775807 -9223372036854775808 9223372036854775808 007 -0 +1 1.5",
            "LRANGE n 0 -1",
            "LINDEX n 13",
            "LPOS n 007",
            "LPOS n 7",
            "LREM n 0 -0",
            "LLEN n",
        ],
    ),
    (
        "pushx",
        &[
            "LPUSHX a x",
            "RPUSHX a x y",
            "EXISTS a",
            "RPUSH a m",
            "LPUSHX a l1 l2",
            "RPUSHX a r1 r2",
            "LRANGE a 0 -1",
            "LPUSHX",
            "LPUSHX a",
            "SET s v",
            "LPUSHX s x",
            "RPUSHX s x",
        ],
    ),
    (
        "wrongtype",
        &[
            "SET s v",
            "LPUSH s x",
            "RPUSH s x",
            "LPOP s",
            "RPOP s",
            "LPOP s 2",
            "LLEN s",
            "LRANGE s 0 -1",
            "LINDEX s 0",
            "LSET s 0 x",
            "LINSERT s BEFORE a b",
            "LREM s 0 x",
            "LTRIM s 0 1",
            "LPOS s x",
            "LPOS s x COUNT 0",
            "LMOVE s c LEFT LEFT",
            "RPUSH c x",
            "LMOVE c s LEFT LEFT",
            "LRANGE c 0 -1",
            "RPOPLPUSH s c",
            "RPOPLPUSH c s",
            "LMPOP 1 s LEFT",
            "BLPOP s 0.01",
            "BRPOP s 0.01",
            "BLMOVE s c LEFT LEFT 0.01",
            "BLMOVE c s LEFT LEFT 0.01",
            "BRPOPLPUSH s c 0.01",
            "BLMPOP 0.01 1 s LEFT",
            "GET s",
        ],
    ),
    (
        "lpop rpop",
        &[
            "RPUSH a 1 2 3 4 5 6",
            "LPOP a",
            "RPOP a",
            "LPOP a 2",
            "RPOP a 1",
            "LPOP a 0",
            "RPOP a 0",
            "LRANGE a 0 -1",
            "LPOP a 100",
            "EXISTS a",
            "LPOP a",
            "RPOP a",
            "LPOP a 0",
            "LPOP a 5",
            "RPOP a 5",
            "LPOP a -1",
            "LPOP a x",
            "LPOP a 1.5",
            "LPOP a 1 2",
            "RPOP a 1 2",
            "LPOP",
            "RPUSH b x y",
            "LPOP b -1",
            "LPOP b 9223372036854775807",
            "EXISTS b",
            "RPUSH b x y z",
            "RPOP b 9223372036854775807",
            "RPUSH c only",
            "RPOP c",
            "EXISTS c",
        ],
    ),
    (
        "lrange",
        &[
            "RPUSH a 0 1 2 3 4 5 6 7 8 9",
            "LRANGE a 0 -1",
            "LRANGE a 2 4",
            "LRANGE a -3 -1",
            "LRANGE a -100 2",
            "LRANGE a 8 100",
            "LRANGE a 5 2",
            "LRANGE a 10 20",
            "LRANGE a -1 -2",
            "LRANGE a 0 1000000000",
            "LRANGE a -9223372036854775808 9223372036854775807",
            "LRANGE a 0 0",
            "LRANGE a x 1",
            "LRANGE a 0 y",
            "LRANGE nokey 0 -1",
            "LRANGE nokey x 1",
            "LRANGE a 0",
            "LRANGE a 0 1 2",
        ],
    ),
    (
        "lindex lset",
        &[
            "RPUSH a a b c",
            "LINDEX a 0",
            "LINDEX a -1",
            "LINDEX a 2",
            "LINDEX a 3",
            "LINDEX a -4",
            "LINDEX a x",
            "LINDEX nokey x",
            "LINDEX nokey 0",
            "LINDEX a 9223372036854775807",
            "LINDEX a -9223372036854775808",
            "LSET a 1 B",
            "LSET a -1 C",
            "LSET a 3 x",
            "LSET a -4 x",
            "LSET a x y",
            "LSET nokey 0 x",
            "LSET nokey x y",
            "LSET a 0 12345",
            "LRANGE a 0 -1",
            "LSET a 0 \"\"",
            "LINDEX a 0",
            "LINDEX a",
            "LSET a 0",
        ],
    ),
    (
        "linsert",
        &[
            "RPUSH a a b c",
            "LINSERT a BEFORE b x",
            "LINSERT a AFTER b y",
            "LINSERT a after c z",
            "LINSERT a before a w",
            "LRANGE a 0 -1",
            "LINSERT a BEFORE nope q",
            "LINSERT a MIDDLE b q",
            "LINSERT nokey BEFORE a b",
            "LINSERT nokey MIDDLE a b",
            "EXISTS nokey",
            "RPUSH n 1 2 3",
            "LINSERT n AFTER 2 2.5",
            "LINSERT n BEFORE 02 x",
            "LRANGE n 0 -1",
            "LINSERT a BEFORE b",
            "LINSERT a BEFORE b x y",
        ],
    ),
    (
        "lrem",
        &[
            "RPUSH a x y x z x y x",
            "LREM a 2 x",
            "LRANGE a 0 -1",
            "LREM a -1 y",
            "LRANGE a 0 -1",
            "LREM a 0 x",
            "LRANGE a 0 -1",
            "LREM a 0 nothing",
            "LREM a 0 y",
            "LREM a 0 z",
            "EXISTS a",
            "LREM nokey 0 x",
            "LREM a x y",
            "LREM nokey x y",
            "RPUSH b 1 2 1 2 1",
            "LREM b -9223372036854775808 1",
            "LRANGE b 0 -1",
            "LREM b 9223372036854775807 2",
            "EXISTS b",
            "LREM b 0",
        ],
    ),
    (
        "ltrim",
        &[
            "RPUSH a 0 1 2 3 4 5 6 7 8 9",
            "LTRIM a 1 -2",
            "LRANGE a 0 -1",
            "LTRIM a 2 100",
            "LRANGE a 0 -1",
            "LTRIM a -3 -2",
            "LRANGE a 0 -1",
            "LTRIM a 0 -1",
            "LRANGE a 0 -1",
            "LTRIM a 5 2",
            "EXISTS a",
            "LTRIM nokey 0 1",
            "LTRIM a x 1",
            "LTRIM nokey x 1",
            "RPUSH b 1 2 3",
            "LTRIM b -100 100",
            "LRANGE b 0 -1",
            "LTRIM b 3 3",
            "EXISTS b",
            "RPUSH c 1 2",
            "LTRIM c -9223372036854775808 9223372036854775807",
            "LRANGE c 0 -1",
            "LTRIM c 0",
        ],
    ),
    (
        "lpos",
        &[
            "RPUSH a a b c 1 2 3 c c",
            "LPOS a c",
            "LPOS a c RANK 2",
            "LPOS a c RANK -1",
            "LPOS a c RANK -2",
            "LPOS a c RANK 4",
            "LPOS a c COUNT 0",
            "LPOS a c COUNT 2",
            "LPOS a c COUNT 2 RANK 2",
            "LPOS a c COUNT 0 RANK -1",
            "LPOS a c COUNT 10 RANK -2",
            "LPOS a c MAXLEN 3",
            "LPOS a c MAXLEN 4",
            "LPOS a c COUNT 0 MAXLEN 7",
            "LPOS a c RANK -1 MAXLEN 1",
            "LPOS a c RANK -1 MAXLEN 2 COUNT 0",
            "LPOS a 2",
            "LPOS a 02",
            "LPOS a x",
            "LPOS a x COUNT 0",
            "LPOS nokey x",
            "LPOS nokey x COUNT 1",
            "LPOS nokey x RANK 0",
            "LPOS a c RANK 0",
            "LPOS a c RANK x",
            "LPOS a c COUNT -1",
            "LPOS a c MAXLEN -1",
            "LPOS a c COUNT x",
            "LPOS a c COUNT",
            "LPOS a c RANK",
            "LPOS a c FOO 1",
            "LPOS a c rank 1 count 1 maxlen 0",
            "LPOS a c RANK -9223372036854775808",
            "LPOS a c RANK -9223372036854775808 COUNT 0",
            "LPOS a c RANK 9223372036854775807",
            "LPOS a c COUNT 9223372036854775807",
            "LPOS a c RANK 1 RANK 3",
            "LPOS a",
        ],
    ),
    (
        "lmove rpoplpush same core",
        &[
            "RPUSH b 1 2 3",
            "LMOVE b c LEFT RIGHT",
            "LMOVE b c RIGHT LEFT",
            "LRANGE b 0 -1",
            "LRANGE c 0 -1",
            "LMOVE b c left left",
            "EXISTS b",
            "LMOVE b c LEFT LEFT",
            "LMOVE c c LEFT RIGHT",
            "LRANGE c 0 -1",
            "LMOVE c c RIGHT LEFT",
            "LRANGE c 0 -1",
            "LMOVE c c UP LEFT",
            "LMOVE c c LEFT DOWN",
            "LMOVE nokey c UP LEFT",
            "RPOPLPUSH c bar",
            "RPOPLPUSH c bar",
            "RPOPLPUSH c bar",
            "RPOPLPUSH c bar",
            "LRANGE bar 0 -1",
            "EXISTS c",
            "RPUSH one x",
            "RPOPLPUSH one one",
            "LRANGE one 0 -1",
            "LMOVE b c LEFT",
            "RPOPLPUSH b",
        ],
    ),
    (
        "lmove across cores",
        &[
            "RPUSH a 1 2 3",
            "LMOVE a b LEFT RIGHT",
            "LMOVE a b RIGHT LEFT",
            "LRANGE a 0 -1",
            "LRANGE b 0 -1",
            "RPOPLPUSH b d",
            "RPOPLPUSH a d",
            "LRANGE d 0 -1",
            "EXISTS a",
            "LMOVE d c LEFT LEFT",
            "LMOVE d c LEFT LEFT",
            "LMOVE d c LEFT LEFT",
            "LRANGE c 0 -1",
            "SET foo v",
            "LMOVE c foo LEFT LEFT",
            "LRANGE c 0 -1",
        ],
    ),
    (
        "lmpop",
        &[
            "RPUSH a 1 2 3",
            "RPUSH d 4 5 6",
            "LMPOP 2 nokey a LEFT",
            "LMPOP 2 a d RIGHT COUNT 2",
            "LMPOP 2 a d RIGHT COUNT 2",
            "LMPOP 2 a d LEFT COUNT 10",
            "LMPOP 2 a d LEFT",
            "EXISTS a d",
            "RPUSH c x y",
            "LMPOP 1 c left count 1",
            "LMPOP 1 c RIGHT",
            "LMPOP 1 c RIGHT",
            "LMPOP 0 a LEFT",
            "LMPOP -1 a LEFT",
            "LMPOP x a LEFT",
            "LMPOP 2 a LEFT",
            "LMPOP 9223372036854775807 a LEFT",
            "LMPOP 1 a MIDDLE",
            "LMPOP 1 a LEFT COUNT 0",
            "LMPOP 1 a LEFT COUNT -1",
            "LMPOP 1 a LEFT COUNT x",
            "LMPOP 1 a LEFT COUNT",
            "LMPOP 1 a LEFT COUNT 1 COUNT 1",
            "LMPOP 1 a LEFT FOO",
            "LMPOP 1 a",
            "LMPOP 1",
        ],
    ),
    (
        "blocking commands with data",
        &[
            "RPUSH a 1 2 3",
            "RPUSH b 4 5 6",
            "BLPOP nokey a b 0",
            "BRPOP nokey a b 0",
            "BLPOP b a 0.5",
            "BRPOP a 1",
            "LRANGE a 0 -1",
            "BLMOVE b c LEFT RIGHT 0",
            "BRPOPLPUSH b c 0",
            "LRANGE c 0 -1",
            "EXISTS b",
            "BLMPOP 0.01 2 nokey c LEFT COUNT 5",
            "RPUSH bar 7",
            "BLMPOP 0.01 1 bar RIGHT",
            "BLPOP",
            "BLPOP a",
            "BLPOP a -1",
            "BLPOP a x",
            "BLPOP a 1e100",
            "BLPOP a inf",
            "BLPOP a nan",
            "BRPOP a -0.5",
            "BLMOVE a c LEFT RIGHT -1",
            "BLMOVE a c UP RIGHT 0",
            "BLMOVE a c LEFT RIGHT x",
            "BRPOPLPUSH a c -1",
            "BRPOPLPUSH a c x",
            "BLMOVE a c LEFT",
            "BRPOPLPUSH a c",
            "BLMPOP -1 1 a LEFT",
            "BLMPOP x 1 a LEFT",
            "BLMPOP 0 0 a LEFT",
            "BLMPOP 0 1 a MIDDLE",
            "BLMPOP x 1 a MIDDLE",
            "BLMPOP 0 1 a LEFT COUNT 0",
            "BLMPOP 0 2 a LEFT",
            "BLMPOP 0 1 a",
        ],
    ),
    (
        "blocking commands time out",
        &[
            "BLPOP nokey 0.01",
            "BRPOP nokey nokey2 0.01",
            "BLMOVE nokey c LEFT LEFT 0.01",
            "BRPOPLPUSH nokey c 0.01",
            "BLMPOP 0.01 1 nokey LEFT",
            "BLMPOP 0.01 2 nokey nokey2 RIGHT COUNT 3",
            "EXISTS c",
        ],
    ),
    (
        "blocking commands inside multi",
        &[
            "MULTI",
            "BLPOP nokey 0.01",
            "BRPOP nokey 0.01",
            "BLMOVE nokey c LEFT LEFT 0.01",
            "BRPOPLPUSH nokey c 0.01",
            "BLMPOP 0.01 1 nokey LEFT",
            "RPUSH b x",
            "BLPOP b 0",
            "EXEC",
        ],
    ),
    (
        "list commands in multi",
        &[
            "MULTI",
            "RPUSH a 1 2 3",
            "LPOP a",
            "LRANGE a 0 -1",
            "LPOS a 3",
            "EXEC",
        ],
    ),
    (
        "encoding and config",
        &[
            "RPUSH a x",
            "OBJECT ENCODING a",
            "~skip CONFIG SET list-max-listpack-size 4",
            "RPUSH b 1 2 3 4 5 6 7 8 9 10",
            "OBJECT ENCODING b",
            "LRANGE b 0 -1",
            "LINSERT b BEFORE 5 x",
            "LINSERT b AFTER 8 y",
            "LSET b 3 zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "LRANGE b 0 -1",
            "LREM b 0 x",
            "LRANGE b 0 -1",
            "~skip CONFIG SET list-max-listpack-size -1",
            "RPUSH c 1 2 3",
            "OBJECT ENCODING c",
            "CONFIG GET list-max-listpack-size",
            "CONFIG GET list-max-ziplist-size",
            "~skip CONFIG SET list-max-listpack-size -2",
            "DEBUG DIGEST-VALUE a b c",
        ],
    ),
    (
        "digest",
        &[
            "RPUSH a a b c",
            "DEBUG DIGEST-VALUE a",
            "RPUSH b 1 2 3 -5 99999999999",
            "DEBUG DIGEST-VALUE b",
            "RPUSH c \"\" \"\\x00\"",
            "DEBUG DIGEST-VALUE c",
            "DEBUG DIGEST",
        ],
    ),
    (
        "command info",
        &[
            "~info6 COMMAND INFO lpush rpush lpushx rpushx lpop rpop llen lrange lindex lset linsert lrem ltrim lpos lmove rpoplpush",
            "~info6 COMMAND INFO blpop brpop blmove brpoplpush",
            "~info6 COMMAND INFO lmpop blmpop",
        ],
    ),
];

#[test]
fn replies_match_redis() {
    run_cases(CASES);
}

/// A shardis with two cores.
fn server() -> Server {
    Server::start(&["--threads", "2"])
}

fn lrange(c: &mut redis::Connection, key: &str, a: i64, b: i64) -> Vec<String> {
    redis::cmd("LRANGE")
        .arg(key)
        .arg(a)
        .arg(b)
        .query(c)
        .expect("lrange")
}

/// A deterministic generator for the model tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn model_range(m: &VecDeque<String>, a: i64, b: i64) -> Vec<String> {
    let len = m.len() as i64;
    let mut s = if a < 0 { len + a } else { a };
    let mut e = if b < 0 { len + b } else { b };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return Vec::new();
    }
    if e >= len {
        e = len - 1;
    }
    m.range(s as usize..=e as usize).cloned().collect()
}

#[test]
fn long_list_against_model() {
    let s = server();
    let mut c = s.conn();
    let mut r = Rng(0x1234_5678_9abc_def1);
    // Keys on both cores, with two node sizes.
    for (key, fill) in [("a", "-2"), ("b", "16")] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("list-max-listpack-size")
            .arg(fill)
            .query(&mut c)
            .expect("config set");
        let mut m: VecDeque<String> = VecDeque::new();
        // 100k elements, pushed in batches at both ends.
        for batch in 0..100 {
            let items: Vec<String> = (0..1000)
                .map(|i| match (batch + i) % 3 {
                    0 => format!("{}", batch * 1000 + i),
                    1 => format!("v{}-{}", batch, i),
                    _ => "x".repeat(i % 50),
                })
                .collect();
            if batch % 2 == 0 {
                let _: usize = redis::cmd("RPUSH")
                    .arg(key)
                    .arg(&items)
                    .query(&mut c)
                    .expect("rpush");
                m.extend(items);
            } else {
                let _: usize = redis::cmd("LPUSH")
                    .arg(key)
                    .arg(&items)
                    .query(&mut c)
                    .expect("lpush");
                for it in items {
                    m.push_front(it);
                }
            }
        }
        let n: usize = query(&mut c, &["LLEN", key]);
        assert_eq!(n, 100_000);
        for _ in 0..300 {
            let len = m.len();
            match r.below(6) {
                0 => {
                    let i = r.below(len) as i64 - if r.below(2) == 0 { 0 } else { len as i64 };
                    let got: Option<String> = redis::cmd("LINDEX")
                        .arg(key)
                        .arg(i)
                        .query(&mut c)
                        .expect("lindex");
                    let idx = if i < 0 { i + len as i64 } else { i } as usize;
                    assert_eq!(got.as_ref(), m.get(idx), "LINDEX {i}");
                }
                1 => {
                    let i = r.below(len);
                    let v = format!("set{}", r.next() % 1000);
                    let _: () = redis::cmd("LSET")
                        .arg(key)
                        .arg(i)
                        .arg(&v)
                        .query(&mut c)
                        .expect("lset");
                    m[i] = v;
                }
                2 => {
                    let a = r.below(len) as i64;
                    let b = a + r.below(200) as i64;
                    assert_eq!(lrange(&mut c, key, a, b), model_range(&m, a, b));
                    let a = -(r.below(len) as i64) - 1;
                    assert_eq!(lrange(&mut c, key, a, a + 50), model_range(&m, a, a + 50));
                }
                3 => {
                    let v = format!("set{}", r.next() % 1000);
                    let cnt = r.below(5) as i64 - 2;
                    let got: usize = redis::cmd("LREM")
                        .arg(key)
                        .arg(cnt)
                        .arg(&v)
                        .query(&mut c)
                        .expect("lrem");
                    let limit = cnt.unsigned_abs() as usize;
                    let mut want = 0;
                    if cnt < 0 {
                        let mut i = m.len();
                        while i > 0 && want < limit {
                            i -= 1;
                            if m[i] == v {
                                m.remove(i);
                                want += 1;
                            }
                        }
                    } else {
                        let mut i = 0;
                        while i < m.len() && (limit == 0 || want < limit) {
                            if m[i] == v {
                                m.remove(i);
                                want += 1;
                            } else {
                                i += 1;
                            }
                        }
                    }
                    assert_eq!(got, want, "LREM {cnt} {v}");
                }
                4 => {
                    let i = r.below(len);
                    let pivot = m[i].clone();
                    let v = format!("ins{}", r.next() % 100);
                    let got: i64 = redis::cmd("LINSERT")
                        .arg(key)
                        .arg("BEFORE")
                        .arg(&pivot)
                        .arg(&v)
                        .query(&mut c)
                        .expect("linsert");
                    let pos = m.iter().position(|x| *x == pivot).expect("pivot");
                    m.insert(pos, v);
                    assert_eq!(got, m.len() as i64);
                }
                _ => {
                    let l = r.below(3);
                    let rt = r.below(3);
                    let _: () = redis::cmd("LTRIM")
                        .arg(key)
                        .arg(l)
                        .arg(-(rt as i64) - 1)
                        .query(&mut c)
                        .expect("ltrim");
                    for _ in 0..l {
                        m.pop_front();
                    }
                    for _ in 0..rt {
                        m.pop_back();
                    }
                }
            }
        }
        let all = lrange(&mut c, key, 0, -1);
        assert_eq!(all.len(), m.len());
        assert!(
            all.iter().eq(m.iter()),
            "{key}: contents differ from the model"
        );
        // A big trim in the middle of the list keeps the right window.
        let _: () = redis::cmd("LTRIM")
            .arg(key)
            .arg(30_000)
            .arg(-30_001)
            .query(&mut c)
            .expect("ltrim");
        let want: Vec<String> = m.range(30_000..m.len() - 30_000).cloned().collect();
        assert_eq!(lrange(&mut c, key, 0, -1), want);
        // Huge counts and ranges on a short list allocate nothing big.
        let _: () = redis::cmd("DEL").arg("bar").query(&mut c).expect("del");
        let _: usize = query(&mut c, &["RPUSH", "bar", "1", "2"]);
        let got: Vec<String> = query(&mut c, &["LRANGE", "bar", "0", "1000000000000"]);
        assert_eq!(got, ["1", "2"]);
        let got: Vec<String> = query(&mut c, &["LPOS", "bar", "1", "COUNT", "0", "MAXLEN", "0"]);
        assert_eq!(got, ["0"]);
        let got: Vec<String> = query(&mut c, &["LPOP", "bar", "1000000000000000000"]);
        assert_eq!(got, ["1", "2"]);
    }
}

/// Random list commands on keys of both cores, replies compared with
/// redis-server's, with small nodes so that splits and merges happen.
#[test]
fn random_commands_match_redis() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let ours = server();
    let mut a = redis.conn();
    let mut b = ours.conn();
    for fill in ["3", "-1"] {
        for c in [&mut a, &mut b] {
            let _: () = query(c, &["FLUSHALL"]);
            let _: () = query(c, &["CONFIG", "SET", "list-max-listpack-size", fill]);
        }
        let mut r = Rng(0xfeed_0000 + fill.len() as u64);
        let keys = ["a", "b", "d", "c"];
        let vals = [
            "x",
            "y",
            "1",
            "22",
            "-7",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "",
        ];
        let end = |r: &mut Rng| if r.below(2) == 0 { "LEFT" } else { "RIGHT" };
        for step in 0..5000 {
            let k = keys[r.below(keys.len())];
            let v = vals[r.below(vals.len())].to_string();
            let n = (r.below(7) as i64 - 3).to_string();
            let mut args: Vec<String> = match r.below(20) {
                0..=3 => vec!["RPUSH".into(), k.into(), v.clone(), vals[r.below(7)].into()],
                4..=6 => vec!["LPUSH".into(), k.into(), v.clone()],
                7 => vec!["LPOP".into(), k.into()],
                8 => vec!["RPOP".into(), k.into(), r.below(4).to_string()],
                9 => vec![
                    "LINSERT".into(),
                    k.into(),
                    "BEFORE".into(),
                    v.clone(),
                    "ins".into(),
                ],
                10 => vec!["LSET".into(), k.into(), n.clone(), v.clone()],
                11 => vec!["LREM".into(), k.into(), n.clone(), v.clone()],
                12 => vec![
                    "LTRIM".into(),
                    k.into(),
                    r.below(2).to_string(),
                    "-2".into(),
                ],
                13 => vec!["LRANGE".into(), k.into(), n.clone(), "-1".into()],
                14 => vec!["LINDEX".into(), k.into(), n.clone()],
                15 => {
                    let rank = if n == "0" { "1".to_string() } else { n.clone() };
                    let count = r.below(3).to_string();
                    vec![
                        "LPOS".into(),
                        k.into(),
                        v.clone(),
                        "RANK".into(),
                        rank,
                        "COUNT".into(),
                        count,
                    ]
                }
                16 => vec![
                    "LMOVE".into(),
                    k.into(),
                    keys[r.below(4)].into(),
                    end(&mut r).into(),
                    end(&mut r).into(),
                ],
                17 => vec!["RPOPLPUSH".into(), k.into(), keys[r.below(4)].into()],
                _ => vec!["LLEN".into(), k.into()],
            };
            if step % 500 == 499 {
                args = vec!["LRANGE".into(), k.into(), "0".into(), "-1".into()];
            }
            let run = |c: &mut redis::Connection| {
                let mut q = redis::cmd(&args[0]);
                for x in &args[1..] {
                    q.arg(x);
                }
                q.query::<redis::Value>(c).map_err(|e| e.to_string())
            };
            let (ra, rb) = (run(&mut a), run(&mut b));
            assert_eq!(ra, rb, "fill {fill} step {step}: {args:?}");
        }
        for k in keys {
            let (x, y) = (lrange(&mut a, k, 0, -1), lrange(&mut b, k, 0, -1));
            assert_eq!(x, y, "{k}");
        }
    }
}

#[test]
fn lmove_across_cores_against_model() {
    let s = server();
    let mut c = s.conn();
    let keys = common::keys_on_cores(2, 2);
    let (k0, k1) = (&keys[0][0], &keys[1][0]);
    let items: Vec<String> = (0..2000).map(|i| format!("e{i}")).collect();
    let _: usize = redis::cmd("RPUSH")
        .arg(k0)
        .arg(&items)
        .query(&mut c)
        .expect("rpush");
    let mut m0: VecDeque<String> = items.into();
    let mut m1: VecDeque<String> = VecDeque::new();
    let mut r = Rng(77);
    for _ in 0..500 {
        let (src, dst, ms, md) = if r.below(2) == 0 {
            (k0, k1, &mut m0, &mut m1)
        } else {
            (k1, k0, &mut m1, &mut m0)
        };
        let from = if r.below(2) == 0 { "LEFT" } else { "RIGHT" };
        let to = if r.below(2) == 0 { "LEFT" } else { "RIGHT" };
        let got: Option<String> = redis::cmd("LMOVE")
            .arg(src)
            .arg(dst)
            .arg(from)
            .arg(to)
            .query(&mut c)
            .expect("lmove");
        let v = if from == "LEFT" {
            ms.pop_front()
        } else {
            ms.pop_back()
        };
        assert_eq!(got, v);
        if let Some(v) = v {
            if to == "LEFT" {
                md.push_front(v);
            } else {
                md.push_back(v);
            }
        }
    }
    assert!(lrange(&mut c, k0, 0, -1).iter().eq(m0.iter()));
    assert!(lrange(&mut c, k1, 0, -1).iter().eq(m1.iter()));
    // RPOPLPUSH across cores, until the source is gone.
    let n = m0.len();
    for _ in 0..n {
        let _: String = query(&mut c, &["RPOPLPUSH", k0, k1]);
    }
    let exists: i64 = query(&mut c, &["EXISTS", k0]);
    assert_eq!(exists, 0);
    let len: usize = query(&mut c, &["LLEN", k1]);
    assert_eq!(len, 2000);
}

/// The events list commands raise, in order.
fn keyspace_events(s: &Server) {
    let mut c = s.conn();
    let _: () = query(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut sub = s.conn();
    let mut ps = sub.as_pubsub();
    ps.psubscribe("__keyevent@0__:*").expect("psubscribe");
    ps.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let cmds: &[&[&str]] = &[
        &["RPUSH", "b", "1", "2", "3"],
        &["LPUSH", "b", "0"],
        &["LSET", "b", "0", "z"],
        &["LINSERT", "b", "AFTER", "z", "y"],
        &["LREM", "b", "1", "y"],
        &["LTRIM", "b", "0", "-1"],
        &["LMOVE", "b", "c", "LEFT", "RIGHT"],
        &["RPOP", "b", "3"],
        &["LPOP", "c"],
    ];
    for cmd in cmds {
        let mut q = redis::cmd(cmd[0]);
        for a in &cmd[1..] {
            q.arg(*a);
        }
        let _: redis::Value = q.query(&mut c).expect("cmd");
    }
    let want = [
        ("rpush", "b"),
        ("lpush", "b"),
        ("lset", "b"),
        ("linsert", "b"),
        ("lrem", "b"),
        ("ltrim", "b"),
        ("rpush", "c"),
        ("lpop", "b"),
        ("rpop", "b"),
        ("del", "b"),
        ("lpop", "c"),
        ("del", "c"),
    ];
    for (event, key) in want {
        let msg = ps.get_message().expect("event");
        let payload: String = msg.get_payload().expect("payload");
        assert_eq!(
            (msg.get_channel_name(), payload.as_str()),
            (format!("__keyevent@0__:{event}").as_str(), key)
        );
    }
}

#[test]
fn keyspace_events_of_redis() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    keyspace_events(&redis);
}

#[test]
fn keyspace_events_of_shardis() {
    keyspace_events(&server());
}

/// Sends a command on its own connection (a raw socket, so a blocked
/// command does not hold the test's client) and returns the socket.
fn send_raw(port: u16, args: &[&str]) -> common::Raw {
    let mut r = common::Raw::connect(port);
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    r.cmd(&argv);
    r
}

/// Waits until `cond` holds (bounded).
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Clients blocked on keys of both cores are served by pushes from another
/// connection; BLMOVE, BLMPOP likewise; several clients on one key are
/// served in the order they blocked; timeouts answer a null array.
fn blocking_semantics(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
    let mut c = client.get_connection().expect("connect");
    let keys = common::keys_on_cores(2, 1);
    let (k0, k1) = (&keys[0][0], &keys[1][0]);
    for k in [k0, k1] {
        let mut blocked = send_raw(port, &["BLPOP", "nokey", k, "5"]);
        std::thread::sleep(Duration::from_millis(100));
        let _: usize = query(&mut c, &["RPUSH", k, "v1", "v2"]);
        let r = blocked.read_replies(1);
        let want = format!("*2\r\n${}\r\n{k}\r\n$2\r\nv1\r\n", k.len());
        assert_eq!(String::from_utf8_lossy(&r), want);
        let left: Vec<String> = query(&mut c, &["LRANGE", k, "0", "-1"]);
        assert_eq!(left, ["v2"]);
    }
    let _: i64 = query(&mut c, &["DEL", k0, k1]);
    // BLMOVE from one core's key to the other's.
    let mut blocked = send_raw(port, &["BLMOVE", k0, k1, "RIGHT", "LEFT", "5"]);
    std::thread::sleep(Duration::from_millis(100));
    let _: usize = query(&mut c, &["RPUSH", k0, "m"]);
    assert_eq!(blocked.read_replies(1), b"$1\r\nm\r\n");
    let moved: Vec<String> = query(&mut c, &["LRANGE", k1, "0", "-1"]);
    assert_eq!(moved, ["m"]);
    assert_eq!(query::<i64>(&mut c, &["EXISTS", k0]), 0);
    // BLMPOP takes up to COUNT at once.
    let mut blocked = send_raw(port, &["BLMPOP", "5", "1", k0, "LEFT", "COUNT", "2"]);
    std::thread::sleep(Duration::from_millis(100));
    let _: usize = query(&mut c, &["RPUSH", k0, "x", "y", "z"]);
    let want = format!(
        "*2\r\n${}\r\n{k0}\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n",
        k0.len()
    );
    assert_eq!(String::from_utf8_lossy(&blocked.read_replies(1)), want);
    // First blocked, first served.
    let mut first = send_raw(port, &["BLPOP", "q", "5"]);
    std::thread::sleep(Duration::from_millis(50));
    let mut second = send_raw(port, &["BRPOP", "q", "5"]);
    std::thread::sleep(Duration::from_millis(50));
    let _: usize = query(&mut c, &["RPUSH", "q", "1", "2", "3"]);
    assert_eq!(first.read_replies(1), b"*2\r\n$1\r\nq\r\n$1\r\n1\r\n");
    assert_eq!(second.read_replies(1), b"*2\r\n$1\r\nq\r\n$1\r\n3\r\n");
    let left: Vec<String> = query(&mut c, &["LRANGE", "q", "0", "-1"]);
    assert_eq!(left, ["2"]);
    // Timeouts: a null array for every blocking list command, after the wait.
    for args in [
        vec!["BLPOP", "nokey", "0.2"],
        vec!["BRPOPLPUSH", "nokey", "b", "0.2"],
        vec!["BLMOVE", "nokey", "b", "LEFT", "LEFT", "0.2"],
        vec!["BLMPOP", "0.2", "1", "nokey", "LEFT"],
    ] {
        let t = Instant::now();
        let mut r = send_raw(port, &args);
        assert_eq!(r.read_replies(1), b"*-1\r\n", "{args:?}");
        assert!(
            t.elapsed() >= Duration::from_millis(150),
            "{args:?} did not wait"
        );
    }
    assert!(eventually(Duration::from_secs(2), || {
        query::<i64>(&mut c, &["EXISTS", "b"]) == 0
    }));
}

/// The blocking scenario against redis-server itself, so the expectations
/// above are Redis's.
#[test]
fn blocking_semantics_of_redis() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    blocking_semantics(redis.port);
}

#[test]
fn blocking_semantics_of_shardis() {
    let s = server();
    blocking_semantics(s.port);
}
