//! Generic key commands: DEL, EXISTS, EXPIRE and TTL families, RENAME, COPY,
//! MOVE, OBJECT (keyed, on the owning core) and KEYS, SCAN, RANDOMKEY, DBSIZE,
//! FLUSHDB, FLUSHALL, SWAPDB (node-wide, fanned out over the cores).

use super::flags::*;
use super::keyspace_events::GENERIC;
use super::{errors, Args, CmdResult, CommandSpec, Ctx, Handler};
use crate::cluster::slot::SLOTS;
use crate::keyspace::glob::glob_match;
use crate::keyspace::Ttl;
use crate::protocol::Reply;
use crate::runtime::{now_ms, Core, Job};
use crate::server::aof;
use crate::server::client::Client;
use bytes::Bytes;
use std::rc::Rc;

const fn k(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i16, i16, i16),
    f: super::KeyedFn,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, keys, Handler::Keyed(f)).doc("generic", since, summary)
}

const fn n(
    name: &'static str,
    arity: i32,
    flags: u32,
    f: super::ConnFn,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, (0, 0, 0), Handler::Conn(f)).doc("generic", since, summary)
}

const OBJECT_SUBS: &[CommandSpec] = &[
    k(
        "encoding",
        3,
        READONLY,
        (2, 2, 1),
        object_encoding,
        "2.2.3",
        "Inspect the internal encoding of a Redis object",
    ),
    k(
        "freq",
        3,
        READONLY,
        (2, 2, 1),
        object_freq,
        "4.0.0",
        "Get the logarithmic access frequency counter of a Redis object",
    ),
    k(
        "idletime",
        3,
        READONLY,
        (2, 2, 1),
        object_idletime,
        "2.2.3",
        "Get the time since a Redis object was last accessed",
    ),
    k(
        "refcount",
        3,
        READONLY,
        (2, 2, 1),
        object_refcount,
        "2.2.3",
        "Get the number of references to the value of the key",
    ),
    k(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        object_help,
        "6.2.0",
        "Show helpful text about the different subcommands",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    k("del", -2, WRITE, (1, -1, 1), del, "1.0.0", "Delete a key"),
    k("unlink", -2, WRITE | FAST, (1, -1, 1), del, "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking."),
    k("exists", -2, READONLY | FAST, (1, -1, 1), exists, "1.0.0", "Determine if a key exists"),
    k("touch", -2, READONLY | FAST, (1, -1, 1), touch, "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified."),
    k("type", 2, READONLY | FAST, (1, 1, 1), type_cmd, "1.0.0", "Determine the type stored at key"),
    k("expire", -3, WRITE | FAST, (1, 1, 1), expire, "1.0.0", "Set a key's time to live in seconds"),
    k("pexpire", -3, WRITE | FAST, (1, 1, 1), pexpire, "2.6.0", "Set a key's time to live in milliseconds"),
    k("expireat", -3, WRITE | FAST, (1, 1, 1), expireat, "1.2.0", "Set the expiration for a key as a UNIX timestamp"),
    k("pexpireat", -3, WRITE | FAST, (1, 1, 1), pexpireat, "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds"),
    k("ttl", 2, READONLY | FAST, (1, 1, 1), ttl, "1.0.0", "Get the time to live for a key in seconds"),
    k("pttl", 2, READONLY | FAST, (1, 1, 1), pttl, "2.6.0", "Get the time to live for a key in milliseconds"),
    k("expiretime", 2, READONLY | FAST, (1, 1, 1), expiretime, "7.0.0", "Get the expiration Unix timestamp for a key"),
    k("pexpiretime", 2, READONLY | FAST, (1, 1, 1), pexpiretime, "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds"),
    k("persist", 2, WRITE | FAST, (1, 1, 1), persist, "2.2.0", "Remove the expiration from a key"),
    k("rename", 3, WRITE, (1, 2, 1), rename, "1.0.0", "Rename a key"),
    k("renamenx", 3, WRITE | FAST, (1, 2, 1), renamenx, "1.0.0", "Rename a key, only if the new key does not exist"),
    k("copy", -3, WRITE | DENYOOM, (1, 2, 1), copy, "6.2.0", "Copy a key"),
    k("move", 3, WRITE | FAST, (1, 1, 1), move_cmd, "1.0.0", "Move a key to another database"),
    CommandSpec::new("object", -2, 0, (0, 0, 0), Handler::Container)
        .doc("generic", "2.2.3", "A container for object introspection commands")
        .subs(OBJECT_SUBS),
    n("keys", 2, READONLY, keys, "1.0.0", "Find all keys matching the given pattern"),
    n("scan", -2, READONLY, scan, "2.8.0", "Incrementally iterate the keys space"),
    n("randomkey", 1, READONLY, randomkey, "1.0.0", "Return a random key from the keyspace"),
    n("dbsize", 1, READONLY | FAST, dbsize, "1.0.0", "Return the number of keys in the selected database"),
    n("flushdb", -1, WRITE, flushdb, "1.0.0", "Remove all keys from the current database"),
    n("flushall", -1, WRITE, flushall, "1.0.0", "Remove all keys from all databases"),
    n("swapdb", 3, WRITE | FAST, swapdb, "4.0.0", "Swaps two Redis databases"),
];

fn del(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let now = ctx.now;
    let mut n = 0;
    for key in a.rest().to_vec() {
        if ctx.db().remove(&key, now).is_some() {
            ctx.changed(GENERIC, "del", &key);
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn exists(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let now = ctx.now;
    let mut n = 0;
    for key in a.rest().to_vec() {
        if ctx.db().contains(&key, now) {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn touch(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let now = ctx.now;
    let mut n = 0;
    for key in a.rest().to_vec() {
        if ctx.db().get(&key, now).is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn type_cmd(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let now = ctx.now;
    let t = ctx
        .db()
        .peek(&key, now)
        .map_or("none", |e| e.val.type_name());
    Ok(Reply::simple(t))
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Secs,
    Ms,
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX XX GT LT, as Redis 7.0.
fn expire_generic(ctx: &mut Ctx, a: &mut Args, unit: Unit, absolute: bool, cmd: &str) -> CmdResult {
    let key = a.next_bytes()?;
    let when = a.next_bytes()?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    while a.remaining() > 0 {
        let opt = a.next_keyword()?;
        match opt.as_str() {
            "NX" => nx = true,
            "XX" => xx = true,
            "GT" => gt = true,
            "LT" => lt = true,
            _ => {
                let raw =
                    String::from_utf8_lossy(a.argv()[a.argv().len() - a.remaining() - 1].as_ref())
                        .into_owned();
                return Err(Reply::err_owned(format!("ERR Unsupported option {raw}")));
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Reply::err(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(Reply::err(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let mut when = super::parse_i64_arg(&when)?;
    let invalid = || Reply::err_owned(errors::invalid_expire(cmd));
    if unit == Unit::Secs {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(invalid());
        }
        when *= 1000;
    }
    let base = if absolute { 0 } else { ctx.now as i64 };
    if when > i64::MAX - base {
        return Err(invalid());
    }
    when += base;
    let now = ctx.now;
    if !ctx.db().contains(&key, now) {
        return Ok(Reply::Int(0));
    }
    let cur = ctx.db().expire_of(&key);
    if (nx && cur.is_some()) || (xx && cur.is_none()) {
        return Ok(Reply::Int(0));
    }
    if gt && cur.is_none_or(|c| when <= c as i64) {
        return Ok(Reply::Int(0));
    }
    if lt && cur.is_some_and(|c| when >= c as i64) {
        return Ok(Reply::Int(0));
    }
    if when <= now as i64 {
        ctx.db().remove(&key, now);
        ctx.changed(GENERIC, "del", &key);
        let del = ctx.expire_del_cmd();
        ctx.propagate_as(&[del, &key]);
    } else {
        ctx.db().set_expire(&key, when as u64, now);
        ctx.changed(GENERIC, "expire", &key);
        if ctx.propagating() {
            // PEXPIREAT with the absolute time, options kept (as Redis).
            let at = super::propagate::ms_arg(when as u64);
            let mut argv: Vec<&[u8]> = vec![b"PEXPIREAT", &key, &at];
            let all = a.argv();
            argv.extend(all.iter().skip(3).map(|b| &b[..]));
            let argv: Vec<Vec<u8>> = argv.into_iter().map(<[u8]>::to_vec).collect();
            ctx.propagate_as(&argv);
        }
    }
    Ok(Reply::Int(1))
}

fn expire(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    expire_generic(ctx, a, Unit::Secs, false, "expire")
}
fn pexpire(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    expire_generic(ctx, a, Unit::Ms, false, "pexpire")
}
fn expireat(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    expire_generic(ctx, a, Unit::Secs, true, "expireat")
}
fn pexpireat(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    expire_generic(ctx, a, Unit::Ms, true, "pexpireat")
}

fn ttl_generic(ctx: &mut Ctx, a: &mut Args, ms: bool, absolute: bool) -> CmdResult {
    let key = a.next_bytes()?;
    let now = ctx.now;
    if ctx.db().peek(&key, now).is_none() {
        return Ok(Reply::Int(-2));
    }
    let Some(at) = ctx.db().expire_of(&key) else {
        return Ok(Reply::Int(-1));
    };
    let t = if absolute {
        at as i64
    } else {
        (at as i64 - now as i64).max(0)
    };
    Ok(Reply::Int(if ms { t } else { (t + 500) / 1000 }))
}

fn ttl(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    ttl_generic(ctx, a, false, false)
}
fn pttl(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    ttl_generic(ctx, a, true, false)
}
fn expiretime(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    ttl_generic(ctx, a, false, true)
}
fn pexpiretime(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    ttl_generic(ctx, a, true, true)
}

fn persist(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let now = ctx.now;
    let done = ctx.db().persist(&key, now);
    if done {
        ctx.changed(GENERIC, "persist", &key);
    }
    Ok(Reply::Int(done as i64))
}

fn rename_generic(ctx: &mut Ctx, a: &mut Args, nx: bool) -> CmdResult {
    let src = a.next_bytes()?;
    let dst = a.next_bytes()?;
    let now = ctx.now;
    if !ctx.db().contains(&src, now) {
        return Err(Reply::err(errors::NO_SUCH_KEY));
    }
    if src == dst {
        return Ok(if nx { Reply::Int(0) } else { Reply::OK });
    }
    if nx && ctx.db().contains(&dst, now) {
        return Ok(Reply::Int(0));
    }
    let Some((e, exp)) = ctx.db().remove(&src, now) else {
        return Err(Reply::err(errors::NO_SUCH_KEY));
    };
    ctx.db()
        .set(&dst, e.val, exp.map_or(Ttl::Clear, Ttl::At), now);
    ctx.changed(GENERIC, "rename_from", &src);
    ctx.changed(GENERIC, "rename_to", &dst);
    Ok(if nx { Reply::Int(1) } else { Reply::OK })
}

fn rename(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    rename_generic(ctx, a, false)
}
fn renamenx(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    rename_generic(ctx, a, true)
}

/// Parses a DB index argument with Redis's texts.
fn db_index(ctx: &Ctx, b: &[u8]) -> Result<usize, Reply> {
    let i = super::parse_i32_arg(b)?;
    if i < 0 || i as usize >= ctx.shard.dbs.len() {
        return Err(Reply::err(errors::DB_INDEX));
    }
    Ok(i as usize)
}

fn copy(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let src = a.next_bytes()?;
    let dst = a.next_bytes()?;
    let mut dst_db = ctx.db;
    let mut replace = false;
    while a.remaining() > 0 {
        let opt = a.next_keyword()?;
        match opt.as_str() {
            "REPLACE" => replace = true,
            "DB" => {
                let b = a.next_bytes()?;
                dst_db = db_index(ctx, &b)?;
            }
            _ => return Err(Reply::err(errors::SYNTAX)),
        }
    }
    if src == dst && dst_db == ctx.db {
        return Err(Reply::err(errors::SAME_OBJECT));
    }
    let now = ctx.now;
    let Some(e) = ctx.db().peek(&src, now).cloned() else {
        return Ok(Reply::Int(0));
    };
    let exp = ctx.db().expire_of(&src);
    let target = &mut ctx.shard.dbs[dst_db];
    if target.contains(&dst, now) {
        if !replace {
            return Ok(Reply::Int(0));
        }
        target.remove(&dst, now);
    }
    target.set(&dst, e.val, exp.map_or(Ttl::Clear, Ttl::At), now);
    ctx.changed_in(dst_db, GENERIC, "copy_to", &dst);
    Ok(Reply::Int(1))
}

fn move_cmd(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let b = a.next_bytes()?;
    let dst = db_index(ctx, &b)?;
    if ctx.node.cluster_enabled() {
        return Err(Reply::err("ERR MOVE is not allowed in cluster mode"));
    }
    if dst == ctx.db {
        return Err(Reply::err(errors::SAME_OBJECT));
    }
    let now = ctx.now;
    if !ctx.db().contains(&key, now) || ctx.shard.dbs[dst].contains(&key, now) {
        return Ok(Reply::Int(0));
    }
    let Some((e, exp)) = ctx.db().remove(&key, now) else {
        return Ok(Reply::Int(0));
    };
    ctx.shard.dbs[dst].set(&key, e.val, exp.map_or(Ttl::Clear, Ttl::At), now);
    ctx.changed(GENERIC, "move_from", &key);
    ctx.changed_in(dst, GENERIC, "move_to", &key);
    Ok(Reply::Int(1))
}

fn object_encoding(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let now = ctx.now;
    Ok(ctx
        .db()
        .peek(&key, now)
        .map_or(Reply::Nil, |e| Reply::bulk(e.encoding())))
}

const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

fn object_freq(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let now = ctx.now;
    let lfu = ctx.node.lfu_policy();
    let Some(e) = ctx.db().peek(&key, now) else {
        return Ok(Reply::Nil);
    };
    if !lfu {
        return Err(Reply::err(LFU_NOT_SELECTED));
    }
    Ok(Reply::Int(e.lfu as i64))
}

fn object_idletime(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let now = ctx.now;
    let lfu = ctx.node.lfu_policy();
    let Some(e) = ctx.db().peek(&key, now) else {
        return Ok(Reply::Nil);
    };
    if lfu {
        return Err(Reply::err(LFU_SELECTED));
    }
    let clock = crate::keyspace::lru_clock(now);
    let idle = if clock >= e.lru {
        clock - e.lru
    } else {
        clock + (0xff_ffff - e.lru)
    };
    Ok(Reply::Int(idle as i64))
}

fn object_refcount(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let now = ctx.now;
    let Some(e) = ctx.db().peek(&key, now) else {
        return Ok(Reply::Nil);
    };
    // Redis shares the integers 0..9999 (refcount INT_MAX) while no maxmemory is set.
    let shared = match &e.val {
        crate::keyspace::Value::Str(s) => {
            crate::keyspace::value::parse_i64(s).is_some_and(|v| (0..10000).contains(&v))
        }
        _ => false,
    };
    Ok(Reply::Int(if shared { i32::MAX as i64 } else { 1 }))
}

fn object_help(_ctx: &mut Ctx, _a: &mut Args) -> CmdResult {
    Ok(help_reply(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    ))
}

/// The reply of a `<CMD> HELP` subcommand, framed as Redis frames it.
pub fn help_reply(cmd: &str, lines: &[&str]) -> Reply {
    let mut out = vec![Reply::Simple(
        format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").into(),
    )];
    out.extend(lines.iter().map(|l| Reply::Simple(l.to_string().into())));
    out.push(Reply::simple("HELP"));
    out.push(Reply::simple("    Prints this help."));
    Reply::Array(out)
}

// ---- node-wide commands -------------------------------------------------

fn keys(c: &mut Client, a: Args) -> futures::future::LocalBoxFuture<'_, CmdResult> {
    Box::pin(async move {
        let pattern = a.argv()[1].clone();
        let db = c.db;
        let all = pattern.as_ref() == b"*";
        let per_core = c
            .core
            .run_on_all(move |core| {
                let now = now_ms();
                let mut out = Vec::new();
                let mut shard = core.shard.borrow_mut();
                let d = &mut shard.dbs[db];
                let mut cur = Some((0, 0));
                while let Some(cu) = cur {
                    cur = d.scan(cu, SLOTS, usize::MAX, now, |k, _| {
                        if all || glob_match(&pattern, k, false) {
                            out.push(Bytes::copy_from_slice(k));
                        }
                    });
                }
                out
            })
            .await;
        Ok(Reply::Array(
            per_core.into_iter().flatten().map(Reply::Bulk).collect(),
        ))
    })
}

/// SCAN cursors are `(position << 14) | slot`: valid on any core, and stable
/// while slots move between cores.
fn decode_cursor(c: u64) -> (usize, usize) {
    ((c & (SLOTS as u64 - 1)) as usize, (c >> 14) as usize)
}

fn encode_cursor(slot: usize, pos: usize) -> u64 {
    ((pos as u64) << 14) | slot as u64
}

/// A cursor as Redis's parseScanCursorOrReply reads it with strtoul: an
/// optional sign, decimal digits, no leading space; "-1" wraps to 2^64-1, an
/// empty string is 0, more than 64 bits is an error.
pub(crate) fn parse_scan_cursor(b: &[u8]) -> Option<u64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if b.is_empty() {
        return Some(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

fn scan(c: &mut Client, mut a: Args) -> futures::future::LocalBoxFuture<'_, CmdResult> {
    Box::pin(async move {
        let cur = a.next_bytes()?;
        let cursor = parse_scan_cursor(&cur).ok_or_else(|| Reply::err("ERR invalid cursor"))?;
        let mut count = 10usize;
        let mut pattern: Option<Bytes> = None;
        let mut typ: Option<String> = None;
        while a.remaining() > 0 {
            let opt = a.next_keyword()?;
            match opt.as_str() {
                "COUNT" => {
                    let n = a.next_i64()?;
                    if n < 1 {
                        return Err(Reply::err(errors::SYNTAX));
                    }
                    count = n as usize;
                }
                "MATCH" => pattern = Some(a.next_bytes()?),
                "TYPE" => typ = Some(String::from_utf8_lossy(&a.next_bytes()?).to_lowercase()),
                _ => return Err(Reply::err(errors::SYNTAX)),
            }
        }
        let (slot, pos) = decode_cursor(cursor);
        let db = c.db;
        let topo = c.core.topology();
        let owner = topo.core_of(slot as u16);
        let mut end = slot + 1;
        while end < SLOTS && topo.core_of(end as u16) == owner {
            end += 1;
        }
        let (keys, next) = c
            .core
            .run_on(owner, move |core| {
                let now = now_ms();
                let mut out = Vec::new();
                let mut shard = core.shard.borrow_mut();
                let d = &mut shard.dbs[db];
                let next = d.scan((slot, pos), end, count, now, |k, e| {
                    if pattern.as_ref().is_some_and(|p| !glob_match(p, k, false)) {
                        return;
                    }
                    if typ.as_ref().is_some_and(|t| t != e.val.type_name()) {
                        return;
                    }
                    out.push(Bytes::copy_from_slice(k));
                });
                (out, next)
            })
            .await
            .unwrap_or_default();
        let next = match next {
            Some((s, p)) => encode_cursor(s, p),
            None if end < SLOTS => encode_cursor(end, 0),
            None => 0,
        };
        Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from(next.to_string())),
            Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
        ]))
    })
}

fn randomkey(c: &mut Client, _a: Args) -> futures::future::LocalBoxFuture<'_, CmdResult> {
    Box::pin(async move {
        use rand::Rng;
        let db = c.db;
        for _ in 0..16 {
            let counts = c
                .core
                .run_on_all(move |core| core.shard.borrow().dbs[db].len())
                .await;
            let total: usize = counts.iter().sum();
            if total == 0 {
                return Ok(Reply::Nil);
            }
            let mut pick = rand::rng().random_range(0..total);
            let mut target = 0;
            for (i, n) in counts.iter().enumerate() {
                if pick < *n {
                    target = i;
                    break;
                }
                pick -= n;
            }
            let key = c
                .core
                .run_on(target, move |core| {
                    core.shard.borrow_mut().dbs[db]
                        .random_key(now_ms())
                        .map(|k| Bytes::copy_from_slice(&k))
                })
                .await
                .flatten();
            if let Some(k) = key {
                return Ok(Reply::Bulk(k));
            }
        }
        Ok(Reply::Nil)
    })
}

fn dbsize(c: &mut Client, _a: Args) -> futures::future::LocalBoxFuture<'_, CmdResult> {
    Box::pin(async move {
        let db = c.db;
        let n: usize = c
            .core
            .run_on_all(move |core| core.shard.borrow().dbs[db].len())
            .await
            .into_iter()
            .sum();
        Ok(Reply::Int(n as i64))
    })
}

/// Runs `job` on every core while all of them are reserved, so that no
/// client sees the change on some cores and not yet on others.
pub async fn on_all_cores_atomically(
    core: &Rc<Core>,
    job: impl Fn(&Rc<Core>) + Send + Sync + Clone + 'static,
) {
    let all: Vec<usize> = (0..core.ncores).collect();
    let n = all.len();
    core.lock_and(
        &all,
        |_| (),
        move |_| {
            let jobs: Vec<Option<Job>> = (0..n)
                .map(|_| {
                    let j = job.clone();
                    Some(Box::new(move |c: &Rc<Core>| j(c)) as Job)
                })
                .collect();
            (jobs, ())
        },
    )
    .await
}

fn flush_opts(a: &mut Args) -> Result<(), Reply> {
    if a.remaining() > 1 {
        return Err(Reply::err(errors::SYNTAX));
    }
    if a.remaining() == 1 {
        let o = a.next_keyword()?;
        if o != "ASYNC" && o != "SYNC" {
            return Err(Reply::err(errors::SYNTAX));
        }
    }
    Ok(())
}

fn flushdb(c: &mut Client, mut a: Args) -> futures::future::LocalBoxFuture<'_, CmdResult> {
    Box::pin(async move {
        flush_opts(&mut a)?;
        let db = c.db;
        let barrier = c.core.node.aof.next_barrier();
        on_all_cores_atomically(&c.core, move |core| {
            let mut shard = core.shard.borrow_mut();
            aof::log_node_wide(&mut shard, core.id, barrier, db, &[b"FLUSHDB"]);
            shard.touch_watched_in_db(db, None);
            shard.dbs[db].clear();
        })
        .await;
        aof::durable_everywhere(&c.core).await;
        Ok(Reply::OK)
    })
}

fn flushall(c: &mut Client, mut a: Args) -> futures::future::LocalBoxFuture<'_, CmdResult> {
    Box::pin(async move {
        flush_opts(&mut a)?;
        let barrier = c.core.node.aof.next_barrier();
        on_all_cores_atomically(&c.core, move |core| {
            let mut shard = core.shard.borrow_mut();
            aof::log_node_wide(&mut shard, core.id, barrier, 0, &[b"FLUSHALL"]);
            for db in 0..shard.dbs.len() {
                shard.touch_watched_in_db(db, None);
                shard.dbs[db].clear();
            }
        })
        .await;
        aof::durable_everywhere(&c.core).await;
        // As Redis: with save points set, the emptied dataset is saved at
        // once (after a running save), so a restart does not bring the keys
        // back; a failed save is logged and does not fail FLUSHALL.
        let saving = c
            .core
            .node
            .config
            .read()
            .is_ok_and(|cfg| !cfg.save_params().is_empty());
        if saving {
            let _ = crate::server::snapshot::save_after_flush(&c.core).await;
        }
        Ok(Reply::OK)
    })
}

fn swapdb(c: &mut Client, mut a: Args) -> futures::future::LocalBoxFuture<'_, CmdResult> {
    Box::pin(async move {
        if c.core.node.cluster_enabled() {
            return Err(Reply::err("ERR SWAPDB is not allowed in cluster mode"));
        }
        let x = a.next_bytes()?;
        let y = a.next_bytes()?;
        let x = super::parse_i32_arg(&x).map_err(|_| Reply::err("ERR invalid first DB index"))?;
        let y = super::parse_i32_arg(&y).map_err(|_| Reply::err("ERR invalid second DB index"))?;
        let (x, y) = (i64::from(x), i64::from(y));
        let n = c.core.shard.borrow().dbs.len() as i64;
        if x < 0 || x >= n || y < 0 || y >= n {
            return Err(Reply::err(errors::DB_INDEX));
        }
        let (x, y) = (x as usize, y as usize);
        let barrier = c.core.node.aof.next_barrier();
        let (xs, ys) = (x.to_string(), y.to_string());
        on_all_cores_atomically(&c.core, move |core| {
            let mut shard = core.shard.borrow_mut();
            let argv: [&[u8]; 3] = [b"SWAPDB", xs.as_bytes(), ys.as_bytes()];
            aof::log_node_wide(&mut shard, core.id, barrier, 0, &argv);
            shard.touch_watched_in_db(x, Some(y));
            shard.touch_watched_in_db(y, Some(x));
            shard.dbs.swap(x, y);
        })
        .await;
        aof::durable_everywhere(&c.core).await;
        Ok(Reply::OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cursor_like_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"+7"), Some(7));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_scan_cursor(b" 1"), None);
        assert_eq!(parse_scan_cursor(b"1x"), None);
        assert_eq!(parse_scan_cursor(b"-"), None);
    }

    #[test]
    fn cursor_roundtrip() {
        for (s, p) in [(0, 0), (16383, 0), (5, 123456), (16383, 1 << 40)] {
            assert_eq!(decode_cursor(encode_cursor(s, p)), (s, p));
        }
    }
}
