//! Round trips of every type and encoding, byte vectors from redis-server
//! 7.0.15, the older encodings, and damaged inputs (every cut, every bit
//! flip): never a panic, always an error or a value.

use super::ziplist::tests::{build_ziplist, build_zipmap};
use super::*;
use crate::keyspace::{CBytes, EncLimits, Hash, List, Set, Value, ZSet};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn lim() -> EncLimits {
    EncLimits::default()
}

fn s(b: &[u8]) -> Value {
    Value::Str(CBytes::new(b))
}

fn list(items: &[&[u8]]) -> Value {
    Value::List(Box::new(List::from_elems(-2, items.iter())))
}

fn set(items: &[&[u8]]) -> Value {
    Value::Set(Box::new(Set::from_members(items.iter().copied(), &lim())))
}

fn zset(items: &[(&[u8], f64)]) -> Value {
    Value::ZSet(Box::new(ZSet::from_pairs(items.iter().copied(), &lim())))
}

fn hash(items: &[(&[u8], &[u8])]) -> Value {
    Value::Hash(Box::new(Hash::from_pairs(items.iter().copied(), &lim())))
}

fn enc(v: &Value) -> &'static str {
    v.encoding()
}

/// Values of every type in every encoding Redis 7.0 writes.
fn samples() -> Vec<Value> {
    let long: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let big_ints: Vec<Vec<u8>> = (0..600).map(|i| (i * 3).to_string().into_bytes()).collect();
    let strs: Vec<Vec<u8>> = (0..300)
        .map(|i| format!("member:{i}").into_bytes())
        .collect();
    let many: Vec<Vec<u8>> = (0..3000)
        .map(|i| {
            if i % 3 == 0 {
                i.to_string().into_bytes()
            } else {
                format!("element-{i}-{}", "x".repeat(i % 50)).into_bytes()
            }
        })
        .collect();
    vec![
        s(b""),
        s(b"0"),
        s(b"-1"),
        s(b"127"),
        s(b"-128"),
        s(b"300"),
        s(b"-32768"),
        s(b"100000"),
        s(b"2147483647"),
        s(b"-2147483648"),
        s(b"2147483648"),
        s(b"12345678901"),
        s(b"9223372036854775807"),
        s(b"007"),
        s(b"hello"),
        s(&[b'a'; 30]),
        s(&long),
        s(&[0, 255, 13, 10]),
        list(&[b"a", b"1", b"hello", b"-5", b"100000"]),
        Value::List(Box::new(List::from_elems(-2, many.iter()))),
        set(&[b"1", b"2", b"3", b"-1"]),
        set(&[b"1", b"70000"]),
        set(&[b"1", b"5000000000"]),
        Value::Set(Box::new(Set::from_members(
            big_ints.iter().map(|v| &v[..]),
            &lim(),
        ))),
        set(&[b"x", b"y", b"1"]),
        Value::Set(Box::new(Set::from_members(
            strs.iter().map(|v| &v[..]),
            &lim(),
        ))),
        zset(&[
            (b"a", 1.0),
            (b"b", 2.5),
            (b"c", -3.0),
            (b"d", f64::INFINITY),
            (b"e", f64::NEG_INFINITY),
            (b"f", 0.1),
            (b"g", 5e18),
            (b"h", 1e-300),
            (b"12", 12.0),
        ]),
        Value::ZSet(Box::new(ZSet::from_pairs(
            strs.iter()
                .enumerate()
                .map(|(i, m)| (&m[..], i as f64 / 7.0)),
            &lim(),
        ))),
        zset(&[(&[b'm'; 100], 1.0)]),
        hash(&[(b"a", b"1"), (b"b", b"hello"), (b"c", b"300"), (b"", b"")]),
        Value::Hash(Box::new(Hash::from_pairs(
            strs.iter().map(|m| (&m[..], &m[..])),
            &lim(),
        ))),
        hash(&[(b"f", &long[..100])]),
    ]
}

