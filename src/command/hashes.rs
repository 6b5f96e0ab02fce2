//! Hash commands: HSET and friends, counters, random fields, HSCAN.
//!
//! Semantics, replies and error texts follow Redis 7.0's t_hash.c. The
//! encoding (listpack, then hashtable) is the type's business
//! (keyspace/hash.rs); the commands pass it the thresholds in force.
//!
//! Helpers shared with the set family (scan options, random counts, integer
//! bulks) live here too.

use super::flags::*;
use super::keyspace_events as ev;
use super::strings::ld;
use super::{errors, parse_i64_arg, Args, CmdResult, CommandSpec, Ctx, Handler::Keyed};
use crate::keyspace::glob::glob_match;
use crate::keyspace::Hash;
use crate::protocol::Reply;
use bytes::Bytes;
use rand::Rng;

const fn k(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i16, i16, i16),
    f: super::KeyedFn,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, keys, Keyed(f)).doc("hash", since, summary)
}

pub const COMMANDS: &[CommandSpec] = &[
    k(
        "hset",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        hset,
        "2.0.0",
        "Set the string value of a hash field",
    ),
    k(
        "hsetnx",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        hsetnx,
        "2.0.0",
        "Set the value of a hash field, only if the field does not exist",
    ),
    k(
        "hmset",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        hmset,
        "2.0.0",
        "Set multiple hash fields to multiple values",
    ),
    k(
        "hget",
        3,
        READONLY | FAST,
        (1, 1, 1),
        hget,
        "2.0.0",
        "Get the value of a hash field",
    ),
    k(
        "hmget",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        hmget,
        "2.0.0",
        "Get the values of all the given hash fields",
    ),
    k(
        "hgetall",
        2,
        READONLY,
        (1, 1, 1),
        hgetall,
        "2.0.0",
        "Get all the fields and values in a hash",
    ),
    k(
        "hdel",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        hdel,
        "2.0.0",
        "Delete one or more hash fields",
    ),
    k(
        "hexists",
        3,
        READONLY | FAST,
        (1, 1, 1),
        hexists,
        "2.0.0",
        "Determine if a hash field exists",
    ),
    k(
        "hlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        hlen,
        "2.0.0",
        "Get the number of fields in a hash",
    ),
    k(
        "hstrlen",
        3,
        READONLY | FAST,
        (1, 1, 1),
        hstrlen,
        "3.2.0",
        "Get the length of the value of a hash field",
    ),
    k(
        "hkeys",
        2,
        READONLY,
        (1, 1, 1),
        hkeys,
        "2.0.0",
        "Get all the fields in a hash",
    ),
    k(
        "hvals",
        2,
        READONLY,
        (1, 1, 1),
        hvals,
        "2.0.0",
        "Get all the values in a hash",
    ),
    k(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        hincrby,
        "2.0.0",
        "Increment the integer value of a hash field by the given number",
    ),
    k(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        hincrbyfloat,
        "2.6.0",
        "Increment the float value of a hash field by the given amount",
    ),
    k(
        "hrandfield",
        -2,
        READONLY,
        (1, 1, 1),
        hrandfield,
        "6.2.0",
        "Get one or multiple random fields from a hash",
    ),
    k(
        "hscan",
        -3,
        READONLY,
        (1, 1, 1),
        hscan,
        "2.8.0",
        "Incrementally iterate hash fields and associated values",
    ),
];

// ---------- error texts (t_hash.c, object.c) ----------

const HASH_NOT_INT: &str = "ERR hash value is not an integer";
const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
const NAN_OR_INF: &str = "ERR value is NaN or Infinity";
const OUT_OF_RANGE: &str = "ERR value is out of range";
/// getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX) with no message.
const RAND_COUNT_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const INVALID_CURSOR: &str = "ERR invalid cursor";

/// Elements reserved up front for replies whose length a client chose
/// (negative random counts): the rest grows as elements are produced.
pub(crate) const PREALLOC_CAP: usize = 1024;

// ---------- helpers shared with sets.rs ----------

pub(crate) fn bulk(b: &[u8]) -> Reply {
    Reply::bulk_from_slice(b)
}

/// An integer as a bulk string (addReplyBulkLongLong).
pub(crate) fn int_bulk(v: i64) -> Reply {
    bulk(itoa::Buffer::new().format(v).as_bytes())
}

