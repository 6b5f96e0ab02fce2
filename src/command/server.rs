//! Server commands: INFO, CONFIG, TIME, SHUTDOWN, MONITOR, LASTSAVE, DEBUG.

use super::flags::*;
use super::keys::help_reply;
use super::{errors, Args, CmdResult, CommandSpec, Handler};
use crate::cluster::slot::key_hash_slot;
use crate::keyspace::{digest, Ttl, Value};
use crate::observability::info;
use crate::protocol::{encode, Proto, Reply};
use crate::runtime::{now_ms, now_us};
use crate::server::client::Client;
use crate::server::snapshot;
use bytes::Bytes;
use futures::future::LocalBoxFuture;
use std::sync::atomic::Ordering;

type Fut<'a> = LocalBoxFuture<'a, CmdResult>;

const fn c(
    name: &'static str,
    arity: i32,
    flags: u32,
    f: super::ConnFn,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, (0, 0, 0), Handler::Conn(f)).doc("server", since, summary)
}

const CONFIG_SUBS: &[CommandSpec] = &[
    c(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        config_get,
        "2.0.0",
        "Get the values of configuration parameters",
    ),
    c(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        config_set,
        "2.0.0",
        "Set configuration parameters to the given values",
    ),
    c(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        config_resetstat,
        "2.0.0",
        "Reset the stats returned by INFO",
    ),
    c(
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        config_rewrite,
        "2.8.0",
        "Rewrite the configuration file with the in memory configuration",
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        config_help,
        "5.0.0",
        "Show helpful text about the different subcommands",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    c(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        save_cmd,
        "1.0.0",
        "Synchronously save the dataset to disk",
    ),
    c(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        bgsave,
        "1.0.0",
        "Asynchronously save the dataset to disk",
    ),
    c(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT,
        bgrewriteaof,
        "1.0.0",
        "Asynchronously rewrite the append-only file",
    ),
    c(
        "info",
        -1,
        LOADING | STALE | SENTINEL,
        info_cmd,
        "1.0.0",
        "Get information and statistics about the server",
    ),
    CommandSpec::new("config", -2, 0, (0, 0, 0), Handler::Container)
        .doc(
            "server",
            "2.0.0",
            "A container for server configuration commands",
        )
        .subs(CONFIG_SUBS),
    c(
        "time",
        1,
        LOADING | STALE | FAST,
        time,
        "2.6.0",
        "Return the current server time",
    ),
    c(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        lastsave,
        "1.0.0",
        "Get the UNIX time stamp of the last successful save to disk",
    ),
    c(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
        shutdown,
        "1.0.0",
        "Synchronously save the dataset to disk and then shut down the server",
    ),
    c(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        monitor,
        "1.0.0",
        "Listen for all requests received by the server in real time",
    ),
    c(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        debug,
        "1.0.0",
        "A container for debugging commands",
    ),
];

fn info_cmd(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move {
        let args: Vec<String> = a.argv()[1..]
            .iter()
            .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
            .collect();
        let sections = info::wanted(&args);
        let reports = info::gather(&c.core, &sections).await;
        let text = info::render(&c.core, &sections, &reports);
        Ok(Reply::Verbatim("txt", Bytes::from(text)))
    })
}

fn config_get(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let pats: Vec<Bytes> = a.rest().to_vec();
        let refs: Vec<&[u8]> = pats.iter().map(|p| p.as_ref()).collect();
        let pairs = match c.core.node.config.read() {
            Ok(cfg) => cfg.config_get(&refs),
            Err(_) => Vec::new(),
        };
        Ok(Reply::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Reply::Bulk(Bytes::from(k)), Reply::Bulk(Bytes::from(v))))
                .collect(),
        ))
    })
}

