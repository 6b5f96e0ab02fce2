//! Set commands: membership, random members, moves, the algebra (SINTER,
//! SUNION, SDIFF and their STORE forms, SINTERCARD) and SSCAN.
//!
//! Semantics, replies and error texts follow Redis 7.0's t_set.c, down to
//! what decides the encoding of a result (results start as an empty intset
//! and convert as members are added, SDIFF picks the same algorithm).

use super::flags::*;
use super::hashes::{
    bulk, distinct_indexes, empty_scan, int_bulk, parse_cursor, parse_rand_count, random_below,
    scan_reply, scan_window, ScanOpts, PREALLOC_CAP,
};
use super::keyspace_events as ev;
use super::{errors, Args, CmdResult, CommandSpec, Ctx, Handler::Keyed};
use crate::keyspace::set::Member;
use crate::keyspace::{Db, Kind, Set, Ttl};
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
    CommandSpec::new(name, arity, flags, keys, Keyed(f)).doc("set", since, summary)
}

pub const COMMANDS: &[CommandSpec] = &[
    k(
        "sadd",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        sadd,
        "1.0.0",
        "Add one or more members to a set",
    ),
    k(
        "srem",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        srem,
        "1.0.0",
        "Remove one or more members from a set",
    ),
    k(
        "smembers",
        2,
        READONLY,
        (1, 1, 1),
        smembers,
        "1.0.0",
        "Get all the members in a set",
    ),
    k(
        "sismember",
        3,
        READONLY | FAST,
        (1, 1, 1),
        sismember,
        "1.0.0",
        "Determine if a given value is a member of a set",
    ),
    k(
        "smismember",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        smismember,
        "6.2.0",
        "Returns the membership associated with the given elements for a set",
    ),
    k(
        "scard",
        2,
        READONLY | FAST,
        (1, 1, 1),
        scard,
        "1.0.0",
        "Get the number of members in a set",
    ),
    k(
        "spop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        spop,
        "1.0.0",
        "Remove and return one or multiple random members from a set",
    ),
    k(
        "srandmember",
        -2,
        READONLY,
        (1, 1, 1),
        srandmember,
        "1.0.0",
        "Get one or multiple random members from a set",
    ),
    k(
        "smove",
        4,
        WRITE | FAST,
        (1, 2, 1),
        smove,
        "1.0.0",
        "Move a member from one set to another",
    ),
    k(
        "sinter",
        -2,
        READONLY,
        (1, -1, 1),
        sinter,
        "1.0.0",
        "Intersect multiple sets",
    ),
    // Redis declares SINTERCARD's keys with a numkeys key spec (legacy
    // triple 0,0,0 plus the movablekeys flag); the table has only the
    // triple, so (2,-1,1) routes it: its keys and any LIMIT option count as
    // keys (harmless outside cluster mode). See the report of this change.
    k(
        "sintercard",
        -3,
        READONLY,
        (0, 0, 0),
        sintercard,
        "7.0.0",
        "Intersect multiple sets and return the cardinality of the result",
    )
    .movable(super::keys_numkeys_at_1),
    k(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        sinterstore,
        "1.0.0",
        "Intersect multiple sets and store the resulting set in a key",
    ),
    k(
        "sunion",
        -2,
        READONLY,
        (1, -1, 1),
        sunion,
        "1.0.0",
        "Add multiple sets",
    ),
    k(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        sunionstore,
        "1.0.0",
        "Add multiple sets and store the resulting set in a key",
    ),
    k(
        "sdiff",
        -2,
        READONLY,
        (1, -1, 1),
        sdiff,
        "1.0.0",
        "Subtract multiple sets",
    ),
    k(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        sdiffstore,
        "1.0.0",
        "Subtract multiple sets and store the resulting set in a key",
    ),
    k(
        "sscan",
        -3,
        READONLY,
        (1, 1, 1),
        sscan,
        "2.8.0",
        "Incrementally iterate Set elements",
    ),
];

