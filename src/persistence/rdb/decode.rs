//! Reading values of every object type Redis 7.0 loads (rdbLoadObject),
//! into the keyspace's types with the encodings Redis would give them under
//! the given thresholds.
//!
//! Redis's checks are kept, and its optional deep checks
//! (`sanitize-dump-payload yes`) always run: listpacks, ziplists, zipmaps
//! and intsets are validated whole; duplicate set members, hash fields or
//! sorted set members, NaN scores, odd pair counts and quicklist nodes of
//! an unknown container are errors; an aggregate with no elements is
//! `EmptyValue` (a file reader skips it, RESTORE refuses it). Module and
//! stream values are `Unsupported`.
//!
//! Where the result differs from what Redis would hold in memory (the
//! contents never do):
//! - a list is packed into nodes by the restoring side's
//!   list-max-listpack-size; Redis keeps the payload's nodes as they are;
//! - a hash or sorted set listpack holding an element longer than
//!   *-max-listpack-value becomes a hashtable / skiplist; Redis only checks
//!   the entry count when it loads a listpack.

use super::input::{Input, SliceInput};
use super::listpack::{Listpack, LpVal};
use super::ziplist::{ziplist_entries, zipmap_pairs};
use super::{crc64, lzf, types, Error, ErrorKind, CONTAINER_PACKED, CONTAINER_PLAIN, RDB_VERSION};
use crate::keyspace::{CBytes, EncLimits, Hash, List, Set, Value, ZSet};

/// rdbLoadLen: a length, or (when the second field is true) the number of a
/// special string encoding.
pub(crate) fn load_len_enc<I: Input>(inp: &mut I) -> Result<(u64, bool), Error> {
    let b0 = inp.u8()?;
    match b0 >> 6 {
        0 => Ok((u64::from(b0 & 0x3F), false)),
        1 => {
            let b1 = inp.u8()?;
            Ok(((u64::from(b0 & 0x3F) << 8) | u64::from(b1), false))
        }
        3 => Ok((u64::from(b0 & 0x3F), true)),
        _ => match b0 {
            0x80 => {
                let mut b = [0u8; 4];
                inp.read_exact(&mut b)?;
                Ok((u64::from(u32::from_be_bytes(b)), false))
            }
            0x81 => {
                let mut b = [0u8; 8];
                inp.read_exact(&mut b)?;
                Ok((u64::from_be_bytes(b), false))
            }
            _ => Err(inp.corrupt("length encoding")),
        },
    }
}

/// A plain length (a special encoding here is an error).
pub(crate) fn load_len<I: Input>(inp: &mut I) -> Result<u64, Error> {
    match load_len_enc(inp)? {
        (n, false) => Ok(n),
        (_, true) => Err(inp.corrupt("length (string encoding where a length belongs)")),
    }
}

/// rdbGenericLoadStringObject: raw, integer-encoded or LZF-compressed.
pub(crate) fn load_string<I: Input>(inp: &mut I) -> Result<Vec<u8>, Error> {
    let (n, enc) = load_len_enc(inp)?;
    if !enc {
        return inp.read_vec(n);
    }
    let v: i64 = match n {
        0 => i64::from(inp.u8()? as i8),
        1 => {
            let mut b = [0u8; 2];
            inp.read_exact(&mut b)?;
            i64::from(i16::from_le_bytes(b))
        }
        2 => {
            let mut b = [0u8; 4];
            inp.read_exact(&mut b)?;
            i64::from(i32::from_le_bytes(b))
        }
        3 => {
            let clen = load_len(inp)?;
            let ulen = load_len(inp)?;
            let at = inp.offset();
            if ulen > clen.saturating_mul(lzf::MAX_RATIO) {
                return Err(inp.corrupt("LZF string (length beyond what the data can hold)"));
            }
            let c = inp.read_vec(clen)?;
            let ulen = usize::try_from(ulen).map_err(|_| inp.corrupt("LZF string"))?;
            return lzf::decompress(&c, ulen)
                .map_err(|_| Error::corrupt(at, "LZF compressed string"));
        }
        _ => return Err(inp.corrupt("string encoding")),
    };
    Ok(itoa::Buffer::new().format(v).as_bytes().to_vec())
}

