//! Sorted set commands (Redis 7.0 t_zset.c): ZADD and friends, ranges by
//! rank, score and lex, removals, pops (blocking too), set algebra with its
//! STORE forms, random members and ZSCAN.
//!
//! Argument errors are checked in Redis's order (options, then the key's
//! type), so error replies match byte for byte.

use super::flags::*;
use super::{
    errors, keyspace_events, parse_i64_arg, parse_timeout, Args, CmdResult, CommandSpec, Ctx,
    Handler::Keyed,
};
use crate::keyspace::glob::glob_match;
use crate::keyspace::zset::{LexBound, LexRange, ScoreRange};
use crate::keyspace::{EncLimits, Entry, Map, Set, Ttl, Value, ZSet};
use crate::protocol::encode::format_double;
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
    CommandSpec::new(name, arity, flags, keys, Keyed(f)).doc("sorted-set", since, summary)
}

// Commands whose keys follow a `numkeys` argument (ZUNION, ZINTER, ZDIFF,
// ZINTERCARD, ZMPOP, BZMPOP) are "movablekeys" in Redis with key spec
// (0, 0, 0); until the table can express that, their rows name the first
// input key so routing sends them to the core that owns it.
pub const COMMANDS: &[CommandSpec] = &[
    k(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        zadd,
        "1.2.0",
        "Add one or more members to a sorted set, or update its score if it already exists",
    ),
    k(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        zincrby,
        "1.2.0",
        "Increment the score of a member in a sorted set",
    ),
    k(
        "zrem",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        zrem,
        "1.2.0",
        "Remove one or more members from a sorted set",
    ),
    k(
        "zscore",
        3,
        READONLY | FAST,
        (1, 1, 1),
        zscore,
        "1.2.0",
        "Get the score associated with the given member in a sorted set",
    ),
    k(
        "zmscore",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        zmscore,
        "6.2.0",
        "Get the score associated with the given members in a sorted set",
    ),
    k(
        "zcard",
        2,
        READONLY | FAST,
        (1, 1, 1),
        zcard,
        "1.2.0",
        "Get the number of members in a sorted set",
    ),
    k(
        "zcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        zcount,
        "2.0.0",
        "Count the members in a sorted set with scores within the given values",
    ),
    k(
        "zlexcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        zlexcount,
        "2.8.9",
        "Count the number of members in a sorted set between a given lexicographical range",
    ),
    k(
        "zrange",
        -4,
        READONLY,
        (1, 1, 1),
        zrange,
        "1.2.0",
        "Return a range of members in a sorted set",
    ),
    k(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        (1, 2, 1),
        zrangestore,
        "6.2.0",
        "Store a range of members from sorted set into another key",
    ),
    k(
        "zrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        zrangebyscore,
        "1.0.5",
        "Return a range of members in a sorted set, by score",
    ),
    k(
        "zrevrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        zrevrangebyscore,
        "2.2.0",
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
    ),
    k(
        "zrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        zrangebylex,
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range",
    ),
    k(
        "zrevrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        zrevrangebylex,
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
    ),
    k(
        "zrevrange",
        -4,
        READONLY,
        (1, 1, 1),
        zrevrange,
        "1.2.0",
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
    ),
    k(
        "zrank",
        3,
        READONLY | FAST,
        (1, 1, 1),
        zrank,
        "2.0.0",
        "Determine the index of a member in a sorted set",
    ),
    k(
        "zrevrank",
        3,
        READONLY | FAST,
        (1, 1, 1),
        zrevrank,
        "2.0.0",
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
    ),
    k(
        "zremrangebyrank",
        4,
        WRITE,
        (1, 1, 1),
        zremrangebyrank,
        "2.0.0",
        "Remove all members in a sorted set within the given indexes",
    ),
    k(
        "zremrangebyscore",
        4,
        WRITE,
        (1, 1, 1),
        zremrangebyscore,
        "1.2.0",
        "Remove all members in a sorted set within the given scores",
    ),
    k(
        "zremrangebylex",
        4,
        WRITE,
        (1, 1, 1),
        zremrangebylex,
        "2.8.9",
        "Remove all members in a sorted set between the given lexicographical range",
    ),
    k(
        "zpopmin",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        zpopmin,
        "5.0.0",
        "Remove and return members with the lowest scores in a sorted set",
    ),
    k(
        "zpopmax",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        zpopmax,
        "5.0.0",
        "Remove and return members with the highest scores in a sorted set",
    ),
    k(
        "zmpop",
        -4,
        WRITE,
        (0, 0, 0),
        zmpop,
        "7.0.0",
        "Remove and return members with scores in a sorted set",
    )
    .movable(super::keys_numkeys_at_1),
    k(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        (1, -2, 1),
        bzpopmin,
        "5.0.0",
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
    ),
    k(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        (1, -2, 1),
        bzpopmax,
        "5.0.0",
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
    ),
    k(
        "bzmpop",
        -5,
        WRITE | BLOCKING,
        (0, 0, 0),
        bzmpop,
        "7.0.0",
        "Remove and return members with scores in a sorted set or block until one is available",
    )
    .movable(super::keys_numkeys_at_2),
    k(
        "zrandmember",
        -2,
        READONLY,
        (1, 1, 1),
        zrandmember,
        "6.2.0",
        "Get one or multiple random elements from a sorted set",
    ),
    k(
        "zunion",
        -3,
        READONLY,
        (0, 0, 0),
        zunion,
        "6.2.0",
        "Add multiple sorted sets",
    )
    .movable(super::keys_numkeys_at_1),
    k(
        "zinter",
        -3,
        READONLY,
        (0, 0, 0),
        zinter,
        "6.2.0",
        "Intersect multiple sorted sets",
    )
    .movable(super::keys_numkeys_at_1),
    k(
        "zdiff",
        -3,
        READONLY,
        (0, 0, 0),
        zdiff,
        "6.2.0",
        "Subtract multiple sorted sets",
    )
    .movable(super::keys_numkeys_at_1),
    k(
        "zunionstore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        zunionstore,
        "2.0.0",
        "Add multiple sorted sets and store the resulting sorted set in a new key",
    )
    .movable(super::keys_dest_numkeys_at_2),
    k(
        "zinterstore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        zinterstore,
        "2.0.0",
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
    )
    .movable(super::keys_dest_numkeys_at_2),
    k(
        "zdiffstore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        zdiffstore,
        "6.2.0",
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
    )
    .movable(super::keys_dest_numkeys_at_2),
    k(
        "zintercard",
        -3,
        READONLY,
        (0, 0, 0),
        zintercard,
        "7.0.0",
        "Intersect multiple sorted sets and return the cardinality of the result",
    )
    .movable(super::keys_numkeys_at_1),
    k(
        "zscan",
        -3,
        READONLY,
        (1, 1, 1),
        zscan,
        "2.8.0",
        "Incrementally iterate sorted sets elements and associated scores",
    ),
];