// ---------- error texts (t_set.c, object.c) ----------

const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const NUMKEYS: &str = "ERR numkeys should be greater than 0";
const TOO_MANY_KEYS: &str = "ERR Number of keys can't be greater than number of args";
const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";

/// SPOP switches to rebuilding the set when what stays is this many times
/// smaller than what goes (SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

fn member_reply(m: Member<'_>) -> Reply {
    match m {
        Member::Int(v) => int_bulk(v),
        Member::Str(s) => bulk(s),
    }
}

/// getPositiveLongFromObjectOrReply: a long >= 0, `msg` otherwise.
fn parse_non_negative(b: &[u8], msg: &'static str) -> Result<u64, Reply> {
    match crate::keyspace::value::parse_i64(b) {
        Some(v) if v >= 0 => Ok(v as u64),
        _ => Err(Reply::err(msg)),
    }
}

/// Looks every key up for reading in order (hit/miss statistics, expiry,
/// WRONGTYPE at the first key of another type), then lends the sets.
fn sets_of<'a>(ctx: &'a mut Ctx, keys: &[Bytes]) -> Result<Vec<Option<&'a Set>>, Reply> {
    for k in keys {
        ctx.read::<Set>(k)?;
    }
    let db: &'a Db = ctx.db();
    Ok(keys
        .iter()
        .map(|k| db.entry_raw(k).and_then(|e| Set::of(&e.val)))
        .collect())
}

/// Writes a *STORE result: the set (TTL cleared, any old value of any type
/// replaced) with `event`, or, when empty, deletes the destination.
fn store(ctx: &mut Ctx, dst: &[u8], result: Set, event: &'static str) -> CmdResult {
    let now = ctx.now;
    let n = result.len();
    if n > 0 {
        ctx.db().set(dst, result.wrap(), Ttl::Clear, now);
        ctx.changed(ev::SET, event, dst);
    } else if ctx.db().remove(dst, now).is_some() {
        ctx.changed(ev::GENERIC, "del", dst);
    }
    Ok(Reply::Int(n as i64))
}

fn sadd(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let limits = ctx.limits();
    let s = ctx.write_or_create::<Set>(&key, Set::new)?;
    let mut added = 0u64;
    for m in a.rest() {
        if s.add(m, &limits) {
            added += 1;
        }
    }
    if added > 0 {
        ctx.changed(ev::SET, "sadd", &key);
        ctx.shard.dirty += added - 1;
    }
    Ok(Reply::Int(added as i64))
}

fn srem(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let Some(s) = ctx.write::<Set>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0u64;
    for m in a.rest() {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.changed(ev::SET, "srem", &key);
        ctx.shard.dirty += deleted - 1;
        ctx.delete_if_empty(&key);
    }
    Ok(Reply::Int(deleted as i64))
}

fn smembers(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    // Redis 7.0 serves SMEMBERS with SINTER's code.
    let key = a.next_bytes()?;
    inter(ctx, &[key], Inter::Reply)
}

fn sismember(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let m = a.next_bytes()?;
    let found = ctx.read::<Set>(&key)?.is_some_and(|s| s.contains(&m));
    Ok(Reply::Int(found as i64))
}

fn smismember(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let s = ctx.read::<Set>(&key)?.map(|s| &*s);
    Ok(Reply::Array(
        a.rest()
            .iter()
            .map(|m| Reply::Int(s.is_some_and(|s| s.contains(m)) as i64))
            .collect(),
    ))
}

fn scard(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<Set>(&key)?.map_or(0, |s| s.len()) as i64
    ))
}

fn spop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    match a.remaining() {
        0 => {}
        1 => return spop_count(ctx, key, a),
        _ => return Err(Reply::err(errors::SYNTAX)),
    }
    let Some(s) = ctx.write::<Set>(&key)? else {
        return Ok(Reply::Nil);
    };
    let i = random_below(&mut rand::rng(), s.len());
    let Some(m) = s.take_index(i) else {
        return Ok(Reply::Nil);
    };
    ctx.changed(ev::SET, "spop", &key);
    ctx.delete_if_empty(&key);
    // The member taken, not the random choice: SREM key member.
    ctx.propagate_as(&[b"SREM".as_slice(), &key, m.as_bytes()]);
    Ok(bulk(&m))
}

