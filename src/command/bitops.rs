//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
//! BITFIELD_RO, as Redis 7.0's bitops.c (argument order, error texts, the
//! zero padding of short strings, and the raw encoding of every string they
//! write).
//!
//! Bits are numbered from the most significant bit of the first byte, as in
//! Redis: bit 0 is `0x80` of byte 0.

use super::flags::*;
use super::{errors, keyspace_events, Args, CmdResult, CommandSpec, Ctx, Handler::Keyed};
use crate::keyspace::value::parse_i64;
use crate::keyspace::{CBytes, StrEnc, Ttl, Value};
use crate::protocol::Reply;
use bytes::Bytes;

const fn k(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i16, i16, i16),
    f: super::KeyedFn,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, keys, Keyed(f)).doc("bitmap", since, summary)
}

pub const COMMANDS: &[CommandSpec] = &[
    k(
        "setbit",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        setbit,
        "2.2.0",
        "Sets or clears the bit at offset in the string value stored at key",
    ),
    k(
        "getbit",
        3,
        READONLY | FAST,
        (1, 1, 1),
        getbit,
        "2.2.0",
        "Returns the bit value at offset in the string value stored at key",
    ),
    k(
        "bitcount",
        -2,
        READONLY,
        (1, 1, 1),
        bitcount,
        "2.6.0",
        "Count set bits in a string",
    ),
    k(
        "bitpos",
        -3,
        READONLY,
        (1, 1, 1),
        bitpos,
        "2.8.7",
        "Find first bit set or clear in a string",
    ),
    k(
        "bitop",
        -4,
        WRITE | DENYOOM,
        (2, -1, 1),
        bitop,
        "2.6.0",
        "Perform bitwise operations between strings",
    ),
    k(
        "bitfield",
        -2,
        WRITE | DENYOOM,
        (1, 1, 1),
        bitfield,
        "3.2.0",
        "Perform arbitrary bitfield integer operations on strings",
    ),
    k(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        (1, 1, 1),
        bitfield_ro,
        "6.0.0",
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
    ),
];

const BIT_OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE_ERR: &str = "ERR bit is not an integer or out of range";
const BITPOS_BIT_ERR: &str = "ERR The bit argument must be 1 or 0.";
const BITOP_NOT_ERR: &str = "ERR BITOP NOT must be called with a single source key.";
const BITFIELD_TYPE_ERR: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const OVERFLOW_TYPE_ERR: &str = "ERR Invalid OVERFLOW type specified";
const BITFIELD_RO_ERR: &str = "ERR BITFIELD_RO only supports the GET subcommand";

// ---------- plain bit helpers (no keyspace) ----------

/// The bytes of a stored string, writable in place.
pub fn cbytes_mut(s: &mut CBytes) -> &mut [u8] {
    match s {
        CBytes::Inline { len, data } => {
            let n = (*len as usize).min(data.len());
            &mut data[..n]
        }
        CBytes::Heap(b) => b,
    }
}

/// Pads `s` with zero bytes up to `len` (sdsgrowzero); true when it grew.
fn grow_zero(s: &mut CBytes, len: usize) -> bool {
    if s.len() >= len {
        return false;
    }
    let old = std::mem::replace(s, CBytes::EMPTY);
    let mut v = match old {
        CBytes::Heap(b) => b.into_vec(),
        other => other.as_bytes().to_vec(),
    };
    v.resize(len, 0);
    *s = CBytes::from_vec(v);
    true
}

/// Number of set bits (redisPopcount), eight bytes at a time.
pub fn popcount(s: &[u8]) -> u64 {
    let mut words = s.chunks_exact(8);
    let mut n: u64 = 0;
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        n += u64::from_ne_bytes(a).count_ones() as u64;
    }
    n + words
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// Position of the first bit equal to `bit` (redisBitpos): -1 when looking
/// for a one in all zeros, `len * 8` when looking for a zero in all ones (the
/// string counts as zero padded on the right).
pub fn first_bit(s: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    let skip_word = if bit { 0u64 } else { u64::MAX };
    let mut words = s.chunks_exact(8);
    let mut base = 0usize;
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        if u64::from_ne_bytes(a) != skip_word {
            break;
        }
        base += 8;
    }
    let tail = s.get(base..).unwrap_or(&[]);
    match tail.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = tail[i];
            let lz = if bit { b } else { !b }.leading_zeros();
            ((base + i) * 8) as i64 + lz as i64
        }
        None if bit => -1,
        None => (s.len() * 8) as i64,
    }
}