/// rdbLoadDoubleValue (RDB_TYPE_ZSET's scores): a length byte and text;
/// 253 = NaN, 254 = +inf, 255 = -inf.
fn load_double_text<I: Input>(inp: &mut I) -> Result<f64, Error> {
    let n = inp.u8()?;
    match n {
        255 => Ok(f64::NEG_INFINITY),
        254 => Ok(f64::INFINITY),
        253 => Ok(f64::NAN),
        _ => {
            let mut b = vec![0u8; usize::from(n)];
            inp.read_exact(&mut b)?;
            parse_score(&b).ok_or_else(|| inp.corrupt("score text"))
        }
    }
}

/// A score written as text (listpack string entries, old ZSET type).
fn parse_score(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b).ok()?.parse::<f64>().ok()
}

fn lp_score(v: LpVal<'_>) -> Option<f64> {
    match v {
        LpVal::Int(i) => Some(i as f64),
        LpVal::Str(s) => parse_score(s),
    }
}

fn empty<I: Input>(inp: &I) -> Error {
    inp.err(ErrorKind::EmptyValue)
}

fn hash_from(
    pairs: &[(Vec<u8>, Vec<u8>)],
    lim: &EncLimits,
    at: u64,
    what: &'static str,
) -> Result<Value, Error> {
    if pairs.is_empty() {
        return Err(Error::new(at, ErrorKind::EmptyValue));
    }
    let h = Hash::from_pairs(pairs.iter().map(|(f, v)| (&f[..], &v[..])), lim);
    if h.len() != pairs.len() {
        return Err(Error::corrupt(at, what));
    }
    Ok(Value::Hash(Box::new(h)))
}

fn zset_from(
    pairs: Vec<(Vec<u8>, f64)>,
    lim: &EncLimits,
    at: u64,
    what: &'static str,
) -> Result<Value, Error> {
    if pairs.is_empty() {
        return Err(Error::new(at, ErrorKind::EmptyValue));
    }
    if pairs.iter().any(|(_, s)| s.is_nan()) {
        return Err(Error::corrupt(at, "sorted set (NaN score)"));
    }
    let n = pairs.len();
    let z = ZSet::from_pairs(pairs, lim);
    if z.len() != n {
        return Err(Error::corrupt(at, what));
    }
    Ok(Value::ZSet(Box::new(z)))
}

/// Pairs of a listpack or ziplist (field/value, member/score...).
fn pairs_of(entries: &[LpVal<'_>]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if !entries.len().is_multiple_of(2) {
        return None;
    }
    Some(
        entries
            .chunks_exact(2)
            .map(|c| (c[0].to_vec(), c[1].to_vec()))
            .collect(),
    )
}

fn score_pairs_of(entries: &[LpVal<'_>]) -> Option<Vec<(Vec<u8>, f64)>> {
    if !entries.len().is_multiple_of(2) {
        return None;
    }
    entries
        .chunks_exact(2)
        .map(|c| Some((c[0].to_vec(), lp_score(c[1])?)))
        .collect()
}

fn push_all<'a>(l: &mut List, entries: impl Iterator<Item = LpVal<'a>>) {
    for e in entries {
        e.with_bytes(|b| l.push_back(b));
    }
}

