//! The append-only file's contents: commands in RESP, as Redis writes them,
//! plus annotation lines. Plain code: encoding, a key's value as commands,
//! and a reader that turns file bytes back into commands with their
//! offsets, telling a truncated tail from corruption. No runtime, no I/O.
//!
//! # Byte layout of an AOF file
//!
//! A sequence of items, each one of:
//!
//! - a command, as a RESP array of bulk strings:
//!   `*<argc>\r\n` then, `argc` times, `$<len>\r\n<len bytes>\r\n`
//!   (`argc` ≥ 1; the numbers are ASCII decimal without sign);
//! - an annotation line, `#<text>\r\n` (Redis 7 skips these when loading;
//!   its `aof-timestamp-enabled` writes `#TS:<unix time>`). shardis writes
//!   `#barrier:<id>\r\n`: every core's file gets the same barrier at a
//!   moment when every core was held at once (a node-wide command such as
//!   FLUSHALL, or slots moving between cores), so that loading can replay the
//!   cores' files segment by segment (everything before barrier n in every
//!   file, then what lies between barriers n and n+1 ...) and keep the order
//!   that matters across files.
//!
//! A command file starts in db 0; `SELECT <db>` switches, as in Redis.
//! Commands a core ran as one unit (a transaction, a command that also
//! deleted expired keys) are wrapped in `MULTI` ... `EXEC`.
//!
//! A file is *truncated* when it ends inside an item, or inside a `MULTI`
//! without its `EXEC`; it is *corrupt* when bytes break the layout.

use crate::keyspace::list::Elem;
use crate::keyspace::Value;
use bytes::{Bytes, BytesMut};
use std::fmt;

/// Elements per command when a value is written as commands (Redis's
/// AOF_REWRITE_ITEMS_PER_CMD).
pub const ITEMS_PER_CMD: usize = 64;
/// Longest annotation line accepted.
const MAX_ANNOTATION: usize = 1024;
/// Longest `*<n>` / `$<n>` line (digits) accepted.
const MAX_NUMBER_DIGITS: usize = 19;

pub const MULTI: &[u8] = b"*1\r\n$5\r\nMULTI\r\n";
pub const EXEC: &[u8] = b"*1\r\n$4\r\nEXEC\r\n";
const BARRIER_PREFIX: &[u8] = b"#barrier:";

