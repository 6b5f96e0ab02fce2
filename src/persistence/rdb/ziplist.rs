//! Readers for the encodings older Redis versions wrote and 7.0 still
//! loads: the ziplist (lists, hashes and sorted sets before 7.0, quicklist
//! 1 nodes) and the zipmap (hashes before 2.6). Both are validated the way
//! Redis's deep integrity checks do before any entry is handed out.
//!
//! ```text
//! ziplist  = zlbytes:u32 LE  zltail:u32 LE  zllen:u16 LE (65535: unknown)  entry*  0xFF
//! entry    = prevlen encoding data
//! prevlen  = u8 (< 254) | 0xFE u32 LE
//! encoding = 00LLLLLL | 01LLLLLL LLLLLLLL (BE) | 10______ u32 BE   strings
//!          | 0xC0 i16 | 0xD0 i32 | 0xE0 i64 | 0xF0 i24 | 0xFE i8    integers, LE
//!          | 0xF1..=0xFD                        immediate 0..=12 (value - 0xF1)
//!
//! zipmap   = zmlen:u8 (254: unknown)  (len key len free:u8 value pad[free])*  0xFF
//! len      = u8 (< 254) | 0xFE u32 LE
//! ```

use super::listpack::LpVal;

const HEADER: usize = 10;
const END: u8 = 0xFF;

/// One entry at `p`: (value, size of the entry, prevlen it records). None
/// when malformed or reaching the end byte at `last`.
fn zl_entry(zl: &[u8], p: usize, last: usize) -> Option<(LpVal<'_>, usize, usize)> {
    let inside = |q: usize| q < last;
    let b0 = *zl.get(p).filter(|_| inside(p))?;
    let (prevlen, plen) = if b0 < 254 {
        (usize::from(b0), 1)
    } else if b0 == 254 {
        let b = zl.get(p + 1..p + 5).filter(|_| inside(p + 4))?;
        (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5)
    } else {
        return None;
    };
    let e = p + plen;
    let enc = *zl.get(e).filter(|_| inside(e))?;
    let at = |q: usize, n: usize| zl.get(q..q + n).filter(|_| q + n <= last);
    let (hdr, val) = match enc >> 6 {
        0 => {
            let l = usize::from(enc & 0x3F);
            (1, LpVal::Str(at(e + 1, l)?))
        }
        1 => {
            let b1 = *at(e + 1, 1)?.first()?;
            let l = (usize::from(enc & 0x3F) << 8) | usize::from(b1);
            (2, LpVal::Str(at(e + 2, l)?))
        }
        2 => {
            let b = at(e + 1, 4)?;
            let l = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            (5, LpVal::Str(at(e + 5, l)?))
        }
        _ => match enc {
            0xC0 => {
                let b = at(e + 1, 2)?;
                (3, LpVal::Int(i64::from(i16::from_le_bytes([b[0], b[1]]))))
            }
            0xD0 => {
                let b = at(e + 1, 4)?;
                (
                    5,
                    LpVal::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                )
            }
            0xE0 => {
                let b = at(e + 1, 8)?;
                let mut x = [0u8; 8];
                x.copy_from_slice(b);
                (9, LpVal::Int(i64::from_le_bytes(x)))
            }
            0xF0 => {
                let b = at(e + 1, 3)?;
                (
                    4,
                    LpVal::Int(i64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8)),
                )
            }
            0xFE => {
                let b = at(e + 1, 1)?;
                (2, LpVal::Int(i64::from(b[0] as i8)))
            }
            0xF1..=0xFD => (1, LpVal::Int(i64::from(enc & 0x0F) - 1)),
            _ => return None,
        },
    };
    let size = plen
        + match val {
            LpVal::Str(s) => hdr + s.len(),
            LpVal::Int(_) => hdr,
        };
    if p + size > last {
        return None;
    }
    Some((val, size, prevlen))
}

/// The entries of a ziplist, after checking it whole (ziplistValidateIntegrity
/// with deep checks): sizes, end byte, tail offset, every prevlen, the count.
pub fn ziplist_entries(zl: &[u8]) -> Option<Vec<LpVal<'_>>> {
    if zl.len() < HEADER + 1 {
        return None;
    }
    let bytes = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let header_count = u16::from_le_bytes([zl[8], zl[9]]);
    let last = zl.len() - 1;
    if bytes != zl.len() || zl[last] != END || tail > last {
        return None;
    }
    let mut out = Vec::with_capacity(usize::from(header_count).min(zl.len() / 2));
    let mut p = HEADER;
    let mut prev_size = 0usize;
    let mut prev_start = None;
    while p < last {
        let (v, size, prevlen) = zl_entry(zl, p, last)?;
        if prevlen != prev_size {
            return None;
        }
        out.push(v);
        prev_start = Some(p);
        prev_size = size;
        p += size;
    }
    if p != last {
        return None;
    }
    if prev_start.is_some_and(|s| s != tail) {
        return None;
    }
    if header_count != u16::MAX && usize::from(header_count) != out.len() {
        return None;
    }
    Some(out)
}