// ---------------------------------------------------------------------------
// Error texts of this family
// ---------------------------------------------------------------------------

const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";
const XX_NX: &str = "ERR XX and NX options at the same time are not compatible";
const GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
const INCR_PAIR: &str = "ERR INCR option supports a single increment-element pair";
const MINMAX_FLOAT: &str = "ERR min or max is not a float";
const MINMAX_LEX: &str = "ERR min or max not valid string range item";
const LIMIT_RANK: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
const WITHSCORES_LEX: &str = "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
const WEIGHT_FLOAT: &str = "ERR weight value is not a float";
const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
const NUMKEYS_POSITIVE: &str = "ERR numkeys should be greater than 0";
const COUNT_POSITIVE: &str = "ERR count should be greater than 0";
const RANDMEMBER_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const OUT_OF_RANGE: &str = "ERR value is out of range";
const INVALID_CURSOR: &str = "ERR invalid cursor";

/// The most elements ZRANDMEMBER with a negative count replies. Redis streams
/// any count into the client's buffer; a reply here is built whole first, so
/// a count past this is refused instead of exhausting memory.
const RANDMEMBER_MAX_REPEATS: u64 = 1 << 22;

// ---------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------

fn arg(argv: &[Bytes], i: usize) -> Result<&Bytes, Reply> {
    argv.get(i).ok_or_else(|| Reply::err(errors::SYNTAX))
}

fn eqi(b: &[u8], s: &str) -> bool {
    b.eq_ignore_ascii_case(s.as_bytes())
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ci(b: &[u8], p: &[u8]) -> bool {
    b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p)
}

/// The hexadecimal part of a C float after "0x": digits, an optional point,
/// an optional binary exponent. Returns the value, the bytes used and
/// whether it over- or underflowed; None without a hex digit.
fn hex_float(b: &[u8]) -> Option<(f64, usize, bool)> {
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut digits = 0usize;
    let mut sticky = false;
    let mut nonzero = false;
    let mut i = 0;
    let mut seen_point = false;
    while i < b.len() {
        let c = b[i];
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b'.' if !seen_point => {
                seen_point = true;
                i += 1;
                continue;
            }
            _ => break,
        };
        digits += 1;
        nonzero |= d != 0;
        if mant >> 60 == 0 {
            mant = (mant << 4) | d as u64;
            if seen_point {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp += 4;
            }
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] | 0x20) == b'p' {
        let mut k = i + 1;
        let neg = match b.get(k) {
            Some(b'-') => {
                k += 1;
                true
            }
            Some(b'+') => {
                k += 1;
                false
            }
            _ => false,
        };
        if b.get(k).is_some_and(u8::is_ascii_digit) {
            let mut e: i64 = 0;
            while let Some(d) = b.get(k).filter(|d| d.is_ascii_digit()) {
                e = (e * 10 + (d - b'0') as i64).min(1 << 20);
                k += 1;
            }
            exp += if neg { -e } else { e };
            i = k;
        }
    }
    if sticky {
        mant |= 1;
    }
    let mut v = mant as f64;
    // Scale in steps so intermediate powers stay finite.
    let mut e = exp;
    while e > 0 {
        let s = e.min(1000);
        v *= 2f64.powi(s as i32);
        e -= s;
    }
    while e < 0 {
        let s = (-e).min(1000);
        v /= 2f64.powi(s as i32);
        e += s;
    }
    let erange = v.is_infinite() || (v == 0.0 && nonzero);
    Some((v, i, erange))
}

/// C's strtod on bytes: leading spaces, a sign, then "inf", "infinity",
/// "nan", a hex float or a decimal one. Returns the value, how many bytes it
/// used (0 when nothing converts) and whether it overflowed to infinity or
/// underflowed to zero (errno ERANGE).
fn strtod(b: &[u8]) -> (f64, usize, bool) {
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let mut neg = false;
    if let Some(&c) = b.get(i) {
        if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
        }
    }
    let sign = |v: f64| if neg { -v } else { v };
    let rest = &b[i.min(b.len())..];
    if starts_with_ci(rest, b"inf") {
        let n = if starts_with_ci(rest, b"infinity") {
            8
        } else {
            3
        };
        return (sign(f64::INFINITY), i + n, false);
    }
    if starts_with_ci(rest, b"nan") {
        let mut n = 3;
        if rest.get(3) == Some(&b'(') {
            let mut k = 4;
            while rest
                .get(k)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                k += 1;
            }
            if rest.get(k) == Some(&b')') {
                n = k + 1;
            }
        }
        return (f64::NAN, i + n, false);
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        return match hex_float(&rest[2..]) {
            Some((v, n, er)) => (sign(v), i + 2 + n, er),
            // "0x" alone converts the "0".
            None => (sign(0.0), i + 1, false),
        };
    }
    let mut j = i;
    let mut digits = 0;
    let mut nonzero = false;
    while let Some(c) = b.get(j).filter(|c| c.is_ascii_digit()) {
        nonzero |= *c != b'0';
        digits += 1;
        j += 1;
    }
    if b.get(j) == Some(&b'.') {
        j += 1;
        while let Some(c) = b.get(j).filter(|c| c.is_ascii_digit()) {
            nonzero |= *c != b'0';
            digits += 1;
            j += 1;
        }
    }
    if digits == 0 {
        return (0.0, 0, false);
    }
    if b.get(j).is_some_and(|c| c | 0x20 == b'e') {
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+') | Some(b'-')) {
            k += 1;
        }
        if b.get(k).is_some_and(u8::is_ascii_digit) {
            while b.get(k).is_some_and(u8::is_ascii_digit) {
                k += 1;
            }
            j = k;
        }
    }
    let text = std::str::from_utf8(&b[i..j]).unwrap_or("0");
    // Rust wants a digit before an exponent: "1.e5" is "1e5".
    let v: f64 = match text.parse() {
        Ok(v) => v,
        Err(_) => text
            .replacen(".e", "e", 1)
            .replacen(".E", "E", 1)
            .parse()
            .unwrap_or(0.0),
    };
    let erange = v.is_infinite() || (v == 0.0 && nonzero);
    (sign(v), j, erange)
}

/// A float argument as Redis's getDoubleFromObject (string2d) reads it: the
/// whole string, no leading space, no NaN, no overflow, no underflow to 0.
fn string2d(b: &[u8]) -> Option<f64> {
    if b.is_empty() || is_c_space(b[0]) {
        return None;
    }
    let (v, n, erange) = strtod(b);
    (n == b.len() && !erange && !v.is_nan()).then_some(v)
}