fn spop_count(ctx: &mut Ctx, key: Bytes, a: &mut Args) -> CmdResult {
    let count = parse_non_negative(a.next_slice()?, NOT_POSITIVE)?;
    let limits = ctx.limits();
    let propagating = ctx.propagating();
    let Some(s) = ctx.write::<Set>(&key)? else {
        return Ok(Reply::Set(Vec::new()));
    };
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    let size = s.len() as u64;
    let mut rng = rand::rng();
    // The members that went, for SREM (CASE 2 and 3).
    let mut gone: Vec<Vec<u8>> = Vec::new();
    let reply = if count >= size {
        // CASE 1: the whole set, as SUNION of it would list it; the key goes.
        let mut all = Set::new();
        for m in s.iter() {
            all.add_member(m, &limits);
        }
        let items = all.iter().map(member_reply).collect();
        ctx.changed(ev::SET, "spop", &key);
        ctx.shard.dirty += size.saturating_sub(1);
        let now = ctx.now;
        ctx.db().remove(&key, now);
        ctx.notify(ev::GENERIC, "del", &key);
        let del = ctx.server_del_cmd();
        ctx.propagate_as(&[del, &key]);
        return Ok(Reply::Set(items));
    } else if (size - count) * SPOP_MOVE_STRATEGY_MUL > count {
        // CASE 2: few go: pick and remove them one by one.
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let i = random_below(&mut rng, s.len());
            if let Some(m) = s.take_index(i) {
                out.push(bulk(&m));
                if propagating {
                    gone.push(m.as_bytes().to_vec());
                }
            }
        }
        out
    } else {
        // CASE 3: most go: move the few that stay to a new set, return
        // what is left of the old one.
        let mut stay = Set::new();
        for _ in 0..size - count {
            let i = random_below(&mut rng, s.len());
            if let Some(m) = s.take_index(i) {
                stay.add(&m, &limits);
            }
        }
        let out = s.iter().map(member_reply).collect();
        if propagating {
            gone = s.iter().map(|m| m.to_vec()).collect();
        }
        *s = stay;
        out
    };
    ctx.changed(ev::SET, "spop", &key);
    ctx.shard.dirty += count.saturating_sub(1);
    // SREM of the members that went, 1024 per command (Redis's
    // SPOP_MOVE_STRATEGY batch).
    for chunk in gone.chunks(1024) {
        let mut argv: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
        argv.push(b"SREM");
        argv.push(&key);
        argv.extend(chunk.iter().map(|m| &m[..]));
        ctx.propagate_as(&argv);
    }
    Ok(Reply::Set(reply))
}

fn srandmember(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    match a.remaining() {
        0 => {}
        1 => return srandmember_count(ctx, key, a),
        _ => return Err(Reply::err(errors::SYNTAX)),
    }
    let Some(s) = ctx.read::<Set>(&key)? else {
        return Ok(Reply::Nil);
    };
    let i = random_below(&mut rand::rng(), s.len());
    Ok(s.get_index(i).map_or(Reply::Nil, member_reply))
}

