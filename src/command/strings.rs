//! String commands: GET, SET and friends, counters, ranges.

use super::flags::*;
use super::keyspace_events::{GENERIC, STRING};
use super::{errors, Args, CmdResult, CommandSpec, Ctx, Handler::Keyed};
use crate::keyspace::value::parse_i64;
use crate::keyspace::{CBytes, Entry, StrEnc, Ttl, Value};
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
    Ok(ctx.read::<CBytes>(key)?.map(|s| &*s))
}

fn bulk(b: &[u8]) -> Reply {
    Reply::bulk_from_slice(b)
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
    // Only NX/XX need to know: a plain SET costs one table probe, not two.
    let exists = (nx || xx) && ctx.db().contains(&key, now);
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
    ctx.changed(STRING, "set", &key);
    if let Ttl::At(_) = ttl {
        ctx.notify(GENERIC, "expire", &key);
    }
    // Propagated with an absolute expiry and without GET/NX/XX, as Redis
    // (SET key value PXAT ms).
    match ttl {
        Ttl::At(at) => {
            let at = crate::command::propagate::ms_arg(at);
            ctx.propagate_as(&[b"SET".as_slice(), &key, &val, b"PXAT", &at]);
        }
        Ttl::Keep => ctx.propagate_as(&[b"SET".as_slice(), &key, &val, b"KEEPTTL"]),
        Ttl::Clear => ctx.propagate_as(&[b"SET".as_slice(), &key, &val]),
    }
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
    ctx.changed(STRING, "set", &key);
    Ok(Reply::Int(1))
}

fn setex_common(ctx: &mut Ctx, a: &mut Args, unit: &str, cmd: &str) -> CmdResult {
    let key = a.next_bytes()?;
    let secs = a.next_i64()?;
    let val = a.next_bytes()?;
    let at = expire_at(unit, secs, ctx.now, cmd)?;
    let now = ctx.now;
    ctx.db().set(&key, Value::str(&val), Ttl::At(at), now);
    ctx.changed(STRING, "set", &key);
    ctx.notify(GENERIC, "expire", &key);
    let at = crate::command::propagate::ms_arg(at);
    ctx.propagate_as(&[b"SET".as_slice(), &key, &val, b"PXAT", &at]);
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
    ctx.changed(STRING, "set", &key);
    Ok(old)
}

