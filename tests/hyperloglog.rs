//! HyperLogLog commands against redis-server 7.0.15: replies and the stored
//! bytes (GET of the HLL string) must be identical, corrupt HLLs included;
//! large inputs through the `redis` crate.

mod common;

use common::compat::*;
use common::Server;

const CASES: &[Case] = &[
    (
        "pfadd bytes",
        &[
            "PFADD h a b c",
            "GET h",
            "OBJECT ENCODING h",
            "PFADD h a b c",
            "PFADD h d",
            "GET h",
            "PFCOUNT h",
            "GET h",
            "PFCOUNT h",
            "PFADD h",
            "GET h",
            "PFADD e",
            "GET e",
            "PFADD e",
            "PFCOUNT e",
            "GET e",
            "PFADD b \"\" \"\\x00\" \"\\xff\\xfe\" 1234567 \"a much longer element, longer than a word or two\"",
            "GET b",
            "PFCOUNT b",
            "PFADD",
            "STRLEN h",
            "TYPE h",
            "TTL h",
        ],
    ),
    (
        "pfadd sparse growth",
        &[
            "PFADD h 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39",
            "GET h",
            "PFDEBUG DECODE h",
            "PFADD h 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99",
            "GET h",
            "PFCOUNT h",
            "PFDEBUG ENCODING h",
            "PFDEBUG DECODE h",
            "GET h",
        ],
    ),
    (
        "pfadd promotion by size",
        &[
            "~skip CONFIG SET hll-sparse-max-bytes 40",
            "PFADD h a b c d e f g h i j",
            "PFDEBUG ENCODING h",
            "PFADD h k l m n o p q r s t u v w x y z",
            "PFDEBUG ENCODING h",
            "STRLEN h",
            "PFCOUNT h",
            "GET h",
            "PFADD h aa bb cc",
            "GET h",
            "~skip CONFIG SET hll-sparse-max-bytes 3000",
        ],
    ),
    (
        "pfcount",
        &[
            "PFCOUNT nokey",
            "PFCOUNT nokey1 nokey2",
            "PFADD a x y z",
            "PFADD b y z w v",
            "PFADD d 1 2 3 4 5 6 7 8 9",
            "PFCOUNT a b",
            "PFCOUNT a b d nokey",
            "PFCOUNT a a",
            "GET a",
            "PFCOUNT a",
            "GET a",
            "PFCOUNT",
            "SET s foo",
            "PFCOUNT s",
            "PFCOUNT a s",
            "PFCOUNT s nokey",
        ],
    ),
    (
        "pfmerge",
        &[
            "PFADD b a b c",
            "PFADD c c d e f",
            "PFMERGE bar b c",
            "GET bar",
            "PFCOUNT bar",
            "OBJECT ENCODING bar",
            "PFMERGE bar",
            "GET bar",
            "PFMERGE b",
            "GET b",
            "PFMERGE new",
            "GET new",
            "PFMERGE new2 nokey",
            "GET new2",
            "PFMERGE bar bar c",
            "GET bar",
            "PFDEBUG TODENSE c",
            "PFMERGE bar b c",
            "PFDEBUG ENCODING bar",
            "PFCOUNT bar",
            "GET b",
            "PFMERGE b bar",
            "PFDEBUG ENCODING b",
            "SET s foo",
            "PFMERGE s b",
            "PFMERGE bar s",
            "PFMERGE",
            "SET bar x EX 100",
            "PFMERGE bar b",
            "TTL bar",
        ],
    ),
    (
        "pf across cores",
        &[
            "PFADD a 1 2 3",
            "PFADD b 3 4 5",
            "PFADD foo 6 7",
            "PFCOUNT a b foo",
            "PFMERGE c a b foo",
            "GET c",
            "PFCOUNT c",
            "PFMERGE d c",
            "GET d",
            "PFMERGE bar a b",
            "PFCOUNT bar",
            "GET bar",
        ],
    ),
    (
        "pfdebug",
        &[
            "PFDEBUG ENCODING nokey",
            "PFDEBUG FOO nokey",
            "PFDEBUG",
            "PFDEBUG ENCODING",
            "PFDEBUG ENCODING a b",
            "PFADD h a b c",
            "PFDEBUG ENCODING h",
            "PFDEBUG encoding h",
            "PFDEBUG DECODE h",
            "PFDEBUG FOO h",
            "PFDEBUG \"a\\r\\nb\" h",
            "PFDEBUG GETREG h",
            "PFDEBUG ENCODING h",
            "GET h",
            "PFDEBUG DECODE h",
            "PFDEBUG TODENSE h",
            "PFADD h2 x",
            "PFDEBUG TODENSE h2",
            "PFDEBUG TODENSE h2",
            "GET h2",
            "SET s foo",
            "PFDEBUG ENCODING s",
            "PFDEBUG FOO s",
            "SET n 12345",
            "PFDEBUG ENCODING n",
        ],
    ),
    (
        "not an hll",
        &[
            "SET s foo",
            "PFADD s a",
            "PFCOUNT s",
            "SET s HYLL",
            "PFADD s a",
            r#"SET s "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80""#,
            "PFADD s a",
            "PFCOUNT s",
            r#"SET s "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00\x00""#,
            "PFADD s a",
            "PFCOUNT s",
            r#"SET s "HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff""#,
            "PFADD s a",
            "SET n 1234567890123456789",
            "PFADD n a",
            "GET s",
        ],
    ),
    (
        "corrupt hll",
        &[
            // Registers missing: the count fails, adds below the end work.
            r#"SET c "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe""#,
            "PFCOUNT c",
            "PFADD c a b c d e f g h i j k l m n o p",
            "GET c",
            "PFCOUNT c",
            "PFDEBUG DECODE c",
            "PFDEBUG GETREG c",
            "PFDEBUG TODENSE c",
            "PFCOUNT c nokey",
            "PFMERGE x c",
            "EXISTS x",
            "PFMERGE c nokey",
            // A valid cache answers without looking at the registers.
            r#"SET d "HYLL\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00""#,
            "PFCOUNT d",
            "PFADD d a",
            "GET d",
            "PFDEBUG DECODE d",
            "PFCOUNT d d",
            // A truncated XZERO reads the terminator.
            r#"SET e "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f""#,
            "PFDEBUG DECODE e",
            "PFCOUNT e",
            "PFADD e a b c d e f g h",
            "GET e",
            // A VAL run past the last register.
            r#"SET f "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe\x83""#,
            "PFCOUNT f",
            "PFDEBUG DECODE f",
            "PFADD f a b c",
            "GET f",
            "PFMERGE f",
            // Registers to spare.
            r#"SET g "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\x00\x9c""#,
            "PFCOUNT g",
            "PFADD g a b c d",
            "GET g",
            "PFCOUNT g",
            "PFMERGE g2 g",
            // VAL opcodes of every length and value.
            r#"SET v "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x80\x81\x82\x83\xfc\xfd\xfe\xff\x7f\xdf""#,
            "PFDEBUG DECODE v",
            "PFCOUNT v",
            "PFADD v a b c d e f",
            "GET v",
            "PFCOUNT v v",
            "PFDEBUG GETREG v",
            // Dense with a stale cache.
            "PFADD w a b c",
            "PFDEBUG TODENSE w",
            "SETRANGE w 15 \"\\x80\"",
            "PFCOUNT w",
            "GET w",
        ],
    ),
    (
        "pfselftest and info",
        &[
            "PFSELFTEST",
            "PFSELFTEST x",
            "~info6 COMMAND INFO pfadd pfcount pfmerge pfdebug pfselftest",
        ],
    ),
];