/// The count of HRANDFIELD / SRANDMEMBER: a long in [-LONG_MAX, LONG_MAX].
pub(crate) fn parse_rand_count(b: &[u8]) -> Result<i64, Reply> {
    let v = parse_i64_arg(b)?;
    if v == i64::MIN {
        return Err(Reply::err(RAND_COUNT_RANGE));
    }
    Ok(v)
}

/// A random index below `n` (n > 0).
pub(crate) fn random_below(rng: &mut impl Rng, n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        rng.random_range(0..n)
    }
}

/// `count` distinct random indexes below `n` (count < n), in no particular
/// order: Redis's CASE 3 (remove random ones from all) when count is close
/// to n, CASE 4 (pick until enough) otherwise. Memory is bounded by n.
pub(crate) fn distinct_indexes(rng: &mut impl Rng, n: usize, count: usize) -> Vec<usize> {
    if count.saturating_mul(3) > n {
        let mut all: Vec<usize> = (0..n).collect();
        while all.len() > count {
            let i = random_below(rng, all.len());
            all.swap_remove(i);
        }
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let i = random_below(rng, n);
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}

/// A scan cursor (strtoul rules), with Redis's error.
pub(crate) fn parse_cursor(b: &[u8]) -> Result<u64, Reply> {
    super::keys::parse_scan_cursor(b).ok_or_else(|| Reply::err(INVALID_CURSOR))
}

/// HSCAN / SSCAN options (scanGenericCommand with an object: COUNT and
/// MATCH, no TYPE).
pub(crate) struct ScanOpts {
    pub count: usize,
    pub pattern: Option<Bytes>,
}

impl ScanOpts {
    pub fn parse(a: &mut Args) -> Result<ScanOpts, Reply> {
        let mut o = ScanOpts {
            count: 10,
            pattern: None,
        };
        while a.remaining() > 0 {
            let more = a.remaining() >= 2;
            if more && a.eat("count") {
                let n = a.next_i64()?;
                if n < 1 {
                    return Err(Reply::err(errors::SYNTAX));
                }
                o.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if more && a.eat("match") {
                let p = a.next_bytes()?;
                // "*" matches everything: no filter.
                o.pattern = (&p[..] != b"*").then_some(p);
            } else {
                return Err(Reply::err(errors::SYNTAX));
            }
        }
        Ok(o)
    }

    pub fn matches(&self, b: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| glob_match(p, b, false))
    }
}

/// Which positions a scan of a table visits, and the cursor it returns.
/// Cursors count down: the cursor is how many positions are still to visit
/// (0 to start: all of them). A table removes by moving its last element
/// into the hole, which only ever moves an element already visited, so
/// every element present for the whole scan is returned (some maybe twice),
/// as SCAN promises.
pub(crate) fn scan_window(len: usize, cursor: u64, count: usize) -> (std::ops::Range<usize>, u64) {
    let c = match usize::try_from(cursor) {
        Ok(0) | Err(_) => len,
        Ok(c) => c.min(len),
    };
    let lo = c.saturating_sub(count);
    (lo..c, lo as u64)
}

pub(crate) fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![int_bulk(cursor as i64), Reply::Array(items)])
}

pub(crate) fn empty_scan() -> Reply {
    scan_reply(0, Vec::new())
}

// ---------- commands ----------

/// HSET / HMSET: the pairs, Redis's arity error when one is incomplete.
fn set_pairs(ctx: &mut Ctx, a: &mut Args, cmd: &str) -> Result<usize, Reply> {
    let key = a.next_bytes()?;
    let pairs = a.rest();
    if pairs.len() % 2 == 1 {
        return Err(Reply::err_owned(errors::wrong_args(cmd)));
    }
    let limits = ctx.limits();
    let h = ctx.write_or_create::<Hash>(&key, Hash::new)?;
    h.prepare_for(pairs.iter().map(|b| &b[..]), &limits);
    let mut created = 0;
    for p in pairs.chunks_exact(2) {
        if h.set(&p[0], &p[1], &limits) {
            created += 1;
        }
    }
    let n = pairs.len() / 2;
    ctx.changed(ev::HASH, "hset", &key);
    ctx.shard.dirty += n.saturating_sub(1) as u64;
    Ok(created)
}