fn getdel(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let old = get_str(ctx, &key)?.map(|s| bulk(s));
    if old.is_some() {
        let now = ctx.now;
        ctx.db().remove(&key, now);
        ctx.changed(GENERIC, "del", &key);
        ctx.propagate_as(&[b"DEL".as_slice(), &key]);
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
    // Propagated as DEL (UNLINK) / PEXPIREAT / PERSIST, as Redis.
    match exp {
        ExpireOpt::At(at) if at <= now => {
            ctx.db().remove(&key, now);
            ctx.changed(GENERIC, "del", &key);
            let del = ctx.expire_del_cmd();
            ctx.propagate_as(&[del, &key]);
        }
        ExpireOpt::At(at) => {
            ctx.db().set_expire(&key, at, now);
            ctx.changed(GENERIC, "expire", &key);
            let at = crate::command::propagate::ms_arg(at);
            ctx.propagate_as(&[b"PEXPIREAT".as_slice(), &key, &at]);
        }
        ExpireOpt::Persist if ctx.db().persist(&key, now) => {
            ctx.changed(GENERIC, "persist", &key);
            ctx.propagate_as(&[b"PERSIST".as_slice(), &key]);
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
            Some(_) => {
                ctx.hit(true);
                Reply::Nil
            }
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
        ctx.changed(STRING, "set", &k);
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
        ctx.changed(STRING, "set", &k);
    }
    Ok(Reply::Int(1))
}

/// Adds `by` to the integer at `key` (0 when missing), keeping its TTL.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let now = ctx.now;
    let mut buf = itoa::Buffer::new();
    // One table probe: an existing counter is rewritten in place, keeping its
    // TTL. (A write lookup: Redis counts no keyspace hit or miss for it.)
    if let Some(e) = ctx.db().get(key, now) {
        let Value::Str(s) = &mut e.val else {
            return Err(Reply::err(errors::WRONGTYPE));
        };
        let cur = parse_i64(s).ok_or_else(|| Reply::err(errors::NOT_INT))?;
        let new = cur
            .checked_add(by)
            .ok_or_else(|| Reply::err(errors::OVERFLOW))?;
        *s = CBytes::new(buf.format(new).as_bytes());
        e.enc = StrEnc::Auto;
        ctx.changed(STRING, "incrby", key);
        return Ok(Reply::Int(new));
    }
    ctx.db()
        .set(key, Value::str(buf.format(by).as_bytes()), Ttl::Keep, now);
    ctx.changed(STRING, "incrby", key);
    Ok(Reply::Int(by))
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

fn incrbyfloat(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let by = a.next_bytes()?;
    let now = ctx.now;
    let not_float = || Reply::err(errors::NOT_FLOAT);
    // Redis reads the stored value first, then the increment.
    let cur = match get_str(ctx, &key)? {
        None => ld::Ld::Finite {
            neg: false,
            mant: 0,
            exp: 0,
        },
        Some(s) => ld::parse(s).ok_or_else(not_float)?,
    };
    let by = ld::parse(&by).ok_or_else(not_float)?;
    let new = ld::add(cur, by).ok_or_else(|| Reply::err(errors::INCR_NAN_INF))?;
    let s = ld::format_human(new);
    ctx.db().set_enc(
        &key,
        Value::str(s.as_bytes()),
        Ttl::Keep,
        now,
        StrEnc::Embstr,
    );
    ctx.changed(STRING, "incrbyfloat", &key);
    // The result, not the increment: float formatting may differ where
    // it is replayed (Redis propagates SET ... KEEPTTL too).
    ctx.propagate_as(&[b"SET".as_slice(), &key, s.as_bytes(), b"KEEPTTL"]);
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
    let cur = get_str(ctx, &key)?;
    let existed = cur.is_some();
    let new = match cur {
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
    // Redis appends in place to an existing key, which makes it raw.
    let enc = if existed { StrEnc::Raw } else { StrEnc::Auto };
    ctx.db()
        .set_enc(&key, Value::Str(CBytes::from_vec(new)), Ttl::Keep, now, enc);
    ctx.changed(STRING, "append", &key);
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
            ctx.db().set_enc(
                &key,
                Value::Str(CBytes::from_vec(v)),
                Ttl::Keep,
                now,
                StrEnc::Raw,
            );
            ctx.changed(STRING, "setrange", &key);
            Ok(Reply::Int(len))
        }
    }
}

/// INCRBYFLOAT's arithmetic, as Redis does it on x86-64: `long double` (x87
/// 80-bit extended, 64-bit significand) parsed by strtold, added once and
/// printed with "%.17Lf". Rust has no such type, so this is a small exact
/// software version: every step is computed on big integers and rounded once,
/// to nearest, ties to even, like the hardware and glibc.
pub(crate) mod ld {
    /// A little-endian big unsigned integer, 32-bit limbs.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Big(Vec<u32>);

    impl Big {
        fn from_u64(v: u64) -> Big {
            let mut b = Big(vec![v as u32, (v >> 32) as u32]);
            b.trim();
            b
        }
        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }
        fn is_zero(&self) -> bool {
            self.0.is_empty()
        }
        fn bits(&self) -> i64 {
            match self.0.last() {
                None => 0,
                Some(&top) => (self.0.len() as i64 - 1) * 32 + (32 - top.leading_zeros() as i64),
            }
        }
        fn bit(&self, i: i64) -> bool {
            if i < 0 {
                return false;
            }
            let (w, b) = ((i / 32) as usize, i % 32);
            self.0.get(w).is_some_and(|x| x >> b & 1 == 1)
        }
        /// True when any bit below `i` is set.
        fn any_below(&self, i: i64) -> bool {
            if i <= 0 {
                return false;
            }
            let (w, b) = ((i / 32) as usize, i % 32);
            self.0.iter().take(w).any(|&x| x != 0)
                || (b > 0 && self.0.get(w).is_some_and(|&x| x & ((1u32 << b) - 1) != 0))
        }
        fn mul_add_small(&mut self, m: u32, a: u32) {
            let mut carry = a as u64;
            for x in self.0.iter_mut() {
                let v = *x as u64 * m as u64 + carry;
                *x = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
        }
        fn pow10(n: u32) -> Big {
            let mut b = Big::from_u64(1);
            let mut left = n;
            while left > 0 {
                let k = left.min(9);
                b.mul_add_small(10u32.pow(k), 0);
                left -= k;
            }
            b
        }
        fn mul(&self, o: &Big) -> Big {
            let mut r = vec![0u32; self.0.len() + o.0.len() + 1];
            for (i, &a) in self.0.iter().enumerate() {
                let mut carry = 0u64;
                for (j, &b) in o.0.iter().enumerate() {
                    let v = r[i + j] as u64 + a as u64 * b as u64 + carry;
                    r[i + j] = v as u32;
                    carry = v >> 32;
                }
                let mut k = i + o.0.len();
                while carry > 0 {
                    let v = r[k] as u64 + carry;
                    r[k] = v as u32;
                    carry = v >> 32;
                    k += 1;
                }
            }
            let mut b = Big(r);
            b.trim();
            b
        }
        fn shl(&self, n: i64) -> Big {
            if self.is_zero() || n == 0 {
                return self.clone();
            }
            let (w, b) = ((n / 32) as usize, (n % 32) as u32);
            let mut r = vec![0u32; w];
            let mut carry = 0u32;
            for &x in &self.0 {
                r.push(if b == 0 { x } else { (x << b) | carry });
                carry = if b == 0 { 0 } else { x >> (32 - b) };
            }
            r.push(carry);
            let mut out = Big(r);
            out.trim();
            out
        }
        fn shr(&self, n: i64) -> Big {
            let (w, b) = ((n / 32) as usize, (n % 32) as u32);
            if w >= self.0.len() {
                return Big(Vec::new());
            }
            let src = &self.0[w..];
            let mut r = Vec::with_capacity(src.len());
            for i in 0..src.len() {
                let lo = src[i] >> b;
                let hi = if b == 0 {
                    0
                } else {
                    src.get(i + 1).map_or(0, |&x| x << (32 - b))
                };
                r.push(lo | hi);
            }
            let mut out = Big(r);
            out.trim();
            out
        }
        fn cmp(&self, o: &Big) -> std::cmp::Ordering {
            self.0
                .len()
                .cmp(&o.0.len())
                .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
        }
        /// self - o, for self >= o.
        fn sub(&self, o: &Big) -> Big {
            let mut r = self.0.clone();
            let mut borrow = 0i64;
            for (i, x) in r.iter_mut().enumerate() {
                let v = *x as i64 - o.0.get(i).copied().unwrap_or(0) as i64 - borrow;
                borrow = i64::from(v < 0);
                *x = v.rem_euclid(1 << 32) as u32;
            }
            let mut b = Big(r);
            b.trim();
            b
        }
        fn add(&self, o: &Big) -> Big {
            let n = self.0.len().max(o.0.len());
            let mut r = Vec::with_capacity(n + 1);
            let mut carry = 0u64;
            for i in 0..n {
                let v = self.0.get(i).copied().unwrap_or(0) as u64
                    + o.0.get(i).copied().unwrap_or(0) as u64
                    + carry;
                r.push(v as u32);
                carry = v >> 32;
            }
            r.push(carry as u32);
            let mut b = Big(r);
            b.trim();
            b
        }
        fn low_u64(&self) -> u64 {
            self.0.first().copied().unwrap_or(0) as u64
                | (self.0.get(1).copied().unwrap_or(0) as u64) << 32
        }
        /// (self / d, self % d) for a small d.
        fn divmod_small(&self, d: u32) -> (Big, u32) {
            let mut q = vec![0u32; self.0.len()];
            let mut rem = 0u64;
            for i in (0..self.0.len()).rev() {
                let cur = (rem << 32) | self.0[i] as u64;
                q[i] = (cur / d as u64) as u32;
                rem = cur % d as u64;
            }
            let mut b = Big(q);
            b.trim();
            (b, rem as u32)
        }
        fn to_decimal(&self) -> String {
            if self.is_zero() {
                return "0".into();
            }
            let mut chunks = Vec::new();
            let mut cur = self.clone();
            while !cur.is_zero() {
                let (q, r) = cur.divmod_small(1_000_000_000);
                chunks.push(r);
                cur = q;
            }
            let mut s = chunks.pop().map_or(String::new(), |c| c.to_string());
            for c in chunks.iter().rev() {
                s.push_str(&format!("{c:09}"));
            }
            s
        }
    }

    /// Exponent of the least significant significand bit of the smallest
    /// subnormal, and the largest leading-bit exponent.
    const MIN_LSB: i64 = -16445;
    const MAX_EXP: i64 = 16383;

    /// A finite or infinite x87 extended value: (-1)^neg * mant * 2^exp.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub enum Ld {
        Finite { neg: bool, mant: u64, exp: i64 },
        Inf { neg: bool },
    }

    /// Rounds num/den * 2^e2 (num, den > 0) to the nearest extended value.
    fn round(neg: bool, num: &Big, den: &Big, e2: i64) -> Ld {
        if num.is_zero() {
            return Ld::Finite {
                neg,
                mant: 0,
                exp: 0,
            };
        }
        // Scale so that the quotient has at least 66 bits.
        let shift = 66 - (num.bits() - den.bits());
        let (n, d) = if shift >= 0 {
            (num.shl(shift), den.clone())
        } else {
            (num.clone(), den.shl(-shift))
        };
        let e = e2 - shift;
        // Binary long division; the quotient has 66 or 67 bits.
        let mut q = Big(Vec::new());
        let mut rem = n;
        for i in (0..68).rev() {
            let dd = d.shl(i);
            if rem.cmp(&dd) != std::cmp::Ordering::Less {
                rem = rem.sub(&dd);
                q = q.add(&Big::from_u64(1).shl(i));
            }
        }
        let lead = q.bits() - 1 + e;
        let lsb = (lead - 63).max(MIN_LSB);
        let s = lsb - e;
        let mut m = q.shr(s).low_u64();
        let round_bit = q.bit(s - 1);
        let sticky = q.any_below(s - 1) || !rem.is_zero();
        let mut exp = lsb;
        if round_bit && (sticky || m & 1 == 1) {
            let (v, over) = m.overflowing_add(1);
            m = if over {
                exp += 1;
                1 << 63
            } else {
                v
            };
        }
        if m != 0 && 63 - m.leading_zeros() as i64 + exp > MAX_EXP {
            return Ld::Inf { neg };
        }
        Ld::Finite { neg, mant: m, exp }
    }

    fn hexval(c: u8) -> Option<u32> {
        (c as char).to_digit(16)
    }

    /// strtold over the whole of `s`, with Redis's string2ld checks: no
    /// leading space, nothing left over, no NaN, no overflow to infinity
    /// and no underflow to zero.
    pub fn parse(s: &[u8]) -> Option<Ld> {
        if s.is_empty() || s.len() >= 5 * 1024 {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(Ld::Inf { neg });
        }
        let hex = lower.starts_with(b"0x");
        let (radix, digits) = if hex {
            (16u32, &lower[2..])
        } else {
            (10, &lower[..])
        };
        let mut mant = Big(Vec::new());
        let mut any = false;
        let mut frac = 0i64;
        let mut i = 0;
        let mut seen_dot = false;
        while i < digits.len() {
            let c = digits[i];
            if c == b'.' && !seen_dot {
                seen_dot = true;
            } else if let Some(v) = hexval(c).filter(|&v| v < radix) {
                any = true;
                mant.mul_add_small(radix, v);
                if seen_dot {
                    frac += 1;
                }
            } else {
                break;
            }
            i += 1;
        }
        if !any {
            return None;
        }
        let mut exp10 = 0i64;
        if i < digits.len() {
            let marker = if hex { b'p' } else { b'e' };
            if digits[i] != marker {
                return None;
            }
            let e = &digits[i + 1..];
            let (eneg, ed) = match e.first() {
                Some(b'-') => (true, &e[1..]),
                Some(b'+') => (false, &e[1..]),
                _ => (false, e),
            };
            if ed.is_empty() || !ed.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let mut v: i64 = 0;
            for &c in ed {
                v = (v * 10 + (c - b'0') as i64).min(1 << 40);
            }
            exp10 = if eneg { -v } else { v };
        }
        let v = if mant.is_zero() {
            Ld::Finite {
                neg,
                mant: 0,
                exp: 0,
            }
        } else if hex {
            let e2 = exp10 - 4 * frac;
            if e2 + mant.bits() > MAX_EXP + 2 {
                Ld::Inf { neg }
            } else if e2 + mant.bits() < MIN_LSB - 2 {
                return None;
            } else {
                round(neg, &mant, &Big::from_u64(1), e2)
            }
        } else {
            let k = exp10 - frac;
            // Decimal exponent of the leading digit.
            let lead = mant.to_decimal().len() as i64 - 1 + k;
            if lead > 4933 {
                Ld::Inf { neg }
            } else if lead < -4953 {
                return None;
            } else if k >= 0 {
                round(neg, &mant.mul(&Big::pow10(k as u32)), &Big::from_u64(1), 0)
            } else {
                round(neg, &mant, &Big::pow10((-k) as u32), 0)
            }
        };
        match v {
            Ld::Inf { .. } if lower.starts_with(b"inf") => Some(v),
            // Overflow (ERANGE with HUGE_VALL) is refused like Redis does.
            Ld::Inf { .. } => None,
            // Underflow to zero (ERANGE with 0) is refused too.
            Ld::Finite { mant: 0, .. } if !mant.is_zero() => None,
            v => Some(v),
        }
    }

    /// a + b, rounded once; None for NaN or infinity (Redis's error).
    pub fn add(a: Ld, b: Ld) -> Option<Ld> {
        let (
            Ld::Finite {
                neg: na,
                mant: ma,
                exp: ea,
            },
            Ld::Finite {
                neg: nb,
                mant: mb,
                exp: eb,
            },
        ) = (a, b)
        else {
            return None;
        };
        if ma == 0 && mb == 0 {
            return Some(Ld::Finite {
                neg: na && nb,
                mant: 0,
                exp: 0,
            });
        }
        if ma == 0 {
            return Some(b);
        }
        if mb == 0 {
            return Some(a);
        }
        let e = ea.min(eb);
        let x = Big::from_u64(ma).shl(ea - e);
        let y = Big::from_u64(mb).shl(eb - e);
        let (neg, n) = if na == nb {
            (na, x.add(&y))
        } else {
            match x.cmp(&y) {
                std::cmp::Ordering::Greater => (na, x.sub(&y)),
                std::cmp::Ordering::Less => (nb, y.sub(&x)),
                std::cmp::Ordering::Equal => (false, Big(Vec::new())),
            }
        };
        match round(neg, &n, &Big::from_u64(1), e) {
            Ld::Inf { .. } => None,
            v => Some(v),
        }
    }

    /// "%.17Lf", then Redis's ld2string(LD_STR_HUMAN) trimming: no trailing
    /// zeros, no trailing dot, "-0" as "0".
    pub fn format_human(v: Ld) -> String {
        let Ld::Finite { neg, mant, exp } = v else {
            return match v {
                Ld::Inf { neg: true } => "-inf".into(),
                _ => "inf".into(),
            };
        };
        // value * 10^17, rounded half to even.
        let n = Big::from_u64(mant).mul(&Big::pow10(17));
        let scaled = if exp >= 0 {
            n.shl(exp)
        } else {
            let q = n.shr(-exp);
            let half = n.bit(-exp - 1);
            let sticky = n.any_below(-exp - 1);
            if half && (sticky || q.bit(0)) {
                q.add(&Big::from_u64(1))
            } else {
                q
            }
        };
        let mut digits = scaled.to_decimal();
        while digits.len() < 18 {
            digits.insert(0, '0');
        }
        let (int, frac) = digits.split_at(digits.len() - 17);
        let frac = frac.trim_end_matches('0');
        let mut s = String::new();
        if neg {
            s.push('-');
        }
        s.push_str(int);
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        if s == "-0" {
            s = "0".into();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::ld::{add, format_human, parse};

    fn incr(a: &str, b: &str) -> Option<String> {
        let x = parse(a.as_bytes())?;
        let y = parse(b.as_bytes())?;
        add(x, y).map(format_human)
    }

    #[test]
    fn long_double_like_redis() {
        // Expected strings are redis-server 7.0.15's replies on x86-64.
        assert_eq!(incr("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(
            incr("5.6", "3.0e3").as_deref(),
            Some("3005.60000000000000009")
        );
        assert_eq!(incr("0.1", "0.2").as_deref(), Some("0.3"));
        assert_eq!(incr("1e17", "1").as_deref(), Some("100000000000000001"));
        assert_eq!(incr("0", "1e-300").as_deref(), Some("0"));
        assert_eq!(incr("0x10", "1").as_deref(), Some("17"));
        assert_eq!(
            incr("9223372036854775808", "1").as_deref(),
            Some("9223372036854775809")
        );
        assert_eq!(
            incr("3", "3.14159265358979323846").as_deref(),
            Some("6.14159265358979324")
        );
        assert_eq!(incr("0", "-0.0").as_deref(), Some("0"));
        assert_eq!(incr("0", "-1e-30").as_deref(), Some("0"));
        assert_eq!(incr("5.", "-.5").as_deref(), Some("4.5"));
        assert!(incr("1", "inf").is_none());
        assert!(parse(b"nan").is_none());
        assert!(parse(b" 1").is_none());
        assert!(parse(b"1 ").is_none());
        assert!(parse(b"1e").is_none());
        assert!(parse(b"0x").is_none());
        assert!(parse(b".").is_none());
        assert!(parse(b"1e5000").is_none());
        assert!(parse(b"1e-5000").is_none());
        assert!(parse(b"1e4000").is_some());
        assert!(parse(b"-inf").is_some());
    }
}
