//! String commands: GET, SET and friends, counters, ranges.

use super::flags::*;
use super::{errors, parse_f64, Args, CmdResult, CommandSpec, Ctx, Handler::Keyed};
use crate::keyspace::value::parse_i64;
use crate::keyspace::{CBytes, Entry, Ttl, Value};
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
    CommandSpec::new(name, arity, flags, keys, Keyed(f)).doc("string", since, summary)
}

pub const COMMANDS: &[CommandSpec] = &[
    k(
        "get",
        2,
        READONLY | FAST,
        (1, 1, 1),
        get,
        "1.0.0",
        "Get the value of a key",
    ),
    k(
        "set",
        -3,
        WRITE | DENYOOM,
        (1, 1, 1),
        set,
        "1.0.0",
        "Set the string value of a key",
    ),
    k(
        "setnx",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        setnx,
        "1.0.0",
        "Set the value of a key, only if the key does not exist",
    ),
    k(
        "setex",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        setex,
        "2.0.0",
        "Set the value and expiration of a key",
    ),
    k(
        "psetex",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        psetex,
        "2.6.0",
        "Set the value and expiration in milliseconds of a key",
    ),
    k(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        getset,
        "1.0.0",
        "Set the string value of a key and return its old value",
    ),
    k(
        "getdel",
        2,
        WRITE | FAST,
        (1, 1, 1),
        getdel,
        "6.2.0",
        "Get the value of a key and delete the key",
    ),
    k(
        "getex",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        getex,
        "6.2.0",
        "Get the value of a key and optionally set its expiration",
    ),
    k(
        "mget",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        mget,
        "1.0.0",
        "Get the values of all the given keys",
    ),
    k(
        "mset",
        -3,
        WRITE | DENYOOM,
        (1, -1, 2),
        mset,
        "1.0.1",
        "Set multiple keys to multiple values",
    ),
    k(
        "msetnx",
        -3,
        WRITE | DENYOOM,
        (1, -1, 2),
        msetnx,
        "1.0.1",
        "Set multiple keys to multiple values, only if none of the keys exist",
    ),
    k(
        "incr",
        2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        incr,
        "1.0.0",
        "Increment the integer value of a key by one",
    ),
    k(
        "decr",
        2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        decr,
        "1.0.0",
        "Decrement the integer value of a key by one",
    ),
    k(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        incrby,
        "1.0.0",
        "Increment the integer value of a key by the given amount",
    ),
    k(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        decrby,
        "1.0.0",
        "Decrement the integer value of a key by the given number",
    ),
    k(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        incrbyfloat,
        "2.6.0",
        "Increment the float value of a key by the given amount",
    ),
    k(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        append,
        "2.0.0",
        "Append a value to a key",
    ),
    k(
        "strlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        strlen,
        "2.2.0",
        "Get the length of the value stored in a key",
    ),
    k(
        "getrange",
        4,
        READONLY,
        (1, 1, 1),
        getrange,
        "2.4.0",
        "Get a substring of the string stored at a key",
    ),
    k(
        "substr",
        4,
        READONLY,
        (1, 1, 1),
        getrange,
        "1.0.0",
        "Get a substring of the string stored at a key",
    ),
    k(
        "setrange",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        setrange,
        "2.2.0",
        "Overwrite part of a string at key starting at the specified offset",
    ),
];

/// The string at `key`: Ok(None) when missing, WRONGTYPE for other types.
fn get_str<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a CBytes>, Reply> {
    let now = ctx.now;
    let crate::runtime::Shard { dbs, stats } = &mut *ctx.shard;
    match dbs[ctx.db].get(key, now) {
        None => {
            stats.keyspace_misses += 1;
            Ok(None)
        }
        Some(Entry { val, .. }) => {
            stats.keyspace_hits += 1;
            match val {
                Value::Str(s) => Ok(Some(s)),
            }
        }
    }
}

fn bulk(b: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(b))
}

fn get(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    Ok(get_str(ctx, &key)?.map_or(Reply::Nil, |s| bulk(s)))
}

