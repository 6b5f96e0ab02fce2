//! Hash slots: `key -> slot` exactly as Redis Cluster computes it, and
//! [`SlotSet`], a 16384-bit set of slots.
//!
//! `slot = crc16_xmodem(tag) & 0x3FFF`, where `tag` is the part of the key
//! between the first `{` and the first `}` after it, when that part is not
//! empty; otherwise the whole key is hashed (`foo{}{bar}` hashes all of it,
//! `foo{{bar}}zap` hashes `{bar`, `foo{bar}{zap}` hashes `bar`).

use crc::{Crc, Table, CRC_16_XMODEM};

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: usize = 16384;

/// The one CRC16/XMODEM table (poly 0x1021, init 0, no reflection), built at
/// compile time; slice-by-16, since every command hashes its keys.
static CRC16: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_XMODEM);

/// CRC16/XMODEM of `data`, the checksum Redis Cluster hashes keys with.
#[inline]
pub fn crc16(data: &[u8]) -> u16 {
    CRC16.checksum(data)
}

/// The part of `key` that decides its slot: the hash tag when the key has a
/// non-empty one, else the whole key.
#[inline]
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|&b| b == b'{') else {
        return key;
    };
    let after = key.get(open + 1..).unwrap_or_default();
    match after.iter().position(|&b| b == b'}') {
        Some(len) if len > 0 => after.get(..len).unwrap_or(key),
        _ => key,
    }
}

/// The hash slot of `key`, as `CLUSTER KEYSLOT` reports it.
#[inline]
pub fn key_hash_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) & 0x3FFF
}

/// Parses a slot argument as Redis does (`getSlotOrReply`): a canonical
/// decimal integer (no sign, no leading zeros, no spaces) below 16384.
/// Anything else, negative numbers included, is `None`, which callers turn
/// into `ERR Invalid or out of range slot`.
pub fn parse_slot(arg: &[u8]) -> Option<u16> {
    if arg.is_empty() || arg.len() > 5 || !arg.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if arg.len() > 1 && arg.first() == Some(&b'0') {
        return None;
    }
    let value = arg
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    if (value as usize) < SLOTS {
        u16::try_from(value).ok()
    } else {
        None
    }
}

const WORDS: usize = SLOTS / 64;

/// Bytes of a slot bitmap on the cluster bus (16384 bits).
pub const SLOT_BITMAP_LEN: usize = SLOTS / 8;

/// A set of hash slots: a 16384-bit bitmap (2 KiB, boxed so that moving it
/// is cheap). Slots outside `0..16384` are never members.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SlotSet {
    words: Box<[u64; WORDS]>,
}

impl Default for SlotSet {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SlotSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotSet[")?;
        for (i, (start, end)) in self.ranges().enumerate() {
            if i > 0 {
                write!(f, " ")?;
            }
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        write!(f, "]")
    }
}

impl SlotSet {
    /// The empty set.
    pub fn new() -> Self {
        SlotSet {
            words: Box::new([0; WORDS]),
        }
    }

    /// All 16384 slots.
    pub fn full() -> Self {
        SlotSet {
            words: Box::new([u64::MAX; WORDS]),
        }
    }

    /// The slots of the inclusive ranges `(start, end)`; out-of-range parts
    /// are ignored.
    pub fn from_ranges(ranges: &[(u16, u16)]) -> Self {
        let mut set = SlotSet::new();
        for &(start, end) in ranges {
            set.insert_range(start, end);
        }
        set
    }

    #[inline]
    fn locate(slot: u16) -> (usize, u64) {
        (usize::from(slot) / 64, 1u64 << (slot % 64))
    }

    /// Whether `slot` is in the set.
    #[inline]
    pub fn contains(&self, slot: u16) -> bool {
        let (word, bit) = Self::locate(slot);
        self.words.get(word).is_some_and(|w| w & bit != 0)
    }

    /// Adds `slot`; true if it was not there before (false for slots out of
    /// range).
    #[inline]
    pub fn insert(&mut self, slot: u16) -> bool {
        let (word, bit) = Self::locate(slot);
        match self.words.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }

    /// Removes `slot`; true if it was there.
    #[inline]
    pub fn remove(&mut self, slot: u16) -> bool {
        let (word, bit) = Self::locate(slot);
        match self.words.get_mut(word) {
            Some(w) if *w & bit != 0 => {
                *w &= !bit;
                true
            }
            _ => false,
        }
    }

    /// Adds every slot of the inclusive range `start..=end` (clipped to the
    /// slot space; nothing if `start > end`).
    pub fn insert_range(&mut self, start: u16, end: u16) {
        let end = end.min((SLOTS - 1) as u16);
        if start > end {
            return;
        }
        for slot in start..=end {
            self.insert(slot);
        }
    }