fn srandmember_count(ctx: &mut Ctx, key: Bytes, a: &mut Args) -> CmdResult {
    let l = parse_rand_count(a.next_slice()?)?;
    let Some(s) = ctx.read::<Set>(&key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let s = &*s;
    let size = s.len();
    let count = l.unsigned_abs();
    if count == 0 || size == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let mut rng = rand::rng();
    // CASE 1: negative count (repeats allowed) or a single member.
    if l < 0 || count == 1 {
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(n.min(PREALLOC_CAP));
        for _ in 0..n {
            if let Some(m) = s.get_index(random_below(&mut rng, size)) {
                out.push(member_reply(m));
            }
        }
        return Ok(Reply::Array(out));
    }
    // CASE 2: the whole set, in its order.
    if count >= size as u64 {
        return Ok(Reply::Array(s.iter().map(member_reply).collect()));
    }
    // CASE 3 / 4: distinct members.
    let idx = distinct_indexes(&mut rng, size, count as usize);
    Ok(Reply::Array(
        idx.into_iter()
            .filter_map(|i| s.get_index(i).map(member_reply))
            .collect(),
    ))
}

fn smove(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let src = a.next_bytes()?;
    let dst = a.next_bytes()?;
    let m = a.next_bytes()?;
    // Both keys are looked up before any check, as Redis does.
    let src_found = ctx.write::<Set>(&src).map(|s| s.is_some());
    let dst_found = ctx.write::<Set>(&dst).map(|s| s.is_some());
    match src_found {
        Ok(false) => return Ok(Reply::Int(0)),
        Err(e) => return Err(e),
        Ok(true) => {}
    }
    dst_found?;
    if src == dst {
        let found = ctx.write::<Set>(&src)?.is_some_and(|s| s.contains(&m));
        return Ok(Reply::Int(found as i64));
    }
    if !ctx.write::<Set>(&src)?.is_some_and(|s| s.remove(&m)) {
        return Ok(Reply::Int(0));
    }
    ctx.changed(ev::SET, "srem", &src);
    ctx.delete_if_empty(&src);
    let limits = ctx.limits();
    let d = ctx.write_or_create::<Set>(&dst, Set::new)?;
    if d.add(&m, &limits) {
        ctx.changed(ev::SET, "sadd", &dst);
    }
    Ok(Reply::Int(1))
}

/// What an intersection produces.
#[derive(Clone, Copy)]
enum Inter<'k> {
    Reply,
    Store(&'k [u8]),
    /// SINTERCARD, with its LIMIT (0: none).
    Card(u64),
}

/// sinterGenericCommand.
fn inter(ctx: &mut Ctx, keys: &[Bytes], out: Inter<'_>) -> CmdResult {
    let limits = ctx.limits();
    let sets = sets_of(ctx, keys)?;
    let Some(mut sets) = sets.into_iter().collect::<Option<Vec<&Set>>>() else {
        // A missing key is an empty set: the intersection is empty.
        return match out {
            Inter::Reply => Ok(Reply::Set(Vec::new())),
            Inter::Card(_) => Ok(Reply::Int(0)),
            Inter::Store(dst) => store(ctx, dst, Set::new(), "sinterstore"),
        };
    };
    // Smallest first (a stable sort, like glibc's qsort on small arrays).
    sets.sort_by_key(|s| s.len());
    let Some((&first, others)) = sets.split_first() else {
        return Ok(Reply::Set(Vec::new()));
    };
    let in_all = |m: Member<'_>| {
        others
            .iter()
            .all(|&o| std::ptr::eq(o, first) || o.contains_member(m))
    };
    match out {
        Inter::Reply => Ok(Reply::Set(
            first
                .iter()
                .filter(|&m| in_all(m))
                .map(member_reply)
                .collect(),
        )),
        Inter::Card(limit) => {
            let mut n = 0u64;
            for m in first.iter() {
                if in_all(m) {
                    n += 1;
                    if limit > 0 && n >= limit {
                        break;
                    }
                }
            }
            Ok(Reply::Int(n as i64))
        }
        Inter::Store(dst) => {
            let mut result = Set::new();
            for m in first.iter() {
                if in_all(m) {
                    result.add_member(m, &limits);
                }
            }
            store(ctx, dst, result, "sinterstore")
        }
    }
}

