//! The hash type, in Redis 7.0's two encodings:
//!
//! - `listpack` (compact): while the hash has at most
//!   `hash-max-listpack-entries` fields and every field and value is at most
//!   `hash-max-listpack-value` bytes. Fields and values live in one
//!   contiguous byte buffer, in insertion order (an update replaces the value
//!   in place, a delete closes the gap), exactly the order Redis's listpack
//!   keeps, so HGETALL and friends answer in the same order.
//! - `hashtable`: an insertion-ordered hash map keyed by compact byte strings.
//!
//! The conversion is one-way, as in Redis: a hash that became a table stays
//! one even when it shrinks.
//!
//! Listpack buffer layout (no header; the field count is kept beside the
//! buffer, so `Hash` stays 24 bytes):
//!
//! ```text
//! entry* ; entry = len:varint bytes:[u8; len] ; entries alternate field, value
//! varint = LEB128: 7 bits per byte, least significant first, high bit = more
//! ```
//!
//! A field or value of up to 127 bytes costs one byte of overhead (Redis's
//! listpack spends two: encoding and back-length).

use super::digest::{mix_digest, xor_digest, Sum};
use super::{CBytes, EncLimits, Map};

/// Beyond this many bytes a listpack converts to a table whatever the
/// thresholds say (Redis's LISTPACK_MAX_SAFETY_SIZE, checked by lpSafeToAdd).
pub const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// The large encoding: field -> value.
pub type HashTable = Map<CBytes, CBytes>;

#[derive(Clone, Debug, PartialEq)]
pub enum Hash {
    /// `count` field/value pairs in `buf` (layout above).
    Listpack {
        count: u32,
        buf: Box<[u8]>,
    },
    Table(Box<HashTable>),
}

const _: () = assert!(std::mem::size_of::<Hash>() == 24);

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack {
            count: 0,
            buf: Box::default(),
        }
    }
}

// ---------- the listpack buffer ----------

fn varint_size(mut n: usize) -> usize {
    let mut s = 1;
    while n >= 0x80 {
        n >>= 7;
        s += 1;
    }
    s
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The entry at `pos`: its bytes and the position after it. None past the
/// end (or on a malformed buffer, which the code never builds).
fn entry_at(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let mut n: usize = 0;
    let mut shift = 0u32;
    let mut p = pos;
    loop {
        let b = *buf.get(p)?;
        p += 1;
        if shift > 56 {
            return None;
        }
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let end = p.checked_add(n)?;
    Some((buf.get(p..end)?, end))
}

/// Where `field` is: (start of the field entry, start of the value entry,
/// end of the value entry).
fn lp_find(buf: &[u8], field: &[u8]) -> Option<(usize, usize, usize)> {
    let mut pos = 0;
    while pos < buf.len() {
        let (f, vpos) = entry_at(buf, pos)?;
        let (_, end) = entry_at(buf, vpos)?;
        if f == field {
            return Some((pos, vpos, end));
        }
        pos = end;
    }
    None
}

/// Replaces `buf[start..end]` with `with`.
fn splice(buf: &mut Box<[u8]>, start: usize, end: usize, with: &[u8]) {
    if end - start == with.len() {
        buf[start..end].copy_from_slice(with);
        return;
    }
    let mut v = Vec::with_capacity(buf.len() - (end - start) + with.len());
    v.extend_from_slice(&buf[..start]);
    v.extend_from_slice(with);
    v.extend_from_slice(&buf[end..]);
    *buf = v.into_boxed_slice();
}

fn lp_append(buf: &mut Box<[u8]>, field: &[u8], value: &[u8]) {
    let extra = varint_size(field.len()) + field.len() + varint_size(value.len()) + value.len();
    let mut v = std::mem::take(buf).into_vec();
    v.reserve_exact(extra);
    put_varint(&mut v, field.len());
    v.extend_from_slice(field);
    put_varint(&mut v, value.len());
    v.extend_from_slice(value);
    *buf = v.into_boxed_slice();
}

/// Field/value pairs of a listpack buffer, in order.
#[derive(Clone)]
pub struct LpIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LpIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let (f, p) = entry_at(self.buf, self.pos)?;
        let (v, p) = entry_at(self.buf, p)?;
        self.pos = p;
        Some((f, v))
    }
}