    /// Number of slots in the set.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Whether all 16384 slots are in the set.
    pub fn is_full(&self) -> bool {
        self.words.iter().all(|&w| w == u64::MAX)
    }

    pub fn clear(&mut self) {
        self.words.fill(0);
    }

    /// The slots in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let base = (i * 64) as u16;
            BitIter(word).map(move |bit| base + bit)
        })
    }

    /// The set as maximal inclusive ranges `(start, end)`, ascending.
    pub fn ranges(&self) -> Ranges<'_> {
        Ranges { set: self, next: 0 }
    }

    /// The set as Redis's 2048-byte slot bitmap (`clusterNode.slots`, the
    /// bus messages' `myslots`): slot `j` is bit `j & 7` of byte `j / 8`.
    pub fn to_bitmap(&self) -> [u8; SLOT_BITMAP_LEN] {
        let mut out = [0u8; SLOT_BITMAP_LEN];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.words.iter()) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// The set a Redis slot bitmap describes (see [`SlotSet::to_bitmap`]);
    /// bytes past 2048 are ignored, missing ones are empty.
    pub fn from_bitmap(bitmap: &[u8]) -> SlotSet {
        let mut set = SlotSet::new();
        for (word, chunk) in set.words.iter_mut().zip(bitmap.chunks(8)) {
            let mut bytes = [0u8; 8];
            for (b, c) in bytes.iter_mut().zip(chunk) {
                *b = *c;
            }
            *word = u64::from_le_bytes(bytes);
        }
        set
    }
}

impl FromIterator<u16> for SlotSet {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut set = SlotSet::new();
        for slot in iter {
            set.insert(slot);
        }
        set
    }
}

/// The set bits of one word, lowest first.
struct BitIter(u64);

impl Iterator for BitIter {
    type Item = u16;

    #[inline]
    fn next(&mut self) -> Option<u16> {
        if self.0 == 0 {
            return None;
        }
        let bit = self.0.trailing_zeros() as u16;
        self.0 &= self.0 - 1;
        Some(bit)
    }
}

/// Iterator over the maximal inclusive ranges of a [`SlotSet`].
pub struct Ranges<'a> {
    set: &'a SlotSet,
    /// First slot not yet examined.
    next: usize,
}

impl Ranges<'_> {
    /// The first slot at or after `from` whose membership is `member`.
    fn seek(&self, from: usize, member: bool) -> usize {
        let mut slot = from;
        while slot < SLOTS {
            let word = self.set.words.get(slot / 64).copied().unwrap_or(0);
            let word = if member { word } else { !word };
            let rest = word >> (slot % 64);
            if rest != 0 {
                return (slot + rest.trailing_zeros() as usize).min(SLOTS);
            }
            slot = (slot / 64 + 1) * 64;
        }
        SLOTS
    }
}

