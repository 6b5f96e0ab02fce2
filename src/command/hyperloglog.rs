//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) on
//! Redis's sparse/dense string representation (`keyspace::hll`): a PFADD
//! sequence leaves the same bytes as redis-server, the cached cardinality
//! included.
//!
//! Like Redis, every command that touches an existing HLL for writing (and
//! PFCOUNT of one key, which may refresh the cached cardinality) leaves the
//! string raw-encoded.

use super::bitops::cbytes_mut;
use super::flags::*;
use super::{errors, keyspace_events, Args, CmdResult, CommandSpec, Ctx, Handler::Keyed};
use crate::keyspace::hll::{self, Encoding};
use crate::keyspace::{CBytes, Entry, StrEnc, Ttl, Value};
use crate::protocol::Reply;
use bytes::Bytes;

const fn k(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i16, i16, i16),
    f: super::KeyedFn,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, keys, Keyed(f)).doc("hyperloglog", "2.8.9", summary)
}

pub const COMMANDS: &[CommandSpec] = &[
    k(
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        pfadd,
        "Adds the specified elements to the specified HyperLogLog.",
    ),
    k(
        "pfcount",
        -2,
        READONLY,
        (1, -1, 1),
        pfcount,
        "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
    ),
    k(
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        (1, -1, 1),
        pfmerge,
        "Merge N different HyperLogLogs into a single one.",
    ),
    k(
        "pfdebug",
        3,
        WRITE | DENYOOM | ADMIN,
        (2, 2, 1),
        pfdebug,
        "Internal commands for debugging HyperLogLog values",
    ),
    k(
        "pfselftest",
        1,
        ADMIN,
        (0, 0, 0),
        pfselftest,
        "An internal command for testing HyperLogLog values",
    ),
];

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const INVALID_HLL: &str = "INVALIDOBJ Corrupted HLL object detected";