/// Field/value pairs of a hash: listpack order, or the table's order.
pub enum HashIter<'a> {
    Listpack(LpIter<'a>),
    Table(indexmap::map::Iter<'a, CBytes, CBytes>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(it) => it.next(),
            HashIter::Table(it) => it.next().map(|(f, v)| (f.as_bytes(), v.as_bytes())),
        }
    }
}

/// Redis's htNeedsResize + dictResize after a delete: give memory back
/// when a table is less than a tenth full.
fn maybe_shrink(t: &mut HashTable) {
    if t.capacity() > 64 && t.len() * 10 < t.capacity() {
        t.shrink_to_fit();
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack { count, .. } => *count as usize,
            Hash::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING's name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack { .. } => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self, Hash::Listpack { .. })
    }

    /// Heap bytes owned (estimate: allocations, not allocator overhead).
    pub fn heap_size(&self) -> usize {
        match self {
            Hash::Listpack { buf, .. } => buf.len(),
            Hash::Table(t) => {
                let slots = t.capacity();
                std::mem::size_of::<HashTable>()
                    + slots * (8 + 2 * std::mem::size_of::<CBytes>())
                    + slots * 9
                    + t.iter()
                        .map(|(f, v)| f.heap_size() + v.heap_size())
                        .sum::<usize>()
            }
        }
    }

    /// DEBUG DIGEST contents, as Redis's xorObjectDigest: for every pair,
    /// a zeroed element digest mixed with the field then the value, xored in.
    pub fn digest(&self, d: &mut Sum) {
        for (f, v) in self.iter() {
            let mut e = [0u8; 20];
            mix_digest(&mut e, f);
            mix_digest(&mut e, v);
            xor_digest(d, &e);
        }
    }

    /// Every field/value pair, in the encoding's order.
    pub fn iter(&self) -> HashIter<'_> {
        match self {
            Hash::Listpack { buf, .. } => HashIter::Listpack(LpIter { buf, pos: 0 }),
            Hash::Table(t) => HashIter::Table(t.iter()),
        }
    }

    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        self.iter().map(|(f, _)| f)
    }

    pub fn values(&self) -> impl Iterator<Item = &[u8]> {
        self.iter().map(|(_, v)| v)
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack { buf, .. } => {
                let (_, vpos, _) = lp_find(buf, field)?;
                entry_at(buf, vpos).map(|(v, _)| v)
            }
            Hash::Table(t) => t.get(field).map(|v| v.as_bytes()),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack { buf, .. } => lp_find(buf, field).is_some(),
            Hash::Table(t) => t.contains_key(field),
        }
    }

    /// The pair at position `i` of `iter()`: O(1) for a table, a walk for a
    /// listpack.
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack { .. } => self.iter().nth(i),
            Hash::Table(t) => t.get_index(i).map(|(f, v)| (f.as_bytes(), v.as_bytes())),
        }
    }

    /// Converts a listpack to a table (Redis's hashTypeConvert); a table
    /// stays as it is.
    pub fn convert(&mut self) {
        if let Hash::Listpack { count, buf } = self {
            let mut t = HashTable::with_capacity_and_hasher(*count as usize, Default::default());
            for (f, v) in (LpIter { buf, pos: 0 }) {
                t.insert(CBytes::new(f), CBytes::new(v));
            }
            *self = Hash::Table(Box::new(t));
        }
    }

    /// Redis's hashTypeTryConversion, before a write of `args` (fields and
    /// values): a listpack becomes a table when one of them is longer than
    /// hash-max-listpack-value, or when the buffer would pass the listpack
    /// safety size.
    pub fn prepare_for<'a>(
        &mut self,
        args: impl IntoIterator<Item = &'a [u8]>,
        limits: &EncLimits,
    ) {
        let Hash::Listpack { buf, .. } = self else {
            return;
        };
        let have = buf.len();
        let mut sum = 0usize;
        for a in args {
            if a.len() > limits.hash_value {
                self.convert();
                return;
            }
            sum = sum.saturating_add(a.len());
        }
        if have.saturating_add(sum) > LISTPACK_MAX_SAFETY_SIZE {
            self.convert();
        }
    }

    /// Sets `field` to `value` (Redis's hashTypeSet): true when the field is
    /// new, false when it was updated. Converts to a table when a string is
    /// longer than hash-max-listpack-value or the count passes
    /// hash-max-listpack-entries.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &EncLimits) -> bool {
        if self.is_listpack()
            && (field.len() > limits.hash_value || value.len() > limits.hash_value)
        {
            self.convert();
        }
        match self {
            Hash::Listpack { count, buf } => {
                if let Some((_, vpos, end)) = lp_find(buf, field) {
                    let mut e = Vec::with_capacity(varint_size(value.len()) + value.len());
                    put_varint(&mut e, value.len());
                    e.extend_from_slice(value);
                    splice(buf, vpos, end, &e);
                    return false;
                }
                lp_append(buf, field, value);
                *count += 1;
                if *count as usize > limits.hash_entries || buf.len() > LISTPACK_MAX_SAFETY_SIZE {
                    self.convert();
                }
                true
            }
            Hash::Table(t) => match t.get_mut(field) {
                Some(v) => {
                    *v = CBytes::new(value);
                    false
                }
                None => {
                    t.insert(CBytes::new(field), CBytes::new(value));
                    true
                }
            },
        }
    }

    /// Deletes `field`; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack { count, buf } => match lp_find(buf, field) {
                Some((start, _, end)) => {
                    splice(buf, start, end, &[]);
                    *count -= 1;
                    true
                }
                None => false,
            },
            Hash::Table(t) => {
                let found = t.swap_remove(field).is_some();
                if found {
                    maybe_shrink(t);
                }
                found
            }
        }
    }

    /// A hash of `pairs` with the encoding Redis would give it after adding
    /// them one by one (RDB loading, RESTORE): a repeated field keeps its
    /// last value.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        limits: &EncLimits,
    ) -> Hash {
        let pairs = pairs.into_iter();
        let hint = pairs.size_hint().0;
        let mut h = if hint > limits.hash_entries {
            Hash::new_table(hint.min(1 << 20))
        } else {
            Hash::new()
        };
        for (f, v) in pairs {
            h.set(f, v, limits);
        }
        h
    }

    /// A hash that is a table from the start (used when the caller knows the
    /// result must not be a listpack).
    pub fn new_table(capacity: usize) -> Hash {
        Hash::Table(Box::new(HashTable::with_capacity_and_hasher(
            capacity,
            Default::default(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::digest::hex;
    use crate::keyspace::value::TYPE_HASH;

    fn lim(entries: usize, value: usize) -> EncLimits {
        EncLimits {
            hash_entries: entries,
            hash_value: value,
            ..EncLimits::default()
        }
    }

    fn pairs(h: &Hash) -> Vec<(Vec<u8>, Vec<u8>)> {
        h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()
    }

    fn digest_value(h: &Hash) -> String {
        let mut d = [0u8; 20];
        mix_digest(&mut d, &TYPE_HASH.to_be_bytes());
        h.digest(&mut d);
        hex(&d)
    }

    #[test]
    fn varints() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, 1 << 30] {
            let mut v = Vec::new();
            put_varint(&mut v, n);
            assert_eq!(v.len(), varint_size(n), "{n}");
            v.resize(v.len() + n.min(1000), b'x');
            if n <= 1000 {
                let (e, end) = entry_at(&v, 0).unwrap();
                assert_eq!(e.len(), n);
                assert_eq!(end, v.len());
            }
        }
        // A truncated buffer is not an entry.
        assert!(entry_at(&[5, b'a'], 0).is_none());
        assert!(entry_at(&[0x80], 0).is_none());
    }

    #[test]
    fn listpack_keeps_insertion_order_and_updates_in_place() {
        let l = EncLimits::default();
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", &l));
        assert!(h.set(b"b", b"2", &l));
        assert!(h.set(b"c", b"3", &l));
        assert!(!h.set(b"a", b"a much longer value than before", &l));
        assert!(!h.set(b"b", b"", &l));
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.len(), 3);
        assert_eq!(
            pairs(&h),
            vec![
                (b"a".to_vec(), b"a much longer value than before".to_vec()),
                (b"b".to_vec(), b"".to_vec()),
                (b"c".to_vec(), b"3".to_vec())
            ]
        );
        assert_eq!(h.get(b"b"), Some(&b""[..]));
        assert_eq!(h.get(b"x"), None);
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.len(), 2);
        assert_eq!(h.get_index(1).map(|p| p.0), Some(&b"c"[..]));
        assert!(h.remove(b"a"));
        assert!(h.remove(b"c"));
        assert!(h.is_empty());
        assert_eq!(h.heap_size(), 0);
    }

    #[test]
    fn conversions_like_redis() {
        // Too many entries.
        let l = lim(2, 64);
        let mut h = Hash::new();
        h.set(b"a", b"1", &l);
        h.set(b"b", b"2", &l);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"c", b"3", &l);
        assert_eq!(h.encoding(), "hashtable");
        // One-way: it stays a table.
        h.remove(b"a");
        h.remove(b"b");
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 1);
        // A long value, or a long field.
        let l = lim(128, 4);
        let mut h = Hash::new();
        h.set(b"a", b"1234", &l);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"a", b"12345", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"a"), Some(&b"12345"[..]));
        let mut h = Hash::new();
        h.set(b"abcde", b"1", &l);
        assert_eq!(h.encoding(), "hashtable");
        // prepare_for converts before the write, even for strings not written.
        let mut h = Hash::new();
        h.set(b"a", b"1", &l);
        h.prepare_for([&b"x"[..], b"toolong"], &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"a"), Some(&b"1"[..]));
        // Zero entries allowed: always a table.
        let mut h = Hash::new();
        h.set(b"a", b"1", &lim(0, 64));
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn round_trip_through_pairs() {
        let l = EncLimits::default();
        let src: Vec<(Vec<u8>, Vec<u8>)> = (0..10)
            .map(|i| {
                (
                    format!("field:{i}").into_bytes(),
                    format!("{i}").into_bytes(),
                )
            })
            .collect();
        let h = Hash::from_pairs(src.iter().map(|(f, v)| (&f[..], &v[..])), &l);
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(pairs(&h), src);
        let big: Vec<(Vec<u8>, Vec<u8>)> = (0..1000)
            .map(|i| (format!("f{i}").into_bytes(), vec![b'v'; i % 100]))
            .collect();
        let h2 = Hash::from_pairs(big.iter().map(|(f, v)| (&f[..], &v[..])), &l);
        assert_eq!(h2.encoding(), "hashtable");
        assert_eq!(h2.len(), 1000);
        for (f, v) in &big {
            assert_eq!(h2.get(f), Some(&v[..]));
        }
        let again = Hash::from_pairs(h2.iter(), &l);
        assert_eq!(again, h2);
        // A compact buffer: ten small pairs fit in 1 + len bytes each.
        let Hash::Listpack { buf, .. } = &h else {
            panic!()
        };
        let expect: usize = src.iter().map(|(f, v)| 2 + f.len() + v.len()).sum();
        assert_eq!(buf.len(), expect);
    }

    // Vectors from redis-server 7.0.15 (DEBUG DIGEST-VALUE).
    #[test]
    fn digest_matches_redis() {
        let l = EncLimits::default();
        let mut h = Hash::new();
        h.set(b"f", b"v", &l);
        assert_eq!(digest_value(&h), "90c76e9e9f4c62d642a34fc97c7dad503b51f906");
        let mut h = Hash::new();
        h.set(b"a", b"1", &l);
        h.set(b"b", b"2", &l);
        h.set(b"", b"x", &l);
        assert_eq!(digest_value(&h), "3b1c9e5ebe5c121cf5bf50d25dcc636f29a61f99");
        // The encoding does not change it.
        h.convert();
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(digest_value(&h), "3b1c9e5ebe5c121cf5bf50d25dcc636f29a61f99");
    }
}
