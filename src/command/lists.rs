//! List commands (blocking ones included), as Redis 7.0's t_list.c: the
//! same argument checks in the same order, the same replies and error
//! texts, the same keyspace events.
//!
//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) try like
//! their non-blocking versions; when none of their keys has elements they
//! hand their keys to `Ctx::block`, and the dispatcher runs the same command
//! again when one of the keys gets elements, so a rerun is simply a new try.

use super::flags::*;
use super::keyspace_events::LIST;
use super::{errors, parse_timeout, Args, CmdResult, CommandSpec, Ctx, Handler::Keyed};
use crate::keyspace::list::{Elem, End, List, Needle};
use crate::protocol::Reply;
use bytes::Bytes;

const INDEX_RANGE: &str = "ERR index out of range";
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
const COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
const MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
const NUMKEYS_RANGE: &str = "ERR numkeys should be greater than 0";
const COUNT_RANGE: &str = "ERR count should be greater than 0";

const fn k(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i16, i16, i16),
    f: super::KeyedFn,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, keys, Keyed(f)).doc("list", since, summary)
}

pub const COMMANDS: &[CommandSpec] = &[
    k(
        "lpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        lpush,
        "1.0.0",
        "Prepend one or multiple elements to a list",
    ),
    k(
        "rpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        rpush,
        "1.0.0",
        "Append one or multiple elements to a list",
    ),
    k(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        lpushx,
        "2.2.0",
        "Prepend an element to a list, only if the list exists",
    ),
    k(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        rpushx,
        "2.2.0",
        "Append an element to a list, only if the list exists",
    ),
    k(
        "lpop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        lpop,
        "1.0.0",
        "Remove and get the first elements in a list",
    ),
    k(
        "rpop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        rpop,
        "1.0.0",
        "Remove and get the last elements in a list",
    ),
    k(
        "llen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        llen,
        "1.0.0",
        "Get the length of a list",
    ),
    k(
        "lrange",
        4,
        READONLY,
        (1, 1, 1),
        lrange,
        "1.0.0",
        "Get a range of elements from a list",
    ),
    k(
        "lindex",
        3,
        READONLY,
        (1, 1, 1),
        lindex,
        "1.0.0",
        "Get an element from a list by its index",
    ),
    k(
        "lset",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        lset,
        "1.0.0",
        "Set the value of an element in a list by its index",
    ),
    k(
        "linsert",
        5,
        WRITE | DENYOOM,
        (1, 1, 1),
        linsert,
        "2.2.0",
        "Insert an element before or after another element in a list",
    ),
    k(
        "lrem",
        4,
        WRITE,
        (1, 1, 1),
        lrem,
        "1.0.0",
        "Remove elements from a list",
    ),
    k(
        "ltrim",
        4,
        WRITE,
        (1, 1, 1),
        ltrim,
        "1.0.0",
        "Trim a list to the specified range",
    ),
    k(
        "lpos",
        -3,
        READONLY,
        (1, 1, 1),
        lpos,
        "6.0.6",
        "Return the index of matching elements on a list",
    ),
    k(
        "lmove",
        5,
        WRITE | DENYOOM,
        (1, 2, 1),
        lmove,
        "6.2.0",
        "Pop an element from a list, push it to another list and return it",
    ),
    k(
        "rpoplpush",
        3,
        WRITE | DENYOOM,
        (1, 2, 1),
        rpoplpush,
        "1.2.0",
        "Remove the last element in a list, prepend it to another list and return it",
    ),
    k(
        "lmpop",
        -4,
        WRITE,
        (0, 0, 0),
        lmpop,
        "7.0.0",
        "Pop elements from a list",
    )
    .movable(super::keys_numkeys_at_1),
    k(
        "blpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        (1, -2, 1),
        blpop,
        "2.0.0",
        "Remove and get the first element in a list, or block until one is available",
    ),
    k(
        "brpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        (1, -2, 1),
        brpop,
        "2.0.0",
        "Remove and get the last element in a list, or block until one is available",
    ),
    k(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        blmove,
        "6.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
    ),
    k(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        brpoplpush,
        "2.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
    ),
    k(
        "blmpop",
        -5,
        WRITE | BLOCKING,
        (0, 0, 0),
        blmpop,
        "7.0.0",
        "Pop elements from a list, or block until one is available",
    )
    .movable(super::keys_numkeys_at_2),
];