#[test]
fn every_sample_round_trips_with_its_encoding() {
    let samples = samples();
    let encodings: std::collections::BTreeSet<&str> = samples.iter().map(enc).collect();
    for e in [
        "int",
        "embstr",
        "raw",
        "quicklist",
        "intset",
        "hashtable",
        "listpack",
        "skiplist",
    ] {
        assert!(encodings.contains(e), "no sample of {e}");
    }
    for v in &samples {
        let p = dump_payload(v);
        let back = restore_payload(&p).unwrap_or_else(|e| panic!("{v:?}: {e}"));
        assert_eq!(&back, v);
        assert_eq!(enc(&back), enc(v), "{v:?}");
        // The size figure is the payload less its 10-byte footer.
        assert_eq!(encoded_len(v), p.len() as u64 - 10);
        // A second trip gives the same bytes.
        assert_eq!(dump_payload(&back), p);
    }
}

/// DUMP replies of redis-server 7.0.15 for the same values.
#[test]
fn bytes_match_redis() {
    let vectors: Vec<(Value, &str)> = vec![
        (s(b"hello"), "000568656c6c6f0a006372df766534200a"),
        (s(b"12"), "00c00c0a003c2af8515c04bcd5"),
        (s(b"-300"), "00c1d4fe0a00c6c48623febede2e"),
        (s(b"100000"), "00c2a08601000a00f12403506f2fa674"),
        (s(b"12345678901"), "000b31323334353637383930310a00304e52d727176510"),
        (s(&[b'a'; 30]), "00c3091e016161e011000161610a0045737cbb2b647bbb"),
        (
            s((0..40)
                .map(|i| b'A' + ((i * 7) % 26) as u8)
                .collect::<Vec<u8>>()
                .as_slice()),
            "00c322281a41484f56434a5158454c535a474e5542495057444b5259464d5441e0021901474e0a00fa6ef01a545dbdf2",
        ),
        (
            s(b"abc".repeat(100).as_slice()),
            "00c30e412c0361626361e0ff02e115070162630a00d25733cec044e12b",
        ),
        (
            list(&[b"a", b"1", b"hello", b"-5", b"100000"]),
            "1201021b1b000000050081610201018568656c6c6f06dffb02f2a0860104ff0a001dcd1b8ea10dc6b8",
        ),
        (
            set(&[b"1", b"2", b"3", b"-1"]),
            "0b100200000004000000ffff0100020003000a002ed9f5a9f6f74f18",
        ),
        (
            set(&[b"1", b"70000"]),
            "0b10040000000200000001000000701101000a002735436efd6656c4",
        ),
        (
            set(&[b"1", b"5000000000"]),
            "0b180800000002000000010000000000000000f2052a010000000a0054f5a26ae707b5fc",
        ),
        (
            zset(&[
                (b"a", 1.0),
                (b"b", 2.5),
                (b"c", -3.0),
                (b"d", f64::INFINITY),
                (b"e", f64::NEG_INFINITY),
            ]),
            "112b2b0000000a00816502842d696e6605816302dffd02816102010181620283322e350481640283696e6604ff0a00c4db385428e7b5e3",
        ),
        (
            hash(&[(b"a", b"1"), (b"b", b"hello"), (b"c", b"300")]),
            "101c1c000000060081610201018162028568656c6c6f06816302c12c02ff0a00a8eeb5a22129843c",
        ),
        (set(&[b"x"]), "020101780a00ffe880ba760c2f09"),
        (
            zset(&[(b"big", 5e18), (b"small", 1e-5), (b"tenth", 0.1)]),
            "11c33b404e104e000000060085736d616c6c0696312e30e005001031652d3035178574656e74680693302e31e0051e0f30311483626967048535652b313806ff0a00dbaa95c997555ba1",
        ),
    ];
    for (v, want) in vectors {
        let want = hex(want);
        assert_eq!(dump_payload(&v), want, "{v:?}");
        assert_eq!(restore_payload(&want).unwrap(), v);
    }
}

#[test]
fn list_nodes_follow_the_fill() {
    let items: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
    let v = Value::List(Box::new(List::from_elems(3, items.iter())));
    let p = dump_payload(&v);
    // Four nodes of at most three elements each.
    assert_eq!(&p[..3], &[types::LIST_QUICKLIST_2, 4, 2]);
    let three = EncLimits {
        list_size: 3,
        ..lim()
    };
    let back = restore_payload_with(&p, &three).unwrap();
    assert_eq!(back, v);
    assert_eq!(dump_payload(&back), p);
    // Under the default fill the same elements share one node.
    let back = restore_payload(&p).unwrap();
    assert_eq!(back, v);
    assert_eq!(&dump_payload(&back)[..2], &[types::LIST_QUICKLIST_2, 1]);
}

