//! Writing values as Redis 7.0.15 writes them (rdbSaveObjectType and
//! rdbSaveObject):
//!
//! ```text
//! string     type 0   string (integers up to 32 bits as 0xC0..0xC2, LZF above 20 bytes)
//! list       type 18  nodes:length (container:length string)*  container 2 = a
//!                     listpack per quicklist node, 1 = one plain element
//! set        type 11  string holding the intset blob (width:u32 LE, count:u32 LE, ints LE)
//!            type 2   count:length member:string*
//! zset       type 17  string holding a listpack: member, score, member, score ...
//!                     (an integral score as an integer entry, else "%.17g" text)
//!            type 5   count:length (member:string score:f64 LE)*  greatest first
//! hash       type 16  string holding a listpack: field, value, field, value ...
//!            type 4   count:length (field:string value:string)*
//! ```
//!
//! Every string goes through `save_string` (rdbSaveRawString), listpack and
//! intset blobs included, so long blobs are LZF-compressed as Redis does.

use super::listpack::LpWriter;
use super::{lzf, types, CONTAINER_PACKED, CONTAINER_PLAIN, CRC64, PLAIN_THRESHOLD, RDB_VERSION};
use crate::keyspace::hash::Hash;
use crate::keyspace::set::Set;
use crate::keyspace::value::parse_i64;
use crate::keyspace::{List, Value, ZSet};
use std::io;

/// Where encoded bytes go.
pub(crate) trait Sink {
    fn put(&mut self, b: &[u8]) -> io::Result<()>;
}

impl Sink for Vec<u8> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.extend_from_slice(b);
        Ok(())
    }
}

/// Counts bytes without keeping them.
struct Counter(u64);

impl Sink for Counter {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.0 += b.len() as u64;
        Ok(())
    }
}

/// rdbSaveLen.
pub(crate) fn save_len<S: Sink>(s: &mut S, len: u64) -> io::Result<()> {
    if len < 1 << 6 {
        s.put(&[len as u8])
    } else if len < 1 << 14 {
        s.put(&[0x40 | (len >> 8) as u8, len as u8])
    } else if let Ok(l) = u32::try_from(len) {
        s.put(&[0x80])?;
        s.put(&l.to_be_bytes())
    } else {
        s.put(&[0x81])?;
        s.put(&len.to_be_bytes())
    }
}

/// rdbEncodeInteger: the special encodings for integers that fit 32 bits.
fn encode_int(v: i64, buf: &mut [u8; 5]) -> Option<usize> {
    if let Ok(x) = i8::try_from(v) {
        buf[0] = 0xC0;
        buf[1] = x as u8;
        Some(2)
    } else if let Ok(x) = i16::try_from(v) {
        buf[0] = 0xC1;
        buf[1..3].copy_from_slice(&x.to_le_bytes());
        Some(3)
    } else if let Ok(x) = i32::try_from(v) {
        buf[0] = 0xC2;
        buf[1..5].copy_from_slice(&x.to_le_bytes());
        Some(5)
    } else {
        None
    }
}

/// rdbSaveRawString: an integer encoding when the bytes are a small
/// integer, LZF when `compress` and it saves at least 4 bytes, else as is.
pub(crate) fn save_string<S: Sink>(s: &mut S, b: &[u8], compress: bool) -> io::Result<()> {
    if b.len() <= 11 {
        if let Some(v) = parse_i64(b) {
            let mut buf = [0u8; 5];
            if let Some(n) = encode_int(v, &mut buf) {
                return s.put(&buf[..n]);
            }
        }
    }
    if compress && b.len() > 20 {
        if let Some(c) = lzf::compress(b, b.len() - 4) {
            s.put(&[0xC3])?;
            save_len(s, c.len() as u64)?;
            save_len(s, b.len() as u64)?;
            return s.put(&c);
        }
    }
    save_len(s, b.len() as u64)?;
    s.put(b)
}

/// Redis's double2ll: the integer a score is, when it is one that fits
/// comfortably (|d| <= 2^62).
pub(crate) fn double2ll(d: f64) -> Option<i64> {
    let lim = (i64::MAX / 2) as f64;
    if !(-lim..=lim).contains(&d) {
        return None;
    }
    let ll = d as i64;
    (ll as f64 == d).then_some(ll)
}

/// The object type byte Redis writes for `v` (rdbSaveObjectType).
pub fn value_type(v: &Value) -> u8 {
    match v {
        Value::Str(_) => types::STRING,
        Value::List(_) => types::LIST_QUICKLIST_2,
        Value::Set(s) => match **s {
            Set::Intset(_) => types::SET_INTSET,
            Set::Table(_) => types::SET,
        },
        Value::ZSet(z) => {
            if z.encoding() == "listpack" {
                types::ZSET_LISTPACK
            } else {
                types::ZSET_2
            }
        }
        Value::Hash(h) => match **h {
            Hash::Listpack { .. } => types::HASH_LISTPACK,
            Hash::Table(_) => types::HASH,
        },
    }
}