fn parse_score(b: &[u8]) -> Result<f64, Reply> {
    string2d(b).ok_or_else(|| Reply::err(errors::NOT_FLOAT))
}

/// One end of a score range (zslParseRange): strtod up to the end (or a NUL
/// byte, where Redis's C string ends), `(` for exclusive.
fn score_bound(b: &[u8]) -> Option<(f64, bool)> {
    let (ex, body) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    let (v, n, _) = strtod(body);
    let ends = n == body.len() || body.get(n) == Some(&0);
    (ends && !v.is_nan()).then_some((v, ex))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Reply> {
    let bad = || Reply::err(MINMAX_FLOAT);
    let (min, minex) = score_bound(min).ok_or_else(bad)?;
    let (max, maxex) = score_bound(max).ok_or_else(bad)?;
    Ok(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

/// One end of a lex range (zslParseLexRangeItem).
fn lex_bound(b: &[u8]) -> Option<(LexBound, bool)> {
    let alone = b.len() == 1 || b.get(1) == Some(&0);
    match b.first() {
        Some(b'+') => alone.then_some((LexBound::PosInf, true)),
        Some(b'-') => alone.then_some((LexBound::NegInf, true)),
        Some(b'(') => Some((LexBound::Val(b[1..].to_vec()), true)),
        Some(b'[') => Some((LexBound::Val(b[1..].to_vec()), false)),
        _ => None,
    }
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, Reply> {
    let bad = || Reply::err(MINMAX_LEX);
    let (min, minex) = lex_bound(min).ok_or_else(bad)?;
    let (max, maxex) = lex_bound(max).ok_or_else(bad)?;
    Ok(LexRange {
        min,
        minex,
        max,
        maxex,
    })
}

/// getRangeLongFromObjectOrReply with a message: the message replaces both
/// the "not an integer" and the range error.
fn parse_long_range(b: &[u8], min: i64, max: i64, msg: &'static str) -> Result<i64, Reply> {
    match crate::keyspace::value::parse_i64(b) {
        Some(v) if v >= min && v <= max => Ok(v),
        _ => Err(Reply::err(msg)),
    }
}

/// A SCAN cursor as Redis's parseScanCursorOrReply reads it with strtoul.
fn parse_scan_cursor(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

fn bulk(b: &[u8]) -> Reply {
    Reply::bulk_from_slice(b)
}

/// Members, with their scores when asked: a flat array in RESP2, an array of
/// pairs in RESP3 (as ZRANGE ... WITHSCORES).
fn members_reply(items: Vec<(Reply, f64)>, withscores: bool) -> Reply {
    if withscores {
        Reply::Pairs(
            items
                .into_iter()
                .map(|(m, s)| (m, Reply::Double(s)))
                .collect(),
        )
    } else {
        Reply::Array(items.into_iter().map(|(m, _)| m).collect())
    }
}

// ---------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM
// ---------------------------------------------------------------------------

fn zadd(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zadd_generic(ctx, a, false)
}

fn zincrby(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zadd_generic(ctx, a, true)
}

/// ZADD and ZINCRBY (zaddGenericCommand).
fn zadd_generic(ctx: &mut Ctx, a: &mut Args, incr_cmd: bool) -> CmdResult {
    let argv = a.argv();
    let key = arg(argv, 1)?;
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, incr_cmd);
    let mut idx = 2;
    while let Some(opt) = argv.get(idx) {
        if eqi(opt, "nx") {
            nx = true;
        } else if eqi(opt, "xx") {
            xx = true;
        } else if eqi(opt, "ch") {
            ch = true;
        } else if eqi(opt, "incr") {
            incr = true;
        } else if eqi(opt, "gt") {
            gt = true;
        } else if eqi(opt, "lt") {
            lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = argv.len() - idx;
    if !elements.is_multiple_of(2) || elements == 0 {
        return Err(Reply::err(errors::SYNTAX));
    }
    let elements = elements / 2;
    if nx && xx {
        return Err(Reply::err(XX_NX));
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err(Reply::err(GT_LT_NX));
    }
    if incr && elements > 1 {
        return Err(Reply::err(INCR_PAIR));
    }
    let pairs = &argv[idx..];
    let mut scores = Vec::with_capacity(elements);
    for p in pairs.chunks_exact(2) {
        scores.push(parse_score(&p[0])?);
    }
    let lim = ctx.limits();
    let existed = ctx.write::<ZSet>(key)?.is_some();
    if !existed && xx {
        return Ok(if incr { Reply::Nil } else { Reply::Int(0) });
    }
    let z = ctx.write_or_create::<ZSet>(key, ZSet::new)?;
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    let mut nan = false;
    for (p, &score) in pairs.chunks_exact(2).zip(&scores) {
        let m = &p[1];
        let mut score = score;
        match z.score(m) {
            Some(cur) => {
                if nx {
                    continue;
                }
                if incr {
                    score += cur;
                    if score.is_nan() {
                        nan = true;
                        break;
                    }
                }
                if (lt && score >= cur) || (gt && score <= cur) {
                    continue;
                }
                last = score;
                processed += 1;
                if score != cur {
                    z.set(m, score, &lim);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.set(m, score, &lim);
                last = score;
                added += 1;
                processed += 1;
            }
        }
    }
    if z.is_empty() {
        // Only when nothing could be added to a key just made.
        let now = ctx.now;
        ctx.db().remove(key, now);
    }
    if added + updated > 0 {
        ctx.changed(
            keyspace_events::ZSET,
            if incr { "zincr" } else { "zadd" },
            key,
        );
    }
    if added > 0 {
        ctx.signal_ready(key);
    }
    if nan {
        return Err(Reply::err(NAN_SCORE));
    }
    Ok(if incr {
        if processed > 0 {
            Reply::Double(last)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Int(if ch { added + updated } else { added })
    })
}

fn zrem(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let argv = a.argv();
    let key = arg(argv, 1)?;
    let Some(z) = ctx.write::<ZSet>(key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0;
    let mut emptied = false;
    for m in argv.get(2..).unwrap_or(&[]) {
        if z.remove(m) {
            deleted += 1;
        }
        if z.is_empty() {
            emptied = true;
            break;
        }
    }
    if deleted > 0 {
        ctx.changed(keyspace_events::ZSET, "zrem", key);
        if emptied {
            ctx.delete_if_empty(key);
        }
    }
    Ok(Reply::Int(deleted))
}

// ---------------------------------------------------------------------------
// Point lookups
// ---------------------------------------------------------------------------

fn zcard(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<ZSet>(&key)?.map_or(0, |z| z.len() as i64),
    ))
}

fn zscore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let m = a.next_bytes()?;
    Ok(match ctx.read::<ZSet>(&key)?.and_then(|z| z.score(&m)) {
        Some(s) => Reply::Double(s),
        None => Reply::Nil,
    })
}

fn zmscore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let argv = a.argv();
    let key = arg(argv, 1)?;
    let z = ctx.read::<ZSet>(key)?;
    let members = argv.get(2..).unwrap_or(&[]);
    Ok(Reply::Array(
        members
            .iter()
            .map(|m| match z.as_ref().and_then(|z| z.score(m)) {
                Some(s) => Reply::Double(s),
                None => Reply::Nil,
            })
            .collect(),
    ))
}

fn zrank_generic(ctx: &mut Ctx, a: &mut Args, rev: bool) -> CmdResult {
    let key = a.next_bytes()?;
    let m = a.next_bytes()?;
    let Some(z) = ctx.read::<ZSet>(&key)? else {
        return Ok(Reply::Nil);
    };
    let len = z.len();
    Ok(match z.rank(&m) {
        Some(r) if rev => Reply::Int((len - 1 - r) as i64),
        Some(r) => Reply::Int(r as i64),
        None => Reply::Nil,
    })
}

fn zrank(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zrank_generic(ctx, a, false)
}

fn zrevrank(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zrank_generic(ctx, a, true)
}

fn zcount(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let argv = a.argv();
    let key = arg(argv, 1)?;
    let r = parse_score_range(arg(argv, 2)?, arg(argv, 3)?)?;
    let Some(z) = ctx.read::<ZSet>(key)? else {
        return Ok(Reply::Int(0));
    };
    let (lo, hi) = z.score_span(&r);
    Ok(Reply::Int((hi - lo) as i64))
}

fn zlexcount(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let argv = a.argv();
    let key = arg(argv, 1)?;
    let r = parse_lex_range(arg(argv, 2)?, arg(argv, 3)?)?;
    let Some(z) = ctx.read::<ZSet>(key)? else {
        return Ok(Reply::Int(0));
    };
    let (lo, hi) = z.lex_span(&r, false);
    Ok(Reply::Int((hi - lo) as i64))
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Auto,
    Forward,
    Reverse,
}

/// A parsed range request, ready to run on a set.
enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// Ranks lo..hi of a rank range (start/stop from the low end, or from the
/// high end with `rev`), clamped like genericZrangebyrankCommand.
fn rank_span(len: usize, start: i64, end: i64, rev: bool) -> (usize, usize) {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return (0, 0);
    }
    if end >= llen {
        end = llen - 1;
    }
    if rev {
        ((llen - 1 - end) as usize, (llen - start) as usize)
    } else {
        (start as usize, (end + 1) as usize)
    }
}

/// LIMIT offset count applied to ranks lo..hi walked forward, or from hi
/// down with `rev`. A negative offset walks off the end (nothing); a
/// negative count means all.
fn apply_limit(lo: usize, hi: usize, offset: i64, limit: i64, rev: bool) -> (usize, usize) {
    if offset < 0 {
        return (lo, lo);
    }
    let n = hi - lo;
    let off = (offset as u64).min(n as u64) as usize;
    let avail = n - off;
    let take = if limit < 0 {
        avail
    } else {
        (limit as u64).min(avail as u64) as usize
    };
    if rev {
        (hi - off - take, hi - off)
    } else {
        (lo + off, lo + off + take)
    }
}

/// Calls `f` with the members a range selects, in reply order.
fn run_range(
    z: &ZSet,
    spec: &RangeSpec,
    rev: bool,
    offset: i64,
    limit: i64,
    f: impl FnMut(&[u8], f64),
) {
    let (lo, hi) = match spec {
        RangeSpec::Rank(start, end) => rank_span(z.len(), *start, *end, rev),
        RangeSpec::Score(r) => {
            let (lo, hi) = z.score_span(r);
            apply_limit(lo, hi, offset, limit, rev)
        }
        RangeSpec::Lex(r) => {
            let (lo, hi) = z.lex_span(r, rev);
            apply_limit(lo, hi, offset, limit, rev)
        }
    };
    z.for_ranks(lo, hi, rev, f);
}

/// ZRANGE, ZRANGESTORE and the older Z[REV]RANGE[BYSCORE|BYLEX] forms
/// (zrangeGenericCommand). `start` is the index of the source key; `dst`
/// the destination of ZRANGESTORE.
fn zrange_generic(
    ctx: &mut Ctx,
    a: &mut Args,
    start: usize,
    dst: Option<&Bytes>,
    mut rtype: RangeType,
    mut dir: Dir,
) -> CmdResult {
    let argv = a.argv();
    let store = dst.is_some();
    let key = arg(argv, start)?;
    let mut minidx = start + 1;
    let mut maxidx = start + 2;
    let mut withscores = false;
    let mut offset: i64 = 0;
    let mut limit: i64 = -1;
    let mut j = start + 3;
    while j < argv.len() {
        let opt = &argv[j];
        let left = argv.len() - j - 1;
        if !store && eqi(opt, "withscores") {
            withscores = true;
        } else if eqi(opt, "limit") && left >= 2 {
            offset = parse_i64_arg(arg(argv, j + 1)?)?;
            limit = parse_i64_arg(arg(argv, j + 2)?)?;
            j += 2;
        } else if dir == Dir::Auto && eqi(opt, "rev") {
            dir = Dir::Reverse;
        } else if rtype == RangeType::Auto && eqi(opt, "bylex") {
            rtype = RangeType::Lex;
        } else if rtype == RangeType::Auto && eqi(opt, "byscore") {
            rtype = RangeType::Score;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
        j += 1;
    }
    let rev = dir == Dir::Reverse;
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if limit != -1 && rtype == RangeType::Rank {
        return Err(Reply::err(LIMIT_RANK));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(Reply::err(WITHSCORES_LEX));
    }
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let (min, max) = (arg(argv, minidx)?, arg(argv, maxidx)?);
    let spec = match rtype {
        RangeType::Score => RangeSpec::Score(parse_score_range(min, max)?),
        RangeType::Lex => RangeSpec::Lex(parse_lex_range(min, max)?),
        _ => RangeSpec::Rank(parse_i64_arg(min)?, parse_i64_arg(max)?),
    };
    let lim = ctx.limits();
    let z = ctx.read::<ZSet>(key)?;
    match dst {
        None => {
            let mut items = Vec::new();
            if let Some(z) = z {
                run_range(z, &spec, rev, offset, limit, |m, s| {
                    items.push((bulk(m), s))
                });
            }
            Ok(members_reply(items, withscores))
        }
        Some(dst) => {
            let mut pairs = Vec::new();
            if let Some(z) = z {
                run_range(z, &spec, rev, offset, limit, |m, s| {
                    pairs.push((m.to_vec(), s))
                });
            }
            let z = ZSet::from_pairs(pairs, &lim);
            store_result(ctx, dst, z, "zrangestore")
        }
    }
}

/// Writes a STORE command's result (or deletes `dst` when it is empty) and
/// replies its size, with Redis's events.
fn store_result(ctx: &mut Ctx, dst: &[u8], z: ZSet, event: &'static str) -> CmdResult {
    let now = ctx.now;
    let n = z.len() as i64;
    if n > 0 {
        ctx.db().set(dst, Value::ZSet(Box::new(z)), Ttl::Clear, now);
        ctx.changed(keyspace_events::ZSET, event, dst);
        ctx.signal_ready(dst);
    } else if ctx.db().remove(dst, now).is_some() {
        ctx.changed(keyspace_events::GENERIC, "del", dst);
    }
    Ok(Reply::Int(n))
}

fn zrange(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Auto, Dir::Auto)
}

fn zrangestore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let dst = arg(a.argv(), 1)?.clone();
    zrange_generic(ctx, a, 2, Some(&dst), RangeType::Auto, Dir::Auto)
}

fn zrevrange(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Rank, Dir::Reverse)
}

fn zrangebyscore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Score, Dir::Forward)
}