/// Expiry options shared by SET and GETEX.
#[derive(Clone, Copy, PartialEq)]
enum ExpireOpt {
    None,
    At(u64),
    KeepTtl,
    Persist,
}

/// Turns EX/PX/EXAT/PXAT and a number into an absolute ms time, with Redis's
/// "invalid expire time" error for non-positive values and overflow.
fn expire_at(unit: &str, v: i64, now: u64, cmd: &str) -> Result<u64, Reply> {
    let invalid = || Reply::err_owned(errors::invalid_expire(cmd));
    if v <= 0 {
        return Err(invalid());
    }
    let ms = match unit {
        "EX" | "EXAT" => v.checked_mul(1000).ok_or_else(invalid)?,
        _ => v,
    };
    let at = match unit {
        "EX" | "PX" => ms.checked_add(now as i64).ok_or_else(invalid)?,
        _ => ms,
    };
    Ok(at as u64)
}

/// SET's and GETEX's options, parsed as Redis's parseExtendedStringArgumentsOrReply
/// does: a repeated option is fine, conflicting ones are a syntax error, and
/// the expire value is checked only once every option has been read.
struct StrOpts {
    nx: bool,
    xx: bool,
    get: bool,
    exp: ExpireOpt,
}

fn parse_str_opts(ctx: &Ctx, a: &mut Args, is_set: bool, cmd: &str) -> Result<StrOpts, Reply> {
    let mut o = StrOpts {
        nx: false,
        xx: false,
        get: false,
        exp: ExpireOpt::None,
    };
    // The expire unit given last and its raw value.
    let mut unit: Option<(&'static str, Bytes)> = None;
    while a.remaining() > 0 {
        let opt = a.next_keyword()?;
        let has_next = a.remaining() > 0;
        let timed = |u: &str| unit.as_ref().is_some_and(|(x, _)| *x != u);
        match opt.as_str() {
            "NX" if is_set && !o.xx => o.nx = true,
            "XX" if is_set && !o.nx => o.xx = true,
            "GET" if is_set => o.get = true,
            "KEEPTTL" if is_set && unit.is_none() => o.exp = ExpireOpt::KeepTtl,
            "PERSIST" if !is_set && unit.is_none() => o.exp = ExpireOpt::Persist,
            "EX" | "PX" | "EXAT" | "PXAT"
                if o.exp == ExpireOpt::None && !timed(&opt) && has_next =>
            {
                let u = match opt.as_str() {
                    "EX" => "EX",
                    "PX" => "PX",
                    "EXAT" => "EXAT",
                    _ => "PXAT",
                };
                unit = Some((u, a.next_bytes()?));
            }
            _ => return Err(Reply::err(errors::SYNTAX)),
        }
    }
    if let Some((u, v)) = unit {
        let v = parse_i64(&v).ok_or_else(|| Reply::err(errors::NOT_INT))?;
        o.exp = ExpireOpt::At(expire_at(u, v, ctx.now, cmd)?);
    }
    Ok(o)
}

fn set(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let val = a.next_bytes()?;
    let StrOpts {
        nx,
        xx,
        get: get_old,
        exp,
    } = parse_str_opts(ctx, a, true, "set")?;
    let now = ctx.now;
    let old = if get_old {
        get_str(ctx, &key)?.map(|s| bulk(s))
    } else {
        None
    };
    let exists = ctx.db().contains(&key, now);
    if (nx && exists) || (xx && !exists) {
        return Ok(if get_old {
            old.unwrap_or(Reply::Nil)
        } else {
            Reply::Nil
        });
    }
    let ttl = match exp {
        ExpireOpt::At(at) => Ttl::At(at),
        ExpireOpt::KeepTtl => Ttl::Keep,
        _ => Ttl::Clear,
    };
    ctx.db().set(&key, Value::str(&val), ttl, now);
    Ok(if get_old {
        old.unwrap_or(Reply::Nil)
    } else {
        Reply::OK
    })
}

fn setnx(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let val = a.next_bytes()?;
    let now = ctx.now;
    if ctx.db().contains(&key, now) {
        return Ok(Reply::Int(0));
    }
    ctx.db().set(&key, Value::str(&val), Ttl::Clear, now);
    Ok(Reply::Int(1))
}

fn setex_common(ctx: &mut Ctx, a: &mut Args, unit: &str, cmd: &str) -> CmdResult {
    let key = a.next_bytes()?;
    let secs = a.next_i64()?;
    let val = a.next_bytes()?;
    let at = expire_at(unit, secs, ctx.now, cmd)?;
    let now = ctx.now;
    ctx.db().set(&key, Value::str(&val), Ttl::At(at), now);
    Ok(Reply::OK)
}

fn setex(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    setex_common(ctx, a, "EX", "setex")
}

fn psetex(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    setex_common(ctx, a, "PX", "psetex")
}

fn getset(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let val = a.next_bytes()?;
    let old = get_str(ctx, &key)?.map_or(Reply::Nil, |s| bulk(s));
    let now = ctx.now;
    ctx.db().set(&key, Value::str(&val), Ttl::Clear, now);
    Ok(old)
}

fn getdel(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let old = get_str(ctx, &key)?.map(|s| bulk(s));
    if old.is_some() {
        let now = ctx.now;
        ctx.db().remove(&key, now);
    }
    Ok(old.unwrap_or(Reply::Nil))
}

fn getex(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let exp = parse_str_opts(ctx, a, false, "getex")?.exp;
    let now = ctx.now;
    let Some(val) = get_str(ctx, &key)?.map(|s| bulk(s)) else {
        return Ok(Reply::Nil);
    };
    match exp {
        ExpireOpt::At(at) if at <= now => {
            ctx.db().remove(&key, now);
        }
        ExpireOpt::At(at) => {
            ctx.db().set_expire(&key, at, now);
        }
        ExpireOpt::Persist => {
            ctx.db().persist(&key, now);
        }
        _ => {}
    }
    Ok(val)
}

fn mget(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let now = ctx.now;
    let keys: Vec<Bytes> = a.rest().to_vec();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let r = match ctx.db().get(&key, now) {
            Some(Entry {
                val: Value::Str(s), ..
            }) => {
                let r = bulk(s);
                ctx.hit(true);
                r
            }
            #[allow(unreachable_patterns)]
            Some(_) => Reply::Nil,
            None => {
                ctx.hit(false);
                Reply::Nil
            }
        };
        out.push(r);
    }
    Ok(Reply::Array(out))
}