/// Appends one command in RESP (`*argc`, then `$len` + bytes per argument).
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    let mut num = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(num.format(argv.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(num.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends a barrier annotation (see the module doc).
pub fn encode_barrier(out: &mut Vec<u8>, id: u64) {
    out.extend_from_slice(BARRIER_PREFIX);
    out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A score as text that reads back as the same double (shortest
/// round-trip form; `inf`/`-inf` as Redis's ZADD accepts them).
pub fn format_score(s: f64) -> String {
    if s.is_infinite() {
        return if s > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = s.abs();
    if s == 0.0 || (1e-5..1e16).contains(&a) {
        format!("{s}")
    } else {
        format!("{s:e}")
    }
}

/// Appends the commands that recreate `key` holding `val` (in the current
/// db of the stream), with its absolute expiry `expire_ms`. With `replace`
/// an aggregate is deleted first (a string's SET replaces by itself).
/// Returns the number of commands written.
pub fn encode_key(
    out: &mut Vec<u8>,
    key: &[u8],
    val: &Value,
    expire_ms: Option<u64>,
    replace: bool,
) -> usize {
    let mut ops = 0;
    if let Value::Str(s) = val {
        match expire_ms {
            Some(at) => {
                let at = itoa::Buffer::new().format(at).to_string();
                encode_command(out, &[b"SET", key, s.as_bytes(), b"PXAT", at.as_bytes()]);
            }
            None => encode_command(out, &[b"SET", key, s.as_bytes()]),
        }
        return 1;
    }
    if replace {
        encode_command(out, &[b"DEL", key]);
        ops += 1;
    }
    let (cmd, per): (&[u8], usize) = match val {
        Value::List(_) => (b"RPUSH", 1),
        Value::Set(_) => (b"SADD", 1),
        Value::Hash(_) => (b"HSET", 2),
        Value::ZSet(_) => (b"ZADD", 2),
        Value::Str(_) => unreachable!("strings returned above"),
    };
    let mut args: Vec<Vec<u8>> = Vec::with_capacity(2 + ITEMS_PER_CMD * per);
    let flush = |args: &mut Vec<Vec<u8>>, out: &mut Vec<u8>, ops: &mut usize| {
        if args.len() > 2 {
            encode_command(out, args);
            *ops += 1;
        }
        args.truncate(2);
    };
    args.push(cmd.to_vec());
    args.push(key.to_vec());
    match val {
        Value::List(l) => {
            for e in l.iter() {
                args.push(match e {
                    Elem::Str(s) => s.to_vec(),
                    Elem::Int(i) => itoa::Buffer::new().format(i).as_bytes().to_vec(),
                });
                if args.len() - 2 >= ITEMS_PER_CMD {
                    flush(&mut args, out, &mut ops);
                }
            }
        }
        Value::Set(s) => {
            for m in s.iter() {
                args.push(m.to_vec());
                if args.len() - 2 >= ITEMS_PER_CMD {
                    flush(&mut args, out, &mut ops);
                }
            }
        }
        Value::Hash(h) => {
            for (f, v) in h.iter() {
                args.push(f.to_vec());
                args.push(v.to_vec());
                if args.len() - 2 >= ITEMS_PER_CMD * 2 {
                    flush(&mut args, out, &mut ops);
                }
            }
        }
        Value::ZSet(z) => {
            for (m, s) in z.iter() {
                args.push(format_score(s).into_bytes());
                args.push(m.to_vec());
                if args.len() - 2 >= ITEMS_PER_CMD * 2 {
                    flush(&mut args, out, &mut ops);
                }
            }
        }
        Value::Str(_) => {}
    }
    flush(&mut args, out, &mut ops);
    if let Some(at) = expire_ms {
        let at = itoa::Buffer::new().format(at).to_string();
        encode_command(out, &[b"PEXPIREAT", key, at.as_bytes()]);
        ops += 1;
    }
    ops
}

// ---- reading --------------------------------------------------------------

/// One item read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Command(Vec<Bytes>),
    Barrier(u64),
    /// Another annotation (`#TS:...`): skipped.
    Annotation,
}

/// Bytes that break the layout: where the item that holds them starts, and
/// what was wrong (with the exact byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    pub offset: u64,
    pub reason: String,
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.reason)
    }
}

/// What `parse_one` found at the start of a buffer.
enum Parse {
    /// An item `len` bytes long; a command's arguments as ranges.
    Done(Raw, usize),
    /// A valid prefix: at least this many bytes are needed.
    More(usize),
    /// Broken at this position (relative to the item's start).
    Bad(usize, String),
}

enum Raw {
    Command(Vec<(usize, usize)>),
    Barrier(u64),
    Annotation,
}

/// Reads `<digits>\r\n` at `b[at..]`: the number and the position after it.
fn number(b: &[u8], at: usize, what: &str) -> Result<Option<(u64, usize)>, (usize, String)> {
    let mut n: u64 = 0;
    let mut i = at;
    loop {
        let Some(&c) = b.get(i) else {
            return Ok(None);
        };
        match c {
            b'0'..=b'9' => {
                if i - at >= MAX_NUMBER_DIGITS {
                    return Err((i, format!("{what} is too long")));
                }
                n = n * 10 + u64::from(c - b'0');
                i += 1;
            }
            b'\r' if i > at => {
                return match b.get(i + 1) {
                    None => Ok(None),
                    Some(b'\n') => Ok(Some((n, i + 2))),
                    Some(_) => Err((i + 1, format!("expected '\\n' after {what}"))),
                };
            }
            _ => {
                return Err((i, format!("expected a digit in {what}, got {}", show(c))));
            }
        }
    }
}

fn show(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("'{}'", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

fn parse_one(b: &[u8]) -> Parse {
    let Some(&first) = b.first() else {
        return Parse::More(1);
    };
    match first {
        b'#' => {
            let limit = b.len().min(MAX_ANNOTATION);
            match b[..limit].windows(2).position(|w| w == b"\r\n") {
                Some(p) => {
                    let line = &b[..p];
                    let raw = match line.strip_prefix(BARRIER_PREFIX) {
                        Some(id) => match std::str::from_utf8(id).ok().and_then(|s| s.parse().ok())
                        {
                            Some(id) => Raw::Barrier(id),
                            None => return Parse::Bad(0, "invalid barrier annotation".into()),
                        },
                        None => Raw::Annotation,
                    };
                    Parse::Done(raw, p + 2)
                }
                None if b.len() >= MAX_ANNOTATION => {
                    Parse::Bad(0, "annotation line too long".into())
                }
                None => Parse::More(b.len() + 1),
            }
        }
        b'*' => {
            let (argc, mut pos) = match number(b, 1, "the argument count") {
                Err((at, why)) => return Parse::Bad(at, why),
                Ok(None) => return Parse::More(b.len() + 1),
                Ok(Some(x)) => x,
            };
            if argc == 0 {
                return Parse::Bad(1, "a command needs at least one argument".into());
            }
            // Not sized by the count: it comes from the file.
            let mut args = Vec::with_capacity((argc as usize).min(16));
            for _ in 0..argc {
                match b.get(pos) {
                    None => return Parse::More(pos + 1),
                    Some(b'$') => {}
                    Some(&c) => {
                        return Parse::Bad(pos, format!("expected '$', got {}", show(c)));
                    }
                }
                let (len, start) = match number(b, pos + 1, "a bulk length") {
                    Err((at, why)) => return Parse::Bad(at, why),
                    Ok(None) => return Parse::More(b.len() + 1),
                    Ok(Some(x)) => x,
                };
                let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
                    return Parse::Bad(pos, "bulk length out of range".into());
                };
                let Some(after) = end.checked_add(2) else {
                    return Parse::Bad(pos, "bulk length out of range".into());
                };
                if b.len() < after {
                    return Parse::More(after);
                }
                if &b[end..after] != b"\r\n" {
                    return Parse::Bad(end, "expected '\\r\\n' after a bulk string".into());
                }
                args.push((start, end));
                pos = after;
            }
            Parse::Done(Raw::Command(args), pos)
        }
        c => Parse::Bad(0, format!("expected '*' or '#', got {}", show(c))),
    }
}

/// Reads items from a file's bytes fed in chunks, keeping track of file
/// offsets, of the end of the last complete item, and of an open `MULTI`.
#[derive(Debug, Default)]
pub struct Scanner {
    buf: BytesMut,
    /// File offset of `buf[0]`.
    offset: u64,
    /// Bytes `buf` must hold before parsing is worth trying again.
    need: usize,
    /// File offset of the `MULTI` of a transaction not yet closed.
    multi_at: Option<u64>,
    /// File offset up to which the file holds complete items outside any
    /// open transaction: what a truncated file is cut back to.
    valid: u64,
}

/// How a file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Every byte belongs to a complete item (and no MULTI is left open).
    Clean,
    /// The file stops inside an item (`in_multi` false) or inside a
    /// transaction; everything from `valid_up_to` on is incomplete.
    Truncated { valid_up_to: u64, in_multi: bool },
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// Adds bytes read from the file (in order).
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes fed but not consumed yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many more bytes the current item needs at least (0: try `next`).
    pub fn wants(&self) -> usize {
        self.need.saturating_sub(self.buf.len())
    }

    /// File offset of the next byte to parse.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next complete item and its file offset, `None` when more bytes
    /// are needed (or the file is done).
    #[allow(clippy::should_implement_trait)] // fallible: Result<Option<_>>, not an Iterator
    pub fn next(&mut self) -> Result<Option<(u64, Item)>, Corrupt> {
        if self.buf.len() < self.need || self.buf.is_empty() {
            return Ok(None);
        }
        match parse_one(&self.buf) {
            Parse::More(n) => {
                self.need = n;
                Ok(None)
            }
            Parse::Bad(at, reason) => Err(Corrupt {
                offset: self.offset,
                reason: format!("{reason} (byte {})", self.offset + at as u64),
            }),
            Parse::Done(raw, len) => {
                self.need = 0;
                let at = self.offset;
                let chunk = self.buf.split_to(len).freeze();
                self.offset += len as u64;
                let item = match raw {
                    Raw::Barrier(id) => Item::Barrier(id),
                    Raw::Annotation => Item::Annotation,
                    Raw::Command(ranges) => {
                        Item::Command(ranges.into_iter().map(|(s, e)| chunk.slice(s..e)).collect())
                    }
                };
                if let Item::Command(argv) = &item {
                    if argv.len() == 1 && argv[0].eq_ignore_ascii_case(b"multi") {
                        self.multi_at = Some(at);
                    } else if argv.len() == 1 && argv[0].eq_ignore_ascii_case(b"exec") {
                        self.multi_at = None;
                    }
                }
                if self.multi_at.is_none() {
                    self.valid = self.offset;
                }
                Ok(Some((at, item)))
            }
        }
    }

    /// Called once the whole file was fed and `next` returned `None`.
    pub fn tail(&self) -> Tail {
        if self.buf.is_empty() && self.multi_at.is_none() {
            Tail::Clean
        } else {
            Tail::Truncated {
                valid_up_to: self.valid,
                in_multi: self.multi_at.is_some(),
            }
        }
    }
}

/// Reads a whole file's bytes: its items and how it ends (tests, tools).
pub fn read_all(data: &[u8]) -> Result<(Vec<(u64, Item)>, Tail), Corrupt> {
    let mut s = Scanner::new();
    s.feed(data);
    let mut out = Vec::new();
    while let Some(x) = s.next()? {
        out.push(x);
    }
    Ok((out, s.tail()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{EncLimits, Hash, List, Set, ZSet};

    fn cmd(args: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        encode_command(&mut v, args);
        v
    }

    fn commands(items: &[(u64, Item)]) -> Vec<Vec<String>> {
        items
            .iter()
            .filter_map(|(_, i)| match i {
                Item::Command(a) => Some(
                    a.iter()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn encodes_like_redis() {
        assert_eq!(
            cmd(&["SET", "k", "v"]),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".to_vec()
        );
        let mut v = Vec::new();
        encode_barrier(&mut v, 42);
        assert_eq!(v, b"#barrier:42\r\n");
        assert_eq!(cmd(&["MULTI"]), MULTI);
        assert_eq!(cmd(&["EXEC"]), EXEC);
    }

    #[test]
    fn reads_commands_annotations_and_offsets() {
        let mut f = cmd(&["SELECT", "0"]);
        f.extend_from_slice(b"#TS:1628217470\r\n");
        let at = f.len() as u64;
        f.extend(cmd(&["SET", "a", "b\r\nc"]));
        encode_barrier(&mut f, 7);
        f.extend(cmd(&["DEL", ""]));
        let (items, tail) = read_all(&f).unwrap();
        assert_eq!(tail, Tail::Clean);
        assert_eq!(items.len(), 5);
        assert_eq!(items[1].1, Item::Annotation);
        assert_eq!(items[2].0, at);
        assert_eq!(items[3].1, Item::Barrier(7));
        assert_eq!(
            commands(&items),
            vec![
                vec!["SELECT", "0"],
                vec!["SET", "a", "b\r\nc"],
                vec!["DEL", ""]
            ]
        );
    }

    #[test]
    fn every_cut_of_a_good_file_is_a_truncation_at_an_item_boundary() {
        let mut f = cmd(&["SET", "key", "value"]);
        let first = f.len() as u64;
        f.extend(MULTI);
        f.extend(cmd(&["INCR", "n"]));
        f.extend(EXEC);
        let second = f.len() as u64;
        encode_barrier(&mut f, 1);
        let third = f.len() as u64;
        f.extend(cmd(&["RPUSH", "l", "x", "y"]));
        for cut in 0..f.len() {
            let (_, tail) = read_all(&f[..cut]).unwrap();
            let want = if cut == 0 {
                Tail::Clean
            } else if (cut as u64) < first {
                Tail::Truncated {
                    valid_up_to: 0,
                    in_multi: false,
                }
            } else if cut as u64 == first {
                Tail::Clean
            } else if (cut as u64) < second {
                // Inside the transaction: back to before MULTI.
                let in_multi = cut as u64 >= first + MULTI.len() as u64;
                Tail::Truncated {
                    valid_up_to: first,
                    in_multi,
                }
            } else if cut as u64 == second || cut as u64 == third {
                Tail::Clean
            } else if (cut as u64) < third {
                Tail::Truncated {
                    valid_up_to: second,
                    in_multi: false,
                }
            } else {
                Tail::Truncated {
                    valid_up_to: third,
                    in_multi: false,
                }
            };
            assert_eq!(tail, want, "cut at {cut}");
        }
    }

    #[test]
    fn corruption_names_the_item_and_the_byte() {
        let good = cmd(&["SET", "a", "b"]);
        let mut f = good.clone();
        f.extend(b"*2\r\n$3\r\nGET\r\nX1\r\na\r\n");
        let e = read_all(&f).unwrap_err();
        assert_eq!(e.offset, good.len() as u64);
        assert!(e.reason.contains("expected '$', got 'X'"), "{e}");
        assert!(
            e.reason.contains(&format!("byte {}", good.len() + 13)),
            "{e}"
        );
        for (bad, why) in [
            (&b"+OK\r\n"[..], "expected '*' or '#'"),
            (b"*0\r\n", "at least one argument"),
            (b"*1x\r\n", "expected a digit"),
            (b"*1\r\n$3\r\nabcd\r\n", "expected '\\r\\n' after a bulk"),
            (b"*1\r\n$-1\r\n", "expected a digit"),
            (b"*1\r\n$99999999999999999999\r\n", "too long"),
            (b"#barrier:x\r\n", "invalid barrier"),
            (b"*1\r\r", "expected '\\n'"),
        ] {
            let e = read_all(bad).unwrap_err();
            assert!(e.reason.contains(why), "{bad:?}: {e}");
            assert_eq!(e.offset, 0);
        }
        let long = [b"#".as_slice(), &[b'a'; 2000]].concat();
        assert!(read_all(&long).unwrap_err().reason.contains("too long"));
    }

    #[test]
    fn chunked_feeding_gives_the_same_items() {
        let mut f = Vec::new();
        for i in 0..50 {
            f.extend(cmd(&["SET", &format!("k{i}"), &"v".repeat(i * 7)]));
            if i % 10 == 0 {
                encode_barrier(&mut f, i as u64);
            }
        }
        let (whole, _) = read_all(&f).unwrap();
        for chunk in [1, 2, 3, 7, 64, 1000] {
            let mut s = Scanner::new();
            let mut got = Vec::new();
            for c in f.chunks(chunk) {
                s.feed(c);
                while let Some(x) = s.next().unwrap() {
                    got.push(x);
                }
            }
            assert_eq!(got, whole, "chunk {chunk}");
            assert_eq!(s.tail(), Tail::Clean);
        }
    }

    /// Random damage to a valid file: never a panic, and any error names an
    /// offset inside the file.
    #[test]
    fn fuzzed_files_never_panic() {
        let mut f = Vec::new();
        for i in 0..40 {
            f.extend(cmd(&["HSET", "h", &format!("f{i}"), &"x".repeat(i % 9)]));
            if i % 13 == 0 {
                f.extend(MULTI);
                f.extend(cmd(&["DEL", "z"]));
                f.extend(EXEC);
            }
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let mut b = f.clone();
            for _ in 0..(next() % 3 + 1) {
                let i = (next() as usize) % b.len();
                match next() % 4 {
                    0 => b[i] = next() as u8,
                    1 => b[i] = b"*$\r\n0123456789#"[(next() % 15) as usize],
                    2 => {
                        b.remove(i);
                    }
                    _ => b.truncate(i.max(1)),
                }
            }
            let mut s = Scanner::new();
            let mut res = Ok(());
            for c in b.chunks((next() % 200 + 1) as usize) {
                s.feed(c);
                loop {
                    match s.next() {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => {
                            res = Err(e);
                            break;
                        }
                    }
                }
                if res.is_err() {
                    break;
                }
            }
            match res {
                Err(e) => assert!(e.offset < b.len() as u64, "{e}"),
                Ok(()) => {
                    if let Tail::Truncated { valid_up_to, .. } = s.tail() {
                        assert!(valid_up_to <= b.len() as u64);
                    }
                }
            }
        }
    }

    #[test]
    fn scores_read_back_exactly() {
        for s in [
            0.0,
            -0.0,
            1.0,
            0.1,
            -2.5,
            1e-300,
            1e300,
            123456789012345678.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.0 / 3.0,
        ] {
            let t = format_score(s);
            let back: f64 = match t.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                x => x.parse().unwrap(),
            };
            assert_eq!(back.to_bits(), s.to_bits(), "{s} -> {t}");
        }
    }

    #[test]
    fn values_as_commands() {
        let lim = EncLimits::default();
        let mut out = Vec::new();
        let n = encode_key(&mut out, b"s", &Value::str(b"v"), Some(1234), true);
        assert_eq!(n, 1);
        assert_eq!(out, cmd(&["SET", "s", "v", "PXAT", "1234"]));

        let mut l = List::new(-2);
        for i in 0..100 {
            l.push(crate::keyspace::list::End::Tail, format!("{i}").as_bytes());
        }
        let mut h = Hash::new();
        h.set(b"f", b"v", &lim);
        let mut s = Set::new();
        s.add(b"m", &lim);
        let mut z = ZSet::new();
        z.set(b"m", 1.5, &lim);
        let mut out = Vec::new();
        let ops = encode_key(&mut out, b"l", &Value::List(Box::new(l)), None, true)
            + encode_key(&mut out, b"h", &Value::Hash(Box::new(h)), Some(9), false)
            + encode_key(&mut out, b"t", &Value::Set(Box::new(s)), None, false)
            + encode_key(&mut out, b"z", &Value::ZSet(Box::new(z)), None, false);
        let (items, tail) = read_all(&out).unwrap();
        assert_eq!(tail, Tail::Clean);
        let c = commands(&items);
        assert_eq!(ops, c.len());
        assert_eq!(c[0], vec!["DEL", "l"]);
        assert_eq!(c[1].len(), 2 + 64);
        assert_eq!(c[1][2], "0");
        assert_eq!(c[2].len(), 2 + 36);
        assert_eq!(c[2][37], "99");
        assert_eq!(c[3], vec!["HSET", "h", "f", "v"]);
        assert_eq!(c[4], vec!["PEXPIREAT", "h", "9"]);
        assert_eq!(c[5], vec!["SADD", "t", "m"]);
        assert_eq!(c[6], vec!["ZADD", "z", "1.5", "m"]);
    }
}
