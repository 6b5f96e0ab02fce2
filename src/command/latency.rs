//! LATENCY and SLOWLOG: node-wide views of what every core measured (see
//! observability::latency and observability::slowlog). Each gathers every
//! core's figures with `run_on_all` and merges them on the connection's core.

use super::flags::*;
use super::keys::help_reply;
use super::{Args, CmdResult, CommandSpec, Handler, TABLE};
use crate::observability::latency::{self, Hist};
use crate::observability::slowlog;
use crate::protocol::Reply;
use crate::runtime::now_ms;
use crate::server::client::Client;
use bytes::Bytes;
use futures::future::LocalBoxFuture;
use std::collections::BTreeMap;
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

const ADMIN_RO: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const LATENCY_SUBS: &[CommandSpec] = &[
    c(
        "doctor",
        2,
        ADMIN_RO,
        latency_doctor,
        "2.8.13",
        "Return a human readable latency analysis report.",
    ),
    c(
        "graph",
        3,
        ADMIN_RO,
        latency_graph,
        "2.8.13",
        "Return a latency graph for the event.",
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        latency_help,
        "2.8.13",
        "Show helpful text about the different subcommands.",
    ),
    c(
        "histogram",
        -2,
        ADMIN_RO,
        latency_histogram,
        "7.0.0",
        "Return the cumulative distribution of latencies of a subset of commands or all.",
    ),
    c(
        "history",
        3,
        ADMIN_RO,
        latency_history,
        "2.8.13",
        "Return timestamp-latency samples for the event.",
    ),
    c(
        "latest",
        2,
        ADMIN_RO,
        latency_latest,
        "2.8.13",
        "Return the latest latency samples for all events.",
    ),
    c(
        "reset",
        -2,
        ADMIN_RO,
        latency_reset,
        "2.8.13",
        "Reset latency data for one or more events.",
    ),
];

const SLOWLOG_SUBS: &[CommandSpec] = &[
    c(
        "get",
        -2,
        ADMIN | LOADING | STALE,
        slowlog_get,
        "2.2.12",
        "Get the slow log's entries",
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        slowlog_help,
        "6.2.0",
        "Show helpful text about the different subcommands",
    ),
    c(
        "len",
        2,
        ADMIN | LOADING | STALE,
        slowlog_len,
        "2.2.12",
        "Get the slow log's length",
    ),
    c(
        "reset",
        2,
        ADMIN | LOADING | STALE,
        slowlog_reset,
        "2.2.12",
        "Clear all entries from the slow log",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("latency", -2, 0, (0, 0, 0), Handler::Container)
        .doc(
            "server",
            "2.8.13",
            "A container for latency diagnostics commands",
        )
        .subs(LATENCY_SUBS),
    CommandSpec::new("slowlog", -2, 0, (0, 0, 0), Handler::Container)
        .doc("server", "2.2.12", "A container for slow log commands")
        .subs(SLOWLOG_SUBS),
];

/// Redis's addReplySubcommandSyntaxError.
fn subcommand_syntax_error(a: &Args) -> Reply {
    let argv = a.argv();
    let name = argv
        .first()
        .map(|b| String::from_utf8_lossy(b).to_ascii_uppercase());
    let sub = argv.get(1).map(|b| super::errors::c_str(b, 128));
    Reply::err_owned(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        sub.unwrap_or_default(),
        name.unwrap_or_default()
    ))
}

// ------------------------------------------------------------------ LATENCY

fn latency_help(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(help_reply(
            "LATENCY",
            &[
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "GRAPH <event>",
                "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
            ],
        ))
    })
}

/// LATENCY HISTOGRAM [command ...]: per command (subcommands by their full
/// name, `config|set`), calls and the cumulative distribution. Unknown
/// names are skipped; a container name stands for its subcommands.
fn latency_histogram(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move {
        let merged: BTreeMap<usize, Hist> = latency::gather(&c.core).await;
        let entry = |id: usize, h: &Hist| {
            (
                Reply::bulk(TABLE.fullname(id).to_string()),
                latency::cdf_reply(h),
            )
        };
        let mut out = Vec::new();
        let names = a.argv().get(2..).unwrap_or(&[]);
        if names.is_empty() {
            for (&id, h) in &merged {
                out.push(entry(id, h));
            }
        } else {
            for name in names {
                let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
                let Some((id, spec)) = TABLE.get(&lower) else {
                    continue;
                };
                if let Some(h) = merged.get(&id) {
                    out.push(entry(id, h));
                }
                for sub in spec.subcommands {
                    let full = format!("{}|{}", spec.name, sub.name);
                    if let Some((sid, _)) = TABLE.get(&full) {
                        if let Some(h) = merged.get(&sid) {
                            out.push(entry(sid, h));
                        }
                    }
                }
            }
        }
        Ok(Reply::Map(out))
    })
}

fn now_secs() -> i64 {
    (now_ms() / 1000) as i64
}

