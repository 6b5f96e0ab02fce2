//! LZF, the compression RDB files and DUMP payloads use for strings longer
//! than 20 bytes (`rdbcompression yes`).
//!
//! A port of liblzf 3.6 as Redis 7.0 builds it (`lzfP.h`: HLOG 16,
//! VERY_FAST, CHECK_INPUT), so a value compresses to the same bytes Redis
//! writes. (The `lzf` crate is deprecated by its author; this is 200 lines.)
//!
//! Compressed format, a sequence of:
//!
//! ```text
//! 000LLLLL <L+1 bytes>          literal run of 1..=32 bytes
//! LLLooooo oooooooo             back reference: L+2 (3..=8) bytes copied from
//!                               `o+1` (1..=8192) bytes back in the output
//! 111ooooo LLLLLLLL oooooooo    back reference of L+9 (9..=264) bytes
//! ```
//!
//! Redis's compressor leaves its hash table uninitialised (INIT_HTAB 0), so
//! it may in rare cases find a match through a stale entry that a clean
//! table would not offer; both outputs are valid LZF. This one starts every
//! call from an empty table (by generation numbers, no 512 KiB clear).

use std::cell::RefCell;

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// The most bytes one compressed byte can stand for: a 3-byte back
/// reference yields at most 264 bytes.
pub const MAX_RATIO: u64 = 88;

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// The position table of the compressor: `(generation << 32) | position`
/// per hash slot; an entry of another generation is empty.
struct Table {
    slots: Vec<u64>,
    generation: u32,
}

impl Table {
    fn start(&mut self) {
        if self.slots.is_empty() {
            self.slots = vec![0; HSIZE];
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
    }

    /// The position stored at `slot` (None: empty), replaced by `pos`.
    #[inline]
    fn swap(&mut self, slot: usize, pos: usize) -> Option<usize> {
        let new = (u64::from(self.generation) << 32) | pos as u64;
        let old = std::mem::replace(&mut self.slots[slot], new);
        ((old >> 32) as u32 == self.generation).then_some((old & 0xffff_ffff) as usize)
    }

    #[inline]
    fn set(&mut self, slot: usize, pos: usize) {
        self.slots[slot] = (u64::from(self.generation) << 32) | pos as u64;
    }
}

thread_local! {
    static TABLE: RefCell<Table> = const {
        RefCell::new(Table {
            slots: Vec::new(),
            generation: 0,
        })
    };
}

#[inline]
fn frst(b: &[u8], p: usize) -> u32 {
    let a = u32::from(b.get(p).copied().unwrap_or(0));
    let c = u32::from(b.get(p + 1).copied().unwrap_or(0));
    (a << 8) | c
}

#[inline]
fn next(v: u32, b: &[u8], p: usize) -> u32 {
    (v << 8) | u32::from(b.get(p + 2).copied().unwrap_or(0))
}

/// Compresses `input` into at most `max_out` bytes; None when it does not
/// fit (or either is empty), as lzf_compress returning 0.
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    // Positions are kept in 32 bits; RDB strings this large are stored as
    // they are (Redis would compress them, any valid LZF reads back).
    if input.is_empty() || max_out == 0 || input.len() > u32::MAX as usize {
        return None;
    }
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        t.start();
        compress_with(&mut t, input, max_out)
    })
}

