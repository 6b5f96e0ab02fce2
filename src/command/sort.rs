//! SORT and SORT_RO, as Redis 7.0's sort.c: BY pattern (`nosort` or any
//! constant skips sorting), LIMIT, GET patterns (`#`, `key*`, `hash*->field`),
//! ASC/DESC, ALPHA, STORE (SORT only).
//!
//! # Where it runs
//!
//! BY and GET patterns name keys that only the sorted elements reveal, and in
//! standalone mode those keys may live on any core. SORT is therefore a
//! connection command that takes the cores it needs with `Core::lock_and`
//! (ascending order, so it cannot deadlock with other multi-core commands):
//!
//! - without lookups: the sort key's core and the STORE destination's core;
//! - with lookups: every core. Each core, once reserved, reports the sort
//!   key's elements (if it owns the key) and the values of the pattern keys
//!   it owns from a list computed beforehand. The sort then runs on the
//!   connection's core on that snapshot; if the elements name a key that was
//!   not in the list (the first round's list is empty, and the elements may
//!   have changed since the last round), the cores are released and the
//!   round is run again with the list the snapshot gives. A round whose list
//!   covers every key is answered from one consistent snapshot taken while
//!   every core was held, so SORT stays atomic as in Redis.
//!
//! The STORE destination is written by a finishing job on its core before
//! that core is released.
//!
//! In cluster mode Redis refuses BY patterns and GET, so a SORT there is
//! the sort key plus a destination in the same slot, on one core.

use super::flags::*;
use super::{errors, keyspace_events, Args, CmdResult, CommandSpec, Ctx, Handler};
use crate::cluster::slot::key_hash_slot;
use crate::keyspace::{Hash, List, Set, Ttl, Value, ZSet};
use crate::protocol::Reply;
use crate::runtime::{now_ms, Core, Job};
use crate::server::client::Client;
use bytes::Bytes;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

crate::conn_fn!(sort, |c, a| sort_generic(c, a, false));
crate::conn_fn!(sort_ro, |c, a| sort_generic(c, a, true));

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "sort",
        -2,
        WRITE | DENYOOM | MOVABLE_KEYS,
        (1, 1, 1),
        Handler::Conn(sort),
    )
    .doc(
        "generic",
        "1.0.0",
        "Sort the elements in a list, set or sorted set",
    ),
    CommandSpec::new(
        "sort_ro",
        -2,
        READONLY | MOVABLE_KEYS,
        (1, 1, 1),
        Handler::Conn(sort_ro),
    )
    .doc(
        "generic",
        "7.0.0",
        "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
    ),
];

const SCORE_ERR: &str = "ERR One or more scores can't be converted into double";
const BY_CLUSTER_ERR: &str = "ERR BY option of SORT denied in Cluster mode.";
const GET_CLUSTER_ERR: &str = "ERR GET option of SORT denied in Cluster mode.";
/// Rounds of the optimistic snapshot before giving up (a sort key that
/// changes between every two rounds).
const MAX_ROUNDS: usize = 64;

// ---------- adapters to the aggregate types (fix at merge) ----------
//
// SORT needs, from the list, set, sorted set and hash types:
// - a list's elements in order, a set's members in its iteration order, a
//   sorted set's members by ascending rank (`elements_of`);
// - one field of a hash (`hash_field`);
// - a list built from elements, for STORE (`list_from`).
// These few functions are the only places that know those types' APIs.

/// What SORT sorts: its elements and where they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKind {
    List,
    Set,
    ZSet,
}

/// The elements of a list, set or sorted set; None for other types.
fn elements_of(v: &Value) -> Option<(SortKind, Vec<Bytes>)> {
    match v {
        Value::List(l) => Some((SortKind::List, list_elements(l))),
        Value::Set(s) => Some((SortKind::Set, set_members(s))),
        Value::ZSet(z) => Some((SortKind::ZSet, zset_members(z))),
        _ => None,
    }
}

/// a list's elements, head to tail (expected: `l.iter()` yielding
/// element bytes).
fn list_elements(l: &List) -> Vec<Bytes> {
    l.iter().map(|e| Bytes::from(e.to_vec())).collect()
}

