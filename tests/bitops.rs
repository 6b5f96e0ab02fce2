//! Bitmap commands against redis-server 7.0.15 (differential, RESP2 and
//! RESP3, shardis with two cores), plus large inputs through the `redis` crate.

mod common;

use common::compat::*;
use common::Server;

const CASES: &[Case] = &[
    (
        "setbit getbit basics",
        &[
            "SETBIT a 7 1",
            "GET a",
            "SETBIT a 7 1",
            "SETBIT a 7 0",
            "GET a",
            "SETBIT a 100 1",
            "STRLEN a",
            "GET a",
            "GETBIT a 100",
            "GETBIT a 99",
            "GETBIT a 10000",
            "GETBIT nokey 5",
            "OBJECT ENCODING a",
            "SETBIT b 0 1",
            "OBJECT ENCODING b",
            "GET b",
            "SET c 1",
            "OBJECT ENCODING c",
            "SETBIT c 2 1",
            "OBJECT ENCODING c",
            "GET c",
            "SET d 1",
            "SETBIT d 2 1",
            "SETBIT d 2 1",
            "OBJECT ENCODING d",
            "SET d 255",
            "GETBIT d 0",
            "GETBIT d 2",
            "GETBIT d 3",
            "GETBIT d 23",
            "GETBIT d 24",
        ],
    ),
    (
        "setbit getbit errors",
        &[
            "SETBIT a -1 1",
            "SETBIT a abc 1",
            "SETBIT a 1.5 1",
            "SETBIT a 4294967296 1",
            "SETBIT a 99999999999999999999 1",
            "SETBIT a 0 2",
            "SETBIT a 0 -1",
            "SETBIT a 0 x",
            "SETBIT a 0 \"\"",
            "SETBIT a -1 x",
            "SETBIT a 1",
            "SETBIT a 1 1 1",
            "GETBIT a -1",
            "GETBIT a x",
            "GETBIT a 4294967296",
            "GETBIT a",
            "EXISTS a",
            "SET s hello",
        ],
    ),
    (
        "setbit offset limit",
        &[
            "~skip CONFIG SET proto-max-bulk-len 1048576",
            "SETBIT a 8388608 1",
            "SETBIT a 8388607 1",
            "STRLEN a",
            "GETBIT a 8388608",
            "GETBIT a 8388607",
            "BITFIELD a SET u8 8388607 1",
            "BITFIELD a SET u8 #1048575 1",
            "BITFIELD a SET u8 #1048576 1",
            "BITFIELD a GET u8 8388608",
            "STRLEN a",
            "~skip CONFIG SET proto-max-bulk-len 536870912",
        ],
    ),
    (
        "bitcount",
        &[
            "BITCOUNT nokey",
            "BITCOUNT nokey 1",
            "BITCOUNT nokey a b c d",
            "SET a foobar",
            "BITCOUNT a",
            "BITCOUNT a 0 0",
            "BITCOUNT a 1 1",
            "BITCOUNT a 1 -1",
            "BITCOUNT a -2 -1",
            "BITCOUNT a -1 -2",
            "BITCOUNT a -1 -2 foo",
            "BITCOUNT a 5 1",
            "BITCOUNT a 0 100",
            "BITCOUNT a -100 -50",
            "BITCOUNT a -100 100",
            "BITCOUNT a 1 5 BYTE",
            "BITCOUNT a 1 5 byte",
            "BITCOUNT a 5 30 BIT",
            "BITCOUNT a 5 30 bit",
            "BITCOUNT a 0 0 BIT",
            "BITCOUNT a 1 1 BIT",
            "BITCOUNT a 7 7 BIT",
            "BITCOUNT a -1 -1 BIT",
            "BITCOUNT a -10 -3 BIT",
            "BITCOUNT a 3 2 BIT",
            "BITCOUNT a 0 1000 BIT",
            "BITCOUNT a 1 2 FOO",
            "BITCOUNT a 1",
            "BITCOUNT a 1 2 BIT x",
            "BITCOUNT a x 1",
            "BITCOUNT a 1 x",
            "BITCOUNT a x y FOO",
            "BITCOUNT",
            "SET n 12345",
            "BITCOUNT n",
            "BITCOUNT n 1 2",
            "SET e \"\"",
            "BITCOUNT e",
            "BITCOUNT e 0 -1",
            "BITCOUNT e 0 -1 BIT",
            "SET big \"\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x01\"",
            "BITCOUNT big",
            "BITCOUNT big 3 40",
            "BITCOUNT big 9 263 BIT",
        ],
    ),
    (
        "bitpos",
        &[
            "BITPOS nokey 1",
            "BITPOS nokey 0",
            "BITPOS nokey 0 1 2 3 4 5",
            "BITPOS nokey 2",
            "BITPOS nokey x",
            "SET a \"\\xff\\xf0\\x00\"",
            "BITPOS a 0",
            "BITPOS a 1",
            "BITPOS a 1 2",
            "BITPOS a 0 2",
            "BITPOS a 1 0 0",
            "BITPOS a 0 0 0",
            "BITPOS a 0 0 -1",
            "BITPOS a 0 5",
            "BITPOS a 1 -1",
            "BITPOS a 1 2 1",
            "BITPOS a 1 7 15 BIT",
            "BITPOS a 0 7 15 BIT",
            "BITPOS a 0 7 11 BIT",
            "BITPOS a 0 0 11 bit",
            "BITPOS a 1 12 23 BIT",
            "BITPOS a 0 12 23 BIT",
            "BITPOS a 1 12 BIT",
            "BITPOS a 0 0 BIT",
            "BITPOS a 1 -3 -1 BIT",
            "BITPOS a 0 -3 -1 BIT",
            "BITPOS a 1 0 1 BYTE",
            "BITPOS a 1 0 1 FOO",
            "BITPOS a 1 x",
            "BITPOS a 1 0 x",
            "BITPOS a 1 0 x FOO",
            "BITPOS a 1 0 1 BIT x",
            "BITPOS a 3",
            "SET b \"\\xff\\xff\\xff\"",
            "BITPOS b 0",
            "BITPOS b 0 0",
            "BITPOS b 0 0 -1",
            "BITPOS b 0 1 -1 BIT",
            "BITPOS b 0 3 20 BIT",
            "SET c \"\\x00\\x00\\x00\"",
            "BITPOS c 1",
            "BITPOS c 0",
            "BITPOS c 1 3 20 BIT",
            "BITPOS c 0 3 20 BIT",
            "SET e \"\"",
            "BITPOS e 0",
            "BITPOS e 1",
            "BITPOS e 0 0 -1 BIT",
            "SET n 12",
            "BITPOS n 1",
            "BITPOS n 0 1",
            "SET l \"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x10\"",
            "BITPOS l 1",
            "BITPOS l 1 3",
            "BITPOS l 1 3 -2",
            "BITPOS l 0 3",
        ],
    ),
    (
        "bitop",
        &[
            "SET b foobar",
            "SET c abcdef",
            "BITOP AND bar b c",
            "GET bar",
            "OBJECT ENCODING bar",
            "BITOP or bar b c",
            "GET bar",
            "BITOP XOR bar b c",
            "GET bar",
            "BITOP NOT bar b",
            "GET bar",
            "BITOP NOT bar b c",
            "BITOP NAND bar b c",
            "BITOP AND bar",
            "BITOP AND bar nokey",
            "EXISTS bar",
            "SET bar x",
            "BITOP OR bar nokey1 nokey2",
            "EXISTS bar",
            "SET short ab",
            "BITOP AND bar b short",
            "GET bar",
            "BITOP OR bar short b",
            "GET bar",
            "BITOP XOR bar short b nokey",
            "GET bar",
            "BITOP AND bar short nokey",
            "GET bar",
            "BITOP AND bar b b b",
            "GET bar",
            "SET n 12",
            "BITOP NOT bar n",
            "GET bar",
            "SET bar x EX 100",
            "BITOP OR bar b",
            "TTL bar",
            "BITOP OR b b",
            "GET b",
            "BITOP NOT e \"\"",
            "SET e \"\"",
            "BITOP NOT e2 e",
            "EXISTS e2",
        ],
    ),
    (
        "bitop long strings",
        &[
            "SET b \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef!!\"",
            "SET c \"zyxwvutsrqponmlkjihgfedcba9876543210zyxwvutsrqponmlkjihgfedcba\"",
            "SET bar \"\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09\\x0a\\x0b\\x0c\\x0d\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f\\x20\\x21\\x22\\x23\"",
            "BITOP AND {b}x b c",
            "BITOP AND dst b c bar",
            "GET dst",
            "BITOP OR dst b c bar",
            "GET dst",
            "BITOP XOR dst b c bar",
            "GET dst",
            "BITOP NOT dst b",
            "GET dst",
            "BITCOUNT dst",
        ],
    ),
    (
        "bitop across cores",
        &[
            "SET a foobar",
            "SET b abcdef",
            "SET d zzzz",
            "BITOP AND c a b d",
            "GET c",
            "BITOP XOR foo a b c",
            "GET foo",
            "BITOP OR bar a nokey",
            "GET bar",
            "BITOP NOT d b",
            "GET d",
            "BITOP AND a nokey1 nokey2",
            "EXISTS a",
        ],
    ),
    (
        "bitfield basics",
        &[
            "BITFIELD a",
            "BITFIELD nokey GET u8 0",
            "EXISTS nokey",
            "BITFIELD a SET i8 0 -100",
            "GET a",
            "OBJECT ENCODING a",
            "BITFIELD a GET i8 0 GET u8 0 GET u4 0 GET i4 4",
            "BITFIELD a SET u8 #1 255 GET u8 8 GET i16 0",
            "BITFIELD a INCRBY u2 100 1 OVERFLOW SAT incrby u2 102 1",
            "BITFIELD a incrby u2 100 1 OVERFLOW SAT incrby u2 102 1",
            "BITFIELD a INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1",
            "BITFIELD a OVERFLOW FAIL INCRBY u2 102 1",
            "BITFIELD a GET u2 102",
            "STRLEN a",
            "BITFIELD a SET i64 0 -1 GET u63 0 GET i64 0 GET u1 63",
            "BITFIELD a SET u8 0 255 GET u8 0",
            "BITFIELD a SET u8 0 256 GET u8 0",
            "BITFIELD a OVERFLOW SAT SET u8 0 256 GET u8 0",
            "BITFIELD a OVERFLOW FAIL SET u8 0 256 GET u8 0",
            "BITFIELD a OVERFLOW SAT SET u8 0 -1",
            "BITFIELD a OVERFLOW FAIL SET i8 0 -129",
            "BITFIELD a OVERFLOW SAT SET i8 0 -129 GET i8 0",
            "BITFIELD a OVERFLOW WRAP SET i8 0 200 GET i8 0",
            "BITFIELD a SET i8 0 127 INCRBY i8 0 1 OVERFLOW SAT INCRBY i8 0 -300 OVERFLOW FAIL INCRBY i8 0 -1",
            "BITFIELD a SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -1",
            "BITFIELD a OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -9223372036854775808 INCRBY i64 0 -9223372036854775808",
            "BITFIELD a OVERFLOW FAIL SET i64 0 -9223372036854775808 INCRBY i64 0 -1 GET i64 0",
            "BITFIELD a SET u63 0 9223372036854775807 INCRBY u63 0 1 OVERFLOW SAT INCRBY u63 0 -5 INCRBY u63 0 -9223372036854775808",
            "BITFIELD a SET u1 5 1 SET u1 5 1 GET u1 5",
            "BITFIELD a SET i5 3 13 GET i5 3 GET u5 3 INCRBY i5 3 5 INCRBY u5 3 60",
            "BITFIELD a GET i64 1000 GET u63 #1000",
            "GET a",
            "SET n 100",
            "BITFIELD n GET u8 0 GET i16 8",
            "OBJECT ENCODING n",
            "BITFIELD n SET u8 0 49",
            "OBJECT ENCODING n",
            "GET n",
        ],
    ),
    (
        "bitfield errors",
        &[
            "BITFIELD a GET",
            "BITFIELD a GET u8",
            "BITFIELD a SET u8 0",
            "BITFIELD a INCRBY u8 0",
            "BITFIELD a OVERFLOW",
            "BITFIELD a OVERFLOW foo",
            "BITFIELD a OVERFLOW foo GET u8 0",
            "BITFIELD a FOO",
            "BITFIELD a GET u64 0",
            "BITFIELD a GET i65 0",
            "BITFIELD a GET i0 0",
            "BITFIELD a GET x8 0",
            "BITFIELD a GET \"\" 0",
            "BITFIELD a GET u 0",
            "BITFIELD a GET \"u8\\x00x\" 0",
            "BITFIELD a GET u8 -1",
            "BITFIELD a GET u8 x",
            "BITFIELD a GET u8 #x",
            "BITFIELD a GET u8 #-1",
            "BITFIELD a GET u8 ##1",
            "BITFIELD a GET u8 #9223372036854775807",
            "BITFIELD a GET u8 9223372036854775807",
            "BITFIELD a SET u8 0 x",
            "BITFIELD a SET u8 0 1.5",
            "BITFIELD a INCRBY u8 0 99999999999999999999",
            "BITFIELD a SET u8 0 1 GET x8 0",
            "BITFIELD a GET u8 0 FOO",
            "EXISTS a",
            "BITFIELD",
        ],
    ),
    (
        "bitfield_ro",
        &[
            "BITFIELD_RO a GET u8 0",
            "SET a hello",
            "BITFIELD_RO a GET u8 0 GET i8 #1 GET u16 #2",
            "BITFIELD_RO a",
            "BITFIELD_RO a SET u8 0 1",
            "BITFIELD_RO a INCRBY u8 0 1",
            "BITFIELD_RO a OVERFLOW SAT GET u8 0",
            "BITFIELD_RO a SET u8 0 x",
            "BITFIELD_RO a FOO",
            "GET a",
            "BITFIELD_RO",
        ],
    ),
    (
        "bitmap command info",
        &[
            "~info6 COMMAND INFO setbit getbit bitcount bitpos bitop bitfield bitfield_ro",
        ],
    ),
    (
        "bitmap ttl and types",
        &[
            "SET a x EX 100",
            "SETBIT a 1 1",
            "TTL a",
            "BITFIELD a SET u8 8 1",
            "TTL a",
            "GET a",
            "SETBIT fresh 3 1",
            "TTL fresh",
            "TYPE fresh",
        ],
    ),
];