fn zrevrangebyscore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Score, Dir::Reverse)
}

fn zrangebylex(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Lex, Dir::Forward)
}

fn zrevrangebylex(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Lex, Dir::Reverse)
}

// ---------------------------------------------------------------------------
// Removal by range
// ---------------------------------------------------------------------------

fn zremrange_generic(ctx: &mut Ctx, a: &mut Args, rtype: RangeType) -> CmdResult {
    let argv = a.argv();
    let key = arg(argv, 1)?;
    let (x, y) = (arg(argv, 2)?, arg(argv, 3)?);
    let (spec, event) = match rtype {
        RangeType::Score => (
            RangeSpec::Score(parse_score_range(x, y)?),
            "zremrangebyscore",
        ),
        RangeType::Lex => (RangeSpec::Lex(parse_lex_range(x, y)?), "zremrangebylex"),
        _ => (
            RangeSpec::Rank(parse_i64_arg(x)?, parse_i64_arg(y)?),
            "zremrangebyrank",
        ),
    };
    let Some(z) = ctx.write::<ZSet>(key)? else {
        return Ok(Reply::Int(0));
    };
    let (lo, hi) = match &spec {
        RangeSpec::Rank(s, e) => rank_span(z.len(), *s, *e, false),
        RangeSpec::Score(r) => z.score_span(r),
        RangeSpec::Lex(r) => z.lex_span(r, false),
    };
    let deleted = z.remove_ranks(lo, hi);
    let emptied = z.is_empty();
    if deleted > 0 {
        ctx.changed(keyspace_events::ZSET, event, key);
        if emptied {
            ctx.delete_if_empty(key);
        }
    }
    Ok(Reply::Int(deleted as i64))
}