/// The `bits`-wide unsigned integer at bit `offset` (bytes past the end read
/// as zero).
pub fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v: u64 = 0;
    for j in 0..bits as u64 {
        let o = offset + j;
        let byte = p.get((o >> 3) as usize).copied().unwrap_or(0);
        let bit = 7 - (o & 7);
        v = (v << 1) | ((byte >> bit) & 1) as u64;
    }
    v
}

pub fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut v = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && v & (1i64 << (bits - 1)) != 0 {
        v |= -1i64 << bits;
    }
    v
}

/// Writes the low `bits` bits of `value` at bit `offset` (bits past the end
/// of `p` are dropped; callers size `p` first).
pub fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let bitval = (value >> (bits as u64 - 1 - j)) & 1;
        let o = offset + j;
        if let Some(b) = p.get_mut((o >> 3) as usize) {
            let bit = 7 - (o & 7);
            *b = (*b & !(1 << bit)) | ((bitval as u8) << bit);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// checkUnsignedBitfieldOverflow: Some(result on overflow) when `value +
/// incr` does not fit (with Fail the value is meaningless).
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => 0,
        })
    } else {
        None
    }
}

/// checkSignedBitfieldOverflow, the signed twin of `unsigned_overflow`.
pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => min,
        })
    } else {
        None
    }
}

// ---------- argument parsing ----------

/// getBitOffsetFromArgument: a non-negative bit offset below
/// proto-max-bulk-len bytes; `#N` means N * `bits` when `bits` is given.
fn bit_offset(ctx: &Ctx, arg: &[u8], bits: Option<u32>) -> Result<u64, Reply> {
    let err = || Reply::err(BIT_OFFSET_ERR);
    let (digits, mul) = match (arg.first(), bits) {
        (Some(b'#'), Some(b)) => (&arg[1..], b as i64),
        _ => (arg, 1),
    };
    let v = parse_i64(digits).ok_or_else(err)?.wrapping_mul(mul);
    if v < 0 || (v >> 3) as u64 >= ctx.max_bulk() as u64 {
        return Err(err());
    }
    Ok(v as u64)
}

/// getBitfieldTypeFromArgument: `i1`..`i64` or `u1`..`u63`, read as a C
/// string (up to a NUL byte). Returns (signed, bits).
fn bitfield_type(arg: &[u8]) -> Result<(bool, u32), Reply> {
    let err = || Reply::err(BITFIELD_TYPE_ERR);
    let arg = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let bits = parse_i64(&arg[1..]).ok_or_else(err)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(err());
    }
    Ok((signed, bits as u32))
}

// ---------- keyspace helpers ----------

/// lookupStringForBitCommand: the string at `key`, created when missing,
/// padded with zeros so byte `byte` exists and made raw (Redis unshares it).
/// Returns it and whether it was created or grew.
fn bit_string<'a>(
    ctx: &'a mut Ctx,
    key: &[u8],
    byte: u64,
) -> Result<(&'a mut CBytes, bool), Reply> {
    let now = ctx.now;
    let (e, created) = ctx
        .db()
        .get_or_insert_with(key, now, || Value::Str(CBytes::EMPTY));
    let Value::Str(s) = &mut e.val else {
        return Err(Reply::err(errors::WRONGTYPE));
    };
    e.enc = StrEnc::Raw;
    let need = usize::try_from(byte.saturating_add(1)).map_err(|_| Reply::err(BIT_OFFSET_ERR))?;
    let grew = grow_zero(s, need);
    Ok((s, created || grew))
}

// ---------- commands ----------

