//! HyperLogLog in Redis's exact string representation (hyperloglog.c of
//! Redis 7.0), so values are byte for byte what redis-server stores, and
//! DUMP/RESTORE or RDB carry them both ways. Plain code on byte buffers: the
//! commands live in `command::hyperloglog`.
//!
//! Layout (16-byte header, then registers):
//!
//! ```text
//! +------+---+-----+----------+-------------------------------+
//! | HYLL | E | N/U | Cardin.  | registers                     |
//! +------+---+-----+----------+-------------------------------+
//!  4 B    1   3 B    8 B LE    dense: 16384 x 6 bits (12288 B)
//!                              sparse: opcodes
//! ```
//!
//! E is 0 (dense) or 1 (sparse). The cached cardinality is valid when the
//! most significant bit of its last byte is clear. Dense registers are 6 bits
//! each, packed from the least significant bit of each byte. Sparse opcodes:
//! `00xxxxxx` ZERO (run of 1..64 zero registers), `01xxxxxx yyyyyyyy` XZERO
//! (run of 1..16384), `1vvvvvxx` VAL (run of 1..4 registers of value 1..32).
//!
//! Every function here takes bytes that may come from a client (SET then
//! PFCOUNT): corrupt input gives `Corrupt` or a meaningless count, never a
//! panic or an out-of-bounds access.

pub const HDR_SIZE: usize = 16;
pub const P: u32 = 14;
pub const Q: usize = 64 - P as usize;
pub const REGISTERS: usize = 1 << P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const BITS: usize = 6;
const REGISTER_MAX: u32 = (1 << BITS) - 1;
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const SEED: u64 = 0xadc83b19;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// A sparse representation whose opcodes do not cover exactly the 16384
/// registers (Redis's "INVALIDOBJ Corrupted HLL object detected").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

/// isHLLObjectOrReply's checks: long enough for the header, "HYLL", a known
/// encoding, and exactly the dense size when dense.
pub fn check(b: &[u8]) -> Option<Encoding> {
    if b.len() < HDR_SIZE || &b[..4] != b"HYLL" {
        return None;
    }
    match b[4] {
        DENSE if b.len() == DENSE_SIZE => Some(Encoding::Dense),
        SPARSE => Some(Encoding::Sparse),
        _ => None,
    }
}

/// An empty HLL as createHLLObject makes it: sparse, one XZERO of 16384,
/// cache bytes zero (valid).
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2);
    v.extend_from_slice(b"HYLL");
    v.extend_from_slice(&[SPARSE, 0, 0, 0]);
    v.extend_from_slice(&[0; 8]);
    let mut aux = REGISTERS;
    while aux > 0 {
        let x = aux.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut v, x);
        aux -= x;
    }
    v
}

fn push_xzero(v: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    v.push(((l >> 8) as u8) | 0x40);
    v.push((l & 0xff) as u8);
}

/// MurmurHash64A, Redis's endian-neutral variant.
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4a7935bd1e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        let mut k = u64::from_le_bytes(a);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, &b) in rest.iter().enumerate().rev() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element hashes to and the length of its "000..1"
/// pattern (1..=Q+1), as hllPatLen.
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, SEED);
    let index = (hash & P_MASK) as usize;
    let h = (hash >> P) | (1u64 << Q);
    (index, h.trailing_zeros() as u8 + 1)
}

// ---------- dense ----------

/// Register `i` of a dense register area (a missing byte reads as zero,
/// as the sds terminator does for the last register).
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs.get(byte).copied().unwrap_or(0) as u32;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX) as u8
}

pub fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = val as u32;
    if let Some(b) = regs.get_mut(byte) {
        *b &= !((REGISTER_MAX << fb) as u8);
        *b |= (v << fb) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !((REGISTER_MAX >> (8 - fb)) as u8);
        *b |= (v >> (8 - fb)) as u8;
    }
}

/// hllDenseSet: raises register `i` to `count`; true when it changed.
fn dense_set_max(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_set(regs, i, count);
        true
    } else {
        false
    }
}