fn zremrangebyrank(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zremrange_generic(ctx, a, RangeType::Rank)
}

fn zremrangebyscore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zremrange_generic(ctx, a, RangeType::Score)
}

fn zremrangebylex(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zremrange_generic(ctx, a, RangeType::Lex)
}

// ---------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------

/// Pops up to `count` members from the low (or high, `max`) end of the set
/// at `key`, which exists; raises zpopmin/zpopmax (and del when emptied).
fn pop_members(
    ctx: &mut Ctx,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Option<Vec<(Reply, f64)>>, Reply> {
    let Some(z) = ctx.write::<ZSet>(key)? else {
        return Ok(None);
    };
    let len = z.len();
    let n = count.min(len);
    let (lo, hi) = if max { (len - n, len) } else { (0, n) };
    let mut out = Vec::with_capacity(n);
    z.for_ranks(lo, hi, max, |m, s| out.push((bulk(m), s)));
    z.remove_ranks(lo, hi);
    let emptied = z.is_empty();
    if !out.is_empty() {
        ctx.changed(
            keyspace_events::ZSET,
            if max { "zpopmax" } else { "zpopmin" },
            key,
        );
        if emptied {
            ctx.delete_if_empty(key);
        }
    }
    Ok(Some(out))
}

fn zpop_generic(ctx: &mut Ctx, a: &mut Args, max: bool) -> CmdResult {
    let argv = a.argv();
    if argv.len() > 3 {
        return Err(Reply::err(errors::SYNTAX));
    }
    let key = arg(argv, 1)?;
    let count = match argv.get(2) {
        Some(c) => Some(parse_long_range(c, 0, i64::MAX, MUST_BE_POSITIVE)?),
        None => None,
    };
    if count == Some(0) {
        ctx.write::<ZSet>(key)?;
        return Ok(Reply::Array(Vec::new()));
    }
    let Some(popped) = pop_members(ctx, key, max, count.unwrap_or(1) as usize)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(match count {
        // Without a count: a flat member, score array in both protocols.
        None => Reply::Array(
            popped
                .into_iter()
                .flat_map(|(m, s)| [m, Reply::Double(s)])
                .collect(),
        ),
        Some(_) => members_reply(popped, true),
    })
}

fn zpopmin(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zpop_generic(ctx, a, false)
}

fn zpopmax(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zpop_generic(ctx, a, true)
}

/// The first key of `keys` holding a sorted set (WRONGTYPE stops the
/// search as in Redis).
fn first_nonempty(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Option<Bytes>, Reply> {
    for key in keys {
        if ctx.write::<ZSet>(key)?.is_some_and(|z| !z.is_empty()) {
            return Ok(Some(key.clone()));
        }
    }
    Ok(None)
}

fn bzpop_generic(ctx: &mut Ctx, a: &mut Args, max: bool) -> CmdResult {
    let argv = a.argv();
    let n = argv.len();
    let timeout = parse_timeout(arg(argv, n.saturating_sub(1))?)?;
    let keys = argv.get(1..n.saturating_sub(1)).unwrap_or(&[]);
    match first_nonempty(ctx, keys)? {
        Some(key) => {
            let popped = pop_members(ctx, &key, max, 1)?.unwrap_or_default();
            let cmd: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            ctx.propagate_as(&[cmd, &key]);
            let mut out = vec![Reply::Bulk(key)];
            for (m, s) in popped {
                out.push(m);
                out.push(Reply::Double(s));
            }
            Ok(Reply::Array(out))
        }
        None => ctx.block(keys.to_vec(), timeout, Reply::NilArray),
    }
}

fn bzpopmin(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    bzpop_generic(ctx, a, false)
}

fn bzpopmax(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    bzpop_generic(ctx, a, true)
}

/// ZMPOP and BZMPOP (zmpopGenericCommand); `nk` is the index of numkeys.
fn zmpop_generic(ctx: &mut Ctx, a: &mut Args, nk: usize, blocking: bool) -> CmdResult {
    let argv = a.argv();
    let numkeys = parse_long_range(arg(argv, nk)?, 1, i64::MAX, NUMKEYS_POSITIVE)?;
    let where_idx = (numkeys as u64)
        .checked_add(nk as u64 + 1)
        .filter(|&w| w < argv.len() as u64)
        .ok_or_else(|| Reply::err(errors::SYNTAX))? as usize;
    let wh = arg(argv, where_idx)?;
    let max = if eqi(wh, "min") {
        false
    } else if eqi(wh, "max") {
        true
    } else {
        return Err(Reply::err(errors::SYNTAX));
    };
    let mut count: i64 = -1;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count == -1 && eqi(&argv[j], "count") && more > 0 {
            j += 1;
            count = parse_long_range(arg(argv, j)?, 1, i64::MAX, COUNT_POSITIVE)?;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
        j += 1;
    }
    let count = if count == -1 { 1 } else { count as usize };
    let timeout = if blocking {
        Some(parse_timeout(arg(argv, 1)?)?)
    } else {
        None
    };
    let keys = argv.get(nk + 1..where_idx).unwrap_or(&[]);
    match first_nonempty(ctx, keys)? {
        Some(key) => {
            let popped = pop_members(ctx, &key, max, count)?.unwrap_or_default();
            // ZMPOP/BZMPOP go as ZPOPMIN/ZPOPMAX key count, as Redis.
            let cmd: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            let n = itoa::Buffer::new().format(popped.len()).as_bytes().to_vec();
            ctx.propagate_as(&[cmd, &key, &n]);
            Ok(Reply::Array(vec![
                Reply::Bulk(key),
                Reply::Array(
                    popped
                        .into_iter()
                        .map(|(m, s)| Reply::Array(vec![m, Reply::Double(s)]))
                        .collect(),
                ),
            ]))
        }
        None => match timeout {
            Some(t) => ctx.block(keys.to_vec(), t, Reply::NilArray),
            None => Ok(Reply::NilArray),
        },
    }
}

fn zmpop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zmpop_generic(ctx, a, 1, false)
}

fn bzmpop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    zmpop_generic(ctx, a, 2, true)
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------

fn zrandmember(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    use rand::Rng;
    let argv = a.argv();
    let key = arg(argv, 1)?;
    let mut rng = rand::rng();
    let Some(c) = argv.get(2) else {
        let Some(z) = ctx.read::<ZSet>(key)? else {
            return Ok(Reply::Nil);
        };
        if z.is_empty() {
            return Ok(Reply::Nil);
        }
        let i = rng.random_range(0..z.len());
        return Ok(z.at_storage_index(i).map_or(Reply::Nil, |(m, _)| bulk(m)));
    };
    let l = parse_i64_arg(c)?;
    if l == i64::MIN {
        return Err(Reply::err(RANDMEMBER_RANGE));
    }
    let mut withscores = false;
    if argv.len() > 4 || (argv.len() == 4 && !eqi(&argv[3], "withscores")) {
        return Err(Reply::err(errors::SYNTAX));
    } else if argv.len() == 4 {
        withscores = true;
        if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return Err(Reply::err(OUT_OF_RANGE));
        }
    }
    let Some(z) = ctx.read::<ZSet>(key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let size = z.len();
    let count = l.unsigned_abs();
    if count == 0 || size == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    // Case 1: repeats allowed (a negative count), or a single member.
    if l < 0 || count == 1 {
        if count > RANDMEMBER_MAX_REPEATS {
            return Err(Reply::err(OUT_OF_RANGE));
        }
        let mut out = Vec::new();
        for _ in 0..count {
            let i = rng.random_range(0..size);
            if let Some((m, s)) = z.at_storage_index(i) {
                out.push((bulk(m), s));
            }
        }
        return Ok(members_reply(out, withscores));
    }
    // Case 2: asked for at least all of it: the whole set, from the top.
    if count >= size as u64 {
        let mut out = Vec::with_capacity(size);
        z.for_ranks(0, size, true, |m, s| out.push((bulk(m), s)));
        return Ok(members_reply(out, withscores));
    }
    let count = count as usize;
    let mut out = Vec::with_capacity(count);
    if count * 3 > size {
        // Case 3: most of it: drop random members from the whole.
        let mut all: Vec<(&[u8], f64)> = z.iter().collect();
        while all.len() > count {
            let i = rng.random_range(0..all.len());
            all.swap_remove(i);
        }
        out.extend(all.into_iter().map(|(m, s)| (bulk(m), s)));
    } else {
        // Case 4: a few of many: distinct random picks.
        let mut picked = std::collections::HashSet::with_capacity(count);
        let mut order = Vec::with_capacity(count);
        while order.len() < count {
            let i = rng.random_range(0..size);
            if picked.insert(i) {
                order.push(i);
            }
        }
        if z.encoding() == "listpack" {
            // Redis samples a listpack in its order.
            order.sort_unstable();
            let wanted: std::collections::HashSet<usize> = order.iter().copied().collect();
            for (i, (m, s)) in z.iter().enumerate() {
                if wanted.contains(&i) {
                    out.push((bulk(m), s));
                }
            }
        } else {
            for i in order {
                if let Some((m, s)) = z.at_storage_index(i) {
                    out.push((bulk(m), s));
                }
            }
        }
    }
    Ok(members_reply(out, withscores))
}

// ---------------------------------------------------------------------------
// Set algebra: ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// zunionInterAggregate: a sum that is NaN (inf + -inf) counts as 0; MIN and
/// MAX keep the current value when the new one is NaN.
fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            *target = if val < *target { val } else { *target };
        }
        Aggregate::Max => {
            *target = if val > *target { val } else { *target };
        }
    }
}