/// SETBIT key offset 0|1
fn setbit(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let offset = bit_offset(ctx, a.next_slice()?, None)?;
    let on = parse_i64(a.next_slice()?).ok_or_else(|| Reply::err(BIT_VALUE_ERR))?;
    if on & !1 != 0 {
        return Err(Reply::err(BIT_VALUE_ERR));
    }
    let (s, dirty) = bit_string(ctx, &key, offset >> 3)?;
    let p = cbytes_mut(s);
    let byte = (offset >> 3) as usize;
    let bit = 7 - (offset & 7) as u8;
    let old = p.get(byte).map_or(0, |b| (b >> bit) & 1);
    if dirty || old as i64 != on {
        if let Some(b) = p.get_mut(byte) {
            *b = (*b & !(1 << bit)) | ((on as u8) << bit);
        }
        ctx.changed(keyspace_events::STRING, "setbit", &key);
    }
    Ok(Reply::Int(old as i64))
}

/// GETBIT key offset
fn getbit(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let offset = bit_offset(ctx, a.next_slice()?, None)?;
    let Some(s) = ctx.read::<CBytes>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let bit = 7 - (offset & 7) as u8;
    let v = usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| s.get(i))
        .map_or(0, |b| (b >> bit) & 1);
    Ok(Reply::Int(v as i64))
}

