//! MEMORY: STATS, USAGE, DOCTOR, MALLOC-STATS, PURGE, HELP.
//!
//! USAGE is keyed (it runs on the core that owns the key); the others gather
//! from every core and use the node-wide figures of
//! `observability::memory::Figures` (where each figure comes from is written
//! there).

use super::flags::*;
use super::keys::help_reply;
use super::{errors, Args, CmdResult, CommandSpec, Ctx, Handler};
use crate::keyspace::{CBytes, Entry};
use crate::observability::memory::{self, Figures};
use crate::protocol::Reply;
use crate::server::client::Client;
use bytes::Bytes;
use futures::future::LocalBoxFuture;

type Fut<'a> = LocalBoxFuture<'a, CmdResult>;

const fn c(
    name: &'static str,
    arity: i32,
    flags: u32,
    f: super::ConnFn,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, (0, 0, 0), Handler::Conn(f))
        .doc("server", "4.0.0", summary)
}

const SUBS: &[CommandSpec] = &[
    c("doctor", 2, 0, doctor, "Outputs memory problems report"),
    c(
        "help",
        2,
        LOADING | STALE,
        help,
        "Show helpful text about the different subcommands",
    ),
    c(
        "malloc-stats",
        2,
        0,
        malloc_stats,
        "Show allocator internal stats",
    ),
    c("purge", 2, 0, purge, "Ask the allocator to release memory"),
    c("stats", 2, 0, stats, "Show memory usage details"),
    CommandSpec::new("usage", -3, READONLY, (2, 2, 1), Handler::Keyed(usage)).doc(
        "server",
        "4.0.0",
        "Estimate the memory usage of a key",
    ),
];

pub const COMMANDS: &[CommandSpec] =
    &[
        CommandSpec::new("memory", -2, 0, (0, 0, 0), Handler::Container)
            .doc(
                "server",
                "4.0.0",
                "A container for memory diagnostics commands",
            )
            .subs(SUBS),
    ];

/// The node's figures: every core's report, then the process-wide samples.
async fn figures(c: &Client) -> Figures {
    let per_core = c
        .core
        .run_on_all(|core| memory::CoreMemory::of_core(core))
        .await;
    let (maxmemory, policy) = match c.core.node.config.read() {
        Ok(cfg) => (
            cfg.get("maxmemory")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            cfg.get("maxmemory-policy").unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    };
    Figures::gather(&per_core, maxmemory, &policy)
}

/// MEMORY USAGE key [SAMPLES count]: the key, its table entry and the
/// value's heap bytes. The estimate walks the whole value (it is exact for
/// what it counts), so SAMPLES is checked as Redis checks it and otherwise
/// has no effect.
fn usage(ctx: &mut Ctx, a: &mut Args) -> CmdResult {
    let key = a.next_bytes()?;
    while a.remaining() > 0 {
        if a.eat("SAMPLES") && a.remaining() > 0 {
            let n = a.next_i64()?;
            if n < 0 {
                return Err(Reply::err(errors::SYNTAX));
            }
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
    }
    let now = ctx.now;
    let Some(e) = ctx.db().peek(&key, now) else {
        return Ok(Reply::Nil);
    };
    Ok(Reply::Int(entry_usage(&key, e) as i64))
}

/// Bytes one key costs: its slot in the table (hash, key, entry) plus a
/// share of the index, the key's own heap bytes and the value's.
pub fn entry_usage(key: &[u8], e: &Entry) -> usize {
    let slot =
        std::mem::size_of::<usize>() + std::mem::size_of::<CBytes>() + std::mem::size_of::<Entry>();
    // One index slot and one control byte per entry, at hashbrown's 7/8 load.
    let index = (std::mem::size_of::<usize>() + 1) * 8 / 7;
    let key_heap = if key.len() > crate::keyspace::cbytes::INLINE_CAP {
        key.len()
    } else {
        0
    };
    slot + index + key_heap + e.val.heap_size()
}

fn stats(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let f = figures(c).await;
        Ok(stats_reply(&f))
    })
}

/// MEMORY STATS' map, keys and order as Redis 7.0.
pub fn stats_reply(f: &Figures) -> Reply {
    let int = |v: u64| Reply::Int(v.min(i64::MAX as u64) as i64);
    let key = |k: &'static str| Reply::Bulk(Bytes::from_static(k.as_bytes()));
    let mut m: Vec<(Reply, Reply)> = vec![
        (key("peak.allocated"), int(f.peak)),
        (key("total.allocated"), int(f.used)),
        (key("startup.allocated"), int(f.startup)),
        (key("replication.backlog"), int(0)),
        (key("clients.slaves"), int(0)),
        (key("clients.normal"), int(f.clients_normal)),
        (key("cluster.links"), int(0)),
        (key("aof.buffer"), int(0)),
        (key("lua.caches"), int(0)),
        (key("functions.caches"), int(0)),
    ];
    for (db, o) in &f.dbs {
        m.push((
            Reply::Bulk(Bytes::from(format!("db.{db}"))),
            Reply::Map(vec![
                (key("overhead.hashtable.main"), int(o.main)),
                (key("overhead.hashtable.expires"), int(o.expires)),
                (key("overhead.hashtable.slot-to-keys"), int(o.slot_to_keys)),
            ]),
        ));
    }
    let (af, afb) = f.allocator_frag();
    let (ar, arb) = f.allocator_rss();
    let (ro, rob) = f.rss_overhead();
    let (fr, frb) = f.fragmentation();
    m.extend([
        (key("overhead.total"), int(f.overhead_total())),
        (key("keys.count"), int(f.keys())),
        (key("keys.bytes-per-key"), int(f.bytes_per_key())),
        (key("dataset.bytes"), int(f.dataset())),
        (key("dataset.percentage"), Reply::Double(f.dataset_perc())),
        (key("peak.percentage"), Reply::Double(f.peak_perc())),
        (key("allocator.allocated"), int(f.allocator_allocated())),
        (key("allocator.active"), int(f.allocator_active())),
        (key("allocator.resident"), int(f.allocator_resident())),
        (key("allocator-fragmentation.ratio"), Reply::Double(af)),
        (key("allocator-fragmentation.bytes"), Reply::Int(afb)),
        (key("allocator-rss.ratio"), Reply::Double(ar)),
        (key("allocator-rss.bytes"), Reply::Int(arb)),
        (key("rss-overhead.ratio"), Reply::Double(ro)),
        (key("rss-overhead.bytes"), Reply::Int(rob)),
        (key("fragmentation"), Reply::Double(fr)),
        (key("fragmentation.bytes"), Reply::Int(frb)),
    ]);
    Reply::Map(m)
}

fn doctor(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let f = figures(c).await;
        Ok(Reply::Verbatim("txt", Bytes::from(f.doctor())))
    })
}

fn malloc_stats(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(Reply::Verbatim(
            "txt",
            Bytes::from(memory::malloc_stats_text()),
        ))
    })
}

fn purge(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        // Each core collects its own heap (mimalloc's heaps are per thread).
        c.core.run_on_all(|_| memory::purge()).await;
        Ok(Reply::OK)
    })
}

fn help(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(help_reply(
            "MEMORY",
            &[
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
            ],
        ))
    })
}