/// Reads the body of a value of object type `t` (rdbLoadObject).
pub(crate) fn load_value<I: Input>(inp: &mut I, t: u8, lim: &EncLimits) -> Result<Value, Error> {
    let at = inp.offset();
    match t {
        types::STRING => Ok(Value::Str(CBytes::from_vec(load_string(inp)?))),
        types::LIST => {
            let n = load_len(inp)?;
            if n == 0 {
                return Err(empty(inp));
            }
            let mut l = List::new(lim.list_size);
            for _ in 0..n {
                l.push_back(&load_string(inp)?);
            }
            Ok(Value::List(Box::new(l)))
        }
        types::LIST_QUICKLIST | types::LIST_QUICKLIST_2 => {
            let nodes = load_len(inp)?;
            if nodes == 0 {
                return Err(empty(inp));
            }
            let mut l = List::new(lim.list_size);
            for _ in 0..nodes {
                let container = if t == types::LIST_QUICKLIST_2 {
                    load_len(inp)?
                } else {
                    CONTAINER_PACKED
                };
                if container != CONTAINER_PACKED && container != CONTAINER_PLAIN {
                    return Err(inp.corrupt("quicklist node container"));
                }
                let node_at = inp.offset();
                let data = load_string(inp)?;
                if data.is_empty() {
                    return Err(Error::corrupt(node_at, "quicklist node (empty)"));
                }
                if container == CONTAINER_PLAIN {
                    l.push_back(&data);
                } else if t == types::LIST_QUICKLIST_2 {
                    let lp = Listpack::parse(&data)
                        .ok_or_else(|| Error::corrupt(node_at, "listpack"))?;
                    push_all(&mut l, lp.iter());
                } else {
                    let zl =
                        ziplist_entries(&data).ok_or_else(|| Error::corrupt(node_at, "ziplist"))?;
                    push_all(&mut l, zl.into_iter());
                }
            }
            if l.is_empty() {
                return Err(empty(inp));
            }
            Ok(Value::List(Box::new(l)))
        }
        types::LIST_ZIPLIST => {
            let data = load_string(inp)?;
            let zl = ziplist_entries(&data).ok_or_else(|| Error::corrupt(at, "list ziplist"))?;
            if zl.is_empty() {
                return Err(empty(inp));
            }
            let mut l = List::new(lim.list_size);
            push_all(&mut l, zl.into_iter());
            Ok(Value::List(Box::new(l)))
        }
        types::SET => {
            let n = load_len(inp)?;
            if n == 0 {
                return Err(empty(inp));
            }
            let mut members = Vec::with_capacity(inp.capacity_for(n, 1));
            for _ in 0..n {
                members.push(load_string(inp)?);
            }
            let s = Set::from_members(members.iter().map(|m| &m[..]), lim);
            if s.len() != members.len() {
                return Err(Error::corrupt(at, "set (duplicate members)"));
            }
            Ok(Value::Set(Box::new(s)))
        }
        types::SET_INTSET => {
            let blob = load_string(inp)?;
            let is = crate::keyspace::set::IntSet::from_blob(&blob)
                .filter(|is| !is.is_empty())
                .ok_or_else(|| Error::corrupt(at, "intset"))?;
            Ok(Value::Set(Box::new(Set::from_ints(is.iter(), lim))))
        }
        types::ZSET | types::ZSET_2 => {
            let n = load_len(inp)?;
            if n == 0 {
                return Err(empty(inp));
            }
            let mut pairs = Vec::with_capacity(inp.capacity_for(n, 2));
            for _ in 0..n {
                let m = load_string(inp)?;
                let s = if t == types::ZSET_2 {
                    let mut b = [0u8; 8];
                    inp.read_exact(&mut b)?;
                    f64::from_le_bytes(b)
                } else {
                    load_double_text(inp)?
                };
                pairs.push((m, s));
            }
            zset_from(pairs, lim, at, "sorted set (duplicate members)")
        }
        types::ZSET_ZIPLIST | types::ZSET_LISTPACK => {
            let data = load_string(inp)?;
            let pairs = if t == types::ZSET_LISTPACK {
                let lp = Listpack::parse(&data)
                    .ok_or_else(|| Error::corrupt(at, "sorted set listpack"))?;
                score_pairs_of(&lp.iter().collect::<Vec<_>>())
            } else {
                let zl = ziplist_entries(&data)
                    .ok_or_else(|| Error::corrupt(at, "sorted set ziplist"))?;
                score_pairs_of(&zl)
            }
            .ok_or_else(|| Error::corrupt(at, "sorted set pairs"))?;
            zset_from(pairs, lim, at, "sorted set (duplicate members)")
        }
        types::HASH => {
            let n = load_len(inp)?;
            if n == 0 {
                return Err(empty(inp));
            }
            let mut pairs = Vec::with_capacity(inp.capacity_for(n, 2));
            for _ in 0..n {
                let f = load_string(inp)?;
                let v = load_string(inp)?;
                pairs.push((f, v));
            }
            hash_from(&pairs, lim, at, "hash (duplicate fields)")
        }
        types::HASH_ZIPMAP => {
            let data = load_string(inp)?;
            let zm = zipmap_pairs(&data).ok_or_else(|| Error::corrupt(at, "hash zipmap"))?;
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = zm
                .into_iter()
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
                .collect();
            hash_from(&pairs, lim, at, "hash zipmap (duplicate fields)")
        }
        types::HASH_ZIPLIST | types::HASH_LISTPACK => {
            let data = load_string(inp)?;
            let pairs = if t == types::HASH_LISTPACK {
                let lp =
                    Listpack::parse(&data).ok_or_else(|| Error::corrupt(at, "hash listpack"))?;
                pairs_of(&lp.iter().collect::<Vec<_>>())
            } else {
                let zl =
                    ziplist_entries(&data).ok_or_else(|| Error::corrupt(at, "hash ziplist"))?;
                pairs_of(&zl)
            }
            .ok_or_else(|| Error::corrupt(at, "hash pairs"))?;
            hash_from(&pairs, lim, at, "hash (duplicate fields)")
        }
        types::MODULE | types::MODULE_2 => Err(Error::new(
            at,
            ErrorKind::Unsupported(format!("module value (object type {t})")),
        )),
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 => Err(Error::new(
            at,
            ErrorKind::Unsupported(format!("stream value (object type {t})")),
        )),
        _ => Err(Error::corrupt(at.saturating_sub(1), "object type")),
    }
}