fn config_set(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let rest: Vec<Bytes> = a.rest().to_vec();
        if !rest.len().is_multiple_of(2) {
            // Redis 7.0: an odd argument count is a syntax error, not an arity one.
            return Err(Reply::err(errors::SYNTAX));
        }
        let pairs: Vec<(&[u8], &[u8])> = rest
            .chunks_exact(2)
            .map(|p| (p[0].as_ref(), p[1].as_ref()))
            .collect();
        let node = c.core.node.clone();
        let changed = {
            let mut cfg = node
                .config
                .write()
                .map_err(|_| Reply::err("ERR config unavailable"))?;
            let ctx = crate::config::SetContext {
                client_is_local: c.is_local,
                loading: node.aof.loading(),
            };
            let changed = cfg.config_set_with(&pairs, ctx).map_err(Reply::err_owned)?;
            node.tun.refresh(&cfg);
            changed
        };
        let has = |n: &str| changed.contains(&n);
        if has("appendonly") {
            let on = node.config.read().is_ok_and(|cfg| cfg.appendonly());
            if on {
                if let Err(e) = crate::server::aof::turn_on(&c.core).await {
                    tracing::warn!("Unable to turn on AOF: {}", e);
                    if let Ok(mut cfg) = node.config.write() {
                        let ctx = crate::config::SetContext {
                            client_is_local: true,
                            loading: false,
                        };
                        let _ = cfg.config_set_with(&[(b"appendonly", b"no")], ctx);
                    }
                    return Err(Reply::err(
                        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.",
                    ));
                }
            } else {
                crate::server::aof::turn_off(&c.core).await;
            }
        }
        if has("appendfsync") || has("lazyfree-lazy-expire") || has("lazyfree-lazy-server-del") {
            crate::server::aof::apply_config(&c.core).await;
        }
        Ok(Reply::OK)
    })
}

fn config_resetstat(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        c.core.run_on_all(info::reset_stats).await;
        let node = &c.core.node;
        node.total_connections.store(0, Ordering::Relaxed);
        node.rejected_connections.store(0, Ordering::Relaxed);
        Ok(Reply::OK)
    })
}

fn config_rewrite(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let node = &c.core.node;
        let Some(path) = node.config_file.clone() else {
            return Err(Reply::err(
                "ERR The server is running without a config file",
            ));
        };
        let cfg = node
            .config
            .read()
            .map_err(|_| Reply::err("ERR config unavailable"))?;
        match cfg.rewrite(&path) {
            Ok(()) => {
                tracing::info!("CONFIG REWRITE executed with success.");
                Ok(Reply::OK)
            }
            Err(e) => {
                tracing::warn!("CONFIG REWRITE failed: {}", e);
                Err(Reply::err_owned(format!("ERR Rewriting config file: {e}")))
            }
        }
    })
}

fn config_help(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(help_reply(
            "CONFIG",
            &[
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
            ],
        ))
    })
}

fn time(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let us = now_us();
        Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from((us / 1_000_000).to_string())),
            Reply::Bulk(Bytes::from((us % 1_000_000).to_string())),
        ]))
    })
}

/// BGREWRITEAOF: the rewrite runs in the background on this core (see
/// `server::aof::rewrite`).
fn bgrewriteaof(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        use crate::server::aof::{start_rewrite, Rewrite};
        Ok(Reply::Simple(
            match start_rewrite(&c.core).map_err(Reply::err)? {
                Rewrite::Started => "Background append only file rewriting started",
                Rewrite::Scheduled => "Background append only file rewriting scheduled",
            }
            .into(),
        ))
    })
}

fn lastsave(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(Reply::Int(
            c.core.node.snapshot.last_save.load(Ordering::Relaxed) as i64,
        ))
    })
}

fn shutdown(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let (mut abort, mut force) = (false, false);
        let mut save: Option<bool> = None;
        while a.remaining() > 0 {
            match a.next_keyword()?.as_str() {
                "NOSAVE" => save = Some(false),
                "SAVE" => save = Some(true),
                "NOW" => {}
                "FORCE" => force = true,
                "ABORT" => abort = true,
                _ => return Err(Reply::err(errors::SYNTAX)),
            }
        }
        if abort {
            return Err(Reply::err("ERR No shutdown in progress."));
        }
        if snapshot::prepare_shutdown(&c.core, save).await.is_err() && !force {
            tracing::warn!("Error trying to save the DB, can't exit.");
            return Err(Reply::err("ERR Errors trying to SHUTDOWN. Check logs."));
        }
        crate::observability::shutdown_now()
    })
}

/// SAVE: the snapshot of `server::snapshot`, answered once on disk.
fn save_cmd(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        // As Redis: refused while a BGSAVE runs; after an AOF rewrite's
        // snapshot (which Redis runs in a child beside it), it waits.
        if c.core.node.snapshot.rdb_in_progress() {
            return Err(Reply::err(snapshot::SAVE_IN_PROGRESS));
        }
        snapshot::save(&c.core)
            .await
            .map_err(|_| Reply::err("ERR"))?;
        Ok(Reply::OK)
    })
}

