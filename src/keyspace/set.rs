//! The set type, in Redis 7.0's two encodings:
//!
//! - `intset` (compact): while every member is an integer as Redis's
//!   string2ll reads it (canonical decimal that fits an i64) and the set has
//!   at most `set-max-intset-entries` members (capped at 2^30 like Redis).
//!   The integers are kept sorted in one packed array, each stored in the
//!   smallest width (2, 4 or 8 bytes, little-endian) that holds every member,
//!   so SMEMBERS answers in ascending order like Redis. Up to 21 bytes (ten
//!   16-bit members) are held inside the `Set` itself, with no allocation.
//! - `hashtable`: an insertion-ordered hash set of compact byte strings.
//!
//! The conversion is one-way, as in Redis (a removal never brings an
//! intset back; only commands that build a new set, like SPOP's rebuild or
//! the *STORE commands, start again from an intset). Redis 7.0 has no
//! listpack sets.
//!
//! Intset layout: `len` members of `width` bytes each, ascending, no header
//! (width and length live beside the bytes). Like Redis's, the width only
//! grows.

use super::digest::{xor_digest, Sum};
use super::value::parse_i64;
use super::{CBytes, EncLimits, Hasher};

/// The large encoding.
pub type SetTable = indexmap::IndexSet<CBytes, Hasher>;

/// Intset bytes held in place.
const INLINE: usize = 21;

/// Redis caps set-max-intset-entries at 2^30 (intset internals).
const INTSET_MAX: usize = 1 << 30;

#[derive(Clone, Debug, PartialEq)]
enum Ints {
    Inline {
        width: u8,
        len: u8,
        data: [u8; INLINE],
    },
    Heap {
        width: u8,
        buf: Box<[u8]>,
    },
}

/// A sorted packed array of integers (Redis's intset).
#[derive(Clone, Debug, PartialEq)]
pub struct IntSet(Ints);