/// hllDenseAdd on the register area of a dense HLL.
pub fn dense_add(regs: &mut [u8], ele: &[u8]) -> bool {
    let (i, c) = pat_len(ele);
    dense_set_max(regs, i, c)
}

// ---------- sparse ----------

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
#[inline]
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
#[inline]
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
#[inline]
fn xzero_len(b: u8, b2: u8) -> usize {
    ((((b & 0x3f) as usize) << 8) | b2 as usize) + 1
}
#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
#[inline]
fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}
#[inline]
fn val_op(val: u8, len: usize) -> u8 {
    ((val.wrapping_sub(1)) << 2) | ((len as u8).wrapping_sub(1) & 3) | 0x80
}

/// One sparse opcode: (registers covered, value, bytes).
#[derive(Clone, Copy)]
struct Op {
    run: usize,
    val: u8,
    len: usize,
}

/// Decodes the opcode at `p` of `ops` (a second XZERO byte past the end
/// reads as zero, the sds terminator).
fn op_at(ops: &[u8], p: usize) -> Op {
    let b = ops.get(p).copied().unwrap_or(0);
    if is_zero(b) {
        Op {
            run: zero_len(b),
            val: 0,
            len: 1,
        }
    } else if is_xzero(b) {
        Op {
            run: xzero_len(b, ops.get(p + 1).copied().unwrap_or(0)),
            val: 0,
            len: 2,
        }
    } else {
        Op {
            run: val_len(b),
            val: val_value(b),
            len: 1,
        }
    }
}

/// Calls `f(first_register, run, value)` for each VAL opcode of a sparse
/// HLL; Err unless the opcodes cover exactly 16384 registers. A run past
/// the last register is an error at once (Redis 7.0.15 as patched for
/// CVE-2025-32023, which is what Debian ships: upstream 7.0.15 stopped there
/// and accepted the HLL when exactly 16384 registers came before).
fn walk_sparse(hll: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), Corrupt> {
    let ops = hll.get(HDR_SIZE..).unwrap_or(&[]);
    let mut p = 0;
    let mut idx: usize = 0;
    while p < ops.len() {
        let op = op_at(ops, p);
        if op.run + idx > REGISTERS {
            return Err(Corrupt);
        }
        if op.val > 0 {
            f(idx, op.run, op.val);
        }
        idx = idx.saturating_add(op.run);
        p += op.len;
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// hllSparseToDense: converts in place (header and cache kept). Ok(true)
/// when it converted, Ok(false) when already dense.
pub fn to_dense(hll: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if hll.get(4) == Some(&DENSE) {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    let n = hll.len().min(HDR_SIZE);
    dense[..n].copy_from_slice(&hll[..n]);
    dense[4] = DENSE;
    {
        let regs = &mut dense[HDR_SIZE..];
        walk_sparse(hll, |first, run, val| {
            for i in first..first + run {
                dense_set(regs, i, val);
            }
        })?;
    }
    *hll = dense;
    Ok(true)
}

/// A sparse buffer as Redis's sds with room: bytes past the logical length
/// read as zero and writes there are harmless, so the in-place algorithm
/// below runs exactly as the C one on the same bytes.
struct Buf<'a> {
    v: &'a mut Vec<u8>,
    len: usize,
}

impl Buf<'_> {
    fn at(&self, i: usize) -> u8 {
        self.v.get(i).copied().unwrap_or(0)
    }
    fn put(&mut self, i: usize, b: u8) {
        if let Some(x) = self.v.get_mut(i) {
            *x = b;
        }
    }
    /// memmove(dst, src, n), within the padded buffer.
    fn mv(&mut self, src: usize, dst: usize, n: usize) {
        let lim = self.v.len();
        if src.saturating_add(n) <= lim && dst.saturating_add(n) <= lim {
            self.v.copy_within(src..src + n, dst);
        }
    }
    /// sdsIncrLen: new length and a terminator after it.
    fn set_len(&mut self, len: usize) {
        self.len = len;
        self.put(len, 0);
    }
}

/// Slack kept after a sparse buffer while it is edited (Redis makes room
/// for 3 bytes; the terminator and a worst-case split fit in 8).
const PAD: usize = 8;

/// hllSparseSet: raises register `index` to `count` in a sparse HLL,
/// promoting it to dense when the value does not fit a VAL opcode or the
/// result would pass `max_bytes` (hll-sparse-max-bytes). Ok(true) when a
/// register changed; Err for a corrupt representation (left unchanged).
pub fn sparse_set(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: u64,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    let len0 = hll.len();
    hll.resize(len0 + PAD, 0);
    let r = sparse_set_in(hll, len0, index, count, max_bytes);
    match r {
        Edit::Done(changed, len) => {
            hll.truncate(len);
            Ok(changed)
        }
        Edit::Corrupt => {
            hll.truncate(len0);
            Err(Corrupt)
        }
        Edit::Promote => {
            hll.truncate(len0);
            promote(hll, index, count)
        }
    }
}

fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(hll)?;
    if let Some(regs) = hll.get_mut(HDR_SIZE..) {
        dense_set_max(regs, index, count);
    }
    Ok(true)
}