/// BGSAVE [SCHEDULE]: the same snapshot in the background.
fn bgsave(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let mut schedule = false;
        if a.remaining() > 0 {
            if a.next_keyword()? == "SCHEDULE" {
                schedule = true;
            } else {
                return Err(Reply::err(errors::SYNTAX));
            }
        }
        // As Redis: an RDB save running refuses even SCHEDULE; an AOF
        // rewrite's snapshot running schedules one when asked.
        let node = &c.core.node;
        let s = &node.snapshot;
        if schedule && s.in_progress() && !s.rdb_in_progress() {
            s.scheduled.store(true, Ordering::SeqCst);
            return Ok(Reply::Simple("Background saving scheduled".into()));
        }
        snapshot::start_bgsave(&c.core).await.map_err(Reply::err)?;
        Ok(Reply::Simple("Background saving started".into()))
    })
}

fn monitor(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        if let Ok(mut m) = c.core.node.monitors.lock() {
            m.push(tx);
            c.core.node.monitor_count.store(m.len(), Ordering::Relaxed);
        }
        c.info.monitor.set(true);
        c.monitor_rx = Some(rx);
        Ok(Reply::OK)
    })
}

fn debug_allowed(c: &Client) -> bool {
    let mode = c
        .core
        .node
        .config
        .read()
        .ok()
        .and_then(|cfg| cfg.get("enable-debug-command"))
        .unwrap_or_default();
    match mode.as_str() {
        "yes" => true,
        "local" => c.is_local,
        _ => false,
    }
}

/// DEBUG PROTOCOL: one reply of each RESP type, exactly as Redis's debug.c.
fn debug_protocol(c: &Client, name: &str) -> CmdResult {
    let b = |s: &str| Reply::Bulk(Bytes::from(s.to_string()));
    Ok(match name {
        "string" => b("Hello World"),
        "integer" => Reply::Int(12345),
        // Redis replies 3.141 here, not pi.
        #[allow(clippy::approx_constant)]
        "double" => Reply::Double(3.141),
        "bignum" => Reply::BigNumber("1234567999999999999999999999999999999".into()),
        "null" => Reply::Nil,
        "array" => Reply::Array((0..3).map(Reply::Int).collect()),
        "set" => Reply::Set((0..3).map(Reply::Int).collect()),
        "map" => Reply::Map((0..3).map(|j| (Reply::Int(j), Reply::Bool(j == 1))).collect()),
        "attrib" => {
            let mut out = Vec::new();
            if c.proto == Proto::Resp3 {
                out.extend_from_slice(b"|1\r\n");
                encode(&b("key-popularity"), c.proto, &mut out);
                encode(&Reply::Array(vec![b("key:123"), Reply::Int(90)]), c.proto, &mut out);
            }
            encode(&b("Some real reply following the attribute"), c.proto, &mut out);
            Reply::Raw(Bytes::from(out))
        }
        "push" => {
            if c.proto != Proto::Resp3 {
                return Err(Reply::err("ERR RESP2 is not supported by this command"));
            }
            let mut out = Vec::new();
            encode(&Reply::Push(vec![b("server-cpu-usage"), Reply::Int(42)]), c.proto, &mut out);
            encode(&b("Some real reply following the push reply"), c.proto, &mut out);
            Reply::Raw(Bytes::from(out))
        }
        "true" => Reply::Bool(true),
        "false" => Reply::Bool(false),
        "verbatim" => Reply::Verbatim("txt", Bytes::from_static(b"This is a verbatim\nstring")),
        _ => return Err(Reply::err("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")),
    })
}

