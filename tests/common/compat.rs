//! The differential runner: command lines sent to redis-server and to
//! shardis, reply bytes compared. See tests/compat.rs for the line syntax
//! (modifiers `~sort`, `~skip`, `~shape`, `~type`, `~known`, `~raw:N` ...).

use super::*;

/// A case: a name and its command lines.
pub type Case = (&'static str, &'static [&'static str]);

// Keys used for cross-core cases: with two shards, slots 0..8191 are on core 0
// and 8192..16383 on core 1. `a`, `d`, `foo` are on core 1; `b`, `c`, `bar` on
// core 0 (checked at the start of the test).
pub const CORE1: &[&str] = &["a", "d", "foo"];
pub const CORE0: &[&str] = &["b", "c", "bar"];

// ---------- line splitting (redis-cli's sdssplitargs) ----------

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

pub fn split_args(line: &str) -> Vec<Vec<u8>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return out;
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if i >= b.len() {
                assert!(!inq && !insq, "unbalanced quotes in {line}");
                break;
            }
            let c = b[i];
            if inq {
                if c == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hexval(b[i + 2]), hexval(b[i + 3])) {
                        cur.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < b.len() {
                    cur.push(match b[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        o => o,
                    });
                    i += 2;
                    continue;
                }
                i += 1;
                if c == b'"' {
                    break;
                }
                cur.push(c);
            } else if insq {
                if c == b'\\' && i + 1 < b.len() && b[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                }
                i += 1;
                if c == b'\'' {
                    break;
                }
                cur.push(c);
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => cur.push(c),
                }
                i += 1;
            }
        }
        out.push(cur);
    }
}

/// Unescapes \r \n \t \\ \" \xNN for `~raw:` lines.
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'x' if i + 3 < b.len() => {
                    if let (Some(h), Some(l)) = (hexval(b[i + 2]), hexval(b[i + 3])) {
                        out.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                    out.push(b'x');
                }
                o => out.push(o),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

// ---------- a small RESP tree, for normalising replies ----------

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum V {
    /// `+ - : _ , # (` lines: type byte and the line.
    Line(u8, Vec<u8>),
    /// `$ = !` bulks; None for a null bulk.
    Bulk(u8, Option<Vec<u8>>),
    /// `* ~ > % |` aggregates (maps flattened); None for a null array.
    Agg(u8, Option<Vec<V>>),
}

fn parse(b: &[u8], pos: &mut usize) -> Option<V> {
    let t = *b.get(*pos)?;
    let rest = b.get(*pos + 1..)?;
    let e = rest.windows(2).position(|w| w == b"\r\n")? + *pos + 1;
    let head = b[*pos + 1..e].to_vec();
    *pos = e + 2;
    match t {
        b'$' | b'=' | b'!' => {
            let n: i64 = std::str::from_utf8(&head).ok()?.parse().ok()?;
            if n < 0 {
                return Some(V::Bulk(t, None));
            }
            let end = *pos + n as usize;
            let data = b.get(*pos..end)?.to_vec();
            *pos = end + 2;
            Some(V::Bulk(t, Some(data)))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let mut n: i64 = std::str::from_utf8(&head).ok()?.parse().ok()?;
            if n < 0 {
                return Some(V::Agg(t, None));
            }
            if t == b'%' || t == b'|' {
                n *= 2;
            }
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(parse(b, pos)?);
            }
            Some(V::Agg(t, Some(v)))
        }
        _ => Some(V::Line(t, head)),
    }
}

fn encode(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Line(t, l) => {
            out.push(*t);
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
        V::Bulk(t, None) => {
            out.push(*t);
            out.extend_from_slice(b"-1\r\n");
        }
        V::Bulk(t, Some(d)) => {
            out.push(*t);
            out.extend_from_slice(format!("{}\r\n", d.len()).as_bytes());
            out.extend_from_slice(d);
            out.extend_from_slice(b"\r\n");
        }
        V::Agg(t, None) => {
            out.push(*t);
            out.extend_from_slice(b"-1\r\n");
        }
        V::Agg(t, Some(items)) => {
            out.push(*t);
            let n = if *t == b'%' || *t == b'|' {
                items.len() / 2
            } else {
                items.len()
            };
            out.extend_from_slice(format!("{n}\r\n").as_bytes());
            for i in items {
                encode(i, out);
            }
        }
    }
}

fn parse_all(b: &[u8]) -> Option<Vec<V>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < b.len() {
        out.push(parse(b, &mut pos)?);
    }
    Some(out)
}

fn encode_all(vs: &[V]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in vs {
        encode(v, &mut out);
    }
    out
}

fn shape(v: &V) -> V {
    match v {
        V::Line(b':', _) => V::Line(b':', b"0".to_vec()),
        V::Bulk(t, Some(_)) => V::Bulk(*t, Some(b"?".to_vec())),
        V::Agg(t, Some(items)) => V::Agg(*t, Some(items.iter().map(shape).collect())),
        o => o.clone(),
    }
}