// ---- helpers ----------------------------------------------------------------

/// An element as a bulk reply (short ones inline, no allocation).
fn elem_reply(e: Elem<'_>) -> Reply {
    match e {
        Elem::Str(s) => Reply::bulk_from_slice(s),
        Elem::Int(i) => Reply::bulk_from_slice(itoa::Buffer::new().format(i).as_bytes()),
    }
}

fn owned_reply(v: Vec<u8>) -> Reply {
    if v.len() <= 22 {
        Reply::bulk_from_slice(&v)
    } else {
        Reply::Bulk(Bytes::from(v))
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// The pop a blocking or multi-key pop is propagated as.
fn pop_cmd(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// LEFT | RIGHT (getListPositionFromObjectOrReply).
fn parse_end(b: &[u8]) -> Result<End, Reply> {
    if b.eq_ignore_ascii_case(b"left") {
        Ok(End::Head)
    } else if b.eq_ignore_ascii_case(b"right") {
        Ok(End::Tail)
    } else {
        Err(Reply::err(errors::SYNTAX))
    }
}

/// getRangeLongFromObjectOrReply(min, LONG_MAX, msg): `msg` both for what
/// is not an integer and for what is below `min`.
fn parse_at_least(b: &[u8], min: i64, msg: &'static str) -> Result<i64, Reply> {
    match crate::keyspace::value::parse_i64(b) {
        Some(v) if v >= min => Ok(v),
        _ => Err(Reply::err(msg)),
    }
}

/// getPositiveLongFromObjectOrReply: `>= 0`.
fn parse_non_negative(b: &[u8], msg: &'static str) -> Result<i64, Reply> {
    parse_at_least(b, 0, msg)
}

/// getRangeLongFromObjectOrReply(1, LONG_MAX).
fn parse_positive(b: &[u8], msg: &'static str) -> Result<i64, Reply> {
    parse_at_least(b, 1, msg)
}

/// Redis's start/end normalisation for LRANGE and LTRIM: the inclusive
/// range within `0..len`, or None when it is empty.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

fn new_list(ctx: &Ctx) -> impl FnOnce() -> List {
    let fill = ctx.limits().list_size;
    move || List::new(fill)
}

/// Redis counts one change per element where it does (server.dirty += n);
/// `changed` counted one already.
fn add_dirty(ctx: &mut Ctx, n: usize) {
    ctx.shard.dirty += n.saturating_sub(1) as u64;
}

/// listElementsRemoved: the pop event, the key deleted when empty, WATCHers
/// told, `n` changes counted.
fn elements_removed(ctx: &mut Ctx, key: &[u8], end: End, n: usize) {
    ctx.notify(LIST, pop_event(end), key);
    ctx.delete_if_empty(key);
    ctx.shard.touch_watched(ctx.db, key);
    ctx.shard.dirty += n as u64;
}

/// Pops up to `count` elements of the list at `key` (which has some) and
/// replies `[key, [elements]]`, as listPopRangeAndReplyWithKey.
fn pop_range_with_key(ctx: &mut Ctx, key: &Bytes, end: End, count: usize) -> CmdResult {
    let Some(list) = ctx.write::<List>(key)? else {
        return Ok(Reply::NilArray);
    };
    let items = pop_range(list, end, count);
    let n = items.len();
    elements_removed(ctx, key, end, n);
    // LMPOP/BLMPOP go as [LR]POP key count, as Redis.
    let n_arg = itoa::Buffer::new().format(n).as_bytes().to_vec();
    ctx.propagate_as(&[pop_cmd(end), key, &n_arg]);
    Ok(Reply::Array(vec![
        Reply::Bulk(key.clone()),
        Reply::Array(items),
    ]))
}

/// Removes up to `count` elements from `end`, returned in pop order.
fn pop_range(list: &mut List, end: End, count: usize) -> Vec<Reply> {
    let n = count.min(list.len());
    let items: Vec<Reply> = match end {
        End::Head => list.iter().take(n).map(elem_reply).collect(),
        End::Tail => list.iter().rev().take(n).map(elem_reply).collect(),
    };
    match end {
        End::Head => list.trim_front(n),
        End::Tail => list.trim_back(n),
    }
    items
}

// ---- pushes -------------------------------------------------------------------

/// LPUSH/RPUSH/LPUSHX/RPUSHX key element [element ...]
fn push(ctx: &mut Ctx, a: &mut Args, end: End, xx: bool) -> CmdResult {
    let key = a.next_bytes()?;
    let elems = a.rest();
    let make = new_list(ctx);
    let list = if xx {
        match ctx.write::<List>(&key)? {
            Some(l) => l,
            None => return Ok(Reply::Int(0)),
        }
    } else {
        ctx.write_or_create(&key, make)?
    };
    for e in elems {
        list.push(end, e);
    }
    let len = list.len();
    let n = elems.len();
    ctx.changed(LIST, push_event(end), &key);
    add_dirty(ctx, n);
    ctx.signal_ready(&key);
    Ok(Reply::Int(len as i64))
}

fn lpush(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    push(ctx, a, End::Head, false)
}

fn rpush(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    push(ctx, a, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    push(ctx, a, End::Head, true)
}

fn rpushx(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    push(ctx, a, End::Tail, true)
}

// ---- pops ---------------------------------------------------------------------

/// LPOP/RPOP key [count]
fn pop(ctx: &mut Ctx, a: &mut Args, end: End) -> CmdResult {
    let key = a.next_bytes()?;
    if a.remaining() > 1 {
        let name = pop_event(end);
        return Err(Reply::err_owned(errors::wrong_args(name)));
    }
    let count = match a.remaining() {
        0 => None,
        _ => Some(parse_non_negative(a.next_slice()?, NOT_POSITIVE)?),
    };
    let Some(list) = ctx.write::<List>(&key)? else {
        return Ok(match count {
            Some(_) => Reply::NilArray,
            None => Reply::Nil,
        });
    };
    match count {
        Some(0) => Ok(Reply::Array(Vec::new())),
        None => {
            let Some(r) = list.pop_with(end, elem_reply) else {
                return Ok(Reply::Nil);
            };
            elements_removed(ctx, &key, end, 1);
            Ok(r)
        }
        Some(c) => {
            let items = pop_range(list, end, c as usize);
            let n = items.len();
            elements_removed(ctx, &key, end, n);
            Ok(Reply::Array(items))
        }
    }
}

fn lpop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    pop(ctx, a, End::Head)
}

fn rpop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    pop(ctx, a, End::Tail)
}

// ---- reads ----------------------------------------------------------------------

fn llen(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<List>(&key)?.map_or(0, |l| l.len() as i64),
    ))
}