#[test]
fn footer_checks() {
    let p = dump_payload(&s(b"hello"));
    assert!(restore_payload(&p[..9]).unwrap_err().is_footer());
    assert!(restore_payload(&[]).unwrap_err().is_footer());
    // A newer version is refused; an older one is fine.
    for (ver, ok) in [(11u16, false), (9, true), (0, true)] {
        let mut q = p[..p.len() - 10].to_vec();
        q.extend_from_slice(&ver.to_le_bytes());
        let crc = crc64(&q);
        q.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(restore_payload(&q).is_ok(), ok, "version {ver}");
    }
    let mut bad = p.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert!(restore_payload(&bad).unwrap_err().is_footer());
    bad = p.clone();
    bad[1] ^= 1;
    assert!(restore_payload(&bad).unwrap_err().is_footer());
}

/// A payload around a hand-made body.
fn payload(body: &[u8]) -> Vec<u8> {
    let mut q = body.to_vec();
    q.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(&q);
    q.extend_from_slice(&crc.to_le_bytes());
    q
}

fn string(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode::save_len(&mut out, b.len() as u64).unwrap();
    out.extend_from_slice(b);
    out
}

#[test]
fn older_encodings_load() {
    let l = lim();
    // LIST (1): plain elements.
    let mut b = vec![types::LIST, 3];
    for e in [&b"a"[..], b"12", b"hello"] {
        b.extend(string(e));
    }
    assert_eq!(
        restore_payload(&payload(&b)).unwrap(),
        list(&[b"a", b"12", b"hello"])
    );
    // LIST_ZIPLIST (10).
    let zl = build_ziplist(&[b"x", b"7", b"-100000", b"yy"]);
    let mut b = vec![types::LIST_ZIPLIST];
    b.extend(string(&zl));
    assert_eq!(
        restore_payload(&payload(&b)).unwrap(),
        list(&[b"x", b"7", b"-100000", b"yy"])
    );
    // LIST_QUICKLIST (14): ziplist nodes.
    let mut b = vec![types::LIST_QUICKLIST, 2];
    b.extend(string(&build_ziplist(&[b"1", b"2"])));
    b.extend(string(&build_ziplist(&[b"three"])));
    assert_eq!(
        restore_payload(&payload(&b)).unwrap(),
        list(&[b"1", b"2", b"three"])
    );
    // QUICKLIST_2 with a plain node and an empty listpack node (skipped).
    let mut b = vec![types::LIST_QUICKLIST_2, 3, 1];
    b.extend(string(b"plain element"));
    b.push(2);
    b.extend(string(&listpack::LpWriter::new().finish()));
    b.push(2);
    let mut w = listpack::LpWriter::new();
    w.push(b"9");
    b.extend(string(&w.finish()));
    assert_eq!(
        restore_payload(&payload(&b)).unwrap(),
        list(&[b"plain element", b"9"])
    );
    // SET (2) of integers becomes an intset.
    let mut b = vec![types::SET, 2];
    b.extend(string(b"5"));
    b.extend(string(b"-5"));
    let v = restore_payload(&payload(&b)).unwrap();
    assert_eq!(v, set(&[b"5", b"-5"]));
    assert_eq!(enc(&v), "intset");
    // ZSET (3): scores as text, with the special lengths.
    let mut b = vec![types::ZSET, 3];
    b.extend(string(b"a"));
    b.extend([3, b'1', b'.', b'5']);
    b.extend(string(b"b"));
    b.push(254);
    b.extend(string(b"c"));
    b.push(255);
    let v = restore_payload(&payload(&b)).unwrap();
    assert_eq!(
        v,
        zset(&[
            (b"a", 1.5),
            (b"b", f64::INFINITY),
            (b"c", f64::NEG_INFINITY)
        ])
    );
    // ZSET_ZIPLIST (12).
    let mut b = vec![types::ZSET_ZIPLIST];
    b.extend(string(&build_ziplist(&[b"m", b"2", b"n", b"3.25"])));
    assert_eq!(
        restore_payload(&payload(&b)).unwrap(),
        zset(&[(b"m", 2.0), (b"n", 3.25)])
    );
    // HASH_ZIPMAP (9) and HASH_ZIPLIST (13).
    let mut b = vec![types::HASH_ZIPMAP];
    b.extend(string(&build_zipmap(&[(b"f", b"v"), (b"g", b"123")])));
    let want = hash(&[(b"f", b"v"), (b"g", b"123")]);
    assert_eq!(restore_payload(&payload(&b)).unwrap(), want);
    let mut b = vec![types::HASH_ZIPLIST];
    b.extend(string(&build_ziplist(&[b"f", b"v", b"g", b"123"])));
    let v = restore_payload(&payload(&b)).unwrap();
    assert_eq!(v, want);
    assert_eq!(enc(&v), "listpack");
    // More entries than hash-max-listpack-entries: a table.
    let small = EncLimits {
        hash_entries: 1,
        ..l
    };
    assert_eq!(enc(&decode_value(&b, &small).unwrap()), "hashtable");
}