/// Looks up one input key like lookupKeyRead (hit/miss, expiry) and checks
/// its type. Sorted sets only for now; Redis also takes sets (every member
/// scoring 1), which come with the set type.
fn check_source(ctx: &mut Ctx, key: &[u8]) -> Result<(), Reply> {
    let now = ctx.now;
    let kind = ctx
        .db()
        .get(key, now)
        .map(|e| matches!(e.val, Value::ZSet(_) | Value::Set(_)));
    match kind {
        None => {
            ctx.hit(false);
            Ok(())
        }
        Some(ok) => {
            ctx.hit(true);
            if ok {
                Ok(())
            } else {
                Err(Reply::err(errors::WRONGTYPE))
            }
        }
    }
}

/// An input of ZUNION/ZINTER/ZDIFF: a sorted set, or a set whose members
/// all score 1 (as Redis's zsetopsrc).
#[derive(Clone, Copy)]
enum Input<'a> {
    Z(&'a ZSet),
    S(&'a Set),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Z(z) => z.len(),
            Input::S(s) => s.len(),
        }
    }

    /// The same key given twice (compared by address).
    fn same(&self, o: &Input) -> bool {
        let addr = |i: &Input| match *i {
            Input::Z(z) => z as *const ZSet as usize,
            Input::S(s) => s as *const Set as usize,
        };
        addr(self) == addr(o)
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Input::Z(z) => z.score(m),
            Input::S(s) => s.contains(m).then_some(1.0),
        }
    }

    /// Calls `f` with every member and score until it returns false.
    fn each(&self, mut f: impl FnMut(&[u8], f64) -> bool) {
        match self {
            Input::Z(z) => {
                for (m, sc) in z.iter() {
                    if !f(m, sc) {
                        break;
                    }
                }
            }
            Input::S(s) => {
                for m in s.iter() {
                    if !m.with_bytes(|b| f(b, 1.0)) {
                        break;
                    }
                }
            }
        }
    }
}