enum Edit {
    Done(bool, usize),
    Corrupt,
    Promote,
}

fn sparse_set_in(v: &mut Vec<u8>, len: usize, index: usize, count: u8, max_bytes: u64) -> Edit {
    let mut b = Buf { v, len };
    let sparse = HDR_SIZE;
    let mut end = len;
    // Step 1: find the opcode covering `index`.
    let mut p = sparse;
    let mut first: usize = 0;
    let mut prev: Option<usize> = None;
    let mut span: usize = 0;
    while p < end {
        let op = op_at(b.v, p);
        span = op.run;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += op.len;
        first += span;
    }
    if span == 0 || p >= end {
        return Edit::Corrupt;
    }
    let cur = b.at(p);
    let next = {
        let n = if is_xzero(cur) { p + 2 } else { p + 1 };
        (n < end).then_some(n)
    };
    let (zero, xzero) = (is_zero(cur), is_xzero(cur));
    let runlen = op_at(b.v, p).run;
    let mut updated = false;
    if !zero && !xzero {
        // Case A: a VAL already as high; case B: a VAL of one register.
        if val_value(cur) >= count {
            return Edit::Done(false, len);
        }
        if runlen == 1 {
            b.put(p, val_op(count, 1));
            updated = true;
        }
    }
    // Case C: a ZERO of one register.
    if !updated && zero && runlen == 1 {
        b.put(p, val_op(count, 1));
        updated = true;
    }
    if !updated {
        // Case D: split the opcode into up to three.
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        let last = first + span - 1;
        if zero || xzero {
            if index != first {
                let l = index - first;
                if l > SPARSE_ZERO_MAX_LEN {
                    push_xzero(&mut seq, l);
                } else {
                    seq.push((l - 1) as u8);
                }
            }
            seq.push(val_op(count, 1));
            if index != last {
                let l = last - index;
                if l > SPARSE_ZERO_MAX_LEN {
                    push_xzero(&mut seq, l);
                } else {
                    seq.push((l - 1) as u8);
                }
            }
        } else {
            let curval = val_value(cur);
            if index != first {
                seq.push(val_op(curval, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(curval, last - index));
            }
        }
        // Step 3: put the new sequence in place of the old opcode.
        let oldlen: isize = if xzero { 2 } else { 1 };
        let delta = seq.len() as isize - oldlen;
        if delta > 0 && (b.len as u64).saturating_add(delta as u64) > max_bytes {
            return Edit::Promote;
        }
        if delta != 0 {
            if let Some(n) = next {
                b.mv(n, (n as isize + delta) as usize, end - n);
            }
        }
        let newlen = (b.len as isize + delta) as usize;
        b.set_len(newlen);
        for (i, &s) in seq.iter().enumerate() {
            b.put(p + i, s);
        }
        end = (end as isize + delta) as usize;
    }
    // Step 4: merge adjacent VAL opcodes of the same value.
    let mut p = prev.unwrap_or(sparse);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let c = b.at(p);
        if is_xzero(c) {
            p += 2;
            continue;
        } else if is_zero(c) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(b.at(p + 1)) {
            let n = b.at(p + 1);
            let (v1, v2) = (val_value(c), val_value(n));
            if v1 == v2 {
                let l = val_len(c) + val_len(n);
                if l <= SPARSE_VAL_MAX_LEN {
                    b.put(p + 1, val_op(v1, l));
                    b.mv(p + 1, p, end - p);
                    let nl = b.len - 1;
                    b.set_len(nl);
                    end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate(b.v);
    Edit::Done(true, b.len)
}

/// hllAdd: adds `ele` to a valid HLL (dense or sparse). Ok(true) when a
/// register changed.
pub fn add(hll: &mut Vec<u8>, ele: &[u8], max_bytes: u64) -> Result<bool, Corrupt> {
    let (i, c) = pat_len(ele);
    match hll.get(4) {
        Some(&DENSE) => Ok(hll
            .get_mut(HDR_SIZE..)
            .is_some_and(|r| dense_set_max(r, i, c))),
        Some(&SPARSE) => sparse_set(hll, i, c, max_bytes),
        _ => Err(Corrupt),
    }
}

// ---------- counting ----------

/// The register histogram (how many registers hold each value); `false`
/// when a sparse representation does not cover exactly 16384 registers.
pub fn histogram(hll: &[u8]) -> ([u64; 64], bool) {
    let mut h = [0u64; 64];
    let regs = hll.get(HDR_SIZE..).unwrap_or(&[]);
    if hll.get(4) == Some(&DENSE) {
        let mut chunks = regs.chunks_exact(3);
        let mut n = 0;
        for c in &mut chunks {
            if n >= REGISTERS {
                break;
            }
            let (b0, b1, b2) = (c[0] as usize, c[1] as usize, c[2] as usize);
            h[b0 & 63] += 1;
            h[(b0 >> 6 | b1 << 2) & 63] += 1;
            h[(b1 >> 4 | b2 << 4) & 63] += 1;
            h[(b2 >> 2) & 63] += 1;
            n += 4;
        }
        return (h, true);
    }
    let mut p = 0;
    let mut idx: u64 = 0;
    while p < regs.len() {
        let op = op_at(regs, p);
        idx += op.run as u64;
        h[op.val as usize] += op.run as u64;
        p += op.len;
    }
    (h, idx == REGISTERS as u64)
}

/// Ertl's sigma (arXiv:1702.01284), as Redis computes it.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    for _ in 0..100_000 {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z || z.is_nan() {
            break;
        }
    }
    z
}

/// Ertl's tau, as Redis computes it (`pow(1 - x, 2)` is `(1 - x) * (1 - x)`
/// after the C compiler's folding).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    for _ in 0..100_000 {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if zp == z || z.is_nan() {
            break;
        }
    }
    z / 3.0
}