#[test]
fn semantic_errors() {
    let bad = |body: Vec<u8>| -> ErrorKind { restore_payload(&payload(&body)).unwrap_err().kind };
    // Empty aggregates.
    assert!(matches!(bad(vec![types::SET, 0]), ErrorKind::EmptyValue));
    assert!(matches!(
        bad(vec![types::LIST_QUICKLIST_2, 0]),
        ErrorKind::EmptyValue
    ));
    let mut b = vec![types::HASH_LISTPACK];
    b.extend(string(&listpack::LpWriter::new().finish()));
    assert!(matches!(bad(b), ErrorKind::EmptyValue));
    // Duplicates.
    let mut b = vec![types::SET, 2];
    b.extend(string(b"x"));
    b.extend(string(b"x"));
    assert!(matches!(bad(b), ErrorKind::Corrupt(_)));
    let mut w = listpack::LpWriter::new();
    for e in [b"f", b"1", b"f", b"2"] {
        w.push(e);
    }
    let mut b = vec![types::HASH_LISTPACK];
    b.extend(string(&w.finish()));
    assert!(matches!(bad(b), ErrorKind::Corrupt(_)));
    let mut b = vec![types::ZSET_2, 2];
    for _ in 0..2 {
        b.extend(string(b"m"));
        b.extend(1.0f64.to_le_bytes());
    }
    assert!(matches!(bad(b), ErrorKind::Corrupt(_)));
    // NaN score, odd pair count.
    let mut b = vec![types::ZSET_2, 1];
    b.extend(string(b"m"));
    b.extend(f64::NAN.to_le_bytes());
    assert!(matches!(bad(b), ErrorKind::Corrupt(_)));
    let mut w = listpack::LpWriter::new();
    w.push(b"lonely");
    let mut b = vec![types::ZSET_LISTPACK];
    b.extend(string(&w.finish()));
    assert!(matches!(bad(b), ErrorKind::Corrupt(_)));
    // Unknown container, empty intset, bad types.
    let mut b = vec![types::LIST_QUICKLIST_2, 1, 3];
    b.extend(string(b"x"));
    assert!(matches!(bad(b), ErrorKind::Corrupt(_)));
    let mut b = vec![types::SET_INTSET];
    b.extend(string(&[2, 0, 0, 0, 0, 0, 0, 0]));
    assert!(matches!(bad(b), ErrorKind::Corrupt(_)));
    assert!(matches!(bad(vec![8]), ErrorKind::Corrupt(_)));
    assert!(matches!(bad(vec![42]), ErrorKind::Corrupt(_)));
    assert!(matches!(
        bad(vec![types::MODULE_2, 0]),
        ErrorKind::Unsupported(_)
    ));
    assert!(matches!(
        bad(vec![types::STREAM_LISTPACKS_2, 0]),
        ErrorKind::Unsupported(_)
    ));
    // Lengths far beyond the input: errors, no allocation of that size.
    assert!(matches!(
        bad(vec![
            types::SET,
            0x81,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff
        ]),
        ErrorKind::Truncated
    ));
    assert!(matches!(
        bad(vec![types::STRING, 0x80, 0x7f, 0xff, 0xff, 0xff, b'a']),
        ErrorKind::Truncated
    ));
    // LZF announcing far more than its data can hold.
    assert!(matches!(
        bad(vec![
            types::STRING,
            0xC3,
            2,
            0x80,
            0x7f,
            0xff,
            0xff,
            0xff,
            0,
            b'a'
        ]),
        ErrorKind::Corrupt(_)
    ));
    assert!(matches!(
        bad(vec![types::STRING, 0xC4]),
        ErrorKind::Corrupt(_)
    ));
}