fn compress_with(htab: &mut Table, input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    let mut out = vec![0u8; out_len];
    let mut op = 1usize; // a literal run starts: its header byte is out[op - lit - 1]
    let mut lit = 0usize;
    let mut ip = 0usize;
    let mut hval = frst(input, ip);
    while ip + 2 < in_len {
        hval = next(hval, input, ip);
        let slot = idx(hval);
        let found = htab.swap(slot, ip);
        let m = found.filter(|&r| {
            r > 0
                && r < ip
                && ip - r - 1 < MAX_OFF
                && input[r + 2] == input[ip + 2]
                && input[r] == input[ip]
                && input[r + 1] == input[ip + 1]
        });
        if let Some(r) = m {
            let off = ip - r - 1;
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1); // stop the run
            op -= usize::from(lit == 0); // no literal: drop its header
            let mut unrolled_all = false;
            if maxlen > 16 {
                unrolled_all = true;
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        unrolled_all = false;
                        break;
                    }
                }
            }
            if maxlen <= 16 || unrolled_all {
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2; // the back reference copies len + 2 bytes
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1; // start a run
            ip += len + 1;
            if ip + 2 >= in_len {
                break;
            }
            // VERY_FAST: hash the last two positions of the match.
            ip -= 2;
            hval = frst(input, ip);
            hval = next(hval, input, ip);
            htab.set(idx(hval), ip);
            ip += 1;
            hval = next(hval, input, ip);
            htab.set(idx(hval), ip);
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    // At most 3 bytes can be missing here.
    if op + 3 > out_len {
        return None;
    }
    while ip < in_len {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// Why a compressed string does not decompress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LzfError {
    /// The output would pass the announced length.
    TooLong,
    /// A run or reference reads past the input, or refers before the output.
    Invalid,
    /// The output is shorter than announced.
    TooShort,
}

/// Decompresses `input`, which must yield exactly `out_len` bytes. The
/// caller bounds `out_len` (see `MAX_RATIO`) before calling.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, LzfError> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < (1 << 5) {
            let n = ctrl + 1;
            if out.len() + n > out_len {
                return Err(LzfError::TooLong);
            }
            let run = input.get(ip..ip + n).ok_or(LzfError::Invalid)?;
            out.extend_from_slice(run);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or(LzfError::Invalid)?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip).ok_or(LzfError::Invalid)?);
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            let n = len + 2;
            if out.len() + n > out_len {
                return Err(LzfError::TooLong);
            }
            let start = out.len().checked_sub(back).ok_or(LzfError::Invalid)?;
            if start + n <= out.len() {
                out.extend_from_within(start..start + n);
            } else {
                // Overlapping: byte by byte, each copy may read the previous one.
                for i in 0..n {
                    let b = out[start + i];
                    out.push(b);
                }
            }
        }
    }
    if out.len() != out_len {
        return Err(LzfError::TooShort);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) {
        if let Some(c) = compress(data, data.len() + 64) {
            assert_eq!(decompress(&c, data.len()).unwrap(), data);
        }
    }

    #[test]
    fn compresses_repetition_and_reads_back() {
        let a = vec![b'a'; 100];
        let c = compress(&a, a.len() - 4).unwrap();
        assert!(c.len() < 10, "{c:?}");
        assert_eq!(decompress(&c, 100).unwrap(), a);
        for n in [1usize, 2, 3, 4, 20, 21, 33, 64, 300, 5000, 70000] {
            let v: Vec<u8> = (0..n).map(|i| (i % 7) as u8 + b'a').collect();
            round_trip(&v);
            let v: Vec<u8> = (0..n).map(|i| ((i * 7919) >> 3) as u8).collect();
            round_trip(&v);
        }
    }

    #[test]
    fn random_data_round_trips_or_does_not_fit() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        for round in 0..300 {
            let n: usize = (round * 37) % 3000 + 1;
            let v: Vec<u8> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // Few distinct bytes, so matches happen.
                    b'a'.wrapping_add((seed % if round % 2 == 0 { 3 } else { 255 }) as u8)
                })
                .collect();
            round_trip(&v);
            // Incompressible input does not fit in len - 4.
            if let Some(c) = compress(&v, n.saturating_sub(4)) {
                assert!(c.len() <= n - 4);
                assert_eq!(decompress(&c, n).unwrap(), v);
            }
        }
    }

    // Bytes redis-server 7.0.15 wrote (DUMP of SET k <value>, the LZF blob).
    #[test]
    fn matches_redis_bytes() {
        let v = vec![b'a'; 30];
        assert_eq!(
            compress(&v, 26).unwrap(),
            vec![0x01, b'a', b'a', 0xe0, 0x11, 0x00, 0x01, b'a', b'a']
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(decompress(&[0x05, b'a'], 6), Err(LzfError::Invalid));
        assert_eq!(decompress(&[0x20, 0x00], 3), Err(LzfError::Invalid));
        assert_eq!(decompress(&[0x00, b'a'], 2), Err(LzfError::TooShort));
        assert_eq!(decompress(&[0x01, b'a', b'b'], 1), Err(LzfError::TooLong));
        assert_eq!(decompress(&[0x00, b'a', 0xe0], 100), Err(LzfError::Invalid));
        // Every truncation and byte flip of a valid stream: no panic.
        let data: Vec<u8> = (0..500).map(|i| (i % 13) as u8).collect();
        let c = compress(&data, 500).unwrap();
        for cut in 0..c.len() {
            let _ = decompress(&c[..cut], data.len());
        }
        for i in 0..c.len() {
            for bit in 0..8 {
                let mut d = c.clone();
                d[i] ^= 1 << bit;
                let _ = decompress(&d, data.len());
            }
        }
    }
}