fn normalise(mods: &[&str], reply: Vec<u8>) -> Vec<u8> {
    if mods.is_empty() {
        return reply;
    }
    let Some(mut vs) = parse_all(&reply) else {
        return reply;
    };
    for m in mods {
        for v in vs.iter_mut() {
            match *m {
                "~sort" => {
                    if let V::Agg(t, Some(items)) = v {
                        if *t == b'%' {
                            let mut pairs: Vec<(V, V)> = items
                                .chunks(2)
                                .map(|c| (c[0].clone(), c[1].clone()))
                                .collect();
                            pairs.sort();
                            *items = pairs.into_iter().flat_map(|(a, b)| [a, b]).collect();
                        } else {
                            items.sort();
                        }
                    }
                }
                "~shape" => *v = shape(v),
                "~type" => {
                    let t = match v {
                        V::Line(t, _) | V::Bulk(t, _) | V::Agg(t, _) => *t,
                    };
                    *v = V::Line(t, Vec::new());
                }
                "~hello" => {
                    if let V::Agg(_, Some(items)) = v {
                        let mut i = 0;
                        while i + 1 < items.len() {
                            if items[i] == V::Bulk(b'$', Some(b"id".to_vec())) {
                                items[i + 1] = V::Line(b':', b"0".to_vec());
                            }
                            i += 2;
                        }
                    }
                }
                "~info6" => {
                    if let V::Agg(_, Some(entries)) = v {
                        for e in entries.iter_mut() {
                            if let V::Agg(_, Some(fields)) = e {
                                // ACL categories, tips, key specs and subcommands
                                // are not compared yet (see "command info full").
                                fields.truncate(6);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    encode_all(&vs)
}

fn show(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    if s.len() > 1500 {
        s.truncate(1500);
        s.push_str("...");
    }
    s
}

// ---------- running a case ----------

fn setup(port: u16, proto: u8) -> Raw {
    let mut c = Raw::connect(port);
    let _ = c.call(&[b"FLUSHALL"]);
    if proto == 3 {
        let r = c.call(&[b"HELLO", b"3"]);
        assert!(r.starts_with(b"%"), "HELLO 3: {}", show(&r));
    }
    c
}

/// Runs one line on one connection and returns its normalised reply.
fn run_line(c: &mut Raw, mods: &[&str], line: &str) -> Vec<u8> {
    if let Some(m) = mods.iter().find(|m| m.starts_with("~raw:")) {
        let n: usize = m["~raw:".len()..].parse().expect("~raw:N");
        c.send(&unescape(line));
        return c.read_replies(n);
    }
    let args = split_args(line);
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    if mods.contains(&"~scan") {
        let mut keys = Vec::new();
        let mut argv: Vec<Vec<u8>> = args.clone();
        for _ in 0..10_000 {
            let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            let r = c.call(&refs);
            let Some(V::Agg(_, Some(items))) = parse_all(&r).and_then(|v| v.into_iter().next())
            else {
                return r; // an error: compare it as is
            };
            let [V::Bulk(_, Some(cursor)), V::Agg(_, Some(ks))] = &items[..] else {
                return r;
            };
            keys.extend(ks.iter().cloned());
            if cursor == b"0" {
                keys.sort();
                keys.dedup();
                return encode_all(&[V::Agg(b'*', Some(keys))]);
            }
            argv[1] = cursor.clone();
        }
        panic!("SCAN did not finish: {line}");
    }
    let r = c.call(&refs);
    normalise(mods, r)
}

/// Runs every case against redis-server and shardis (`--threads 2`) in RESP2
/// and RESP3 and fails with every mismatch listed. Skips (printing why) when
/// redis-server is not installed.
pub fn run_cases(cases: &[Case]) {
    let Some(redis) = Server::redis(&["--enable-debug-command", "yes"]) else {
        eprintln!("skipping: redis-server not installed");
        return;
    };
    let ours = Server::start(&["--threads", "2", "--enable-debug-command", "yes"]);
    for k in CORE1 {
        assert!(slot_of(k.as_bytes()) >= 8192, "{k} should be on core 1");
    }
    for k in CORE0 {
        assert!(slot_of(k.as_bytes()) < 8192, "{k} should be on core 0");
    }
    let filter = std::env::var("COMPAT_FILTER").unwrap_or_default();
    let mut failures = Vec::new();
    let mut known = Vec::new();
    let mut lines = 0;
    for proto in [2u8, 3] {
        for (name, case) in cases {
            if !name.contains(filter.as_str()) {
                continue;
            }
            if std::net::TcpStream::connect(("127.0.0.1", redis.port)).is_err() {
                panic!(
                    "redis-server is gone before case [{name}] RESP{proto}\n{}",
                    redis.log_text()
                );
            }
            let mut a = setup(redis.port, proto);
            if std::net::TcpStream::connect(("127.0.0.1", ours.port)).is_err() {
                panic!(
                    "shardis is gone before case [{name}] RESP{proto}; the previous case broke it\n{}",
                    ours.log_text()
                );
            }
            let mut b = setup(ours.port, proto);
            for line in case.iter() {
                let mut rest = line.trim_start();
                let mut mods = Vec::new();
                while rest.starts_with('~') {
                    let (m, r) = rest.split_once(' ').unwrap_or((rest, ""));
                    mods.push(m);
                    rest = r;
                }
                let ra = run_line(&mut a, &mods, rest);
                let rb = run_line(&mut b, &mods, rest);
                lines += 1;
                if mods.contains(&"~skip") {
                    continue;
                }
                if ra != rb && mods.contains(&"~known") {
                    known.push(format!(
                        "[{name}] RESP{proto} `{line}`\n   redis:   {}\n   shardis: {}",
                        show(&ra),
                        show(&rb)
                    ));
                } else if ra != rb {
                    failures.push(format!(
                        "[{name}] RESP{proto} `{line}`\n   redis:   {}\n   shardis: {}",
                        show(&ra),
                        show(&rb)
                    ));
                }
            }
        }
    }
    eprintln!("compat: {} cases, {lines} command lines run", cases.len());
    for k in &known {
        eprintln!("known difference: {k}");
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("{f}");
        }
        panic!("{} replies differ from redis-server", failures.len());
    }
}