/// Feeds every truncation and every single-bit flip of `body` to the
/// decoder: it must return (a value or an error) without panicking.
fn damage(body: &[u8]) -> (usize, usize) {
    let (mut ok, mut err) = (0, 0);
    let mut count = |r: Result<Value, Error>| match r {
        Ok(_) => ok += 1,
        Err(_) => err += 1,
    };
    // Every cut and every bit of small bodies; about 100 places in large ones.
    let step = if body.len() <= 400 {
        1
    } else {
        body.len() / 100
    };
    for cut in (0..body.len()).step_by(step) {
        count(decode_value(&body[..cut], &lim()));
    }
    for i in (0..body.len()).step_by(step) {
        for bit in 0..8 {
            let mut d = body.to_vec();
            d[i] ^= 1 << bit;
            count(decode_value(&d, &lim()));
        }
    }
    (ok, err)
}

#[test]
fn damaged_values_never_panic() {
    let mut total_err = 0;
    for v in samples() {
        let mut body = Vec::new();
        encode_value(&v, &mut body);
        let (_, err) = damage(&body);
        total_err += err;
    }
    assert!(total_err > 1000);
    // Old encodings too.
    let mut b = vec![types::ZSET_ZIPLIST];
    b.extend(string(&build_ziplist(&[
        b"m", b"2", b"n", b"3.25", b"o", b"-7",
    ])));
    damage(&b);
    let mut b = vec![types::HASH_ZIPMAP];
    b.extend(string(&build_zipmap(&[(b"f", b"v"), (b"g", b"123")])));
    damage(&b);
    let mut b = vec![types::LIST_QUICKLIST, 2];
    b.extend(string(&build_ziplist(&[b"1", b"2"])));
    b.extend(string(&build_ziplist(&[b"three"])));
    damage(&b);
    // Random bytes after every type byte.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for t in 0..=20u8 {
        for _ in 0..200 {
            let mut b = vec![t];
            for _ in 0..(seed % 64) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                b.push(seed as u8);
            }
            let _ = decode_value(&b, &lim());
        }
    }
}

// ---------- files ----------

fn sample_file(opts: WriterOptions) -> (Vec<u8>, Vec<Entry>) {
    let mut entries = Vec::new();
    for (i, v) in samples().into_iter().enumerate() {
        entries.push(Entry {
            db: if i % 3 == 0 { 2 } else { 0 },
            key: format!("key:{i}").into_bytes(),
            value: v,
            meta: KeyMeta {
                expire_ms: (i % 4 == 0).then_some(4_000_000_000_000 + i as i64),
                idle: (i % 5 == 0).then_some(i as u64 * 10),
                freq: (i % 7 == 0).then_some(i as u8),
            },
        });
    }
    let mut w = RdbWriter::new(Vec::new(), &Aux::now(12345), opts).unwrap();
    w.function(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)")
        .unwrap();
    for db in [0u64, 2] {
        let mine: Vec<&Entry> = entries.iter().filter(|e| e.db == db).collect();
        let exp = mine.iter().filter(|e| e.meta.expire_ms.is_some()).count();
        w.select_db(db, mine.len() as u64, exp as u64).unwrap();
        for e in mine {
            w.entry_with(&e.key, &e.value, &e.meta).unwrap();
        }
    }
    let bytes = w.finish().unwrap();
    let mut ordered: Vec<Entry> = entries.iter().filter(|e| e.db == 0).cloned().collect();
    ordered.extend(entries.iter().filter(|e| e.db == 2).cloned());
    (bytes, ordered)
}