/// hll-sparse-max-bytes (a node tunable: no config lock per command).
fn sparse_max_bytes(ctx: &Ctx) -> u64 {
    ctx.node
        .tun
        .hll_sparse_max
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// A read lookup (lookupKeyRead: keyspace hit/miss) that gives the entry,
/// for commands that also change its encoding.
fn read_entry<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a mut Entry> {
    let now = ctx.now;
    let db = ctx.db;
    let crate::runtime::Shard { dbs, stats, .. } = &mut *ctx.shard;
    let e = dbs.get_mut(db)?.get(key, now);
    if e.is_some() {
        stats.keyspace_hits += 1;
    } else {
        stats.keyspace_misses += 1;
    }
    e
}

/// The HLL string of an entry: WRONGTYPE for other types, Redis's "not a
/// valid HyperLogLog" for strings that are not one.
fn hll_of(e: &mut Entry) -> Result<(&mut CBytes, Encoding), Reply> {
    let Value::Str(s) = &mut e.val else {
        return Err(Reply::err(errors::WRONGTYPE));
    };
    let enc = hll::check(s).ok_or_else(|| Reply::err(NOT_HLL))?;
    Ok((s, enc))
}

/// PFADD key [element ...]
fn pfadd(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let elems: Vec<Bytes> = a.rest().to_vec();
    let now = ctx.now;
    let max_bytes = sparse_max_bytes(ctx);
    let mut updated: u64 = 0;
    let failed;
    match ctx.db().get(&key, now) {
        Some(e) => {
            let (_, enc) = hll_of(e)?;
            // Redis unshares the value first: raw from here on.
            e.enc = StrEnc::Raw;
            let Value::Str(s) = &mut e.val else {
                return Err(Reply::err(errors::WRONGTYPE));
            };
            if enc == Encoding::Dense && s.is_heap() {
                // Fixed size: registers change in place.
                let b = cbytes_mut(s);
                if let Some(regs) = b.get_mut(hll::HDR_SIZE..) {
                    for el in &elems {
                        if hll::dense_add(regs, el) {
                            updated += 1;
                        }
                    }
                }
                if updated > 0 {
                    hll::invalidate(b);
                }
                failed = false;
            } else {
                let mut v = s_take(e);
                let r = add_all(&mut v, &elems, max_bytes, &mut updated);
                failed = r.is_err();
                if !failed && updated > 0 {
                    hll::invalidate(&mut v);
                }
                e.val = Value::Str(CBytes::from_vec(v));
            }
        }
        None => {
            let mut v = hll::new_sparse();
            updated = 1;
            let r = add_all(&mut v, &elems, max_bytes, &mut updated);
            failed = r.is_err();
            hll::invalidate(&mut v);
            ctx.db().set_enc(
                &key,
                Value::Str(CBytes::from_vec(v)),
                Ttl::Clear,
                now,
                StrEnc::Raw,
            );
        }
    }
    if failed {
        return Err(Reply::err(INVALID_HLL));
    }
    if updated > 0 {
        ctx.changed(keyspace_events::STRING, "pfadd", &key);
        ctx.shard.dirty += updated - 1;
    }
    Ok(Reply::Int(i64::from(updated > 0)))
}

/// Takes the string bytes out of an entry known to hold a string.
fn s_take(e: &mut Entry) -> Vec<u8> {
    match std::mem::replace(&mut e.val, Value::Str(CBytes::EMPTY)) {
        Value::Str(CBytes::Heap(b)) => b.into_vec(),
        Value::Str(s) => s.to_vec(),
        other => {
            e.val = other;
            Vec::new()
        }
    }
}

fn add_all(
    v: &mut Vec<u8>,
    elems: &[Bytes],
    max_bytes: u64,
    updated: &mut u64,
) -> Result<(), hll::Corrupt> {
    for el in elems {
        if hll::add(v, el, max_bytes)? {
            *updated += 1;
        }
    }
    Ok(())
}

/// PFCOUNT key [key ...]
fn pfcount(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let keys: Vec<Bytes> = a.rest().to_vec();
    if keys.len() > 1 {
        let mut max = vec![0u8; hll::REGISTERS];
        for k in &keys {
            let Some(s) = ctx.read::<CBytes>(k)? else {
                continue;
            };
            hll::check(s).ok_or_else(|| Reply::err(NOT_HLL))?;
            hll::merge(&mut max, s).map_err(|_| Reply::err(INVALID_HLL))?;
        }
        return Ok(Reply::Int(hll::count_raw(&max) as i64));
    }
    let Some(key) = keys.first() else {
        return Err(Reply::err(errors::SYNTAX));
    };
    let Some(e) = read_entry(ctx, key) else {
        return Ok(Reply::Int(0));
    };
    hll_of(e)?;
    e.enc = StrEnc::Raw;
    let Value::Str(s) = &mut e.val else {
        return Err(Reply::err(errors::WRONGTYPE));
    };
    if let Some(c) = hll::cached(s) {
        return Ok(Reply::Int(c as i64));
    }
    let card = hll::count(s).map_err(|_| Reply::err(INVALID_HLL))?;
    hll::set_cached(cbytes_mut(s), card);
    // The value changed (its cache): WATCH and persistence see it, but no
    // keyspace event, as in Redis.
    ctx.shard.dirty += 1;
    let db = ctx.db;
    ctx.shard.touch_watched(db, key);
    Ok(Reply::Int(card as i64))
}

/// PFMERGE destkey [sourcekey ...]
fn pfmerge(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let keys: Vec<Bytes> = a.rest().to_vec();
    let Some(dest) = keys.first().cloned() else {
        return Err(Reply::err(errors::SYNTAX));
    };
    let mut max = vec![0u8; hll::REGISTERS];
    let mut use_dense = false;
    for k in &keys {
        let Some(s) = ctx.read::<CBytes>(k)? else {
            continue;
        };
        let enc = hll::check(s).ok_or_else(|| Reply::err(NOT_HLL))?;
        if enc == Encoding::Dense {
            use_dense = true;
        }
        hll::merge(&mut max, s).map_err(|_| Reply::err(INVALID_HLL))?;
    }
    let now = ctx.now;
    let max_bytes = sparse_max_bytes(ctx);
    let existing = match ctx.db().get(&dest, now) {
        Some(e) => {
            e.enc = StrEnc::Raw;
            Some(s_take(e))
        }
        None => None,
    };
    let created = existing.is_none();
    let mut v = existing.unwrap_or_else(hll::new_sparse);
    let ok = !use_dense || hll::to_dense(&mut v).is_ok();
    if ok {
        for (j, &m) in max.iter().enumerate() {
            if m == 0 {
                continue;
            }
            if v.get(4) == Some(&hll::DENSE) {
                if let Some(regs) = v.get_mut(hll::HDR_SIZE..) {
                    if m > hll::dense_get(regs, j) {
                        hll::dense_set(regs, j, m);
                    }
                }
            } else {
                let _ = hll::sparse_set(&mut v, j, m, max_bytes);
            }
        }
        hll::invalidate(&mut v);
    }
    let val = Value::Str(CBytes::from_vec(v));
    if created {
        ctx.db().set_enc(&dest, val, Ttl::Clear, now, StrEnc::Raw);
    } else if let Some(e) = ctx.db().get(&dest, now) {
        e.val = val;
    }
    if !ok {
        return Err(Reply::err(INVALID_HLL));
    }
    ctx.changed(keyspace_events::STRING, "pfadd", &dest);
    Ok(Reply::OK)
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
fn pfdebug(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let sub = a.next_bytes()?;
    let key = a.next_bytes()?;
    let now = ctx.now;
    let Some(e) = ctx.db().get(&key, now) else {
        return Err(Reply::err("ERR The specified key does not exist"));
    };
    let (_, enc) = hll_of(e)?;
    e.enc = StrEnc::Raw;
    let sparse = enc == Encoding::Sparse;
    let lower = sub.to_ascii_lowercase();
    let convert = |e: &mut Entry| -> Result<(), Reply> {
        let mut v = s_take(e);
        let r = hll::to_dense(&mut v);
        e.val = Value::Str(CBytes::from_vec(v));
        r.map(|_| ()).map_err(|_| Reply::err(INVALID_HLL))
    };
    let reply = match lower.as_slice() {
        b"getreg" => {
            if sparse {
                convert(e)?;
            }
            let Value::Str(s) = &e.val else {
                return Err(Reply::err(errors::WRONGTYPE));
            };
            let regs = hll::registers(s);
            if sparse {
                ctx.shard.dirty += 1;
            }
            Reply::Array(regs.into_iter().map(|r| Reply::Int(r as i64)).collect())
        }
        b"decode" => {
            if !sparse {
                return Err(Reply::err("ERR HLL encoding is not sparse"));
            }
            let Value::Str(s) = &e.val else {
                return Err(Reply::err(errors::WRONGTYPE));
            };
            Reply::Bulk(Bytes::from(hll::decode(s)))
        }
        b"encoding" => Reply::simple(if sparse { "sparse" } else { "dense" }),
        b"todense" => {
            if sparse {
                convert(e)?;
                ctx.shard.dirty += 1;
            }
            Reply::Int(i64::from(sparse))
        }
        _ => {
            let name = errors::c_str(&sub, usize::MAX).replace(['\r', '\n'], " ");
            return Err(Reply::err_owned(format!(
                "ERR Unknown PFDEBUG subcommand '{name}'"
            )));
        }
    };
    Ok(reply)
}

/// PFSELFTEST: checks the register packing and the estimator on this build
/// (a shorter run than Redis's ten million elements).
fn pfselftest(_ctx: &mut Ctx, _a: &mut Args) -> CmdResult {
    let mut regs = vec![0u8; hll::DENSE_SIZE - hll::HDR_SIZE];
    let mut seed: u64 = rand::random::<u64>() | 1;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut bytes = vec![0u8; hll::REGISTERS];
    for _ in 0..10 {
        for (i, b) in bytes.iter_mut().enumerate() {
            let r = (rnd() & 63) as u8;
            *b = r;
            hll::dense_set(&mut regs, i, r);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let v = hll::dense_get(&regs, i);
            if v != b {
                return Err(Reply::err_owned(format!(
                    "TESTFAILED Register {i} should be {b} but is {v}"
                )));
            }
        }
    }
    let mut dense = hll::new_sparse();
    let _ = hll::to_dense(&mut dense);
    let mut sparse = hll::new_sparse();
    let relerr = 1.04 / (hll::REGISTERS as f64).sqrt();
    let base = rnd();
    let mut checkpoint: u64 = 1;
    for j in 1..=100_000u64 {
        let ele = (j ^ base).to_le_bytes();
        let _ = hll::add(&mut dense, &ele, 3000);
        let _ = hll::add(&mut sparse, &ele, 3000);
        if j == checkpoint {
            if j < 1500 && hll::check(&sparse) != Some(Encoding::Sparse) {
                return Err(Reply::err("TESTFAILED sparse encoding not used"));
            }
            let d = hll::count(&dense).unwrap_or(0);
            if hll::count(&sparse).ok() != Some(d) {
                return Err(Reply::err("TESTFAILED dense/sparse disagree"));
            }
            let abserr = (checkpoint as i64 - d as i64).unsigned_abs();
            let maxerr = if j == 10 {
                1
            } else {
                (relerr * 6.0 * checkpoint as f64).ceil() as u64
            };
            if abserr > maxerr {
                return Err(Reply::err_owned(format!(
                    "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
                )));
            }
            checkpoint *= 10;
        }
    }
    Ok(Reply::OK)
}