fn mset_pairs(a: &mut Args, cmd: &str) -> Result<Vec<(Bytes, Bytes)>, Reply> {
    if !a.remaining().is_multiple_of(2) {
        return Err(Reply::err_owned(errors::wrong_args(cmd)));
    }
    let rest = a.rest();
    Ok(rest
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect())
}

fn mset(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let pairs = mset_pairs(a, "mset")?;
    let now = ctx.now;
    for (k, v) in pairs {
        ctx.db().set(&k, Value::str(&v), Ttl::Clear, now);
    }
    Ok(Reply::OK)
}

fn msetnx(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let pairs = mset_pairs(a, "msetnx")?;
    let now = ctx.now;
    if pairs.iter().any(|(k, _)| ctx.db().contains(k, now)) {
        return Ok(Reply::Int(0));
    }
    for (k, v) in pairs {
        ctx.db().set(&k, Value::str(&v), Ttl::Clear, now);
    }
    Ok(Reply::Int(1))
}

/// Adds `by` to the integer at `key` (0 when missing), keeping its TTL.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let now = ctx.now;
    let cur = match get_str(ctx, key)? {
        None => 0,
        Some(s) => parse_i64(s).ok_or_else(|| Reply::err(errors::NOT_INT))?,
    };
    let new = cur
        .checked_add(by)
        .ok_or_else(|| Reply::err(errors::OVERFLOW))?;
    let mut buf = itoa::Buffer::new();
    ctx.db()
        .set(key, Value::str(buf.format(new).as_bytes()), Ttl::Keep, now);
    Ok(Reply::Int(new))
}

fn incr(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    incr_by(ctx, &key, 1)
}

fn decr(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    incr_by(ctx, &key, -1)
}

