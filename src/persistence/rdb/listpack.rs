//! Redis's listpack (listpack.c), as RDB stores small hashes, small sorted
//! sets and quicklist nodes: a writer that produces the bytes Redis 7.0
//! produces for the same elements, and a reader that validates everything
//! (lpValidateIntegrity with deep checks) before handing entries out.
//!
//! ```text
//! listpack = total_bytes:u32 LE  count:u16 LE (65535: unknown)  entry*  0xFF
//! entry    = encoding [data] backlen
//! encoding = 0xxxxxxx                  integer 0..=127
//!          | 10LLLLLL data[L]          string, length 0..=63
//!          | 110xxxxx xxxxxxxx         integer, 13 bits two's complement, big end first
//!          | 1110LLLL LLLLLLLL data    string, length 64..=4095 (12 bits, big end first)
//!          | 0xF0 len:u32 LE data      string, longer
//!          | 0xF1 i16 | 0xF2 i24 | 0xF3 i32 | 0xF4 i64     integers, LE
//! backlen  = size of encoding+data in 7-bit groups, most significant first,
//!            every byte but the first with bit 7 set (1..=5 bytes); Redis
//!            uses 2 bytes below 16383, 3 below 2097151, 4 below 268435455.
//! ```
//!
//! A string element is stored as an integer when it is the canonical
//! decimal of an i64 (lpStringToInt64, the same rule as string2ll).

use crate::keyspace::value::parse_i64;

pub const HDR_SIZE: usize = 6;
pub const EOF: u8 = 0xFF;
/// The count field's "too many to count" value.
pub const NUMELE_UNKNOWN: u16 = u16::MAX;

/// One entry as read: a string or an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpVal<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl LpVal<'_> {
    /// The element's bytes (an integer in decimal).
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            LpVal::Str(s) => s.to_vec(),
            LpVal::Int(i) => itoa::Buffer::new().format(i).as_bytes().to_vec(),
        }
    }

    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            LpVal::Str(s) => f(s),
            LpVal::Int(i) => f(itoa::Buffer::new().format(i).as_bytes()),
        }
    }
}

// ---------- writing ----------

/// lpEncodeBacklen: the size of `l` as a backlen.
fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

fn push_backlen(out: &mut Vec<u8>, l: usize) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let group = ((l >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { group } else { group | 128 });
    }
}

/// A listpack under construction.
pub struct LpWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for LpWriter {
    fn default() -> Self {
        LpWriter::new()
    }
}

impl LpWriter {
    pub fn new() -> LpWriter {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; HDR_SIZE]);
        LpWriter { buf, count: 0 }
    }

    /// Appends an integer entry (lpAppendInteger).
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1fff;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else if let Ok(x) = i16::try_from(v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(x) = i32::try_from(v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        let size = self.buf.len() - start;
        push_backlen(&mut self.buf, size);
        self.count += 1;
    }

    /// Appends an element (lpAppend): an integer when its bytes are one.
    pub fn push(&mut self, s: &[u8]) {
        if s.len() < 21 {
            if let Some(v) = parse_i64(s) {
                return self.push_int(v);
            }
        }
        self.push_str(s);
    }

    /// Appends a string entry as it is.
    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xE0 | (len >> 8) as u8);
            self.buf.push(len as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let size = self.buf.len() - start;
        push_backlen(&mut self.buf, size);
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        let count = u16::try_from(self.count).unwrap_or(NUMELE_UNKNOWN);
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

// ---------- reading ----------

/// The entry at `p` (which is before the final EOF byte): its value and
/// the position of the next entry, or None when it is malformed or reaches
/// past `end` (the position of the final EOF byte).
fn entry(lp: &[u8], p: usize, end: usize) -> Option<(LpVal<'_>, usize)> {
    let b0 = *lp.get(p)?;
    let byte = |i: usize| lp.get(p + i).copied().filter(|_| p + i < end);
    // (header size, payload size, value)
    let (hdr, val): (usize, LpVal<'_>) = match b0 {
        0x00..=0x7F => (1, LpVal::Int(i64::from(b0))),
        0x80..=0xBF => {
            let l = usize::from(b0 & 0x3F);
            (1, LpVal::Str(lp.get(p + 1..p + 1 + l)?))
        }
        0xC0..=0xDF => {
            let u = (u16::from(b0 & 0x1F) << 8) | u16::from(byte(1)?);
            let v = ((u << 3) as i16) >> 3;
            (2, LpVal::Int(i64::from(v)))
        }
        0xE0..=0xEF => {
            let l = (usize::from(b0 & 0x0F) << 8) | usize::from(byte(1)?);
            (2, LpVal::Str(lp.get(p + 2..(p + 2).checked_add(l)?)?))
        }
        0xF0 => {
            let l = u32::from_le_bytes([byte(1)?, byte(2)?, byte(3)?, byte(4)?]) as usize;
            (5, LpVal::Str(lp.get(p + 5..(p + 5).checked_add(l)?)?))
        }
        0xF1 => (
            1,
            LpVal::Int(i64::from(i16::from_le_bytes([byte(1)?, byte(2)?]))),
        ),
        0xF2 => (
            1,
            LpVal::Int(i64::from(
                i32::from_le_bytes([0, byte(1)?, byte(2)?, byte(3)?]) >> 8,
            )),
        ),
        0xF3 => (
            1,
            LpVal::Int(i64::from(i32::from_le_bytes([
                byte(1)?,
                byte(2)?,
                byte(3)?,
                byte(4)?,
            ]))),
        ),
        0xF4 => {
            let mut x = [0u8; 8];
            for (i, d) in x.iter_mut().enumerate() {
                *d = byte(1 + i)?;
            }
            (1, LpVal::Int(i64::from_le_bytes(x)))
        }
        _ => return None,
    };
    let size = match (b0, val) {
        (_, LpVal::Str(s)) => hdr + s.len(),
        (0xF1, _) => 3,
        (0xF2, _) => 4,
        (0xF3, _) => 5,
        (0xF4, _) => 9,
        _ => hdr,
    };
    let bl = backlen_size(size);
    let next = p.checked_add(size)?.checked_add(bl)?;
    if next > end {
        return None;
    }
    // The backlen must say the entry's size (lpValidateNext).
    let mut v: u64 = 0;
    let mut shift = 0;
    let mut q = next - 1;
    loop {
        let b = *lp.get(q)?;
        v |= u64::from(b & 127) << shift;
        if b & 128 == 0 {
            break;
        }
        shift += 7;
        if shift > 28 || q <= p + size {
            return None;
        }
        q -= 1;
    }
    if v != size as u64 || q != p + size {
        return None;
    }
    Some((val, next))
}

/// A validated listpack: its entries, in order.
#[derive(Clone, Copy, Debug)]
pub struct Listpack<'a> {
    lp: &'a [u8],
    count: usize,
}