fn save_list<S: Sink>(s: &mut S, l: &List, compress: bool) -> io::Result<()> {
    save_len(s, l.node_count() as u64)?;
    let mut elems = l.iter();
    for n in l.node_lens() {
        let mut w = LpWriter::new();
        let mut plain: Option<Vec<u8>> = None;
        for _ in 0..n {
            let Some(e) = elems.next() else { break };
            if n == 1 && e.byte_len() >= PLAIN_THRESHOLD {
                plain = Some(e.to_vec());
            } else {
                e.with_bytes(|b| w.push(b));
            }
        }
        match plain {
            Some(p) => {
                save_len(s, CONTAINER_PLAIN)?;
                save_string(s, &p, compress)?;
            }
            None => {
                save_len(s, CONTAINER_PACKED)?;
                save_string(s, &w.finish(), compress)?;
            }
        }
    }
    Ok(())
}

fn save_set<S: Sink>(s: &mut S, set: &Set, compress: bool) -> io::Result<()> {
    match set {
        Set::Intset(is) => save_string(s, &is.to_blob(), compress),
        Set::Table(t) => {
            save_len(s, t.len() as u64)?;
            for m in t.iter() {
                save_string(s, m, compress)?;
            }
            Ok(())
        }
    }
}

/// Pushes a score as zzlInsertAt does: an integer entry when double2ll
/// takes it, else d2string's text.
fn push_score(w: &mut LpWriter, score: f64) {
    match double2ll(score) {
        Some(v) => w.push_int(v),
        None => {
            let text = if score.is_nan() {
                "nan".to_string()
            } else {
                crate::protocol::encode::format_double(score)
            };
            w.push(text.as_bytes());
        }
    }
}

fn save_zset<S: Sink>(s: &mut S, z: &ZSet, compress: bool) -> io::Result<()> {
    if z.encoding() == "listpack" {
        let mut w = LpWriter::new();
        for (m, sc) in z.iter() {
            w.push(m);
            push_score(&mut w, sc);
        }
        return save_string(s, &w.finish(), compress);
    }
    // Greatest first, as Redis walks its skiplist from the tail.
    save_len(s, z.len() as u64)?;
    let all: Vec<(&[u8], f64)> = z.iter().collect();
    for (m, sc) in all.into_iter().rev() {
        save_string(s, m, compress)?;
        s.put(&sc.to_le_bytes())?;
    }
    Ok(())
}

fn save_hash<S: Sink>(s: &mut S, h: &Hash, compress: bool) -> io::Result<()> {
    match h {
        Hash::Listpack { .. } => {
            let mut w = LpWriter::new();
            for (f, v) in h.iter() {
                w.push(f);
                w.push(v);
            }
            save_string(s, &w.finish(), compress)
        }
        Hash::Table(t) => {
            save_len(s, t.len() as u64)?;
            for (f, v) in t.iter() {
                save_string(s, f, compress)?;
                save_string(s, v, compress)?;
            }
            Ok(())
        }
    }
}

/// Writes the value's body (what follows the type byte, and the key in a file).
pub(crate) fn save_body<S: Sink>(s: &mut S, v: &Value, compress: bool) -> io::Result<()> {
    match v {
        Value::Str(b) => save_string(s, b, compress),
        Value::List(l) => save_list(s, l, compress),
        Value::Set(set) => save_set(s, set, compress),
        Value::ZSet(z) => save_zset(s, z, compress),
        Value::Hash(h) => save_hash(s, h, compress),
    }
}

/// Appends the value's type byte and body to `out`, as Redis's
/// rdbSaveObjectType + rdbSaveObject with `rdbcompression yes`.
pub fn encode_value(v: &Value, out: &mut Vec<u8>) {
    out.push(value_type(v));
    // Writing to a Vec does not fail.
    let _ = save_body(out, v, true);
}

/// The size of `encode_value`'s output (type byte included), without
/// keeping the bytes (Redis's rdbSavedObjectLen, plus the type byte).
pub fn encoded_len(v: &Value) -> u64 {
    let mut c = Counter(1);
    let _ = save_body(&mut c, v, true);
    c.0
}

/// DUMP's payload: type, body, RDB version (u16 LE), CRC64 (u64 LE) of
/// everything before it.
pub fn dump_payload(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(v, &mut out);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}