struct Source<'a> {
    set: Option<Input<'a>>,
    weight: f64,
}

impl Source<'_> {
    fn len(&self) -> usize {
        self.set.map_or(0, |i| i.len())
    }
}

/// The result of an operation: members and scores, in no order.
type Pairs = Vec<(Vec<u8>, f64)>;

fn union(src: &[Source], agg: Aggregate) -> Pairs {
    let mut acc: Map<Vec<u8>, f64> = Map::default();
    for s in src {
        let Some(z) = s.set else { continue };
        z.each(|m, sc| {
            let mut score = s.weight * sc;
            if score.is_nan() {
                score = 0.0;
            }
            match acc.get_mut(m) {
                Some(t) => aggregate(t, score, agg),
                None => {
                    acc.insert(m.to_vec(), score);
                }
            }
            true
        });
    }
    acc.into_iter().collect()
}

/// ZINTER over `src` (sorted by size); with `limit`, only counts (ZINTERCARD,
/// 0 = no limit).
fn inter(src: &[Source], agg: Aggregate, card: Option<u64>) -> (Pairs, u64) {
    let mut out = Vec::new();
    let mut n: u64 = 0;
    let Some((first, rest)) = src.split_first() else {
        return (out, 0);
    };
    let Some(z0) = first.set else {
        return (out, 0);
    };
    z0.each(|m, sc| {
        let mut score = first.weight * sc;
        if score.is_nan() {
            score = 0.0;
        }
        for s in rest {
            let value = match s.set {
                Some(z) if z.same(&z0) => sc * s.weight,
                Some(z) => match z.score(m) {
                    Some(v) => v * s.weight,
                    None => return true,
                },
                None => return true,
            };
            aggregate(&mut score, value, agg);
        }
        match card {
            Some(limit) => {
                n += 1;
                if limit > 0 && n >= limit {
                    return false;
                }
            }
            None => out.push((m.to_vec(), score)),
        }
        true
    });
    (out, n)
}

fn diff(src: &[Source]) -> Pairs {
    let Some((first, rest)) = src.split_first() else {
        return Vec::new();
    };
    let Some(z0) = first.set else {
        return Vec::new();
    };
    // The same key given again subtracts everything.
    if rest.iter().any(|s| s.set.is_some_and(|z| z.same(&z0))) {
        return Vec::new();
    }
    let mut out = Vec::new();
    z0.each(|m, sc| {
        if !rest
            .iter()
            .any(|s| s.set.is_some_and(|z| z.score(m).is_some()))
        {
            out.push((m.to_vec(), sc));
        }
        true
    });
    out
}