/// sunionDiffGenericCommand: the result set, built the way Redis builds it
/// (so it gets the same encoding).
fn union_diff(ctx: &mut Ctx, keys: &[Bytes], diff: bool) -> Result<Set, Reply> {
    let limits = ctx.limits();
    let sets = sets_of(ctx, keys)?;
    let mut result = Set::new();
    if !diff {
        for s in sets.iter().flatten() {
            for m in s.iter() {
                result.add_member(m, &limits);
            }
        }
        return Ok(result);
    }
    let Some(Some(first)) = sets.first().copied() else {
        return Ok(result);
    };
    let rest = sets.get(1..).unwrap_or(&[]);
    if rest.iter().flatten().any(|&s| std::ptr::eq(s, first)) {
        // The first key again: nothing is left.
        return Ok(result);
    }
    // Algorithm 1 (each member of the first, checked against the others)
    // costs |first| * sets / 2; algorithm 2 (add the first, remove the
    // others) costs the sum of the sizes.
    let mut one: u64 = 0;
    let mut two: u64 = 0;
    for s in sets.iter().flatten() {
        one = one.saturating_add(first.len() as u64);
        two = two.saturating_add(s.len() as u64);
    }
    if one / 2 <= two {
        for m in first.iter() {
            if !rest.iter().flatten().any(|o| o.contains_member(m)) {
                result.add_member(m, &limits);
            }
        }
    } else {
        for m in first.iter() {
            result.add_member(m, &limits);
        }
        for s in rest.iter().flatten() {
            if result.is_empty() {
                break;
            }
            for m in s.iter() {
                m.with_bytes(|b| result.remove(b));
            }
        }
    }
    Ok(result)
}

fn sinter(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let keys = a.rest().to_vec();
    inter(ctx, &keys, Inter::Reply)
}

fn sinterstore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let dst = a.next_bytes()?;
    let keys = a.rest().to_vec();
    inter(ctx, &keys, Inter::Store(&dst))
}

fn sintercard(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let numkeys = match crate::keyspace::value::parse_i64(a.next_slice()?) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(Reply::err(NUMKEYS)),
    };
    let args = a.rest();
    if numkeys > args.len() as u64 {
        return Err(Reply::err(TOO_MANY_KEYS));
    }
    let (keys, opts) = args.split_at(numkeys as usize);
    let mut limit = 0u64;
    let mut i = 0;
    while i < opts.len() {
        if opts[i].eq_ignore_ascii_case(b"limit") && i + 1 < opts.len() {
            limit = parse_non_negative(&opts[i + 1], LIMIT_NEGATIVE)?;
            i += 2;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
    }
    let keys = keys.to_vec();
    inter(ctx, &keys, Inter::Card(limit))
}

fn sunion(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let keys = a.rest().to_vec();
    let r = union_diff(ctx, &keys, false)?;
    Ok(Reply::Set(r.iter().map(member_reply).collect()))
}

fn sdiff(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let keys = a.rest().to_vec();
    let r = union_diff(ctx, &keys, true)?;
    Ok(Reply::Set(r.iter().map(member_reply).collect()))
}

fn sunionstore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let dst = a.next_bytes()?;
    let keys = a.rest().to_vec();
    let r = union_diff(ctx, &keys, false)?;
    store(ctx, &dst, r, "sunionstore")
}

fn sdiffstore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let dst = a.next_bytes()?;
    let keys = a.rest().to_vec();
    let r = union_diff(ctx, &keys, true)?;
    store(ctx, &dst, r, "sdiffstore")
}

fn sscan(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let cursor = parse_cursor(a.next_slice()?)?;
    let Some(s) = ctx.read::<Set>(&key)? else {
        return Ok(empty_scan());
    };
    let s = &*s;
    let opts = ScanOpts::parse(a)?;
    let mut items = Vec::new();
    let mut push = |m: Member<'_>| {
        m.with_bytes(|b| {
            if opts.matches(b) {
                items.push(bulk(b));
            }
        })
    };
    if s.intset().is_some() {
        // An intset is small: everything at once, cursor 0.
        s.iter().for_each(&mut push);
        return Ok(scan_reply(0, items));
    }
    let (range, next) = scan_window(s.len(), cursor, opts.count);
    for i in range.rev() {
        if let Some(m) = s.get_index(i) {
            push(m);
        }
    }
    Ok(scan_reply(next, items))
}