/// WRONGTYPE paths: they need a hash, so they run once shardis has HSET.
const TYPED: &[Case] = &[(
    "hll wrongtype",
    &[
        "HSET h f v",
        "PFADD h a",
        "PFCOUNT h",
        "PFCOUNT h h",
        "PFCOUNT nokey h",
        "PFMERGE h",
        "PFMERGE x h",
        "EXISTS x",
        "PFDEBUG ENCODING h",
        "PFDEBUG FOO h",
    ],
)];

#[test]
fn hyperloglog_compat_wrongtype() {
    run_cases(TYPED);
}

#[test]
fn hyperloglog_compat() {
    run_cases(CASES);
}

/// 100k elements: the same registers (GET bytes), encodings and estimates
/// as redis-server, for sparse and dense HLLs, PFMERGE and multi-key PFCOUNT.
#[test]
fn large_hlls_match_redis() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let mut r = redis.conn();
    let mut s = ours.conn();
    let both = |cmd: &redis::Cmd, r: &mut redis::Connection, s: &mut redis::Connection| {
        let x: redis::Value = cmd.query(r).unwrap();
        let y: redis::Value = cmd.query(s).unwrap();
        assert_eq!(
            x,
            y,
            "{:?}",
            String::from_utf8_lossy(
                &cmd.get_packed_command()[..60.min(cmd.get_packed_command().len())]
            )
        );
        x
    };
    // Keys on both cores: a on core 1, b on core 0.
    let mut total = 0;
    for (batch, size) in [
        (0u64, 10u64),
        (1, 90),
        (2, 900),
        (3, 1000),
        (4, 8000),
        (5, 90_000),
    ] {
        for key in ["a", "b"] {
            let mut cmd = redis::cmd("PFADD");
            cmd.arg(key);
            for i in 0..size {
                cmd.arg(format!("{key}:{batch}:{i}"));
            }
            both(&cmd, &mut r, &mut s);
            both(
                redis::cmd("PFDEBUG").arg("ENCODING").arg(key),
                &mut r,
                &mut s,
            );
            both(redis::cmd("GET").arg(key), &mut r, &mut s);
            let c = both(redis::cmd("PFCOUNT").arg(key), &mut r, &mut s);
            both(redis::cmd("GET").arg(key), &mut r, &mut s);
            let redis::Value::Int(c) = c else {
                panic!("PFCOUNT gave {c:?}");
            };
            if key == "a" {
                total += size;
                let err = (c - total as i64).abs() as f64 / total as f64;
                assert!(err < 0.02 || total < 100, "estimate {c} for {total}");
            }
        }
        both(redis::cmd("PFCOUNT").arg("a").arg("b"), &mut r, &mut s);
        both(
            redis::cmd("PFMERGE").arg("c").arg("a").arg("b"),
            &mut r,
            &mut s,
        );
        both(redis::cmd("GET").arg("c"), &mut r, &mut s);
        both(redis::cmd("PFCOUNT").arg("c"), &mut r, &mut s);
    }
    // One element at a time, through the sparse representation's edits.
    for i in 0..3000 {
        both(
            redis::cmd("PFADD").arg("one").arg(format!("e{i}")),
            &mut r,
            &mut s,
        );
        if i % 250 == 0 {
            both(redis::cmd("GET").arg("one"), &mut r, &mut s);
            both(redis::cmd("PFCOUNT").arg("one"), &mut r, &mut s);
        }
    }
    both(redis::cmd("GET").arg("one"), &mut r, &mut s);
}