fn lrange(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let start = a.next_i64()?;
    let end = a.next_i64()?;
    let Some(list) = ctx.read::<List>(&key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(Reply::Array(match clamp_range(start, end, list.len()) {
        Some((s, e)) => list.range(s, e).map(elem_reply).collect(),
        None => Vec::new(),
    }))
}

fn lindex(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let Some(list) = ctx.read::<List>(&key)? else {
        return Ok(Reply::Nil);
    };
    let index = a.next_i64()?;
    Ok(list
        .index(index)
        .and_then(|i| list.get(i))
        .map_or(Reply::Nil, elem_reply))
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let ele = a.next_bytes()?;
    let mut rank: i64 = 1;
    let mut count: i64 = -1;
    let mut maxlen: i64 = 0;
    while a.remaining() > 0 {
        let opt = a.next_keyword()?;
        let more = a.remaining() > 0;
        match opt.as_str() {
            "RANK" if more => {
                rank = a.next_i64()?;
                if rank == 0 {
                    return Err(Reply::err(RANK_ZERO));
                }
            }
            "COUNT" if more => count = parse_non_negative(a.next_slice()?, COUNT_NEGATIVE)?,
            "MAXLEN" if more => maxlen = parse_non_negative(a.next_slice()?, MAXLEN_NEGATIVE)?,
            _ => return Err(Reply::err(errors::SYNTAX)),
        }
    }
    // A negative rank searches from the tail (LONG_MIN stays negative, as in C).
    let forward = rank > 0;
    if rank < 0 {
        rank = rank.wrapping_neg();
    }
    let Some(list) = ctx.read::<List>(&key)? else {
        return Ok(if count != -1 {
            Reply::Array(Vec::new())
        } else {
            Reply::Nil
        });
    };
    let needle = Needle::new(&ele);
    let llen = list.len() as i64;
    let mut found = Vec::new();
    let (mut index, mut matches, mut matchindex) = (0i64, 0i64, -1i64);
    let mut it = list.iter();
    loop {
        let e = if forward { it.next() } else { it.next_back() };
        let Some(e) = e else { break };
        if maxlen != 0 && index >= maxlen {
            break;
        }
        if needle.matches(e) {
            matches += 1;
            matchindex = if forward { index } else { llen - index - 1 };
            if matches >= rank {
                if count != -1 {
                    found.push(Reply::Int(matchindex));
                    if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count {
                        break;
                    }
                } else {
                    break;
                }
            }
        }
        index += 1;
        matchindex = -1;
    }
    Ok(if count != -1 {
        Reply::Array(found)
    } else if matchindex != -1 {
        Reply::Int(matchindex)
    } else {
        Reply::Nil
    })
}

// ---- in-place changes -----------------------------------------------------------

fn lset(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let Some(list) = ctx.write::<List>(&key)? else {
        return Err(Reply::err(errors::NO_SUCH_KEY));
    };
    let index = a.next_i64()?;
    let val = a.next_bytes()?;
    match list.index(index) {
        Some(i) if list.set(i, &val) => {
            ctx.changed(LIST, "lset", &key);
            Ok(Reply::OK)
        }
        _ => Err(Reply::err(INDEX_RANGE)),
    }
}

/// LINSERT key BEFORE|AFTER pivot element
fn linsert(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let wh = a.next_bytes()?;
    let after = if wh.eq_ignore_ascii_case(b"after") {
        true
    } else if wh.eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Err(Reply::err(errors::SYNTAX));
    };
    let pivot = a.next_bytes()?;
    let val = a.next_bytes()?;
    let Some(list) = ctx.write::<List>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let needle = Needle::new(&pivot);
    let Some(pos) = list.iter().position(|e| needle.matches(e)) else {
        return Ok(Reply::Int(-1));
    };
    list.insert(if after { pos + 1 } else { pos }, &val);
    let len = list.len();
    ctx.changed(LIST, "linsert", &key);
    Ok(Reply::Int(len as i64))
}