fn read_all(b: &[u8]) -> Result<Vec<Item>, Error> {
    RdbReader::new(b)?.collect()
}

#[test]
fn file_round_trip() {
    let (bytes, want) = sample_file(WriterOptions::default());
    assert!(bytes.starts_with(b"REDIS0010\xfa\x09redis-ver\x067.0.15"));
    let items = read_all(&bytes).unwrap();
    let aux: Vec<(String, String)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Aux { key, value } => Some((
                String::from_utf8_lossy(key).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = aux.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["redis-ver", "redis-bits", "ctime", "used-mem", "aof-base"]
    );
    assert_eq!(aux[1].1, "64");
    assert_eq!(aux[3].1, "12345");
    assert_eq!(aux[4].1, "0");
    assert!(items.iter().any(|i| matches!(i, Item::Function(_))));
    assert!(items.contains(&Item::SelectDb(2)));
    let got: Vec<Entry> = items
        .into_iter()
        .filter_map(|i| match i {
            Item::Entry(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(got, want);
    // The checksum is the CRC64 of everything before it.
    let n = bytes.len();
    assert_eq!(
        crc64(&bytes[..n - 8]).to_le_bytes(),
        bytes[n - 8..],
        "footer"
    );
}

#[test]
fn file_checksums() {
    let (bytes, _) = sample_file(WriterOptions {
        compress: false,
        checksum: false,
    });
    assert_eq!(&bytes[bytes.len() - 8..], &[0; 8]);
    assert!(read_all(&bytes).is_ok(), "checksum 0 is not checked");
    let (mut bytes, _) = sample_file(WriterOptions::default());
    let n = bytes.len();
    bytes[n - 3] ^= 0x10;
    let e = read_all(&bytes).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Checksum { .. }), "{e}");
    assert_eq!(e.offset, n as u64 - 8);
}

#[test]
fn file_header_errors() {
    assert!(matches!(
        RdbReader::new(&b"REDIX0010"[..]).err().map(|e| e.kind),
        Some(ErrorKind::Signature)
    ));
    assert!(matches!(
        RdbReader::new(&b"REDIS0011"[..]).err().map(|e| e.kind),
        Some(ErrorKind::Version(11))
    ));
    assert!(matches!(
        RdbReader::new(&b"REDIS0009"[..]).map(|r| r.version()),
        Ok(9)
    ));
    assert!(matches!(
        RdbReader::new(&b"REDIS"[..]).err().map(|e| e.kind),
        Some(ErrorKind::Truncated)
    ));
    // Module aux data and the old function opcode: unsupported, with offsets.
    let mut b = b"REDIS0010".to_vec();
    b.push(opcode::MODULE_AUX);
    let e = read_all(&b).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
    assert_eq!(e.offset, 9);
    // An empty set is skipped and counted.
    let mut b = b"REDIS0010".to_vec();
    b.extend([types::SET, 1, b'k', 0, opcode::EOF]);
    b.extend([0; 8]);
    let mut r = RdbReader::new(&b[..]).unwrap();
    assert!(r.next_item().unwrap().is_none());
    assert_eq!(r.empty_keys_skipped(), 1);
}

#[test]
fn damaged_files_never_panic() {
    let (bytes, _) = sample_file(WriterOptions::default());
    // Every cut is an error (the EOF opcode and checksum are missing).
    let step = (bytes.len() / 150).max(1);
    for cut in (0..bytes.len()).step_by(step) {
        assert!(read_all(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // A flipped bit is always caught: by a parse error or by the checksum.
    for i in (9..bytes.len()).step_by(step) {
        for bit in [0, 3, 7] {
            let mut d = bytes.clone();
            d[i] ^= 1 << bit;
            assert!(read_all(&d).is_err(), "flip at {i}:{bit}");
        }
    }
    // With the checksum disabled, flips give errors or other values.
    let (bytes, _) = sample_file(WriterOptions {
        compress: true,
        checksum: false,
    });
    for i in (9..bytes.len()).step_by(step) {
        let mut d = bytes.clone();
        d[i] ^= 0x41;
        let _ = read_all(&d);
    }
}