impl Iterator for Ranges<'_> {
    type Item = (u16, u16);

    fn next(&mut self) -> Option<(u16, u16)> {
        let start = self.seek(self.next, true);
        if start >= SLOTS {
            self.next = SLOTS;
            return None;
        }
        let end = self.seek(start, false);
        self.next = end;
        Some((start as u16, (end - 1) as u16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    #[test]
    fn hash_tags() {
        assert_eq!(
            key_hash_slot(b"{user1000}.following"),
            key_hash_slot(b"{user1000}.followers")
        );
        assert_eq!(hash_tag(b"{user1000}.following"), b"user1000");
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"{"), b"{");
        assert_eq!(hash_tag(b"}{"), b"}{");
        assert_eq!(hash_tag(b"{}"), b"{}");
        assert_eq!(hash_tag(b""), b"");
        assert_eq!(key_hash_slot(b"foo{{bar}}zap"), key_hash_slot(b"{bar"));
        assert_eq!(key_hash_slot(b"foo{bar}{zap}"), key_hash_slot(b"bar"));
    }

    /// `CLUSTER KEYSLOT` answers of redis-server 7.0.15.
    #[test]
    fn matches_redis_keyslot() {
        let vectors: &[(&[u8], u16)] = &[
            (b"", 0),
            (b"a", 15495),
            (b"foo", 12182),
            (b"bar", 5061),
            (b"hello", 866),
            (b"{user1000}.following", 3443),
            (b"{user1000}.followers", 3443),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"foo{bar}{zap}", 5061),
            (b"{bar", 4015),
            (b"}", 12090),
            (b"{", 4092),
            (b"{}", 15257),
            (b"{a}", 15495),
            (b"a{b}c", 3300),
            (b"123456789", 12739),
            (b"key:0001", 7231),
            (b"user:1000", 1649),
            (b"\\xff\\x00", 13273),
            (b"\xff\x00\x80", 7915),
        ];
        for &(key, slot) in vectors {
            assert_eq!(key_hash_slot(key), slot, "key {:?}", key.escape_ascii());
        }
    }

    #[test]
    fn slot_arguments() {
        assert_eq!(parse_slot(b"0"), Some(0));
        assert_eq!(parse_slot(b"5"), Some(5));
        assert_eq!(parse_slot(b"16383"), Some(16383));
        for bad in [
            &b"16384"[..],
            b"-1",
            b"-0",
            b"007",
            b"00",
            b"+8",
            b"1.0",
            b"abc",
            b"",
            b" 5",
            b"5 ",
            b"99999999999999999999999",
        ] {
            assert_eq!(parse_slot(bad), None, "{:?}", bad.escape_ascii());
        }
    }

    #[test]
    fn slot_set_basics() {
        let mut set = SlotSet::new();
        assert!(set.is_empty());
        assert_eq!(set.count(), 0);
        assert!(set.insert(5));
        assert!(!set.insert(5));
        assert!(set.contains(5));
        assert!(!set.contains(6));
        assert!(!set.insert(16384));
        assert!(!set.contains(16384));
        assert!(!set.contains(u16::MAX));
        assert_eq!(set.count(), 1);
        assert!(set.remove(5));
        assert!(!set.remove(5));
        assert!(!set.remove(20000));
        assert!(set.is_empty());

        let full = SlotSet::full();
        assert!(full.is_full());
        assert_eq!(full.count(), SLOTS);
        assert_eq!(full.ranges().collect::<Vec<_>>(), vec![(0, 16383)]);
        assert_eq!(full.iter().count(), SLOTS);
    }

    #[test]
    fn slot_set_ranges_and_iter() {
        let set =
            SlotSet::from_ranges(&[(5, 7), (63, 64), (100, 200), (1000, 1000), (16383, 16383)]);
        assert_eq!(
            set.ranges().collect::<Vec<_>>(),
            vec![(5, 7), (63, 64), (100, 200), (1000, 1000), (16383, 16383)]
        );
        assert_eq!(set.count(), 3 + 2 + 101 + 1 + 1);
        let slots: Vec<u16> = set.iter().collect();
        assert_eq!(slots.len(), set.count());
        assert_eq!(slots.first(), Some(&5));
        assert_eq!(slots.last(), Some(&16383));
        assert!(slots.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(slots.iter().copied().collect::<SlotSet>(), set);
        assert_eq!(format!("{set:?}"), "SlotSet[5-7 63-64 100-200 1000 16383]");

        let mut clipped = SlotSet::new();
        clipped.insert_range(16380, 20000);
        clipped.insert_range(10, 9);
        assert_eq!(clipped.ranges().collect::<Vec<_>>(), vec![(16380, 16383)]);
        clipped.clear();
        assert!(clipped.is_empty());
        assert_eq!(clipped.ranges().next(), None);
    }

    #[test]
    fn bitmap_matches_redis_bit_order() {
        let set = SlotSet::from_ranges(&[(0, 0), (9, 9), (16383, 16383)]);
        let map = set.to_bitmap();
        assert_eq!(map.len(), 2048);
        // bitmapSetBit: byte pos/8, bit pos&7.
        assert_eq!(map[0], 0b0000_0001);
        assert_eq!(map[1], 0b0000_0010);
        assert_eq!(map[2047], 0b1000_0000);
        assert_eq!(map.iter().filter(|&&b| b != 0).count(), 3);
        assert_eq!(SlotSet::from_bitmap(&map), set);
        assert_eq!(SlotSet::from_bitmap(&[0xff; 2048]), SlotSet::full());
        assert!(SlotSet::from_bitmap(&[]).is_empty());
    }

    #[test]
    fn ranges_match_naive_scan() {
        // A pseudo-random pattern with runs crossing word boundaries.
        let mut set = SlotSet::new();
        let mut x: u32 = 12345;
        let mut slot = 0usize;
        let mut on = false;
        while slot < SLOTS {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            let run = 1 + (x >> 16) as usize % 150;
            if on {
                set.insert_range(slot as u16, (slot + run - 1).min(SLOTS - 1) as u16);
            }
            on = !on;
            slot += run;
        }
        let mut naive = Vec::new();
        let mut start: Option<u16> = None;
        for s in 0..SLOTS as u16 {
            match (set.contains(s), start) {
                (true, None) => start = Some(s),
                (false, Some(b)) => {
                    naive.push((b, s - 1));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(b) = start {
            naive.push((b, 16383));
        }
        assert_eq!(set.ranges().collect::<Vec<_>>(), naive);
    }
}