/// LREM key count element
fn lrem(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let count = a.next_i64()?;
    let ele = a.next_bytes()?;
    let Some(list) = ctx.write::<List>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = list.remove_matching(&Needle::new(&ele), limit, count < 0);
    if removed > 0 {
        ctx.changed(LIST, "lrem", &key);
        add_dirty(ctx, removed);
    }
    ctx.delete_if_empty(&key);
    Ok(Reply::Int(removed as i64))
}

/// LTRIM key start stop
fn ltrim(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let start = a.next_i64()?;
    let end = a.next_i64()?;
    let Some(list) = ctx.write::<List>(&key)? else {
        return Ok(Reply::OK);
    };
    let len = list.len();
    let (ltrim, rtrim) = match clamp_range(start, end, len) {
        Some((s, e)) => (s, len - e - 1),
        None => (len, 0),
    };
    list.trim_front(ltrim);
    list.trim_back(rtrim);
    ctx.notify(LIST, "ltrim", &key);
    ctx.delete_if_empty(&key);
    ctx.shard.touch_watched(ctx.db, &key);
    ctx.shard.dirty += (ltrim + rtrim) as u64;
    Ok(Reply::OK)
}

// ---- moves --------------------------------------------------------------------

/// lmoveGenericCommand: pops from `src` at `from`, pushes to `dst` at `to`,
/// replies with the element (null when `src` is missing).
fn lmove_generic(ctx: &mut Ctx, src: &Bytes, dst: &Bytes, from: End, to: End) -> CmdResult {
    let Some(list) = ctx.write::<List>(src)? else {
        return Ok(Reply::Nil);
    };
    if list.is_empty() {
        return Ok(Reply::Nil);
    }
    // The destination's type is checked before anything moves.
    ctx.write::<List>(dst)?;
    let Some(list) = ctx.write::<List>(src)? else {
        return Ok(Reply::Nil);
    };
    let Some(val) = list.pop(from) else {
        return Ok(Reply::Nil);
    };
    let make = new_list(ctx);
    ctx.write_or_create(dst, make)?.push(to, &val);
    ctx.changed(LIST, push_event(to), dst);
    ctx.signal_ready(dst);
    ctx.notify(LIST, pop_event(from), src);
    ctx.delete_if_empty(src);
    ctx.shard.touch_watched(ctx.db, src);
    Ok(owned_reply(val))
}