fn debug(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        if !debug_allowed(c) {
            return Err(Reply::err(errors::DEBUG_DISABLED));
        }
        let sub = a.next_keyword()?;
        let argc = a.argv().len();
        let unknown = || {
            Reply::err_owned(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                String::from_utf8_lossy(&a.argv()[1])
            ))
        };
        match (sub.as_str(), argc) {
            ("HELP", 2) => Ok(help_reply(
                "DEBUG",
                &[
                    "DIGEST",
                    "    Output a hex signature representing the current DB content.",
                    "DIGEST-VALUE <key> [<key> ...]",
                    "    Output a hex signature of the values of all the specified keys.",
                    "OBJECT <key>",
                    "    Show low level info about `key` and associated value.",
                    "POPULATE <count> [<prefix>] [<size>]",
                    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
                    "    it is used instead of the 'key' prefix. These are not propagated to",
                    "    replicas. Cluster slots are not respected so keys not belonging to the",
                    "    current node can be created in cluster mode.",
                    "PROTOCOL <type>",
                    "    Reply with a test value of the specified type. <type> can be: string,",
                    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
                    "    true, false.",
                    "SET-ACTIVE-EXPIRE <0|1>",
                    "    Setting it to 0 disables expiring keys in background when they are not",
                    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                    "    default.",
                    "SLEEP <seconds>",
                    "    Stop the server for <seconds>. Decimals allowed.",
                ],
            )),
            ("SLEEP", 3) => {
                let secs = a.next_f64()?;
                if secs > 0.0 {
                    // Like Redis, this stops the core it runs on.
                    std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
                }
                Ok(Reply::OK)
            }
            ("SET-ACTIVE-EXPIRE", 3) => {
                let v = a.next_i64()?;
                c.core.node.active_expire.store(v != 0, Ordering::Relaxed);
                Ok(Reply::OK)
            }
            ("PROTOCOL", 3) => {
                let name = String::from_utf8_lossy(&a.next_bytes()?).to_ascii_lowercase();
                debug_protocol(c, &name)
            }
            ("OBJECT", 3) => {
                let key = a.next_bytes()?;
                let db = c.db;
                let owner = c.core.with_topology(|t| t.core_of(key_hash_slot(&key)));
                let line = c
                    .core
                    .run_on(owner, move |core| {
                        let mut shard = core.shard.borrow_mut();
                        let now = now_ms();
                        let d = &mut shard.dbs[db];
                        let e = d.peek(&key, now)?;
                        // serializedlength: the string's length + 1 as in
                        // Redis for strings; for aggregates an estimate
                        // until RDB serialisation exists.
                        let (ptr, len) = match &e.val {
                            Value::Str(s) => (s.as_bytes().as_ptr(), s.len() + 1),
                            v => (v as *const Value as *const u8, v.heap_size()),
                        };
                        let clock = crate::keyspace::lru_clock(now);
                        Some(format!(
                            "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                            ptr,
                            e.encoding(),
                            len,
                            e.lru,
                            clock.saturating_sub(e.lru)
                        ))
                    })
                    .await
                    .flatten();
                match line {
                    Some(l) => Ok(Reply::Simple(l.into())),
                    None => Err(Reply::err(errors::NO_SUCH_KEY)),
                }
            }
            ("POPULATE", 3..=5) => {
                let count = a.next_i64()?;
                if count < 0 {
                    return Err(Reply::err("ERR positive count needed"));
                }
                let prefix = if a.remaining() > 0 { a.next_bytes()? } else { Bytes::from_static(b"key") };
                let size = if a.remaining() > 0 {
                    let s = a.next_i64()?;
                    if s < 0 {
                        return Err(Reply::err("ERR positive size needed"));
                    }
                    Some(s as usize)
                } else {
                    None
                };
                let db = c.db;
                c.core
                    .run_on_all(move |core| populate(core, db, count as u64, &prefix, size))
                    .await;
                Ok(Reply::OK)
            }
            ("DIGEST", 2) => {
                let per_core = c
                    .core
                    .run_on_all(|core| {
                        let shard = core.shard.borrow();
                        shard.dbs.iter().map(digest::db_digest).collect::<Vec<_>>()
                    })
                    .await;
                Ok(Reply::Simple(digest::hex(&digest::combine(&per_core)).into()))
            }
            ("DIGEST-VALUE", n) if n >= 2 => {
                let keys: Vec<Bytes> = a.rest().to_vec();
                let db = c.db;
                let mut out = Vec::new();
                for key in keys {
                    let owner = c.core.with_topology(|t| t.core_of(key_hash_slot(&key)));
                    let d = c
                        .core
                        .run_on(owner, move |core| {
                            let shard = core.shard.borrow();
                            let d = &shard.dbs[db];
                            d.entry_raw(&key)
                                .map(|e| digest::value_digest(e, d.expire_of(&key).is_some()))
                                .unwrap_or_default()
                        })
                        .await
                        .unwrap_or_default();
                    out.push(Reply::Simple(digest::hex(&d).into()));
                }
                Ok(Reply::Array(out))
            }
            _ => Err(unknown()),
        }
    })
}

/// DEBUG POPULATE on one core: the keys of `0..count` this core holds.
fn populate(
    core: &std::rc::Rc<crate::runtime::Core>,
    db: usize,
    count: u64,
    prefix: &[u8],
    size: Option<usize>,
) {
    let now = now_ms();
    let topo = core.topology();
    let mut shard = core.shard.borrow_mut();
    let d = &mut shard.dbs[db];
    let mut key = Vec::with_capacity(prefix.len() + 21);
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        if topo.core_of(key_hash_slot(&key)) != core.id || d.contains(&key, now) {
            continue;
        }
        let mut val = format!("value:{j}").into_bytes();
        if let Some(size) = size {
            val.resize(size, 0);
        }
        d.set(&key, Value::str(&val), Ttl::Clear, now);
    }
}