/// a set's members in its iteration order (expected: `s.iter()`).
fn set_members(s: &Set) -> Vec<Bytes> {
    s.iter()
        .map(|m| m.with_bytes(Bytes::copy_from_slice))
        .collect()
}

/// a sorted set's members by ascending rank (expected: `z.iter()`
/// yielding (member, score) in rank order).
fn zset_members(z: &ZSet) -> Vec<Bytes> {
    z.iter().map(|(m, _)| Bytes::copy_from_slice(m)).collect()
}

/// a hash field's value (expected: `h.get(field)`).
fn hash_field(h: &Hash, field: &[u8]) -> Option<Bytes> {
    h.get(field).map(Bytes::copy_from_slice)
}

/// a list holding `items` in order, encoded as the list type
/// decides for these limits (expected: `List::from_iter(items, limits)` or
/// pushes at the tail).
fn list_from(items: Vec<Bytes>, limits: &crate::keyspace::EncLimits) -> List {
    List::from_elems(limits.list_size, items)
}

// ---------- options ----------

/// SORT's parsed options.
#[derive(Debug, Clone, Default)]
pub struct SortOpts {
    pub desc: bool,
    pub alpha: bool,
    pub limit_start: i64,
    pub limit_count: i64,
    pub store: Option<Bytes>,
    pub by: Option<Bytes>,
    /// BY named a constant (no `*`): nothing to sort.
    pub dontsort: bool,
    pub gets: Vec<Bytes>,
}

/// The bytes of `b` as C string functions see them (up to a NUL).
fn cstr(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

fn has_star(b: &[u8]) -> bool {
    cstr(b).contains(&b'*')
}

fn is_hash_sign(p: &[u8]) -> bool {
    cstr(p) == b"#"
}

/// sortCommandGeneric's option loop over `argv` (the command name first).
pub fn parse_opts(argv: &[Bytes], readonly: bool, cluster: bool) -> Result<SortOpts, Reply> {
    let mut o = SortOpts {
        limit_count: -1,
        ..Default::default()
    };
    let argc = argv.len();
    let mut j = 2;
    while j < argc {
        let left = argc - j - 1;
        let a = &argv[j];
        let is = |s: &str| a.eq_ignore_ascii_case(s.as_bytes());
        if is("asc") {
            o.desc = false;
        } else if is("desc") {
            o.desc = true;
        } else if is("alpha") {
            o.alpha = true;
        } else if is("limit") && left >= 2 {
            o.limit_start = super::parse_i64_arg(&argv[j + 1])?;
            o.limit_count = super::parse_i64_arg(&argv[j + 2])?;
            j += 2;
        } else if !readonly && is("store") && left >= 1 {
            o.store = Some(argv[j + 1].clone());
            j += 1;
        } else if is("by") && left >= 1 {
            let by = argv[j + 1].clone();
            if !has_star(&by) {
                o.dontsort = true;
            } else if cluster {
                return Err(Reply::err(BY_CLUSTER_ERR));
            }
            o.by = Some(by);
            j += 1;
        } else if is("get") && left >= 1 {
            if cluster {
                return Err(Reply::err(GET_CLUSTER_ERR));
            }
            o.gets.push(argv[j + 1].clone());
            j += 1;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
        j += 1;
    }
    Ok(o)
}

impl SortOpts {
    /// Whether sorting reads keys other than the sort key.
    pub fn needs_lookups(&self) -> bool {
        let by = !self.dontsort && self.by.as_deref().is_some_and(has_star);
        by || self.gets.iter().any(|g| !is_hash_sign(g) && has_star(g))
    }
}

/// sortGetKeys: the STORE destination as Redis finds it for cluster
/// routing (the last STORE, skipping LIMIT/GET/BY arguments).
fn store_key_pos(argv: &[Bytes]) -> Option<usize> {
    let mut found = None;
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if a.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            found = Some(i + 1);
        } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
            i += 1;
        }
        i += 1;
    }
    found
}

// ---------- patterns ----------

/// A key (and hash field) a pattern names for one element.
type Lookup = (Bytes, Option<Bytes>);