/// Start/end of BITCOUNT and BITPOS after Redis's index conversion, in bytes,
/// with the masks of the bits outside a BIT range in the edge bytes.
struct Range {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

fn convert_range(mut start: i64, mut end: i64, strlen: i64, isbit: bool) -> Range {
    let totlen = if isbit { strlen << 3 } else { strlen };
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if isbit && start <= end {
        first_mask = !((1u32 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Range {
        start,
        end,
        first_mask,
        last_mask,
    }
}

fn bit_or_byte(a: &[u8]) -> Result<bool, Reply> {
    if a.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if a.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(Reply::err(errors::SYNTAX))
    }
}

/// BITCOUNT key [start end [BYTE|BIT]]
fn bitcount(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let argc = a.argv().len();
    let Some(s) = ctx.read::<CBytes>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let p: &[u8] = s;
    let strlen = p.len() as i64;
    let r = match argc {
        4 | 5 => {
            let start = a.next_i64()?;
            let end = a.next_i64()?;
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Int(0));
            }
            let isbit = if argc == 5 {
                bit_or_byte(a.next_slice()?)?
            } else {
                false
            };
            convert_range(start, end, strlen, isbit)
        }
        2 => Range {
            start: 0,
            end: strlen - 1,
            first_mask: 0,
            last_mask: 0,
        },
        _ => return Err(Reply::err(errors::SYNTAX)),
    };
    if r.start > r.end {
        return Ok(Reply::Int(0));
    }
    let (st, en) = (r.start as usize, r.end as usize);
    let Some(range) = p.get(st..=en) else {
        return Ok(Reply::Int(0));
    };
    let mut count = popcount(range) as i64;
    if r.first_mask != 0 {
        count -= (range[0] & r.first_mask).count_ones() as i64;
    }
    if r.last_mask != 0 {
        count -= (range[range.len() - 1] & r.last_mask).count_ones() as i64;
    }
    Ok(Reply::Int(count))
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
fn bitpos(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let bit = a.next_i64()?;
    if bit != 0 && bit != 1 {
        return Err(Reply::err(BITPOS_BIT_ERR));
    }
    let bit = bit == 1;
    let argc = a.argv().len();
    let Some(s) = ctx.read::<CBytes>(&key)? else {
        return Ok(Reply::Int(if bit { -1 } else { 0 }));
    };
    let p: &[u8] = s;
    let strlen = p.len() as i64;
    let mut end_given = false;
    let r = match argc {
        4..=6 => {
            let start = a.next_i64()?;
            let isbit = if argc == 6 {
                let argv = a.argv();
                bit_or_byte(&argv[5])?
            } else {
                false
            };
            let end = if argc >= 5 {
                end_given = true;
                a.next_i64()?
            } else if isbit {
                (strlen << 3) + 7
            } else {
                strlen - 1
            };
            convert_range(start, end, strlen, isbit)
        }
        3 => Range {
            start: 0,
            end: strlen - 1,
            first_mask: 0,
            last_mask: 0,
        },
        _ => return Err(Reply::err(errors::SYNTAX)),
    };
    if r.start > r.end {
        return Ok(Reply::Int(-1));
    }
    let byte_at = |i: i64| p.get(i as usize).copied().unwrap_or(0);
    let mut start = r.start;
    let mut bytes = r.end - r.start + 1;
    let pos: i64 = 'found: {
        if r.first_mask != 0 {
            let mut c = byte_at(start);
            c = if bit {
                c & !r.first_mask
            } else {
                c | r.first_mask
            };
            if r.last_mask != 0 && bytes == 1 {
                c = if bit {
                    c & !r.last_mask
                } else {
                    c | r.last_mask
                };
            }
            let pos = first_bit(&[c], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        let cur = bytes - if r.last_mask != 0 { 1 } else { 0 };
        if cur > 0 {
            let slice = p.get(start as usize..(start + cur) as usize).unwrap_or(&[]);
            let pos = first_bit(slice, bit);
            if bytes == cur || (pos != -1 && pos != cur << 3) {
                break 'found pos;
            }
            start += cur;
            bytes -= cur;
        }
        let c = byte_at(r.end);
        let c = if bit {
            c & !r.last_mask
        } else {
            c | r.last_mask
        };
        first_bit(&[c], bit)
    };
    if end_given && !bit && pos == bytes << 3 {
        return Ok(Reply::Int(-1));
    }
    Ok(Reply::Int(if pos != -1 { pos + (start << 3) } else { pos }))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]
fn bitop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let opname = a.next_slice()?;
    let op = if opname.eq_ignore_ascii_case(b"and") {
        Op::And
    } else if opname.eq_ignore_ascii_case(b"or") {
        Op::Or
    } else if opname.eq_ignore_ascii_case(b"xor") {
        Op::Xor
    } else if opname.eq_ignore_ascii_case(b"not") {
        Op::Not
    } else {
        return Err(Reply::err(errors::SYNTAX));
    };
    let dest = a.next_bytes()?;
    let srcs: Vec<Bytes> = a.rest().to_vec();
    if op == Op::Not && srcs.len() != 1 {
        return Err(Reply::err(BITOP_NOT_ERR));
    }
    // One read lookup per source (statistics, WRONGTYPE in order), then the
    // fold reads them again without counting.
    let mut maxlen = 0usize;
    for k in &srcs {
        if let Some(s) = ctx.read::<CBytes>(k)? {
            maxlen = maxlen.max(s.len());
        }
    }
    let now = ctx.now;
    if maxlen > 0 {
        let mut res = vec![0u8; maxlen];
        for (i, k) in srcs.iter().enumerate() {
            let src: &[u8] = match ctx.db().peek(k, now).map(|e| &e.val) {
                Some(Value::Str(s)) => s,
                _ => &[],
            };
            let n = src.len().min(maxlen);
            let src = &src[..n];
            if i == 0 {
                res[..n].copy_from_slice(src);
                if op == Op::Not {
                    res.iter_mut().for_each(|b| *b = !*b);
                }
                continue;
            }
            match op {
                Op::And => {
                    res[..n].iter_mut().zip(src).for_each(|(r, s)| *r &= s);
                    res[n..].iter_mut().for_each(|r| *r = 0);
                }
                Op::Or => res[..n].iter_mut().zip(src).for_each(|(r, s)| *r |= s),
                Op::Xor => res[..n].iter_mut().zip(src).for_each(|(r, s)| *r ^= s),
                Op::Not => {}
            }
        }
        ctx.db().set_enc(
            &dest,
            Value::Str(CBytes::from_vec(res)),
            Ttl::Clear,
            now,
            StrEnc::Raw,
        );
        ctx.changed(keyspace_events::STRING, "set", &dest);
    } else if ctx.db().remove(&dest, now).is_some() {
        ctx.changed(keyspace_events::GENERIC, "del", &dest);
    }
    Ok(Reply::Int(maxlen as i64))
}

#[derive(Clone, Copy)]
enum FieldOp {
    Get,
    Set(i64),
    Incr(i64),
}

struct Field {
    op: FieldOp,
    offset: u64,
    signed: bool,
    bits: u32,
    ow: Overflow,
}

/// BITFIELD key [GET type offset] [SET type offset value]
/// [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ...
fn bitfield(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    bitfield_generic(ctx, a, false)
}

/// BITFIELD_RO key [GET type offset] ...
fn bitfield_ro(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    bitfield_generic(ctx, a, true)
}

fn bitfield_generic(ctx: &mut Ctx, a: &mut Args, ro: bool) -> CmdResult {
    let key = a.next_bytes()?;
    let args: Vec<Bytes> = a.rest().to_vec();
    let mut ops: Vec<Field> = Vec::new();
    let mut ow = Overflow::Wrap;
    let mut readonly = true;
    let mut highest: u64 = 0;
    let mut j = 0;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = &args[j];
        let kind = if sub.eq_ignore_ascii_case(b"get") && rem >= 2 {
            0
        } else if sub.eq_ignore_ascii_case(b"set") && rem >= 3 {
            1
        } else if sub.eq_ignore_ascii_case(b"incrby") && rem >= 3 {
            2
        } else if sub.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
            let t = &args[j + 1];
            ow = if t.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if t.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if t.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                return Err(Reply::err(OVERFLOW_TYPE_ERR));
            };
            j += 2;
            continue;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        };
        let (signed, bits) = bitfield_type(&args[j + 1])?;
        let offset = bit_offset(ctx, &args[j + 2], Some(bits))?;
        let op = if kind == 0 {
            FieldOp::Get
        } else {
            readonly = false;
            highest = highest.max(offset + bits as u64 - 1);
            let v = parse_i64(&args[j + 3]).ok_or_else(|| Reply::err(errors::NOT_INT))?;
            if kind == 1 {
                FieldOp::Set(v)
            } else {
                FieldOp::Incr(v)
            }
        };
        ops.push(Field {
            op,
            offset,
            signed,
            bits,
            ow,
        });
        j += if kind == 0 { 3 } else { 4 };
    }
    let mut out = Vec::with_capacity(ops.len());
    if readonly {
        let s: &[u8] = match ctx.read::<CBytes>(&key)? {
            Some(s) => s.as_bytes(),
            None => &[],
        };
        for f in &ops {
            out.push(Reply::Int(get_field(s, f)));
        }
        return Ok(Reply::Array(out));
    }
    if ro {
        return Err(Reply::err(BITFIELD_RO_ERR));
    }
    let (s, dirty) = bit_string(ctx, &key, highest >> 3)?;
    let p = cbytes_mut(s);
    let mut changes = 0u64;
    for f in &ops {
        let (incr, is_incr) = match f.op {
            FieldOp::Get => {
                out.push(Reply::Int(get_field(p, f)));
                continue;
            }
            FieldOp::Set(v) => (v, false),
            FieldOp::Incr(v) => (v, true),
        };
        let (old, new, ret, failed) = if f.signed {
            let old = get_signed(p, f.offset, f.bits);
            let (new, over) = if is_incr {
                let o = signed_overflow(old, incr, f.bits, f.ow);
                (o.unwrap_or(old.wrapping_add(incr)), o.is_some())
            } else {
                let o = signed_overflow(incr, 0, f.bits, f.ow);
                (o.unwrap_or(incr), o.is_some())
            };
            let ret = if is_incr { new } else { old };
            (old as u64, new as u64, ret, over && f.ow == Overflow::Fail)
        } else {
            let old = get_unsigned(p, f.offset, f.bits);
            let (new, over) = if is_incr {
                let o = unsigned_overflow(old, incr, f.bits, f.ow);
                (o.unwrap_or(old.wrapping_add(incr as u64)), o.is_some())
            } else {
                let o = unsigned_overflow(incr as u64, 0, f.bits, f.ow);
                (o.unwrap_or(incr as u64), o.is_some())
            };
            let ret = if is_incr { new } else { old };
            (old, new, ret as i64, over && f.ow == Overflow::Fail)
        };
        if failed {
            out.push(Reply::Nil);
            continue;
        }
        out.push(Reply::Int(ret));
        set_unsigned(p, f.offset, f.bits, new);
        if dirty || old != new {
            changes += 1;
        }
    }
    if changes > 0 {
        ctx.changed(keyspace_events::STRING, "setbit", &key);
        ctx.shard.dirty += changes - 1;
    }
    Ok(Reply::Array(out))
}