fn event_name(a: &Args) -> String {
    a.argv()
        .get(2)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

fn latency_latest(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let events = latency::gather_events(&c.core).await;
        Ok(Reply::Array(
            events
                .into_iter()
                .map(|(name, s)| {
                    let (t, l) = s.latest();
                    Reply::Array(vec![
                        Reply::bulk(name),
                        Reply::Int(t as i64),
                        Reply::Int(l as i64),
                        Reply::Int(s.max as i64),
                    ])
                })
                .collect(),
        ))
    })
}

fn latency_history(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move {
        let name = event_name(&a);
        let events = latency::gather_events(&c.core).await;
        let samples = events.get(&name).map(|s| s.in_order()).unwrap_or_default();
        Ok(Reply::Array(
            samples
                .into_iter()
                .map(|(t, l)| Reply::Array(vec![Reply::Int(t as i64), Reply::Int(l as i64)]))
                .collect(),
        ))
    })
}

fn latency_graph(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move {
        let name = event_name(&a);
        let events = latency::gather_events(&c.core).await;
        let Some(s) = events.get(&name) else {
            return Err(Reply::err_owned(format!(
                "ERR No samples available for event '{name}'"
            )));
        };
        let text = latency::graph(&name, s, now_secs());
        Ok(Reply::Verbatim("txt", Bytes::from(text)))
    })
}

fn latency_doctor(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let events = latency::gather_events(&c.core).await;
        let t = &c.core.node.tun;
        let slow_ns = t.slowlog_ns.load(Ordering::Relaxed);
        let input = latency::DoctorInput {
            monitor_threshold_ms: t.latency_monitor_ns.load(Ordering::Relaxed) / 1_000_000,
            slowlog_log_slower_than: if slow_ns < 0 { -1 } else { slow_ns / 1000 },
            now: now_secs(),
            anon_huge_pages: latency::anon_huge_pages(),
        };
        let text = latency::doctor(&events, &input);
        Ok(Reply::Verbatim("txt", Bytes::from(text)))
    })
}

/// LATENCY RESET [event ...]: the number of event series deleted.
fn latency_reset(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move {
        let names: Vec<Bytes> = a.argv().get(2..).unwrap_or(&[]).to_vec();
        let deleted = c
            .core
            .run_on_all(move |core| {
                let mut shard = core.shard.borrow_mut();
                let m = &mut shard.latency_events;
                if names.is_empty() {
                    m.reset(None)
                } else {
                    names.iter().flat_map(|n| m.reset(Some(n))).collect()
                }
            })
            .await;
        // An event counts once however many cores had it; a name given
        // twice is reset (and counted) once, as Redis finds it gone the
        // second time.
        let mut all: Vec<String> = deleted.into_iter().flatten().collect();
        all.sort();
        all.dedup();
        Ok(Reply::Int(all.len() as i64))
    })
}

// ------------------------------------------------------------------ SLOWLOG

fn slowlog_help(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(help_reply(
            "SLOWLOG",
            &[
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
            ],
        ))
    })
}

fn max_len(c: &Client) -> usize {
    c.core.node.tun.slowlog_max_len.load(Ordering::Relaxed)
}

/// Every core's entries, merged: the node's newest `slowlog-max-len`.
async fn merged_entries(c: &Client) -> Vec<slowlog::Entry> {
    let per_core = c
        .core
        .run_on_all(|core| {
            let shard = core.shard.borrow();
            shard.slowlog.entries.iter().cloned().collect::<Vec<_>>()
        })
        .await;
    slowlog::merge(per_core, max_len(c))
}

fn slowlog_get(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move {
        if a.argv().len() > 3 {
            return Err(subcommand_syntax_error(&a));
        }
        let mut count: usize = 10;
        if a.argv().len() == 3 {
            const MSG: &str = "ERR count should be greater than or equal to -1";
            let n = crate::keyspace::value::parse_i64(a.argv()[2].as_ref())
                .ok_or_else(|| Reply::err(MSG))?;
            if n < -1 {
                return Err(Reply::err(MSG));
            }
            count = if n == -1 {
                usize::MAX
            } else {
                usize::try_from(n).unwrap_or(usize::MAX)
            };
        }
        let entries = merged_entries(c).await;
        Ok(Reply::Array(
            entries
                .into_iter()
                .take(count)
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Int(e.id as i64),
                        Reply::Int(e.time),
                        Reply::Int(e.duration_us as i64),
                        Reply::Array(e.argv.into_iter().map(Reply::Bulk).collect()),
                        Reply::bulk(e.peer),
                        Reply::bulk(e.name),
                    ])
                })
                .collect(),
        ))
    })
}

fn slowlog_len(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let lens = c
            .core
            .run_on_all(|core| core.shard.borrow().slowlog.entries.len())
            .await;
        let total: usize = lens.into_iter().sum();
        Ok(Reply::Int(total.min(max_len(c)) as i64))
    })
}

fn slowlog_reset(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        c.core
            .run_on_all(|core| core.shard.borrow_mut().slowlog.reset())
            .await;
        Ok(Reply::OK)
    })
}