/// lookupKeyByPattern's key and field: the first `*` (before any NUL) is
/// replaced by `subst`; `key*->field` reads a hash field. None when the
/// pattern has no `*` (it looks nothing up).
pub fn pattern_key(pattern: &[u8], subst: &[u8]) -> Option<Lookup> {
    let c = cstr(pattern);
    let star = c.iter().position(|&b| b == b'*')?;
    let arrow = c
        .get(star + 1..)
        .and_then(|rest| rest.windows(2).position(|w| w == b"->"))
        .map(|i| star + 1 + i)
        .filter(|&f| pattern.get(f + 2).is_some_and(|&b| b != 0));
    let (post_end, field) = match arrow {
        Some(f) => (f, Some(Bytes::copy_from_slice(&pattern[f + 2..]))),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(pattern.len() + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..post_end]);
    Some((Bytes::from(key), field))
}

/// The value a pattern gives for `subst`: the element itself for `#`,
/// nothing without a `*`, else what `resolve` finds for the key/field.
fn lookup_pattern(
    pattern: &[u8],
    subst: &Bytes,
    resolve: &mut dyn FnMut(&Lookup) -> Option<Bytes>,
) -> Option<Bytes> {
    if is_hash_sign(pattern) {
        return Some(subst.clone());
    }
    let l = pattern_key(pattern, subst)?;
    resolve(&l)
}