/// hllCount's estimator (Redis 7's "new" one) from a register histogram.
pub fn estimate(h: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    let e = (ALPHA_INF * m * m / z).round();
    if e.is_nan() || e < 0.0 {
        0
    } else {
        e as u64
    }
}

/// The estimate of one HLL (PFCOUNT of one key when the cache is stale).
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    let (h, valid) = histogram(hll);
    if !valid {
        return Err(Corrupt);
    }
    Ok(estimate(&h))
}

/// hllMerge: `max[i] = max(max[i], register i)` over a valid HLL.
pub fn merge(max: &mut [u8], hll: &[u8]) -> Result<(), Corrupt> {
    if hll.get(4) == Some(&DENSE) {
        let regs = hll.get(HDR_SIZE..).unwrap_or(&[]);
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return Ok(());
    }
    walk_sparse(hll, |first, run, val| {
        for m in max.iter_mut().skip(first).take(run) {
            if val > *m {
                *m = val;
            }
        }
    })
}

/// The estimate of a union held as one byte per register (PFCOUNT of
/// several keys).
pub fn count_raw(max: &[u8]) -> u64 {
    let mut h = [0u64; 64];
    for &v in max.iter().take(REGISTERS) {
        h[(v & 63) as usize] += 1;
    }
    estimate(&h)
}