/// Random and truncated HLL strings stored with SET: shardis answers every
/// command (never crashes) and answers as redis-server does.
#[test]
fn corrupt_hlls_match_redis() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let mut r = redis.conn();
    let mut s = ours.conn();
    let mut seed: u64 = 0x2545f4914f6cdd1d;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut valid: Vec<Vec<u8>> = Vec::new();
    for n in [3u64, 40, 200] {
        let mut cmd = redis::cmd("PFADD");
        cmd.arg("src");
        for i in 0..n {
            cmd.arg(i);
        }
        let _: i64 = cmd.query(&mut r).unwrap();
        valid.push(redis::cmd("GET").arg("src").query(&mut r).unwrap());
    }
    for round in 0..1000 {
        let mut v = valid[round % valid.len()].clone();
        match round % 4 {
            0 => {
                let n = 16 + (rnd() as usize) % (v.len() - 15);
                v.truncate(n);
            }
            1 => {
                for _ in 0..(rnd() % 4 + 1) {
                    let i = 16 + (rnd() as usize) % (v.len() - 16);
                    v[i] = rnd() as u8;
                }
            }
            2 => {
                v.truncate(16);
                v.extend((0..rnd() % 40).map(|_| rnd() as u8));
            }
            _ => {
                v.extend((0..rnd() % 4 + 1).map(|_| rnd() as u8));
            }
        }
        if rnd() % 2 == 0 {
            v[15] |= 0x80;
        }
        let cmds: Vec<redis::Cmd> = vec![
            redis::cmd("SET").arg("k").arg(&v).clone(),
            redis::cmd("PFDEBUG").arg("DECODE").arg("k").clone(),
            redis::cmd("PFCOUNT").arg("k").clone(),
            redis::cmd("PFCOUNT").arg("k").arg("nokey").clone(),
            redis::cmd("PFMERGE").arg("m").arg("k").clone(),
            redis::cmd("PFADD")
                .arg("k")
                .arg(rnd())
                .arg(rnd())
                .arg(rnd())
                .clone(),
            redis::cmd("GET").arg("k").clone(),
            redis::cmd("SET").arg("k").arg(&v).clone(),
            redis::cmd("PFDEBUG").arg("GETREG").arg("k").clone(),
            redis::cmd("GET").arg("k").clone(),
        ];
        for (ci, cmd) in cmds.iter().enumerate() {
            let x = cmd.query::<redis::Value>(&mut r);
            let y = cmd.query::<redis::Value>(&mut s);
            match (x, y) {
                (Ok(x), Ok(y)) => assert_eq!(x, y, "round {round}: {v:?}"),
                (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string(), "round {round}"),
                (x, y) => panic!("round {round} cmd {ci} {v:?}: redis {x:?} shardis {y:?}"),
            }
        }
    }
}