fn hset(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let created = set_pairs(ctx, a, "hset")?;
    Ok(Reply::Int(created as i64))
}

fn hmset(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    set_pairs(ctx, a, "hmset")?;
    Ok(Reply::ok())
}

fn hsetnx(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let field = a.next_bytes()?;
    let value = a.next_bytes()?;
    a.finish()?;
    let limits = ctx.limits();
    let h = ctx.write_or_create::<Hash>(&key, Hash::new)?;
    if h.contains(&field) {
        return Ok(Reply::Int(0));
    }
    h.prepare_for([&field[..], &value[..]], &limits);
    h.set(&field, &value, &limits);
    ctx.changed(ev::HASH, "hset", &key);
    Ok(Reply::Int(1))
}

fn hget(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let field = a.next_bytes()?;
    let h = ctx.read::<Hash>(&key)?;
    Ok(h.and_then(|h| h.get(&field)).map_or(Reply::Nil, bulk))
}

fn hmget(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let h = ctx.read::<Hash>(&key)?.map(|h| &*h);
    let fields = a.rest();
    Ok(Reply::Array(
        fields
            .iter()
            .map(|f| h.and_then(|h| h.get(f)).map_or(Reply::Nil, bulk))
            .collect(),
    ))
}

fn hdel(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let Some(h) = ctx.write::<Hash>(&key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0;
    for f in a.rest() {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.changed(ev::HASH, "hdel", &key);
        ctx.shard.dirty += deleted - 1;
        ctx.delete_if_empty(&key);
    }
    Ok(Reply::Int(deleted as i64))
}

fn hexists(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let field = a.next_bytes()?;
    let found = ctx.read::<Hash>(&key)?.is_some_and(|h| h.contains(&field));
    Ok(Reply::Int(found as i64))
}

fn hlen(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    Ok(Reply::Int(
        ctx.read::<Hash>(&key)?.map_or(0, |h| h.len()) as i64
    ))
}

fn hstrlen(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let field = a.next_bytes()?;
    let n = ctx
        .read::<Hash>(&key)?
        .and_then(|h| h.get(&field))
        .map_or(0, <[u8]>::len);
    Ok(Reply::Int(n as i64))
}

fn hgetall(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let Some(h) = ctx.read::<Hash>(&key)? else {
        return Ok(Reply::Map(Vec::new()));
    };
    Ok(Reply::Map(
        h.iter().map(|(f, v)| (bulk(f), bulk(v))).collect(),
    ))
}

fn hkeys(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let h = ctx.read::<Hash>(&key)?;
    Ok(Reply::Array(
        h.map(|h| h.fields().map(bulk).collect())
            .unwrap_or_default(),
    ))
}

fn hvals(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let h = ctx.read::<Hash>(&key)?;
    Ok(Reply::Array(
        h.map(|h| h.values().map(bulk).collect())
            .unwrap_or_default(),
    ))
}

fn hincrby(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let field = a.next_bytes()?;
    let incr = a.next_i64()?;
    let limits = ctx.limits();
    let h = ctx.write_or_create::<Hash>(&key, Hash::new)?;
    let old = match h.get(&field) {
        None => 0,
        Some(v) => crate::keyspace::value::parse_i64(v).ok_or_else(|| Reply::err(HASH_NOT_INT))?,
    };
    let new = old
        .checked_add(incr)
        .ok_or_else(|| Reply::err(errors::OVERFLOW))?;
    h.set(&field, itoa::Buffer::new().format(new).as_bytes(), &limits);
    ctx.changed(ev::HASH, "hincrby", &key);
    Ok(Reply::Int(new))
}

fn hincrbyfloat(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let field = a.next_bytes()?;
    let by = a.next_bytes()?;
    let by = ld::parse(&by).ok_or_else(|| Reply::err(errors::NOT_FLOAT))?;
    if matches!(by, ld::Ld::Inf { .. }) {
        return Err(Reply::err(NAN_OR_INF));
    }
    let limits = ctx.limits();
    let h = ctx.write_or_create::<Hash>(&key, Hash::new)?;
    let cur = match h.get(&field) {
        None => ld::Ld::Finite {
            neg: false,
            mant: 0,
            exp: 0,
        },
        Some(v) => ld::parse(v).ok_or_else(|| Reply::err(HASH_NOT_FLOAT))?,
    };
    let new = ld::add(cur, by).ok_or_else(|| Reply::err(errors::INCR_NAN_INF))?;
    let s = ld::format_human(new);
    h.set(&field, s.as_bytes(), &limits);
    ctx.changed(ev::HASH, "hincrbyfloat", &key);
    // The result, as Redis: HSET key field value.
    ctx.propagate_as(&[b"HSET".as_slice(), &key, &field, s.as_bytes()]);
    Ok(Reply::Bulk(Bytes::from(s)))
}

fn hrandfield(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let mut rng = rand::rng();
    if a.remaining() == 0 {
        let Some(h) = ctx.read::<Hash>(&key)? else {
            return Ok(Reply::Nil);
        };
        let i = random_below(&mut rng, h.len());
        return Ok(h.get_index(i).map_or(Reply::Nil, |(f, _)| bulk(f)));
    }
    let l = parse_rand_count(a.next_slice()?)?;
    let withvalues = match a.remaining() {
        0 => false,
        1 if a.eat("withvalues") => true,
        _ => return Err(Reply::err(errors::SYNTAX)),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(Reply::err(OUT_OF_RANGE));
    }
    let Some(h) = ctx.read::<Hash>(&key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let h = &*h;
    let size = h.len();
    let count = l.unsigned_abs();
    if count == 0 || size == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let reply = |pairs: Vec<(&[u8], &[u8])>| -> Reply {
        if withvalues {
            Reply::Pairs(pairs.into_iter().map(|(f, v)| (bulk(f), bulk(v))).collect())
        } else {
            Reply::Array(pairs.into_iter().map(|(f, _)| bulk(f)).collect())
        }
    };
    // A listpack is walked once, not once per pick.
    let listpack: Vec<(&[u8], &[u8])> = if h.is_listpack() {
        h.iter().collect()
    } else {
        Vec::new()
    };
    let pick = |i: usize| -> Option<(&[u8], &[u8])> {
        if h.is_listpack() {
            listpack.get(i).copied()
        } else {
            h.get_index(i)
        }
    };
    // CASE 1: negative count (repeats allowed) or a single field.
    if l < 0 || count == 1 {
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(n.min(PREALLOC_CAP));
        for _ in 0..n {
            if let Some(p) = pick(random_below(&mut rng, size)) {
                out.push(p);
            }
        }
        return Ok(reply(out));
    }
    // CASE 2: the whole hash, in its order.
    if count >= size as u64 {
        return Ok(reply(h.iter().collect()));
    }
    // CASE 3 / 4: distinct fields.
    let idx = distinct_indexes(&mut rng, size, count as usize);
    Ok(reply(idx.into_iter().filter_map(pick).collect()))
}

fn hscan(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let cursor = parse_cursor(a.next_slice()?)?;
    let Some(h) = ctx.read::<Hash>(&key)? else {
        return Ok(empty_scan());
    };
    let h = &*h;
    let opts = ScanOpts::parse(a)?;
    let mut items = Vec::new();
    let mut push = |f: &[u8], v: &[u8]| {
        if opts.matches(f) {
            items.push(bulk(f));
            items.push(bulk(v));
        }
    };
    if h.is_listpack() {
        // A listpack is small: everything at once, cursor 0.
        for (f, v) in h.iter() {
            push(f, v);
        }
        return Ok(scan_reply(0, items));
    }
    let (range, next) = scan_window(h.len(), cursor, opts.count);
    for i in range.rev() {
        if let Some((f, v)) = h.get_index(i) {
            push(f, v);
        }
    }
    Ok(scan_reply(next, items))
}

/// Runs keyed commands on an in-memory shard, for unit tests of the
/// families (replies, keyspace events, dirty counts) without sockets.
#[cfg(test)]
pub(crate) mod testkit {
    use crate::command::{keyspace_events, Args, Ctx, Handler, TABLE};
    use crate::config::Config;
    use crate::node::Node;
    use crate::protocol::Reply;
    use crate::runtime::Shard;
    use bytes::Bytes;
    use std::sync::atomic::Ordering;

    pub struct Kit {
        pub shard: Shard,
        pub node: Node,
    }

    impl Kit {
        /// A one-core node with default settings and every keyspace event on.
        pub fn new() -> Kit {
            let node = Node::new(Config::default(), 1);
            node.tun.notify.store(
                keyspace_events::ALL | keyspace_events::KEYEVENT,
                Ordering::Relaxed,
            );
            Kit {
                shard: Shard::new(16),
                node,
            }
        }

        /// Runs one command line (split on spaces) and returns its reply.
        pub fn run(&mut self, line: &str) -> Reply {
            let argv: Vec<Bytes> = line
                .split(' ')
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            let res = match TABLE.resolve(&argv) {
                Ok(r) => r,
                Err(e) => return e,
            };
            let Handler::Keyed(f) = res.spec.handler else {
                panic!("not a keyed command: {line}");
            };
            let mut ctx = Ctx {
                shard: &mut self.shard,
                db: 0,
                now: 1_700_000_000_000,
                node: &self.node,
            };
            f(&mut ctx, &mut Args::new(argv, res.argpos)).unwrap_or_else(|e| e)
        }

        /// Runs one command line and returns its reply as RESP3 text.
        pub fn wire(&mut self, line: &str) -> String {
            let r = self.run(line);
            let mut out = Vec::new();
            crate::protocol::encode(&r, crate::protocol::Proto::Resp3, &mut out);
            String::from_utf8_lossy(&out).into_owned()
        }

        /// The keyspace events raised since the last call: (event, key).
        pub fn events(&mut self) -> Vec<(&'static str, String)> {
            self.shard
                .events
                .drain(..)
                .map(|e| (e.event, String::from_utf8_lossy(&e.key).into_owned()))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_windows_count_down() {
        assert_eq!(scan_window(25, 0, 10), (15..25, 15));
        assert_eq!(scan_window(25, 15, 10), (5..15, 5));
        assert_eq!(scan_window(25, 5, 10), (0..5, 0));
        // A cursor past the end (the table shrank): start from the end.
        assert_eq!(scan_window(3, 15, 10), (0..3, 0));
        assert_eq!(scan_window(0, 0, 10), (0..0, 0));
        assert_eq!(scan_window(5, u64::MAX, usize::MAX), (0..5, 0));
    }

    #[test]
    fn distinct_indexes_are_distinct() {
        let mut rng = rand::rng();
        for (n, c) in [(10, 9), (10, 3), (1000, 5), (1000, 400), (2, 1)] {
            let mut v = distinct_indexes(&mut rng, n, c);
            assert_eq!(v.len(), c);
            v.sort_unstable();
            v.dedup();
            assert_eq!(v.len(), c);
            assert!(v.iter().all(|&i| i < n));
        }
    }

    #[test]
    fn rand_count_range() {
        assert_eq!(parse_rand_count(b"-5"), Ok(-5));
        assert_eq!(parse_rand_count(b"-9223372036854775807"), Ok(-i64::MAX));
        assert!(parse_rand_count(b"-9223372036854775808").is_err());
        assert!(parse_rand_count(b"x").is_err());
    }

    #[test]
    fn events_and_dirty_like_redis() {
        let mut k = testkit::Kit::new();
        assert_eq!(k.run("HSET h a 1 b 2"), Reply::Int(2));
        assert_eq!(k.shard.dirty, 2);
        assert_eq!(k.run("HSETNX h a 1"), Reply::Int(0));
        assert_eq!(k.run("HINCRBY h n 2"), Reply::Int(2));
        assert_eq!(k.wire("HINCRBYFLOAT h x 1.5"), "$3\r\n1.5\r\n");
        assert_eq!(k.run("HDEL h zz"), Reply::Int(0));
        assert_eq!(k.run("HDEL h a b n x"), Reply::Int(4));
        assert_eq!(
            k.events(),
            vec![
                ("hset", "h".into()),
                ("hincrby", "h".into()),
                ("hincrbyfloat", "h".into()),
                ("hdel", "h".into()),
                ("del", "h".into()),
            ]
        );
        assert_eq!(k.shard.dirty, 2 + 1 + 1 + 4);
        assert_eq!(k.run("HLEN h"), Reply::Int(0));
        // Failed writes raise nothing and leave nothing behind.
        assert!(k.run("HINCRBY h n x").is_error());
        assert!(k.run("HINCRBYFLOAT h n inf").is_error());
        assert_eq!(k.run("EXISTS h"), Reply::Int(0));
        assert!(k.events().is_empty());
    }
}