fn lmove(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let src = a.next_bytes()?;
    let dst = a.next_bytes()?;
    let from = parse_end(a.next_slice()?)?;
    let to = parse_end(a.next_slice()?)?;
    lmove_generic(ctx, &src, &dst, from, to)
}

fn rpoplpush(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let src = a.next_bytes()?;
    let dst = a.next_bytes()?;
    lmove_generic(ctx, &src, &dst, End::Tail, End::Head)
}

// ---- multi-key pops -------------------------------------------------------------

/// What LMPOP and BLMPOP read after their numkeys: the keys, the end, the count.
struct MpopArgs {
    keys: Vec<Bytes>,
    end: End,
    count: usize,
}

/// lmpopGenericCommand's parsing; `numkeys_idx` is numkeys' index in argv.
fn parse_mpop(a: &mut Args, numkeys_idx: usize) -> Result<MpopArgs, Reply> {
    let argv = a.argv();
    let nk = argv
        .get(numkeys_idx)
        .ok_or_else(|| Reply::err(errors::SYNTAX))?;
    let numkeys = parse_positive(nk, NUMKEYS_RANGE)?;
    let where_idx = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(numkeys_idx + 1))
        .filter(|&w| w < argv.len())
        .ok_or_else(|| Reply::err(errors::SYNTAX))?;
    let end = parse_end(&argv[where_idx])?;
    let mut count: i64 = -1;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j > 0;
        if count == -1 && more && argv[j].eq_ignore_ascii_case(b"count") {
            j += 1;
            count = parse_positive(&argv[j], COUNT_RANGE)?;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
        j += 1;
    }
    let keys = argv[numkeys_idx + 1..where_idx].to_vec();
    a.rest();
    Ok(MpopArgs {
        keys,
        end,
        count: if count == -1 { 1 } else { count as usize },
    })
}

/// The first key of `keys` holding a non-empty list; WRONGTYPE when a key
/// before it holds another type.
fn first_nonempty(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Option<Bytes>, Reply> {
    for key in keys {
        if let Some(l) = ctx.write::<List>(key)? {
            if !l.is_empty() {
                return Ok(Some(key.clone()));
            }
        }
    }
    Ok(None)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let m = parse_mpop(a, 1)?;
    match first_nonempty(ctx, &m.keys)? {
        Some(key) => pop_range_with_key(ctx, &key, m.end, m.count),
        None => Ok(Reply::NilArray),
    }
}

// ---- blocking -------------------------------------------------------------------

/// BLPOP/BRPOP key [key ...] timeout
fn bpop(ctx: &mut Ctx, a: &mut Args, end: End) -> CmdResult {
    let argv = a.argv();
    let last = argv.len().saturating_sub(1);
    let timeout = parse_timeout(argv.get(last).map_or(&b""[..], |b| &b[..]))?;
    let keys = argv.get(1..last).unwrap_or(&[]).to_vec();
    a.rest();
    let Some(key) = first_nonempty(ctx, &keys)? else {
        return ctx.block(keys, timeout, Reply::NilArray);
    };
    let Some(list) = ctx.write::<List>(&key)? else {
        return Ok(Reply::NilArray);
    };
    let Some(val) = list.pop_with(end, elem_reply) else {
        return Ok(Reply::NilArray);
    };
    elements_removed(ctx, &key, end, 1);
    // Propagated as the non-blocking pop (served now or later).
    ctx.propagate_as(&[pop_cmd(end), &key]);
    Ok(Reply::Array(vec![Reply::Bulk(key), val]))
}

fn blpop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    bpop(ctx, a, End::Head)
}