fn incrby(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let by = a.next_i64()?;
    incr_by(ctx, &key, by)
}

fn decrby(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let by = a.next_i64()?;
    let by = by
        .checked_neg()
        .ok_or_else(|| Reply::err("ERR decrement would overflow"))?;
    incr_by(ctx, &key, by)
}

/// Formats a float as INCRBYFLOAT does: "%.17Lg"-like without exponent for
/// human-sized numbers, trailing zeros removed (Redis's ld2string humanfriendly).
pub fn format_human_float(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Redis uses long double "%.17Lf" and trims zeros; with f64 we print the
    // shortest representation that round-trips, in plain notation.
    let mut s = format!("{v}");
    if s.contains('e') {
        s = format!("{v:.17}");
    }
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

fn incrbyfloat(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let by = a.next_slice()?;
    let by = parse_f64(by).ok_or_else(|| Reply::err(errors::NOT_FLOAT))?;
    let now = ctx.now;
    let cur = match get_str(ctx, &key)? {
        None => 0.0,
        Some(s) => parse_f64(s).ok_or_else(|| Reply::err(errors::NOT_FLOAT))?,
    };
    let new = cur + by;
    if new.is_nan() || new.is_infinite() {
        return Err(Reply::err(errors::INCR_NAN_INF));
    }
    let s = format_human_float(new);
    ctx.db().set(&key, Value::str(s.as_bytes()), Ttl::Keep, now);
    Ok(Reply::Bulk(Bytes::from(s)))
}

fn check_size(ctx: &Ctx, len: usize) -> Result<(), Reply> {
    if len > ctx.max_bulk() {
        Err(Reply::err(errors::STRING_TOO_LONG))
    } else {
        Ok(())
    }
}

fn append(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let tail = a.next_bytes()?;
    let now = ctx.now;
    let new = match get_str(ctx, &key)? {
        None => tail.to_vec(),
        Some(s) => {
            let mut v = Vec::with_capacity(s.len() + tail.len());
            v.extend_from_slice(s);
            v.extend_from_slice(&tail);
            v
        }
    };
    check_size(ctx, new.len())?;
    let len = new.len() as i64;
    ctx.db()
        .set(&key, Value::Str(CBytes::from_vec(new)), Ttl::Keep, now);
    Ok(Reply::Int(len))
}

fn strlen(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    Ok(Reply::Int(
        get_str(ctx, &key)?.map_or(0, |s| s.len() as i64),
    ))
}

fn getrange(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let start = a.next_i64()?;
    let end = a.next_i64()?;
    let Some(s) = get_str(ctx, &key)? else {
        return Ok(Reply::Bulk(Bytes::new()));
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if end < 0 {
        end = 0;
    }
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    Ok(bulk(&s[start as usize..=end as usize]))
}

fn setrange(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let offset = a.next_i64()?;
    let val = a.next_bytes()?;
    if offset < 0 {
        return Err(Reply::err(errors::OFFSET_RANGE));
    }
    let now = ctx.now;
    let cur: Option<Vec<u8>> = get_str(ctx, &key)?.map(|s| s.to_vec());
    let offset = offset as usize;
    match cur {
        None if val.is_empty() => Ok(Reply::Int(0)),
        cur => {
            let mut v = cur.unwrap_or_default();
            if val.is_empty() {
                return Ok(Reply::Int(v.len() as i64));
            }
            let need = offset
                .checked_add(val.len())
                .ok_or_else(|| Reply::err(errors::STRING_TOO_LONG))?;
            check_size(ctx, need)?;
            if v.len() < need {
                v.resize(need, 0);
            }
            v[offset..need].copy_from_slice(&val);
            let len = v.len() as i64;
            ctx.db()
                .set(&key, Value::Str(CBytes::from_vec(v)), Ttl::Keep, now);
            Ok(Reply::Int(len))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_human_float;

    #[test]
    fn human_floats() {
        assert_eq!(format_human_float(10.5), "10.5");
        assert_eq!(format_human_float(3.0), "3");
        assert_eq!(format_human_float(5.0e3), "5000");
        assert_eq!(format_human_float(-0.0), "0");
    }
}