/// Cases that need a hash in the keyspace (WRONGTYPE paths): run once
/// shardis has HSET.
const TYPED: &[Case] = &[(
    "bitmap wrongtype",
    &[
        "HSET h f v",
        "SET s hello",
        "SETBIT h 1 1",
        "SETBIT h x 1",
        "SETBIT s x 1",
        "GETBIT h 1",
        "GETBIT h x",
        "BITCOUNT h",
        "BITCOUNT h 0 1",
        "BITCOUNT h x",
        "BITPOS h 1",
        "BITPOS h 2",
        "BITOP AND bar s h",
        "BITOP AND bar h nokey",
        "BITOP AND h s",
        "TYPE h",
        "BITOP AND a s h",
        "BITOP OR h nokey",
        "TYPE h",
        "BITFIELD h GET u8 0",
        "BITFIELD h SET u8 0 1",
        "BITFIELD h",
        "BITFIELD h FOO",
        "BITFIELD_RO h GET u8 0",
        "BITFIELD_RO h SET u8 0 1",
        "HSET d f v",
        "BITOP OR c s d",
    ],
)];

#[test]
fn bitops_compat_wrongtype() {
    run_cases(TYPED);
}

#[test]
fn bitops_compat() {
    run_cases(CASES);
}

/// A bitmap larger than a few words through every command, and the same
/// answers from redis-server.
#[test]
fn large_bitmaps_match_redis() {
    let Some(redis) = Server::redis(&[]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let mut r = redis.conn();
    let mut s = ours.conn();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for c in [&mut r, &mut s] {
        let _: () = redis::cmd("FLUSHALL").query(c).unwrap();
    }
    let mut cmds: Vec<redis::Cmd> = Vec::new();
    for _ in 0..3000 {
        let off = next() % 200_000;
        let key = if next() % 2 == 0 { "a" } else { "b" };
        cmds.push(
            redis::cmd("SETBIT")
                .arg(key)
                .arg(off)
                .arg(next() % 2)
                .clone(),
        );
    }
    for _ in 0..300 {
        let (x, y) = (
            (next() % 30_000) as i64 - 15_000,
            (next() % 30_000) as i64 - 15_000,
        );
        cmds.push(redis::cmd("BITCOUNT").arg("a").arg(x).arg(y).clone());
        cmds.push(
            redis::cmd("BITCOUNT")
                .arg("b")
                .arg(x)
                .arg(y)
                .arg("BIT")
                .clone(),
        );
        cmds.push(
            redis::cmd("BITPOS")
                .arg("a")
                .arg(next() % 2)
                .arg(x)
                .arg(y)
                .clone(),
        );
        cmds.push(
            redis::cmd("BITPOS")
                .arg("b")
                .arg(next() % 2)
                .arg(x * 8)
                .arg(y * 8)
                .arg("BIT")
                .clone(),
        );
        cmds.push(
            redis::cmd("BITFIELD")
                .arg("b")
                .arg("INCRBY")
                .arg(format!("i{}", 1 + next() % 64))
                .arg(next() % 1_600_000)
                .arg(next() as i64)
                .arg("GET")
                .arg(format!("u{}", 1 + next() % 63))
                .arg(next() % 1_600_000)
                .clone(),
        );
    }
    for op in ["AND", "OR", "XOR"] {
        cmds.push(
            redis::cmd("BITOP")
                .arg(op)
                .arg("c")
                .arg("a")
                .arg("b")
                .clone(),
        );
        cmds.push(redis::cmd("GET").arg("c").clone());
    }
    cmds.push(redis::cmd("BITOP").arg("NOT").arg("c").arg("a").clone());
    cmds.push(redis::cmd("GET").arg("c").clone());
    cmds.push(redis::cmd("BITCOUNT").arg("a").clone());
    cmds.push(redis::cmd("GET").arg("a").clone());
    cmds.push(redis::cmd("GET").arg("b").clone());
    for (i, cmd) in cmds.iter().enumerate() {
        let x: redis::Value = cmd.query(&mut r).unwrap();
        let y: redis::Value = cmd.query(&mut s).unwrap();
        assert_eq!(x, y, "command {i}: {:?}", cmd.args_iter().count());
    }
}