fn brpop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    bpop(ctx, a, End::Tail)
}

/// blmoveGenericCommand: move now when `src` has elements, else block on it.
fn blmove_generic(
    ctx: &mut Ctx,
    src: Bytes,
    dst: Bytes,
    from: End,
    to: End,
    timeout: u64,
) -> CmdResult {
    if ctx.write::<List>(&src)?.is_some_and(|l| !l.is_empty()) {
        let r = lmove_generic(ctx, &src, &dst, from, to)?;
        // Propagated as LMOVE (BRPOPLPUSH too: the same move).
        let side = |e: End| -> &'static [u8] {
            match e {
                End::Head => b"LEFT",
                End::Tail => b"RIGHT",
            }
        };
        if !matches!(r, Reply::Nil) {
            ctx.propagate_as(&[b"LMOVE".as_slice(), &src, &dst, side(from), side(to)]);
        }
        return Ok(r);
    }
    // Where it may not block (MULTI) Redis answers a null bulk, but a
    // timeout is a null array (replyToBlockedClientTimedOut).
    if ctx.shard.no_block {
        return Ok(Reply::Nil);
    }
    ctx.block(vec![src], timeout, Reply::NilArray)
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let src = a.next_bytes()?;
    let dst = a.next_bytes()?;
    let from = parse_end(a.next_slice()?)?;
    let to = parse_end(a.next_slice()?)?;
    let timeout = parse_timeout(a.next_slice()?)?;
    blmove_generic(ctx, src, dst, from, to, timeout)
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let src = a.next_bytes()?;
    let dst = a.next_bytes()?;
    let timeout = parse_timeout(a.next_slice()?)?;
    blmove_generic(ctx, src, dst, End::Tail, End::Head, timeout)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let m = parse_mpop(a, 2)?;
    let t = a.argv().get(1).cloned().unwrap_or_default();
    let timeout = parse_timeout(&t)?;
    match first_nonempty(ctx, &m.keys)? {
        Some(key) => pop_range_with_key(ctx, &key, m.end, m.count),
        None => ctx.block(m.keys, timeout, Reply::NilArray),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_like_redis() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(clamp_range(3, 1, 5), None);
        assert_eq!(clamp_range(5, 10, 5), None);
        assert_eq!(clamp_range(-1, -1, 5), Some((4, 4)));
        assert_eq!(clamp_range(0, -6, 5), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 5), Some((0, 4)));
        assert_eq!(clamp_range(0, 0, 0), None);
    }

    #[test]
    fn timeouts_like_redis_7_0() {
        let err = |b: &[u8]| match parse_timeout(b) {
            Err(Reply::Error(e)) => e.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(parse_timeout(b"0"), Ok(0));
        assert_eq!(parse_timeout(b"0.0001"), Ok(1));
        assert_eq!(parse_timeout(b"1.5"), Ok(1500));
        assert_eq!(parse_timeout(b"-0.0001"), Ok(0));
        assert_eq!(err(b"-1"), errors::TIMEOUT_NEG);
        // (long long) of an out-of-range value is LLONG_MIN: "negative".
        assert_eq!(err(b"inf"), errors::TIMEOUT_NEG);
        assert_eq!(err(b"1e100"), errors::TIMEOUT_NEG);
        assert_eq!(err(b"x"), errors::TIMEOUT_NOT_FLOAT);
    }

    #[test]
    fn table_rows() {
        let t = &*super::super::TABLE;
        for name in ["lpush", "blpop", "lmpop", "blmpop", "lpos"] {
            let (_, spec) = t.get(name).expect(name);
            assert_eq!(spec.group, "list");
        }
    }
}