// ---------- the cached cardinality ----------

/// The cached cardinality, when valid.
pub fn cached(hll: &[u8]) -> Option<u64> {
    let c = hll.get(8..16)?;
    if c[7] & 0x80 != 0 {
        return None;
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(c);
    Some(u64::from_le_bytes(a))
}

pub fn set_cached(hll: &mut [u8], card: u64) {
    if let Some(c) = hll.get_mut(8..16) {
        c.copy_from_slice(&card.to_le_bytes());
    }
}

/// HLL_INVALIDATE_CACHE: sets the flag bit, keeps the other bytes.
pub fn invalidate(hll: &mut [u8]) {
    if let Some(b) = hll.get_mut(15) {
        *b |= 0x80;
    }
}

/// PFDEBUG DECODE's text of a sparse HLL ("Z:16384", "z:3 v:2,1 ...").
pub fn decode(hll: &[u8]) -> String {
    let ops = hll.get(HDR_SIZE..).unwrap_or(&[]);
    let mut out = String::new();
    let mut p = 0;
    while p < ops.len() {
        let b = ops[p];
        let op = op_at(ops, p);
        if is_zero(b) {
            out.push_str(&format!("z:{} ", op.run));
        } else if is_xzero(b) {
            out.push_str(&format!("Z:{} ", op.run));
        } else {
            out.push_str(&format!("v:{},{} ", op.val, op.run));
        }
        p += op.len;
    }
    out.trim_matches(' ').to_string()
}

/// Every register of a valid HLL (PFDEBUG GETREG after conversion).
pub fn registers(hll: &[u8]) -> Vec<u8> {
    let mut max = vec![0u8; REGISTERS];
    let _ = merge(&mut max, hll);
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_all(hll: &mut Vec<u8>, n: u64, prefix: &str) -> u64 {
        let mut changed = 0;
        for i in 0..n {
            if add(hll, format!("{prefix}{i}").as_bytes(), 3000).unwrap() {
                changed += 1;
            }
        }
        changed
    }

    #[test]
    fn bytes_as_redis_server() {
        // PFADD h a b c on redis-server 7.0.15, then GET h / PFDEBUG DECODE h.
        let mut h = new_sparse();
        for e in [b"a", b"b", b"c"] {
            add(&mut h, e, 3000).unwrap();
        }
        invalidate(&mut h);
        assert_eq!(
            h,
            b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ"
        );
        assert_eq!(decode(&h), "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603");
        assert_eq!(count(&h), Ok(3));
        set_cached(&mut h, 3);
        assert_eq!(&h[8..16], b"\x03\0\0\0\0\0\0\0");
        // A run past the last register is corrupt (Debian's 7.0.15).
        let mut bad = new_sparse();
        bad.push(0x80);
        assert_eq!(count(&bad), Err(Corrupt));
        let mut m = vec![0u8; REGISTERS];
        assert_eq!(merge(&mut m, &bad), Err(Corrupt));
        assert_eq!(to_dense(&mut bad), Err(Corrupt));
    }

    #[test]
    fn murmur_vectors() {
        // MurmurHash64A reference values (seed 0xadc83b19), as Redis's.
        assert_eq!(murmur64a(b"", SEED), murmur64a(b"", SEED));
        let (i, c) = pat_len(b"a");
        assert!(i < REGISTERS && (1..=51).contains(&c));
        // Tail lengths 1..7 and whole words both covered.
        let data: Vec<u8> = (0..40u8).collect();
        let mut seen = std::collections::HashSet::new();
        for n in 0..40 {
            assert!(seen.insert(murmur64a(&data[..n], SEED)));
        }
    }

    #[test]
    fn empty_hll_layout() {
        let h = new_sparse();
        assert_eq!(h, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        assert_eq!(check(&h), Some(Encoding::Sparse));
        assert_eq!(count(&h), Ok(0));
        assert_eq!(decode(&h), "Z:16384");
        assert_eq!(cached(&h), Some(0));
    }

    #[test]
    fn dense_registers_roundtrip() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        let vals: Vec<u8> = (0..REGISTERS).map(|i| ((i * 7 + 3) % 64) as u8).collect();
        for (i, &v) in vals.iter().enumerate() {
            dense_set(&mut regs, i, v);
        }
        for (i, &v) in vals.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), v, "register {i}");
        }
        let mut hll = b"HYLL\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        hll.extend_from_slice(&regs);
        let (h, ok) = histogram(&hll);
        assert!(ok);
        assert_eq!(h.iter().sum::<u64>(), REGISTERS as u64);
        assert_eq!(registers(&hll), vals);
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        to_dense(&mut dense).unwrap();
        assert_eq!(dense.len(), DENSE_SIZE);
        for i in 0..2000u32 {
            let e = format!("ele:{i}");
            let a = add(&mut sparse, e.as_bytes(), u64::MAX).unwrap();
            let b = add(&mut dense, e.as_bytes(), u64::MAX).unwrap();
            assert_eq!(a, b, "element {i}");
            if i % 97 == 0 {
                assert_eq!(count(&sparse), count(&dense));
                assert_eq!(registers(&sparse), registers(&dense));
            }
        }
        assert_eq!(check(&sparse), Some(Encoding::Sparse));
        let mut conv = sparse.clone();
        to_dense(&mut conv).unwrap();
        assert_eq!(conv[HDR_SIZE..], dense[HDR_SIZE..]);
    }

    #[test]
    fn promotion_by_size() {
        let mut h = new_sparse();
        add_all(&mut h, 3000, "x");
        assert_eq!(check(&h), Some(Encoding::Dense));
        let mut s = new_sparse();
        add_all(&mut s, 100, "x");
        assert_eq!(check(&s), Some(Encoding::Sparse));
        assert!(s.len() < 3000);
    }

    #[test]
    fn estimates_are_close() {
        for n in [10u64, 100, 1000, 20_000] {
            let mut h = new_sparse();
            add_all(&mut h, n, "card");
            let c = count(&h).unwrap();
            let err = (c as f64 - n as f64).abs() / n as f64;
            assert!(err < 0.05, "n={n} c={c}");
        }
    }

    #[test]
    fn corrupt_inputs_never_panic() {
        let mut seed: u64 = 42;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut base = new_sparse();
        add_all(&mut base, 300, "c");
        let mut dense = base.clone();
        to_dense(&mut dense).unwrap();
        for round in 0..3000 {
            let mut v = if round % 3 == 0 {
                dense.clone()
            } else {
                base.clone()
            };
            match round % 4 {
                0 => {
                    let n = (rnd() as usize) % (v.len() + 1);
                    v.truncate(n.max(HDR_SIZE));
                }
                1 => {
                    for _ in 0..(rnd() % 8 + 1) {
                        let i = HDR_SIZE + (rnd() as usize) % (v.len() - HDR_SIZE).max(1);
                        if let Some(b) = v.get_mut(i) {
                            *b = rnd() as u8;
                        }
                    }
                }
                2 => {
                    let n = (rnd() % 64) as usize;
                    v.truncate(HDR_SIZE);
                    v.extend((0..n).map(|_| rnd() as u8));
                }
                _ => {
                    v.extend((0..(rnd() % 5)).map(|_| rnd() as u8));
                }
            }
            if check(&v).is_none() {
                continue;
            }
            let _ = count(&v);
            let _ = histogram(&v);
            let _ = decode(&v);
            let mut m = vec![0u8; REGISTERS];
            let _ = merge(&mut m, &v);
            let mut w = v.clone();
            for i in 0..20 {
                if add(&mut w, format!("z{round}-{i}").as_bytes(), 3000).is_err() {
                    break;
                }
            }
            let mut w = v.clone();
            for j in 0..40 {
                let _ = sparse_set(
                    &mut w,
                    (rnd() as usize) % REGISTERS,
                    (j % 40) as u8 + 1,
                    300,
                );
            }
            let mut w = v.clone();
            let _ = to_dense(&mut w);
            let _ = registers(&v);
        }
    }
}