/// Reads one value: its type byte, then its body (what `encode_value`
/// writes), with the encodings `lim` calls for. Bytes after the value are
/// ignored, as RESTORE ignores them.
pub fn decode_value(b: &[u8], lim: &EncLimits) -> Result<Value, Error> {
    let mut inp = SliceInput::new(b);
    let t = inp.u8()?;
    if !types::is_object(t) {
        return Err(Error::corrupt(0, "object type"));
    }
    load_value(&mut inp, t, lim)
}

/// RESTORE's reading of a DUMP payload (verifyDumpPayload, then the value),
/// with Redis's default encoding thresholds.
pub fn restore_payload(p: &[u8]) -> Result<Value, Error> {
    restore_payload_with(p, &EncLimits::default())
}

/// `restore_payload` with the thresholds in force (hash-max-listpack-entries
/// ...). A footer that is too short, of an RDB version above 10 or with a
/// wrong CRC64 is `ErrorKind::PayloadFooter`.
pub fn restore_payload_with(p: &[u8], lim: &EncLimits) -> Result<Value, Error> {
    if p.len() < 10 {
        return Err(Error::new(0, ErrorKind::PayloadFooter));
    }
    let body_end = p.len() - 10;
    let footer = &p[body_end..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(Error::new(body_end as u64, ErrorKind::PayloadFooter));
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&footer[2..]);
    if crc64(&p[..p.len() - 8]) != u64::from_le_bytes(crc) {
        return Err(Error::new(body_end as u64 + 2, ErrorKind::PayloadFooter));
    }
    decode_value(&p[..body_end], lim)
}