/// zunionInterDiffGenericCommand: `nk` is the index of numkeys, `dst` the
/// destination of the STORE forms, `card` true for ZINTERCARD.
fn setop_generic(
    ctx: &mut Ctx,
    a: &mut Args,
    op: SetOp,
    nk: usize,
    dst: Option<&Bytes>,
    card: bool,
    name: &str,
) -> CmdResult {
    let argv = a.argv();
    let setnum = parse_i64_arg(arg(argv, nk)?)?;
    if setnum < 1 {
        return Err(Reply::err_owned(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if setnum as u64 > (argv.len() - (nk + 1)) as u64 {
        return Err(Reply::err(errors::SYNTAX));
    }
    let setnum = setnum as usize;
    let keys = &argv[nk + 1..nk + 1 + setnum];
    for key in keys {
        check_source(ctx, key)?;
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: u64 = 0;
    let mut j = nk + 1 + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let opt = &argv[j];
        if op != SetOp::Diff && !card && remaining > setnum && eqi(opt, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = string2d(arg(argv, j)?).ok_or_else(|| Reply::err(WEIGHT_FLOAT))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card && remaining >= 2 && eqi(opt, "aggregate") {
            let v = arg(argv, j + 1)?;
            agg = if eqi(v, "sum") {
                Aggregate::Sum
            } else if eqi(v, "min") {
                Aggregate::Min
            } else if eqi(v, "max") {
                Aggregate::Max
            } else {
                return Err(Reply::err(errors::SYNTAX));
            };
            j += 2;
        } else if dst.is_none() && !card && eqi(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if card && remaining >= 2 && eqi(opt, "limit") {
            limit = parse_long_range(arg(argv, j + 1)?, 0, i64::MAX, LIMIT_NEGATIVE)? as u64;
            j += 2;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
    }
    let (result, count) = {
        let db = &ctx.shard.dbs[ctx.db];
        let mut src: Vec<Source> = keys
            .iter()
            .zip(&weights)
            .map(|(k, &weight)| Source {
                set: match db.entry_raw(k) {
                    Some(Entry {
                        val: Value::ZSet(z),
                        ..
                    }) => Some(Input::Z(z)),
                    Some(Entry {
                        val: Value::Set(s), ..
                    }) => Some(Input::S(s)),
                    _ => None,
                },
                weight,
            })
            .collect();
        if op != SetOp::Diff {
            // Smallest first (a stable sort, as glibc's qsort here).
            src.sort_by_key(Source::len);
        }
        match op {
            SetOp::Union => (union(&src, agg), 0),
            SetOp::Inter => inter(&src, agg, card.then_some(limit)),
            SetOp::Diff => (diff(&src), 0),
        }
    };
    if card {
        return Ok(Reply::Int(count as i64));
    }
    match dst {
        Some(dst) => {
            let lim: EncLimits = ctx.limits();
            let z = ZSet::from_pairs(result, &lim);
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_result(ctx, dst, z, event)
        }
        None => {
            let mut result = result;
            result.sort_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            });
            let items = result.into_iter().map(|(m, s)| (bulk(&m), s)).collect();
            Ok(members_reply(items, withscores))
        }
    }
}

fn zunion(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    setop_generic(ctx, a, SetOp::Union, 1, None, false, "zunion")
}

fn zinter(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    setop_generic(ctx, a, SetOp::Inter, 1, None, false, "zinter")
}

fn zdiff(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    setop_generic(ctx, a, SetOp::Diff, 1, None, false, "zdiff")
}

fn zintercard(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    setop_generic(ctx, a, SetOp::Inter, 1, None, true, "zintercard")
}

fn zunionstore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let dst = arg(a.argv(), 1)?.clone();
    setop_generic(ctx, a, SetOp::Union, 2, Some(&dst), false, "zunionstore")
}

fn zinterstore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let dst = arg(a.argv(), 1)?.clone();
    setop_generic(ctx, a, SetOp::Inter, 2, Some(&dst), false, "zinterstore")
}

fn zdiffstore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let dst = arg(a.argv(), 1)?.clone();
    setop_generic(ctx, a, SetOp::Diff, 2, Some(&dst), false, "zdiffstore")
}

// ---------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------

/// A score as ZSCAN shows it: from a listpack, the text of what Redis stored
/// there (an integer when double2ll takes it, else "%.17g"); from a
/// skiplist, "%.17Lg" of the score, which is "%.17g".
fn scan_score_text(s: f64, pack: bool) -> String {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if pack && (-LIMIT..=LIMIT).contains(&s) && (s as i64) as f64 == s {
        (s as i64).to_string()
    } else {
        format_double(s)
    }
}

fn zscan(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let argv = a.argv();
    let key = arg(argv, 1)?;
    let cursor = parse_scan_cursor(arg(argv, 2)?).ok_or_else(|| Reply::err(INVALID_CURSOR))?;
    let empty = || {
        Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"0")),
            Reply::Array(Vec::new()),
        ])
    };
    let Some(z) = ctx.read::<ZSet>(key)? else {
        return Ok(empty());
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < argv.len() {
        let left = argv.len() - i;
        if eqi(&argv[i], "count") && left >= 2 {
            count = parse_i64_arg(&argv[i + 1])?;
            if count < 1 {
                return Err(Reply::err(errors::SYNTAX));
            }
            i += 2;
        } else if eqi(&argv[i], "match") && left >= 2 {
            let p = &argv[i + 1][..];
            pattern = (p != b"*").then_some(p);
            i += 2;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
    }
    let mut items = Vec::new();
    let pack = z.encoding() == "listpack";
    let next = z.scan(cursor, count as usize, |m, s| {
        if pattern.is_none_or(|p| glob_match(p, m, false)) {
            items.push(bulk(m));
            items.push(Reply::Bulk(Bytes::from(scan_score_text(s, pack))));
        }
    });
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(items),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_like_c() {
        let t = |s: &str| {
            let (v, n, e) = strtod(s.as_bytes());
            (v, n, e)
        };
        assert_eq!(t("1.5"), (1.5, 3, false));
        assert_eq!(t("  -2"), (-2.0, 4, false));
        assert_eq!(t(""), (0.0, 0, false));
        assert_eq!(t("abc"), (0.0, 0, false));
        assert_eq!(t("-"), (0.0, 0, false));
        assert_eq!(t("1e"), (1.0, 1, false));
        assert_eq!(t("1e+"), (1.0, 1, false));
        assert_eq!(t("1.e3"), (1000.0, 4, false));
        assert_eq!(t(".5"), (0.5, 2, false));
        assert_eq!(t("5."), (5.0, 2, false));
        assert_eq!(t("0x10"), (16.0, 4, false));
        assert_eq!(t("0x1p3"), (8.0, 5, false));
        assert_eq!(t("0x1.8p1"), (3.0, 7, false));
        assert_eq!(t("0x"), (0.0, 1, false));
        assert_eq!(t("-0xg"), (-0.0, 2, false));
        assert_eq!(t("inf"), (f64::INFINITY, 3, false));
        assert_eq!(t("-Infinity"), (f64::NEG_INFINITY, 9, false));
        assert_eq!(t("+infinit"), (f64::INFINITY, 4, false));
        assert!(t("nan").0.is_nan());
        assert_eq!(t("nan(123)").1, 8);
        assert_eq!(t("1e400"), (f64::INFINITY, 5, true));
        assert_eq!(t("1e-400"), (0.0, 6, true));
        assert_eq!(t("0e-400"), (0.0, 6, false));
        assert_eq!(t("1 "), (1.0, 1, false));
    }

    #[test]
    fn string2d_like_redis() {
        assert_eq!(string2d(b"1.5"), Some(1.5));
        assert_eq!(string2d(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(string2d(b"0x10"), Some(16.0));
        assert_eq!(string2d(b"1e-310").map(|v| v > 0.0), Some(true));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"abc",
            b"1\x00",
            b"--1",
        ] {
            assert_eq!(string2d(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn range_items() {
        assert_eq!(score_bound(b"(1"), Some((1.0, true)));
        assert_eq!(score_bound(b""), Some((0.0, false)));
        assert_eq!(score_bound(b"("), Some((0.0, true)));
        assert_eq!(score_bound(b" 1"), Some((1.0, false)));
        assert_eq!(score_bound(b"1\x00x"), Some((1.0, false)));
        assert_eq!(score_bound(b"1x"), None);
        assert_eq!(score_bound(b"nan"), None);
        assert_eq!(lex_bound(b"-"), Some((LexBound::NegInf, true)));
        assert_eq!(lex_bound(b"+"), Some((LexBound::PosInf, true)));
        assert_eq!(lex_bound(b"+a"), None);
        assert_eq!(
            lex_bound(b"[a"),
            Some((LexBound::Val(b"a".to_vec()), false))
        );
        assert_eq!(lex_bound(b"("), Some((LexBound::Val(Vec::new()), true)));
        assert_eq!(lex_bound(b""), None);
        assert_eq!(lex_bound(b"a"), None);
    }

    #[test]
    fn limits_and_ranks() {
        assert_eq!(rank_span(10, 0, -1, false), (0, 10));
        assert_eq!(rank_span(10, 0, 0, true), (9, 10));
        assert_eq!(rank_span(10, -3, -2, true), (1, 3));
        assert_eq!(rank_span(10, 5, 2, false), (0, 0));
        assert_eq!(rank_span(10, i64::MIN, i64::MAX, false), (0, 10));
        assert_eq!(rank_span(0, 0, -1, false), (0, 0));
        assert_eq!(apply_limit(2, 8, 0, -1, false), (2, 8));
        assert_eq!(apply_limit(2, 8, 1, 2, false), (3, 5));
        assert_eq!(apply_limit(2, 8, 1, 2, true), (5, 7));
        assert_eq!(apply_limit(2, 8, 100, 2, true), (2, 2));
        assert_eq!(apply_limit(2, 8, -1, 2, false), (2, 2));
        assert_eq!(apply_limit(2, 8, 0, i64::MAX, false), (2, 8));
    }
}