/// The keys a sort of `elems` with `o` will look up.
fn needed_keys(elems: &[Bytes], o: &SortOpts) -> Vec<Lookup> {
    let mut out: Vec<Lookup> = Vec::new();
    let by = o.by.as_ref().filter(|b| !o.dontsort && has_star(b));
    for e in elems {
        if let Some(l) = by.and_then(|b| pattern_key(b, e)) {
            out.push(l);
        }
        for g in &o.gets {
            if !is_hash_sign(g) {
                if let Some(l) = pattern_key(g, e) {
                    out.push(l);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

// ---------- the sort itself ----------

/// strtod as Redis calls it on a score: the whole string (up to a NUL) must
/// be read, no overflow or underflow (ERANGE), no NaN.
pub fn strtod(b: &[u8]) -> Option<f64> {
    let c = std::ffi::CString::new(cstr(b)).ok()?;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call;
    // strtod sets `end` inside it. errno is thread-local.
    let (v, err, rest) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(c.as_ptr(), &mut end);
        let err = *libc::__errno_location();
        let rest = if end.is_null() { 1 } else { *end };
        (v, err, rest)
    };
    (rest == 0 && err != libc::ERANGE && !v.is_nan()).then_some(v)
}

/// strcmp: bytes compared up to the first NUL (strcoll in the C and C.UTF-8
/// locales Redis runs under).
fn strcoll(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    cstr(a).cmp(cstr(b))
}

struct Item {
    obj: Bytes,
    score: f64,
    cmp: Option<Bytes>,
}

/// What a sort produced: the output elements (None: a GET that found
/// nothing).
pub struct Sorted {
    pub items: Vec<Option<Bytes>>,
}

/// sortCommandGeneric from the loaded value on: `kind`/`elems` is the sort
/// key (None: missing, an empty list), `resolve` reads pattern keys.
pub fn run_sort(
    kind: Option<SortKind>,
    elems: Vec<Bytes>,
    o: &SortOpts,
    resolve: &mut dyn FnMut(&Lookup) -> Option<Bytes>,
) -> Result<Sorted, Reply> {
    let kind = kind.unwrap_or(SortKind::List);
    let mut dontsort = o.dontsort;
    let mut alpha = o.alpha;
    let mut sortby = o.by.clone();
    let desc = o.desc;
    if dontsort && kind == SortKind::Set && o.store.is_some() {
        // A set has no order of its own: STORE sorts it (ALPHA) so that
        // replicas and the AOF see the same list.
        dontsort = false;
        alpha = true;
        sortby = None;
    }
    let total = elems.len() as i64;
    let mut vectorlen = total;
    let mut start = o.limit_start.max(0).min(vectorlen);
    let limit_count = o.limit_count.max(-1).min(vectorlen);
    let mut end = if limit_count < 0 {
        vectorlen - 1
    } else {
        start + limit_count - 1
    };
    if start >= vectorlen {
        start = vectorlen - 1;
        end = vectorlen - 2;
    }
    if end >= vectorlen {
        end = vectorlen - 1;
    }
    let ranged = matches!(kind, SortKind::List | SortKind::ZSet) && dontsort;
    if ranged && (start != 0 || end != vectorlen - 1) {
        vectorlen = end - start + 1;
    }
    let mut v: Vec<Item> = Vec::with_capacity(vectorlen.max(0) as usize);
    let item = |obj: &Bytes| Item {
        obj: obj.clone(),
        score: 0.0,
        cmp: None,
    };
    if ranged {
        if kind == SortKind::ZSet || end >= start {
            let n = vectorlen.max(0) as usize;
            if desc {
                let first = total - start - 1;
                for i in 0..n as i64 {
                    if let Some(e) = usize::try_from(first - i).ok().and_then(|x| elems.get(x)) {
                        v.push(item(e));
                    }
                }
            } else {
                v.extend(elems.iter().skip(start.max(0) as usize).take(n).map(item));
            }
            end -= start;
            start = 0;
        }
    } else {
        v.extend(elems.iter().map(item));
    }
    let mut conversion_error = false;
    if !dontsort {
        // (Redis sorts before it answers a score error; only the error is
        // seen, so the sort is skipped here.)
        for it in v.iter_mut() {
            let byval = match &sortby {
                Some(p) => match lookup_pattern(p, &it.obj, resolve) {
                    Some(b) => b,
                    None => continue,
                },
                None => it.obj.clone(),
            };
            if alpha {
                if sortby.is_some() {
                    it.cmp = Some(byval);
                }
            } else {
                match strtod(&byval) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        let store = o.store.is_some();
        let bypattern = sortby.is_some();
        let cmp = |a: &Item, b: &Item| -> std::cmp::Ordering {
            use std::cmp::Ordering::*;
            let c = if !alpha {
                if a.score > b.score {
                    Greater
                } else if a.score < b.score {
                    Less
                } else {
                    a.obj.cmp(&b.obj)
                }
            } else if bypattern {
                match (&a.cmp, &b.cmp) {
                    (None, None) => Equal,
                    (None, Some(_)) => Less,
                    (Some(_), None) => Greater,
                    (Some(x), Some(y)) if store => x.cmp(y),
                    (Some(x), Some(y)) => strcoll(x, y),
                }
            } else if store {
                a.obj.cmp(&b.obj)
            } else {
                strcoll(&a.obj, &b.obj)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        };
        if conversion_error {
            return Err(Reply::err(SCORE_ERR));
        }
        if sortby.is_some() && (start != 0 || end != vectorlen - 1) {
            let (l, r) = (start.max(0) as usize, end.max(-1));
            pqsort(&mut v, &cmp, l, r);
        } else {
            // glibc's qsort is a stable merge sort, as this one is.
            v.sort_by(cmp);
        }
    }
    let mut items = Vec::new();
    let mut j = start;
    while j <= end {
        let Some(it) = usize::try_from(j).ok().and_then(|x| v.get(x)) else {
            break;
        };
        if o.gets.is_empty() {
            items.push(Some(it.obj.clone()));
        }
        for g in &o.gets {
            items.push(lookup_pattern(g, &it.obj, resolve));
        }
        j += 1;
    }
    Ok(Sorted { items })
}

/// Redis's pqsort (NetBSD's qsort that only sorts the partitions touching
/// the range `lrange..=rrange`), ported so that equal elements come out in
/// the same order as Redis's (it is not stable).
fn pqsort<T>(v: &mut [T], cmp: &dyn Fn(&T, &T) -> Ordering, lrange: usize, rrange: i64) {
    let n = v.len();
    pq(v, 0, n, cmp, lrange as i64, rrange);
}

use std::cmp::Ordering;

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &dyn Fn(&T, &T) -> Ordering) -> usize {
    use Ordering::*;
    if cmp(&v[a], &v[b]) == Less {
        if cmp(&v[b], &v[c]) == Less {
            b
        } else if cmp(&v[a], &v[c]) == Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Greater {
        b
    } else if cmp(&v[a], &v[c]) == Less {
        a
    } else {
        c
    }
}

fn pq<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    cmp: &dyn Fn(&T, &T) -> Ordering,
    l: i64,
    r: i64,
) {
    use Ordering::*;
    // Whether the partition [base, base + m) holds part of the range.
    let touches = |base: usize, m: usize| {
        let (b, e) = (base as i64, (base + m) as i64);
        !((l < b && r < b) || (l >= e && r >= e))
    };
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) == Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c == Greater {
                    break;
                }
                if c == Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c == Less {
                    break;
                }
                if c == Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let k = (pa - a).min(pb - pa);
        for i in 0..k {
            v.swap(a + i, pb - k + i);
        }
        let k = (pd - pc).min(pn - pd - 1);
        for i in 0..k {
            v.swap(pb + i, pn - k + i);
        }
        let m = pb - pa;
        if m > 1 && touches(a, m) {
            pq(v, a, m, cmp, l, r);
        }
        let m = pd - pc;
        if m > 1 {
            a = pn - m;
            n = m;
            if touches(a, n) {
                continue;
            }
        }
        return;
    }
}

// ---------- running on the cores ----------

/// A sort key's kind and elements.
type Loaded = (SortKind, Vec<Bytes>);

/// What one reserved core reports.
#[derive(Default)]
struct Gathered {
    /// Some when this core owns the sort key: its elements (None: missing)
    /// or WRONGTYPE.
    sortval: Option<Result<Option<Loaded>, Reply>>,
    values: Vec<(Lookup, Option<Bytes>)>,
    /// This core owns the STORE destination.
    owns_dest: bool,
}

enum Round {
    Done(CmdResult),
    /// The snapshot named keys not gathered: go again with these elements.
    Again(Vec<Bytes>),
}

/// Reads what a core holds of the sort and its lookups (read lookups:
/// expiry, LRU, keyspace hits and misses, as Redis's lookupKeyRead).
fn gather_on(
    core: &Rc<Core>,
    db: usize,
    key: &Bytes,
    dest: Option<&Bytes>,
    needed: &[Lookup],
) -> Gathered {
    let now = now_ms();
    let topo = core.topology();
    let mut shard = core.shard.borrow_mut();
    let shard = &mut *shard;
    let mut g = Gathered {
        owns_dest: dest.is_some_and(|d| topo.core_of(key_hash_slot(d)) == core.id),
        ..Default::default()
    };
    let Some(d) = shard.dbs.get_mut(db) else {
        return g;
    };
    let stats = &mut shard.stats;
    let mut hit = |found: bool| {
        if found {
            stats.keyspace_hits += 1;
        } else {
            stats.keyspace_misses += 1;
        }
    };
    if topo.core_of(key_hash_slot(key)) == core.id {
        let e = d.get(key, now);
        hit(e.is_some());
        g.sortval = Some(match e {
            None => Ok(None),
            Some(e) => elements_of(&e.val)
                .map(Some)
                .ok_or_else(|| Reply::err(errors::WRONGTYPE)),
        });
    }
    for l in needed {
        if topo.core_of(key_hash_slot(&l.0)) != core.id {
            continue;
        }
        let e = d.get(&l.0, now);
        hit(e.is_some());
        let v = match (e.map(|e| &e.val), &l.1) {
            (Some(Value::Str(s)), None) => Some(Bytes::copy_from_slice(s)),
            (Some(Value::Hash(h)), Some(f)) => hash_field(h, f),
            _ => None,
        };
        g.values.push((l.clone(), v));
    }
    g
}

/// Writes SORT ... STORE's result on the destination's core: a list, or
/// the deletion of the destination when the result is empty.
fn store_job(db: usize, dest: Bytes, items: Vec<Bytes>) -> Job {
    Box::new(move |core: &Rc<Core>| {
        let now = now_ms();
        let node = core.node.clone();
        let mut shard = core.shard.borrow_mut();
        let dirty = shard.dirty;
        let mut ctx = Ctx {
            shard: &mut shard,
            db,
            now,
            node: &node,
        };
        let n = items.len() as u64;
        // Propagated as the destination's new value (the sort read keys
        // of other cores), as one unit.
        ctx.shard.propagate_unit_begin();
        if n > 0 {
            let limits = ctx.limits();
            let list = list_from(items, &limits);
            ctx.db()
                .set(&dest, Value::List(Box::new(list)), Ttl::Clear, now);
            ctx.signal_ready(&dest);
            ctx.changed(keyspace_events::LIST, "sortstore", &dest);
            ctx.shard.dirty += n - 1;
        } else if ctx.db().remove(&dest, now).is_some() {
            ctx.changed(keyspace_events::GENERIC, "del", &dest);
        }
        if ctx.shard.dirty != dirty {
            ctx.shard.propagate_key(db, &dest);
        }
        ctx.shard.propagate_unit_end();
    })
}

/// Redis's cluster checks for SORT's keys (the sort key, and for SORT the
/// STORE destination sortGetKeys finds): one slot, served here.
fn cluster_route(c: &Client, argv: &[Bytes], readonly: bool) -> Result<(), Reply> {
    let topo = c.core.topology();
    if !topo.cluster_enabled {
        return Ok(());
    }
    let Some(key) = argv.get(1) else {
        return Ok(());
    };
    let slot = key_hash_slot(key);
    if topo.slot_owner.get(slot as usize) == Some(&crate::runtime::topology::SlotOwner::Unassigned)
    {
        return Err(Reply::err(errors::CLUSTERDOWN_UNBOUND));
    }
    if !readonly {
        if let Some(dest) = store_key_pos(argv).and_then(|i| argv.get(i)) {
            if key_hash_slot(dest) != slot {
                return Err(Reply::err(errors::CROSSSLOT));
            }
        }
    }
    let write = !readonly && store_key_pos(argv).is_some();
    crate::server::dispatch::cluster_check(&topo, slot, write)
}

async fn sort_generic(c: &mut Client, a: Args, readonly: bool) -> CmdResult {
    let argv = a.into_argv();
    cluster_route(c, &argv, readonly)?;
    let cluster = c.core.node.cluster_enabled();
    let opts = parse_opts(&argv, readonly, cluster)?;
    let Some(key) = argv.get(1).cloned() else {
        return Err(Reply::err(errors::SYNTAX));
    };
    let db = c.db;
    let topo = c.core.topology();
    let lookups = opts.needs_lookups();
    let mut cores: Vec<usize> = if lookups {
        (0..c.core.ncores).collect()
    } else {
        let mut v = vec![topo.core_of(key_hash_slot(&key))];
        if let Some(d) = &opts.store {
            v.push(topo.core_of(key_hash_slot(d)));
        }
        v
    };
    cores.sort_unstable();
    cores.dedup();
    let opts = Arc::new(opts);
    let mut guess: Vec<Bytes> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let needed: Arc<Vec<Lookup>> = Arc::new(if lookups {
            needed_keys(&guess, &opts)
        } else {
            Vec::new()
        });
        let (k, n, d) = (key.clone(), needed.clone(), opts.store.clone());
        let gather = move |core: &Rc<Core>| gather_on(core, db, &k, d.as_ref(), &n);
        let o = opts.clone();
        let cores_f = cores.clone();
        let round = c
            .core
            .lock_and(&cores, gather, move |gathered: Vec<Gathered>| {
                finish_round(gathered, &o, db, &cores_f)
            })
            .await;
        match round {
            Round::Done(r) => {
                if opts.store.is_some() {
                    crate::server::aof::durable_everywhere(&c.core).await;
                }
                return r;
            }
            Round::Again(elems) => guess = elems,
        }
        // The destination or the key may have moved between cores (a
        // topology change): route again.
        if !lookups {
            let topo = c.core.topology();
            let mut v = vec![topo.core_of(key_hash_slot(&key))];
            if let Some(d) = &opts.store {
                v.push(topo.core_of(key_hash_slot(d)));
            }
            v.sort_unstable();
            v.dedup();
            cores = v;
        }
    }
    Err(Reply::err("TRYAGAIN SORT keys kept changing"))
}

/// The part of a round that runs while the cores are held: sort the
/// snapshot, and schedule STORE's write on the destination's core.
fn finish_round(
    gathered: Vec<Gathered>,
    o: &SortOpts,
    db: usize,
    cores: &[usize],
) -> (Vec<Option<Job>>, Round) {
    let mut sortval = None;
    let mut dest_owner = None;
    let mut values: HashMap<Lookup, Option<Bytes>> = HashMap::new();
    for (g, &core) in gathered.into_iter().zip(cores) {
        if g.sortval.is_some() {
            sortval = g.sortval;
        }
        if g.owns_dest {
            dest_owner = Some(core);
        }
        values.extend(g.values);
    }
    let (kind, elems) = match sortval {
        None => return (Vec::new(), Round::Again(Vec::new())),
        Some(Err(e)) => return (Vec::new(), Round::Done(Err(e))),
        Some(Ok(None)) => (None, Vec::new()),
        Some(Ok(Some((k, e)))) => (Some(k), e),
    };
    let mut missing = false;
    let mut resolve = |l: &Lookup| -> Option<Bytes> {
        match values.get(l) {
            Some(v) => v.clone(),
            None => {
                missing = true;
                None
            }
        }
    };
    let snapshot = elems.clone();
    let result = run_sort(kind, elems, o, &mut resolve);
    if missing {
        return (Vec::new(), Round::Again(snapshot));
    }
    let sorted = match result {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Round::Done(Err(e))),
    };
    let Some(dest) = o.store.clone() else {
        let reply = sorted
            .items
            .into_iter()
            .map(|i| i.map_or(Reply::Nil, Reply::Bulk))
            .collect();
        return (Vec::new(), Round::Done(Ok(Reply::Array(reply))));
    };
    let n = sorted.items.len() as i64;
    let items: Vec<Bytes> = sorted
        .items
        .into_iter()
        .map(|i| i.unwrap_or_default())
        .collect();
    let mut jobs: Vec<Option<Job>> = (0..cores.len()).map(|_| None).collect();
    // The write goes to the core that reported owning the destination (by
    // its own topology, which cannot change while it is held).
    match dest_owner.and_then(|c| cores.iter().position(|&x| x == c)) {
        Some(i) => jobs[i] = Some(store_job(db, dest, items)),
        None => return (Vec::new(), Round::Again(snapshot)),
    }
    (jobs, Round::Done(Ok(Reply::Int(n))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::from(s.to_string())
    }

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ').map(b).collect()
    }

    #[test]
    fn patterns() {
        assert_eq!(pattern_key(b"w_*", b"x"), Some((b("w_x"), None)));
        assert_eq!(pattern_key(b"a*b*c", b"1"), Some((b("a1b*c"), None)));
        assert_eq!(pattern_key(b"h_*->f", b"x"), Some((b("h_x"), Some(b("f")))));
        assert_eq!(pattern_key(b"h_*->", b"x"), Some((b("h_x->"), None)));
        assert_eq!(pattern_key(b"h->*", b"x"), Some((b("h->x"), None)));
        assert_eq!(pattern_key(b"nostar", b"x"), None);
        assert_eq!(pattern_key(b"a\0*", b"x"), None);
        assert!(is_hash_sign(b"#") && is_hash_sign(b"#\0x") && !is_hash_sign(b"##"));
    }

    #[test]
    fn options() {
        let o = parse_opts(
            &argv("SORT k BY w_* GET # LIMIT 1 2 DESC ALPHA STORE d"),
            false,
            false,
        )
        .unwrap();
        assert!(o.desc && o.alpha && !o.dontsort && o.needs_lookups());
        assert_eq!((o.limit_start, o.limit_count), (1, 2));
        assert_eq!(o.store, Some(b("d")));
        let o = parse_opts(&argv("SORT k BY nosort GET #"), false, false).unwrap();
        assert!(o.dontsort && !o.needs_lookups());
        assert!(parse_opts(&argv("SORT k STORE d"), true, false).is_err());
        assert_eq!(
            parse_opts(&argv("SORT k BY w_*"), false, true).unwrap_err(),
            Reply::err(BY_CLUSTER_ERR)
        );
        assert!(parse_opts(&argv("SORT k BY nosort"), false, true).is_ok());
        assert_eq!(
            parse_opts(&argv("SORT k GET #"), false, true).unwrap_err(),
            Reply::err(GET_CLUSTER_ERR)
        );
        assert_eq!(store_key_pos(&argv("SORT k STORE a STORE b")), Some(5));
        assert_eq!(store_key_pos(&argv("SORT k GET store STORE x")), Some(5));
        assert_eq!(store_key_pos(&argv("SORT k LIMIT 0 1")), None);
    }

    #[test]
    fn scores_as_strtod() {
        assert_eq!(strtod(b"1.5"), Some(1.5));
        assert_eq!(strtod(b"0x10"), Some(16.0));
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b"12\0junk"), Some(12.0));
        assert_eq!(strtod(b" 7"), Some(7.0));
        assert_eq!(strtod(b"inf"), Some(f64::INFINITY));
        assert_eq!(strtod(b"7 "), None);
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"1e400"), None);
        assert_eq!(strtod(b"1e-400"), None);
        assert_eq!(strtod(b"x"), None);
    }

    #[test]
    fn partial_sort_orders_the_range() {
        let mut rng: u64 = 7;
        for n in [0usize, 1, 5, 7, 8, 41, 100, 500] {
            let v: Vec<u32> = (0..n)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    (rng % 50) as u32
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort();
            for (l, r) in [
                (0, n as i64 - 1),
                (n / 3, n as i64 / 2),
                (n / 2, n as i64 - 1),
            ] {
                let mut w = v.clone();
                pqsort(&mut w, &|a: &u32, b: &u32| a.cmp(b), l, r);
                if n > 0 && r >= l as i64 {
                    assert_eq!(w[l..=r as usize], sorted[l..=r as usize], "n={n} {l}..{r}");
                }
            }
        }
    }

    fn gathered(
        sortval: Option<Vec<&str>>,
        values: &[(&str, Option<&str>)],
        dest: bool,
    ) -> Gathered {
        Gathered {
            sortval: sortval.map(|v| Ok(Some((SortKind::List, v.into_iter().map(b).collect())))),
            values: values
                .iter()
                .map(|(k, v)| ((b(k), None), v.map(b)))
                .collect(),
            owns_dest: dest,
        }
    }

    #[test]
    fn rounds_retry_until_every_key_was_gathered() {
        let o = parse_opts(&argv("SORT k BY w_* GET w_*"), false, false).unwrap();
        // First round: nothing gathered for the patterns.
        let (jobs, r) = finish_round(
            vec![gathered(Some(vec!["x", "y"]), &[], false)],
            &o,
            0,
            &[0],
        );
        assert!(jobs.is_empty());
        let Round::Again(elems) = r else {
            panic!("expected another round")
        };
        assert_eq!(
            needed_keys(&elems, &o),
            vec![(b("w_x"), None), (b("w_y"), None)]
        );
        // Second round: the keys come from two cores.
        let g0 = gathered(None, &[("w_x", Some("2"))], false);
        let g1 = gathered(Some(vec!["x", "y"]), &[("w_y", Some("1"))], false);
        let (_, r) = finish_round(vec![g0, g1], &o, 0, &[0, 1]);
        let Round::Done(Ok(Reply::Array(items))) = r else {
            panic!("expected a reply")
        };
        assert_eq!(items, vec![Reply::Bulk(b("1")), Reply::Bulk(b("2"))]);
        // A STORE's write goes to the core that owns the destination.
        let o = parse_opts(&argv("SORT k STORE d"), false, false).unwrap();
        let g0 = gathered(None, &[], true);
        let g1 = gathered(Some(vec!["2", "1"]), &[], false);
        let (jobs, r) = finish_round(vec![g0, g1], &o, 0, &[0, 1]);
        assert!(matches!(r, Round::Done(Ok(Reply::Int(2)))));
        assert!(jobs[0].is_some() && jobs[1].is_none());
        // The sort key's owner missing from the snapshot: go again.
        let (_, r) = finish_round(vec![gathered(None, &[], true)], &o, 0, &[0]);
        assert!(matches!(r, Round::Again(_)));
    }
}