/// The (field, value) pairs of a zipmap, after zipmapValidateIntegrity's
/// deep checks (not empty, count right unless 254).
pub fn zipmap_pairs(zm: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if zm.len() < 2 || zm[zm.len() - 1] != END {
        return None;
    }
    let last = zm.len() - 1;
    let len_at = |p: usize| -> Option<(usize, usize)> {
        let b0 = *zm.get(p).filter(|_| p < last)?;
        if b0 < 254 {
            Some((usize::from(b0), 1))
        } else {
            let b = zm.get(p + 1..p + 5).filter(|_| p + 4 < last)?;
            Some((u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5))
        }
    };
    let mut out = Vec::new();
    let mut p = 1;
    while p < last && zm[p] != END {
        let (kl, s) = len_at(p)?;
        p += s;
        let key = zm.get(p..p.checked_add(kl)?).filter(|_| p + kl < last)?;
        p += kl;
        let (vl, s) = len_at(p)?;
        p += s;
        let free = usize::from(*zm.get(p).filter(|_| p < last)?);
        p += 1;
        let val = zm.get(p..p.checked_add(vl)?).filter(|_| p + vl <= last)?;
        p = p.checked_add(vl + free)?;
        if p > last {
            return None;
        }
        out.push((key, val));
    }
    if p != last || out.is_empty() {
        return None;
    }
    if zm[0] != 254 && usize::from(zm[0]) != out.len() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ziplist of `items` as Redis 6 wrote them (strings that are
    /// integers stored as integers, with the smallest encoding).
    pub fn build_ziplist(items: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER;
        for it in items {
            let start = body.len();
            tail = HEADER + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(254);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            let int = std::str::from_utf8(it)
                .ok()
                .filter(|s| !s.is_empty() && s.len() < 21)
                .and_then(|_| crate::keyspace::value::parse_i64(it));
            match int {
                Some(v @ 0..=12) => body.push(0xF1 + v as u8),
                Some(v) if i8::try_from(v).is_ok() => {
                    body.push(0xFE);
                    body.push(v as i8 as u8);
                }
                Some(v) if i16::try_from(v).is_ok() => {
                    body.push(0xC0);
                    body.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                    body.push(0xF0);
                    body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                Some(v) if i32::try_from(v).is_ok() => {
                    body.push(0xD0);
                    body.extend_from_slice(&(v as i32).to_le_bytes());
                }
                Some(v) => {
                    body.push(0xE0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
                None if it.len() < 64 => {
                    body.push(it.len() as u8);
                    body.extend_from_slice(it);
                }
                None if it.len() < 16384 => {
                    body.push(0x40 | (it.len() >> 8) as u8);
                    body.push(it.len() as u8);
                    body.extend_from_slice(it);
                }
                None => {
                    body.push(0x80);
                    body.extend_from_slice(&(it.len() as u32).to_be_bytes());
                    body.extend_from_slice(it);
                }
            }
            prev = body.len() - start;
        }
        let mut zl = Vec::new();
        zl.extend_from_slice(&((HEADER + body.len() + 1) as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(END);
        zl
    }

    /// A zipmap of `pairs` (with one byte of free space after each value).
    pub fn build_zipmap(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut zm = vec![pairs.len().min(254) as u8];
        let len = |zm: &mut Vec<u8>, l: usize| {
            if l < 254 {
                zm.push(l as u8);
            } else {
                zm.push(254);
                zm.extend_from_slice(&(l as u32).to_le_bytes());
            }
        };
        for (k, v) in pairs {
            len(&mut zm, k.len());
            zm.extend_from_slice(k);
            len(&mut zm, v.len());
            zm.push(1);
            zm.extend_from_slice(v);
            zm.push(0);
        }
        zm.push(END);
        zm
    }

    #[test]
    fn ziplist_round_trip_and_damage() {
        let big = vec![b'b'; 300];
        let huge = vec![b'h'; 20000];
        let items: Vec<&[u8]> = vec![
            b"a",
            b"0",
            b"12",
            b"13",
            b"-1",
            b"-128",
            b"200",
            b"-30000",
            b"100000",
            b"-8388608",
            b"2147483647",
            b"4294967296",
            b"hello",
            &big,
            &huge,
            b"",
        ];
        let zl = build_ziplist(&items);
        let got: Vec<Vec<u8>> = ziplist_entries(&zl)
            .unwrap()
            .into_iter()
            .map(LpVal::to_vec)
            .collect();
        let want: Vec<Vec<u8>> = items.iter().map(|i| i.to_vec()).collect();
        assert_eq!(got, want);
        let small = build_ziplist(&[b"x", b"7", b"yy", &big]);
        for cut in 0..small.len() {
            assert!(ziplist_entries(&small[..cut]).is_none());
        }
        for i in 0..small.len() {
            for bit in 0..8 {
                let mut d = small.clone();
                d[i] ^= 1 << bit;
                let _ = ziplist_entries(&d);
            }
        }
        // Redis's own sample: "2", "5".
        let sample = [0x0f, 0, 0, 0, 0x0c, 0, 0, 0, 2, 0, 0, 0xf3, 2, 0xf6, 0xff];
        let v = ziplist_entries(&sample).unwrap();
        assert_eq!(v, vec![LpVal::Int(2), LpVal::Int(5)]);
    }

    #[test]
    fn zipmap_round_trip_and_damage() {
        let big = vec![b'v'; 400];
        let zm = build_zipmap(&[(b"a", b"1"), (b"key", &big), (b"", b"")]);
        let got = zipmap_pairs(&zm).unwrap();
        assert_eq!(
            got,
            vec![(&b"a"[..], &b"1"[..]), (b"key", &big[..]), (b"", b"")]
        );
        for cut in 0..zm.len() {
            assert!(zipmap_pairs(&zm[..cut]).is_none());
        }
        for i in 0..zm.len() {
            for bit in 0..8 {
                let mut d = zm.clone();
                d[i] ^= 1 << bit;
                let _ = zipmap_pairs(&d);
            }
        }
        assert!(zipmap_pairs(&[0, 0xff]).is_none(), "empty zipmap");
    }
}