impl<'a> Listpack<'a> {
    /// Checks `lp` the way Redis's lpValidateIntegrity(deep) does: the
    /// header's size is the buffer's, it ends with EOF, every entry is
    /// well formed and inside, and the count (unless 65535) is right.
    pub fn parse(lp: &'a [u8]) -> Option<Listpack<'a>> {
        if lp.len() < HDR_SIZE + 1 {
            return None;
        }
        let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
        if total != lp.len() || lp[lp.len() - 1] != EOF {
            return None;
        }
        let numele = u16::from_le_bytes([lp[4], lp[5]]);
        let end = lp.len() - 1;
        let mut p = HDR_SIZE;
        let mut count = 0usize;
        while p < end {
            let (_, next) = entry(lp, p, end)?;
            p = next;
            count += 1;
        }
        if numele != NUMELE_UNKNOWN && usize::from(numele) != count {
            return None;
        }
        Some(Listpack { lp, count })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn iter(&self) -> LpIter<'a> {
        LpIter {
            lp: self.lp,
            p: HDR_SIZE,
            end: self.lp.len() - 1,
        }
    }
}

/// Entries of a validated listpack.
pub struct LpIter<'a> {
    lp: &'a [u8],
    p: usize,
    end: usize,
}

impl<'a> Iterator for LpIter<'a> {
    type Item = LpVal<'a>;
    fn next(&mut self) -> Option<LpVal<'a>> {
        if self.p >= self.end {
            return None;
        }
        let (v, next) = entry(self.lp, self.p, self.end)?;
        self.p = next;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(items: &[&[u8]]) -> Vec<u8> {
        let mut w = LpWriter::new();
        for i in items {
            w.push(i);
        }
        w.finish()
    }

    #[test]
    fn writes_redis_layout() {
        // A listpack of "a", "1": redis-server's DUMP of a hash {a: 1}.
        let lp = build(&[b"a", b"1"]);
        assert_eq!(lp, vec![12, 0, 0, 0, 2, 0, 0x81, b'a', 2, 1, 1, 0xFF]);
    }

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let items: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"0".to_vec(),
            b"127".to_vec(),
            b"128".to_vec(),
            b"-1".to_vec(),
            b"-4096".to_vec(),
            b"4095".to_vec(),
            b"4096".to_vec(),
            b"-32768".to_vec(),
            b"32767".to_vec(),
            b"8388607".to_vec(),
            b"-8388608".to_vec(),
            b"2147483647".to_vec(),
            b"-2147483648".to_vec(),
            b"9223372036854775807".to_vec(),
            b"-9223372036854775808".to_vec(),
            b"01".to_vec(),
            b"hello".to_vec(),
            mid,
            long,
            vec![b'z'; 16378], // an entry of exactly 16383 bytes: 3-byte backlen
        ];
        let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
        let lp = build(&refs);
        let parsed = Listpack::parse(&lp).expect("valid");
        assert_eq!(parsed.len(), items.len());
        let back: Vec<Vec<u8>> = parsed.iter().map(LpVal::to_vec).collect();
        assert_eq!(back, items);
        assert_eq!(parsed.iter().nth(1), Some(LpVal::Int(0)));
        assert_eq!(parsed.iter().nth(16), Some(LpVal::Str(b"01")));
    }

    #[test]
    fn rejects_damage_without_panicking() {
        let lp = build(&[b"a", b"12345", b"hello world", &[b'q'; 200], b"-7"]);
        assert!(Listpack::parse(&lp).is_some());
        for cut in 0..lp.len() {
            assert!(Listpack::parse(&lp[..cut]).is_none());
        }
        for i in 0..lp.len() {
            for bit in 0..8 {
                let mut d = lp.clone();
                d[i] ^= 1 << bit;
                if let Some(p) = Listpack::parse(&d) {
                    assert_eq!(p.iter().count(), p.len());
                }
            }
        }
        // Wrong count in the header; unknown count accepted.
        let mut d = lp.clone();
        d[4] = 9;
        assert!(Listpack::parse(&d).is_none());
        d[4] = 0xFF;
        d[5] = 0xFF;
        assert_eq!(Listpack::parse(&d).map(|p| p.len()), Some(5));
    }
}