/// BITFIELD GET: reads past the end of the string as zeros.
fn get_field(s: &[u8], f: &Field) -> i64 {
    if f.signed {
        get_signed(s, f.offset, f.bits)
    } else {
        get_unsigned(s, f.offset, f.bits) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_and_first_bit() {
        let v: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let slow: u64 = v.iter().map(|b| b.count_ones() as u64).sum();
        assert_eq!(popcount(&v), slow);
        assert_eq!(first_bit(&[0, 0, 0x10], true), 19);
        assert_eq!(first_bit(&[0; 17], true), -1);
        assert_eq!(first_bit(&[0xff; 17], false), 17 * 8);
        assert_eq!(first_bit(&[0xff, 0xfe], false), 15);
        assert_eq!(first_bit(&[], false), 0);
        let mut big = vec![0u8; 100];
        big[77] = 1;
        assert_eq!(first_bit(&big, true), 77 * 8 + 7);
    }

    #[test]
    fn bitfield_get_set() {
        let mut p = vec![0u8; 2];
        set_unsigned(&mut p, 7, 5, 23);
        assert_eq!(p, [0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned(&p, 7, 5), 23);
        set_unsigned(&mut p, 0, 8, 0xff);
        assert_eq!(get_signed(&p, 0, 8), -1);
        assert_eq!(get_signed(&p, 0, 4), -1);
        // Past the end reads zeros and writes nothing.
        assert_eq!(get_unsigned(&p, 12, 16), 0);
        set_unsigned(&mut p, 15, 8, 0xff);
        assert_eq!(p[1] & 1, 1);
        let mut q = vec![0u8; 8];
        set_unsigned(&mut q, 0, 64, u64::MAX);
        assert_eq!(get_signed(&q, 0, 64), -1);
    }

    #[test]
    fn overflow_rules() {
        use Overflow::*;
        assert_eq!(unsigned_overflow(250, 10, 8, Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -10, 8, Sat), Some(0));
        assert_eq!(unsigned_overflow(5, -10, 8, Wrap), Some(251));
        assert_eq!(unsigned_overflow(5, 10, 8, Wrap), None);
        assert_eq!(unsigned_overflow(u64::MAX, 0, 8, Wrap), Some(255));
        assert_eq!(signed_overflow(127, 1, 8, Wrap), Some(-128));
        assert_eq!(signed_overflow(127, 1, 8, Sat), Some(127));
        assert_eq!(signed_overflow(-128, -1, 8, Sat), Some(-128));
        assert_eq!(signed_overflow(-128, -1, 8, Wrap), Some(127));
        assert_eq!(signed_overflow(300, 0, 8, Wrap), Some(44));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Sat), Some(i64::MAX));
        assert_eq!(signed_overflow(i64::MIN, -1, 64, Sat), Some(i64::MIN));
        assert_eq!(signed_overflow(1, 1, 64, Sat), None);
        assert_eq!(unsigned_overflow(1, i64::MIN, 63, Sat), Some(0));
    }

    #[test]
    fn types() {
        assert_eq!(bitfield_type(b"i64").ok(), Some((true, 64)));
        assert_eq!(bitfield_type(b"u63").ok(), Some((false, 63)));
        assert_eq!(bitfield_type(b"u8\0junk").ok(), Some((false, 8)));
        for bad in [&b"u64"[..], b"i65", b"i0", b"x8", b"", b"i", b"i08", b"I8"] {
            assert!(bitfield_type(bad).is_err());
        }
    }
}