#[cfg(test)]
mod tests {
    use super::super::hashes::testkit::Kit;
    use super::*;

    #[test]
    fn events_like_redis() {
        let mut k = Kit::new();
        k.run("SADD s 1 2 3");
        k.run("SADD s 1");
        k.run("SREM s 1 9");
        k.run("SPOP s");
        k.run("SPOP s 0");
        k.run("SPOP s 5");
        assert_eq!(
            k.events(),
            vec![
                ("sadd", "s".into()),
                ("srem", "s".into()),
                ("spop", "s".into()),
                ("spop", "s".into()),
                ("del", "s".into()),
            ]
        );
        // SPOP with a count that leaves members.
        k.run("SADD s 1 2 3 4 5 6 7 8 9 10");
        k.run("SPOP s 2");
        k.run("SPOP s 7");
        assert_eq!(k.run("SCARD s"), Reply::Int(1));
        assert_eq!(
            k.events(),
            vec![
                ("sadd", "s".into()),
                ("spop", "s".into()),
                ("spop", "s".into())
            ]
        );
        // SMOVE: srem on the source (then del), sadd on the destination.
        k.run("SADD x 1");
        k.events();
        assert_eq!(k.run("SMOVE x y 1"), Reply::Int(1));
        assert_eq!(
            k.events(),
            vec![
                ("srem", "x".into()),
                ("del", "x".into()),
                ("sadd", "y".into())
            ]
        );
        // Already in the destination: no sadd.
        k.run("SADD x 1");
        k.events();
        assert_eq!(k.run("SMOVE x y 1"), Reply::Int(1));
        assert_eq!(k.events(), vec![("srem", "x".into()), ("del", "x".into())]);
        assert_eq!(k.run("SMOVE y y 1"), Reply::Int(1));
        assert!(k.events().is_empty());
        // STORE commands; an empty result deletes the destination (an event
        // only when there was one).
        k.run("SADD a 1 2");
        k.events();
        assert_eq!(k.run("SINTERSTORE z a y"), Reply::Int(1));
        assert_eq!(k.run("SUNIONSTORE z a y"), Reply::Int(2));
        assert_eq!(k.run("SDIFFSTORE z a a"), Reply::Int(0));
        assert_eq!(k.run("SDIFFSTORE z a a"), Reply::Int(0));
        assert_eq!(k.run("SINTERSTORE z a nokey"), Reply::Int(0));
        assert_eq!(
            k.events(),
            vec![
                ("sinterstore", "z".into()),
                ("sunionstore", "z".into()),
                ("del", "z".into())
            ]
        );
        k.run("SET str v");
        assert_eq!(k.run("SDIFFSTORE str a y"), Reply::Int(1));
        assert_eq!(k.wire("TYPE str"), "+set\r\n");
        assert_eq!(k.events().last(), Some(&("sdiffstore", "str".into())));
    }

    #[test]
    fn intersections_of_intsets_and_tables() {
        let mut k = Kit::new();
        k.run("SADD a 1 2 3 x");
        k.run("SADD b 3 2 7");
        // The smallest set (an intset here) leads: ascending order.
        assert_eq!(k.wire("SINTER a b"), "~2\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(k.run("SINTERCARD 2 a b LIMIT 1"), Reply::Int(1));
        assert_eq!(k.run("SINTERSTORE c a b"), Reply::Int(2));
        assert_eq!(k.wire("OBJECT ENCODING c"), "$6\r\nintset\r\n");
        assert_eq!(k.wire("SDIFF a b"), "~2\r\n$1\r\n1\r\n$1\r\nx\r\n");
        assert_eq!(k.wire("SMISMEMBER a x 2 9"), "*3\r\n:1\r\n:1\r\n:0\r\n");
    }
}
