//! DUMP, RESTORE and RESTORE-ASKING: values in Redis's DUMP payload format
//! (`persistence::rdb`), so payloads move between shardis and redis-server
//! both ways.
//!
//! ```text
//! DUMP key
//! RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
//! RESTORE-ASKING key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
//! ```
//!
//! RESTORE follows Redis 7.0's restoreCommand step by step: options (IDLETIME
//! and FREQ exclude each other: the second one is a syntax error), then
//! BUSYKEY, then the TTL, then the payload's footer, then its value. A TTL
//! already in the past (relative ones too, when the clock passed them)
//! creates nothing and still answers +OK; with REPLACE the old key is
//! deleted then. IDLETIME applies under a non-LFU maxmemory-policy, FREQ
//! under an LFU one; the other is accepted and ignored (objectSetLRUOrLFU).

use super::flags::*;
use super::keyspace_events::GENERIC;
use super::{errors, Args, CmdResult, CommandSpec, Ctx, Handler::Keyed};
use crate::keyspace::{lru_clock, Ttl};
use crate::persistence::rdb::{dump_payload, restore_payload_with};
use crate::protocol::Reply;
use bytes::Bytes;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("dump", 2, READONLY, (1, 1, 1), Keyed(dump)).doc(
        "generic",
        "2.6.0",
        "Return a serialized version of the value stored at the specified key.",
    ),
    CommandSpec::new("restore", -4, WRITE | DENYOOM, (1, 1, 1), Keyed(restore)).doc(
        "generic",
        "2.6.0",
        "Create a key using the provided serialized value, previously obtained using DUMP.",
    ),
    CommandSpec::new(
        "restore-asking",
        -4,
        WRITE | DENYOOM | ASKING,
        (1, 1, 1),
        Keyed(restore),
    )
    .doc(
        "server",
        "3.0.0",
        "An internal command for migrating keys in a cluster",
    ),
];

const BUSYKEY: &str = "BUSYKEY Target key name already exists.";
const BAD_TTL: &str = "ERR Invalid TTL value, must be >= 0";
const BAD_IDLETIME: &str = "ERR Invalid IDLETIME value, must be >= 0";
const BAD_FREQ: &str = "ERR Invalid FREQ value, must be >= 0 and <= 255";
const BAD_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
const BAD_DATA: &str = "ERR Bad data format";

/// Redis's LRU_CLOCK_MAX: the LRU clock's 24 bits.
const LRU_CLOCK_MAX: i64 = 0xff_ffff;

fn dump(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    a.finish()?;
    let now = ctx.now;
    let payload = ctx.db().get(&key, now).map(|e| dump_payload(&e.val));
    ctx.hit(payload.is_some());
    Ok(payload.map_or(Reply::Nil, |p| Reply::Bulk(Bytes::from(p))))
}

/// RESTORE's options, as restoreCommand parses them.
struct Opts {
    replace: bool,
    absttl: bool,
    idle: Option<i64>,
    freq: Option<i64>,
}

fn parse_opts(a: &mut Args) -> Result<Opts, Reply> {
    let mut o = Opts {
        replace: false,
        absttl: false,
        idle: None,
        freq: None,
    };
    while a.remaining() > 0 {
        let has_arg = a.remaining() >= 2;
        let opt = a.next_keyword()?;
        match opt.as_str() {
            "REPLACE" => o.replace = true,
            "ABSTTL" => o.absttl = true,
            "IDLETIME" if has_arg && o.freq.is_none() => {
                let v = a.next_i64()?;
                if v < 0 {
                    return Err(Reply::err(BAD_IDLETIME));
                }
                o.idle = Some(v);
            }
            "FREQ" if has_arg && o.idle.is_none() => {
                let v = a.next_i64()?;
                if !(0..=255).contains(&v) {
                    return Err(Reply::err(BAD_FREQ));
                }
                o.freq = Some(v);
            }
            _ => return Err(Reply::err(errors::SYNTAX)),
        }
    }
    Ok(o)
}

fn restore(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    let ttl = a.next_bytes()?;
    let payload = a.next_bytes()?;
    let o = parse_opts(a)?;
    let now = ctx.now;
    if !o.replace && ctx.db().contains(&key, now) {
        return Err(Reply::err(BUSYKEY));
    }
    let mut ttl = super::parse_i64_arg(&ttl)?;
    if ttl < 0 {
        return Err(Reply::err(BAD_TTL));
    }
    let limits = ctx.limits();
    let val = restore_payload_with(&payload, &limits)
        .map_err(|e| Reply::err(if e.is_footer() { BAD_PAYLOAD } else { BAD_DATA }))?;
    let deleted = o.replace && ctx.db().remove(&key, now).is_some();
    if ttl != 0 && !o.absttl {
        ttl = ttl.saturating_add(now as i64);
    }
    if ttl != 0 && ttl <= now as i64 {
        // Already expired: nothing is created (the old key is gone with REPLACE).
        if deleted {
            ctx.changed(GENERIC, "del", &key);
        }
        return Ok(Reply::OK);
    }
    let t = if ttl != 0 {
        Ttl::At(ttl as u64)
    } else {
        Ttl::Clear
    };
    ctx.db().set(&key, val, t, now);
    let lfu = ctx.node.lfu_policy();
    if let Some(e) = ctx.db().get(&key, now) {
        match (lfu, o.freq, o.idle) {
            (true, Some(f), _) => e.lfu = f as u8,
            (false, _, Some(idle)) => {
                // objectSetLRUOrLFU: the access time `idle` seconds ago on
                // the wrapping 24-bit clock.
                let mut abs = i64::from(lru_clock(now)) - idle;
                if abs < 0 {
                    abs += LRU_CLOCK_MAX;
                }
                e.lru = (abs & LRU_CLOCK_MAX) as u32;
            }
            _ => {}
        }
    }
    ctx.changed(GENERIC, "restore", &key);
    Ok(Reply::OK)
}