fn width_for(v: i64) -> u8 {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

fn decode(b: &[u8]) -> i64 {
    match *b {
        [a, b] => i64::from(i16::from_le_bytes([a, b])),
        [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
        [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => 0,
    }
}

fn encode(out: &mut Vec<u8>, v: i64, width: u8) {
    out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet(Ints::Inline {
            width: 2,
            len: 0,
            data: [0; INLINE],
        })
    }
}

impl IntSet {
    pub fn new() -> IntSet {
        IntSet::default()
    }

    /// Bytes per member: 2, 4 or 8.
    pub fn width(&self) -> u8 {
        match &self.0 {
            Ints::Inline { width, .. } | Ints::Heap { width, .. } => *width,
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.0 {
            Ints::Inline { len, data, .. } => &data[..*len as usize],
            Ints::Heap { buf, .. } => buf,
        }
    }

    fn set_bytes(&mut self, width: u8, b: Vec<u8>) {
        self.0 = if b.len() <= INLINE {
            let mut data = [0; INLINE];
            data[..b.len()].copy_from_slice(&b);
            Ints::Inline {
                width,
                len: b.len() as u8,
                data,
            }
        } else {
            Ints::Heap {
                width,
                buf: b.into_boxed_slice(),
            }
        };
    }

    pub fn len(&self) -> usize {
        self.bytes().len() / self.width() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    pub fn get(&self, i: usize) -> Option<i64> {
        let w = self.width() as usize;
        let start = i.checked_mul(w)?;
        self.bytes().get(start..start + w).map(decode)
    }

    /// Binary search: Ok(position) when present, Err(insertion point).
    pub fn find(&self, v: i64) -> Result<usize, usize> {
        if width_for(v) > self.width() {
            // Outside the range of every member.
            return Err(if v < 0 { 0 } else { self.len() });
        }
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(m) if m < v => lo = mid + 1,
                Some(m) if m > v => hi = mid,
                Some(_) => return Ok(mid),
                None => break,
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        self.find(v).is_ok()
    }

    /// Adds `v`; false when it was there already. Widens every member when
    /// `v` needs more bytes (Redis's intsetUpgradeAndAdd).
    pub fn insert(&mut self, v: i64) -> bool {
        let w = self.width();
        let need = width_for(v);
        if need > w {
            let mut out = Vec::with_capacity((self.len() + 1) * need as usize);
            if v < 0 {
                encode(&mut out, v, need);
            }
            for m in self.iter() {
                encode(&mut out, m, need);
            }
            if v >= 0 {
                encode(&mut out, v, need);
            }
            self.set_bytes(need, out);
            return true;
        }
        let Err(pos) = self.find(v) else {
            return false;
        };
        let b = self.bytes();
        let at = pos * w as usize;
        let mut out = Vec::with_capacity(b.len() + w as usize);
        out.extend_from_slice(&b[..at]);
        encode(&mut out, v, w);
        out.extend_from_slice(&b[at..]);
        self.set_bytes(w, out);
        true
    }

    /// Removes the member at position `i`; returns it.
    pub fn remove_at(&mut self, i: usize) -> Option<i64> {
        let v = self.get(i)?;
        let w = self.width();
        let b = self.bytes();
        let at = i * w as usize;
        let mut out = Vec::with_capacity(b.len() - w as usize);
        out.extend_from_slice(&b[..at]);
        out.extend_from_slice(&b[at + w as usize..]);
        self.set_bytes(w, out);
        Some(v)
    }

    pub fn remove(&mut self, v: i64) -> bool {
        match self.find(v) {
            Ok(i) => self.remove_at(i).is_some(),
            Err(_) => false,
        }
    }

    /// The members, ascending.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.bytes().chunks_exact(self.width() as usize).map(decode)
    }

    /// An intset of `ints` (any order, repeats allowed), in the smallest width.
    pub fn from_ints(ints: impl IntoIterator<Item = i64>) -> IntSet {
        let mut v: Vec<i64> = ints.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        let width = v.iter().map(|&x| width_for(x)).max().unwrap_or(2);
        let mut out = Vec::with_capacity(v.len() * width as usize);
        for x in v {
            encode(&mut out, x, width);
        }
        let mut s = IntSet::new();
        s.set_bytes(width, out);
        s
    }

    /// Redis's intset blob (RDB_TYPE_SET_INTSET, DEBUG): encoding (u32 LE,
    /// the width), length (u32 LE), then the members LE.
    pub fn to_blob(&self) -> Vec<u8> {
        let b = self.bytes();
        let mut out = Vec::with_capacity(8 + b.len());
        out.extend_from_slice(&u32::from(self.width()).to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
        out
    }

    /// Reads Redis's intset blob; None unless it is well formed (a known
    /// width, the length matching the bytes, members strictly ascending).
    pub fn from_blob(blob: &[u8]) -> Option<IntSet> {
        let enc = u32::from_le_bytes(blob.get(0..4)?.try_into().ok()?);
        let len = u32::from_le_bytes(blob.get(4..8)?.try_into().ok()?) as usize;
        let width: u8 = match enc {
            2 => 2,
            4 => 4,
            8 => 8,
            _ => return None,
        };
        let body = blob.get(8..)?;
        if len.checked_mul(width as usize)? != body.len() {
            return None;
        }
        let mut prev: Option<i64> = None;
        for c in body.chunks_exact(width as usize) {
            let v = decode(c);
            if prev.is_some_and(|p| p >= v) {
                return None;
            }
            prev = Some(v);
        }
        let mut s = IntSet::new();
        s.set_bytes(width, body.to_vec());
        Some(s)
    }

    fn heap_size(&self) -> usize {
        match &self.0 {
            Ints::Inline { .. } => 0,
            Ints::Heap { buf, .. } => buf.len(),
        }
    }
}

/// A member as the encoding holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Member<'_> {
    /// Calls `f` with the member's bytes (an integer in decimal).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Int(v) => f(itoa::Buffer::new().format(v).as_bytes()),
            Member::Str(s) => f(s),
        }
    }

    pub fn to_cbytes(&self) -> CBytes {
        self.with_bytes(CBytes::new)
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Set {
    Intset(IntSet),
    Table(Box<SetTable>),
}

const _: () = assert!(std::mem::size_of::<Set>() == 24);

impl Default for Set {
    fn default() -> Self {
        Set::Intset(IntSet::new())
    }
}

/// The members of a set: ascending integers, or the table's order.
pub enum SetIter<'a> {
    Intset(std::slice::ChunksExact<'a, u8>),
    Table(indexmap::set::Iter<'a, CBytes>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            SetIter::Intset(it) => it.next().map(|b| Member::Int(decode(b))),
            SetIter::Table(it) => it.next().map(|m| Member::Str(m.as_bytes())),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            SetIter::Intset(it) => it.size_hint(),
            SetIter::Table(it) => it.size_hint(),
        }
    }
}

fn maybe_shrink(t: &mut SetTable) {
    if t.capacity() > 64 && t.len() * 10 < t.capacity() {
        t.shrink_to_fit();
    }
}

impl Set {
    /// An empty intset (what Redis's createIntsetObject gives).
    pub fn new() -> Set {
        Set::default()
    }

    /// An empty table with room for `capacity` members.
    pub fn new_table(capacity: usize) -> Set {
        Set::Table(Box::new(SetTable::with_capacity_and_hasher(
            capacity,
            Hasher::default(),
        )))
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset(s) => s.len(),
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING's name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    /// The integers, when the set is an intset (RDB's intset encoding).
    pub fn intset(&self) -> Option<&IntSet> {
        match self {
            Set::Intset(s) => Some(s),
            Set::Table(_) => None,
        }
    }

    /// Heap bytes owned (estimate: allocations, not allocator overhead).
    pub fn heap_size(&self) -> usize {
        match self {
            Set::Intset(s) => s.heap_size(),
            Set::Table(t) => {
                let slots = t.capacity();
                std::mem::size_of::<SetTable>()
                    + slots * (8 + std::mem::size_of::<CBytes>())
                    + slots * 9
                    + t.iter().map(CBytes::heap_size).sum::<usize>()
            }
        }
    }

    /// DEBUG DIGEST contents, as Redis's xorObjectDigest: every member (an
    /// integer in decimal) xored in.
    pub fn digest(&self, d: &mut Sum) {
        for m in self.iter() {
            m.with_bytes(|b| xor_digest(d, b));
        }
    }

    pub fn iter(&self) -> SetIter<'_> {
        match self {
            Set::Intset(s) => SetIter::Intset(s.bytes().chunks_exact(s.width() as usize)),
            Set::Table(t) => SetIter::Table(t.iter()),
        }
    }

    /// The member at position `i` of `iter()`, in O(1).
    pub fn get_index(&self, i: usize) -> Option<Member<'_>> {
        match self {
            Set::Intset(s) => s.get(i).map(Member::Int),
            Set::Table(t) => t.get_index(i).map(|m| Member::Str(m.as_bytes())),
        }
    }

    /// Removes the member at position `i` of `iter()` and returns its bytes.
    pub fn take_index(&mut self, i: usize) -> Option<CBytes> {
        match self {
            Set::Intset(s) => s.remove_at(i).map(|v| Member::Int(v).to_cbytes()),
            Set::Table(t) => {
                let m = t.swap_remove_index(i);
                maybe_shrink(t);
                m
            }
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Intset(s) => parse_i64(m).is_some_and(|v| s.contains(v)),
            Set::Table(t) => t.contains(m),
        }
    }

    /// Membership of a member of another set, with no formatting when both
    /// hold integers.
    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match (self, m) {
            (Set::Intset(s), Member::Int(v)) => s.contains(v),
            (_, m) => m.with_bytes(|b| self.contains(b)),
        }
    }

    /// Converts an intset to a table (Redis's setTypeConvert).
    pub fn convert(&mut self) {
        if let Set::Intset(s) = self {
            let mut t = SetTable::with_capacity_and_hasher(s.len(), Hasher::default());
            for v in s.iter() {
                t.insert(Member::Int(v).to_cbytes());
            }
            *self = Set::Table(Box::new(t));
        }
    }

    /// Adds `m` (Redis's setTypeAdd); false when it was a member already.
    /// An intset becomes a table on a non-integer member or when it passes
    /// set-max-intset-entries.
    pub fn add(&mut self, m: &[u8], limits: &EncLimits) -> bool {
        match self {
            Set::Intset(s) => match parse_i64(m) {
                Some(v) => {
                    if !s.insert(v) {
                        return false;
                    }
                    if s.len() > limits.set_intset_entries.min(INTSET_MAX) {
                        self.convert();
                    }
                    true
                }
                None => {
                    self.convert();
                    if let Set::Table(t) = self {
                        t.insert(CBytes::new(m));
                    }
                    true
                }
            },
            Set::Table(t) => {
                if t.contains(m) {
                    false
                } else {
                    t.insert(CBytes::new(m))
                }
            }
        }
    }

    /// `add` for a member of another set.
    pub fn add_member(&mut self, m: Member<'_>, limits: &EncLimits) -> bool {
        match (&mut *self, m) {
            (Set::Intset(s), Member::Int(v)) => {
                if !s.insert(v) {
                    return false;
                }
                if s.len() > limits.set_intset_entries.min(INTSET_MAX) {
                    self.convert();
                }
                true
            }
            (_, m) => m.with_bytes(|b| self.add(b, limits)),
        }
    }

    /// Removes `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Intset(s) => parse_i64(m).is_some_and(|v| s.remove(v)),
            Set::Table(t) => {
                let found = t.swap_remove(m);
                if found {
                    maybe_shrink(t);
                }
                found
            }
        }
    }

    /// A set of `members` with the encoding Redis would give it after adding
    /// them one by one (RDB loading, RESTORE); repeats count once.
    pub fn from_members<'a>(
        members: impl IntoIterator<Item = &'a [u8]>,
        limits: &EncLimits,
    ) -> Set {
        let members: Vec<&[u8]> = members.into_iter().collect();
        let ints: Option<Vec<i64>> = members.iter().map(|m| parse_i64(m)).collect();
        if let Some(ints) = ints {
            let s = IntSet::from_ints(ints);
            if s.len() <= limits.set_intset_entries.min(INTSET_MAX) {
                return Set::Intset(s);
            }
        }
        let mut t = SetTable::with_capacity_and_hasher(members.len(), Hasher::default());
        for m in members {
            if !t.contains(m) {
                t.insert(CBytes::new(m));
            }
        }
        Set::Table(Box::new(t))
    }

    /// A set of integers (RDB's intset encoding), converted like `add` would.
    pub fn from_ints(ints: impl IntoIterator<Item = i64>, limits: &EncLimits) -> Set {
        let mut s = Set::Intset(IntSet::from_ints(ints));
        if s.len() > limits.set_intset_entries.min(INTSET_MAX) {
            s.convert();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::digest::{hex, mix_digest};
    use crate::keyspace::value::TYPE_SET;

    fn lim(n: usize) -> EncLimits {
        EncLimits {
            set_intset_entries: n,
            ..EncLimits::default()
        }
    }

    fn members(s: &Set) -> Vec<Vec<u8>> {
        s.iter().map(|m| m.to_vec()).collect()
    }

    fn digest_value(s: &Set) -> String {
        let mut d = [0u8; 20];
        mix_digest(&mut d, &TYPE_SET.to_be_bytes());
        s.digest(&mut d);
        hex(&d)
    }

    #[test]
    fn intset_sorted_and_widening() {
        let mut s = IntSet::new();
        for v in [5, -3, 100, 5, 0] {
            s.insert(v);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![-3, 0, 5, 100]);
        assert_eq!(s.width(), 2);
        assert!(s.insert(70000));
        assert_eq!(s.width(), 4);
        assert!(s.insert(-(1 << 40)));
        assert_eq!(s.width(), 8);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![-(1 << 40), -3, 0, 5, 100, 70000]
        );
        assert!(s.contains(70000));
        assert!(!s.contains(1 << 50));
        assert!(!s.contains(i64::MIN));
        assert!(s.remove(-(1 << 40)));
        // The width never shrinks.
        assert_eq!(s.width(), 8);
        assert!(!s.remove(12345));
        assert_eq!(s.len(), 5);
        assert!(s.insert(i64::MAX));
        assert!(s.insert(i64::MIN));
        assert_eq!(s.get(0), Some(i64::MIN));
        assert_eq!(s.get(6), Some(i64::MAX));
        assert_eq!(s.get(7), None);
        // Ten small members stay in place; more go to the heap.
        let s = IntSet::from_ints(0..10);
        assert_eq!(s.heap_size(), 0);
        let s = IntSet::from_ints(0..11);
        assert_eq!(s.heap_size(), 22);
    }

    #[test]
    fn intset_blob_round_trip() {
        let s = IntSet::from_ints([3, 1, 2, 1]);
        let b = s.to_blob();
        assert_eq!(b, [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]);
        assert_eq!(IntSet::from_blob(&b), Some(s));
        assert_eq!(IntSet::from_blob(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]), None);
        assert_eq!(
            IntSet::from_blob(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]),
            None
        );
        assert_eq!(IntSet::from_blob(&[3, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(IntSet::from_blob(&[2, 0, 0]), None);
        let s = IntSet::from_ints([-1, 1 << 40]);
        assert_eq!(IntSet::from_blob(&s.to_blob()), Some(s));
    }

    #[test]
    fn encodings_like_redis() {
        let l = lim(3);
        let mut s = Set::new();
        assert!(s.add(b"1", &l));
        assert!(!s.add(b"1", &l));
        assert!(s.add(b"-2", &l));
        assert!(s.add(b"3", &l));
        assert_eq!(s.encoding(), "intset");
        assert_eq!(
            members(&s),
            vec![b"-2".to_vec(), b"1".to_vec(), b"3".to_vec()]
        );
        assert!(s.add(b"4", &l));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"4") && s.contains(b"-2"));
        assert!(s.remove(b"4") && s.remove(b"3"));
        assert_eq!(s.encoding(), "hashtable");
        // Not integers as string2ll reads them.
        for m in [
            &b"01"[..],
            b"+1",
            b" 1",
            b"1.0",
            b"9223372036854775808",
            b"",
            b"-0",
        ] {
            let mut s = Set::new();
            s.add(b"7", &l);
            s.add(m, &l);
            assert_eq!(s.encoding(), "hashtable", "{:?}", m);
            assert!(s.contains(m) && s.contains(b"7"));
            assert!(!s.contains(b"8"));
        }
        let mut s = Set::new();
        s.add(b"9223372036854775807", &l);
        assert_eq!(s.encoding(), "intset");
        assert!(s.contains(b"9223372036854775807"));
        assert!(!s.contains(b"09223372036854775807"));
        // Zero entries allowed: always a table.
        let mut s = Set::new();
        s.add(b"1", &lim(0));
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn take_and_members() {
        let l = EncLimits::default();
        let mut s = Set::from_members([&b"3"[..], b"1", b"2"], &l);
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.take_index(0), Some(CBytes::new(b"1")));
        assert_eq!(s.take_index(5), None);
        assert_eq!(s.len(), 2);
        let mut t = Set::from_members([&b"a"[..], b"b", b"a", b"1"], &l);
        assert_eq!(t.encoding(), "hashtable");
        assert_eq!(t.len(), 3);
        assert!(t.contains_member(Member::Int(1)));
        assert!(!s.contains_member(Member::Str(b"a")));
        assert!(s.contains_member(Member::Str(b"3")));
        assert!(t.take_index(0).is_some());
        assert_eq!(t.len(), 2);
        // from_members picks the encoding the adds would.
        let many: Vec<Vec<u8>> = (0..600).map(|i: i32| i.to_string().into_bytes()).collect();
        let s = Set::from_members(many.iter().map(|m| &m[..]), &l);
        assert_eq!(s.encoding(), "hashtable");
        let s = Set::from_members(many[..512].iter().map(|m| &m[..]), &l);
        assert_eq!(s.encoding(), "intset");
        let s2 = Set::from_ints(s.intset().unwrap().iter(), &l);
        assert_eq!(s2, s);
        assert_eq!(Set::from_ints(0..600, &l).encoding(), "hashtable");
    }

    // Vectors from redis-server 7.0.15 (DEBUG DIGEST-VALUE).
    #[test]
    fn digest_matches_redis() {
        let l = EncLimits::default();
        let s = Set::from_members([&b"1"[..], b"2", b"3"], &l);
        assert_eq!(digest_value(&s), "2a462a3f51a1db89738ebbeef0c47ce1bbc85246");
        let mut s2 = s.clone();
        s2.convert();
        assert_eq!(
            digest_value(&s2),
            "2a462a3f51a1db89738ebbeef0c47ce1bbc85246"
        );
        let s = Set::from_members([&b"a"[..], b"b", b"c"], &l);
        assert_eq!(digest_value(&s), "593c2414786d75446e97f4ea5d4b731f3313da72");
        let s = Set::from_members([&b"-5"[..], b"100000", b"abc"], &l);
        assert_eq!(digest_value(&s), "2fb13a9f5a0859280ac6c53090c480520cc4de15");
    }
}
