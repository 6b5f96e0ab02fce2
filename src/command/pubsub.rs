//! Pub/Sub: SUBSCRIBE and friends, PUBLISH, SPUBLISH, PUBSUB. Delivery
//! across cores lives in src/server/pubsub.rs.

use super::flags::*;
use super::keys::help_reply;
use super::{Args, CmdResult, CommandSpec, Handler, Resolved, TABLE};
use crate::keyspace::glob::glob_match;
use crate::protocol::Reply;
use crate::server::client::Client;
use crate::server::pubsub::{publish, Kind};
use bytes::Bytes;
use futures::future::LocalBoxFuture;
use std::collections::BTreeMap;

type Fut<'a> = LocalBoxFuture<'a, CmdResult>;

const fn p(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i16, i16, i16),
    f: super::ConnFn,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, keys, Handler::Conn(f)).doc("pubsub", since, summary)
}

const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

const PUBSUB_SUBS: &[CommandSpec] = &[
    p(
        "channels",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        channels,
        "2.8.0",
        "List active channels",
    ),
    p(
        "numsub",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        numsub,
        "2.8.0",
        "Get the count of subscribers for channels",
    ),
    p(
        "numpat",
        2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        numpat,
        "2.8.0",
        "Get the count of unique patterns pattern subscriptions",
    ),
    p(
        "shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        shardchannels,
        "7.0.0",
        "List active shard channels",
    ),
    p(
        "shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        shardnumsub,
        "7.0.0",
        "Get the count of subscribers for shard channels",
    ),
    p(
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        help,
        "6.2.0",
        "Show helpful text about the different subcommands",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    p(
        "subscribe",
        -2,
        SUB,
        (0, 0, 0),
        subscribe,
        "2.0.0",
        "Listen for messages published to the given channels",
    ),
    p(
        "unsubscribe",
        -1,
        SUB,
        (0, 0, 0),
        unsubscribe,
        "2.0.0",
        "Stop listening for messages posted to the given channels",
    ),
    p(
        "psubscribe",
        -2,
        SUB,
        (0, 0, 0),
        psubscribe,
        "2.0.0",
        "Listen for messages published to channels matching the given patterns",
    ),
    p(
        "punsubscribe",
        -1,
        SUB,
        (0, 0, 0),
        punsubscribe,
        "2.0.0",
        "Stop listening for messages posted to channels matching the given patterns",
    ),
    p(
        "ssubscribe",
        -2,
        SUB,
        (1, -1, 1),
        ssubscribe,
        "7.0.0",
        "Listen for messages published to the given shard channels",
    ),
    p(
        "sunsubscribe",
        -1,
        SUB,
        (1, -1, 1),
        sunsubscribe,
        "7.0.0",
        "Stop listening for messages posted to the given shard channels",
    ),
    p(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        (0, 0, 0),
        publish_cmd,
        "2.0.0",
        "Post a message to a channel",
    ),
    p(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        (1, 1, 1),
        spublish,
        "7.0.0",
        "Post a message to a shard channel",
    ),
    CommandSpec::new("pubsub", -2, 0, (0, 0, 0), Handler::Container)
        .doc("pubsub", "2.8.0", "A container for Pub/Sub commands")
        .subs(PUBSUB_SUBS),
];

fn rest(a: &mut Args) -> Vec<Bytes> {
    a.rest().to_vec()
}

/// Shard channels follow their slot like keys: in cluster mode they must
/// all be in one slot served here (-CROSSSLOT, -MOVED otherwise).
fn check_shard_channels(c: &Client, a: &Args) -> Result<(), Reply> {
    let Some((id, spec)) = TABLE.get(&String::from_utf8_lossy(&a.argv()[0]).to_ascii_lowercase())
    else {
        return Ok(());
    };
    c.check_route(
        &Resolved {
            id,
            spec,
            argpos: 1,
        },
        a.argv(),
    )
}

fn subscribe(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move { Ok(c.subscribe(Kind::Channel, rest(&mut a))) })
}

fn unsubscribe(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move { Ok(c.unsubscribe(Kind::Channel, rest(&mut a))) })
}

fn psubscribe(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move { Ok(c.subscribe(Kind::Pattern, rest(&mut a))) })
}

fn punsubscribe(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move { Ok(c.unsubscribe(Kind::Pattern, rest(&mut a))) })
}

fn ssubscribe(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        check_shard_channels(c, &a)?;
        Ok(c.subscribe(Kind::Shard, rest(&mut a)))
    })
}

fn sunsubscribe(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        if a.remaining() > 0 {
            check_shard_channels(c, &a)?;
        }
        Ok(c.unsubscribe(Kind::Shard, rest(&mut a)))
    })
}

fn publish_cmd(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let ch = a.next_bytes()?;
        let msg = a.next_bytes()?;
        if c.core.node.cluster_enabled() {
            // Every other node's subscribers get it over the bus; the reply
            // counts this node's, as Redis's does.
            crate::cluster::bus_io::publish(&c.core, ch.clone(), msg.clone(), false);
        }
        Ok(Reply::Int(publish(&c.core, ch, msg, false).await as i64))
    })
}

fn spublish(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        check_shard_channels(c, &a)?;
        let ch = a.next_bytes()?;
        let msg = a.next_bytes()?;
        if c.core.node.cluster_enabled() {
            // The shard's other nodes (its replicas) get it over the bus.
            crate::cluster::bus_io::publish(&c.core, ch.clone(), msg.clone(), true);
        }
        Ok(Reply::Int(publish(&c.core, ch, msg, true).await as i64))
    })
}

/// Every core's subscriber counts of kind `k`, summed by name.
async fn counts(c: &Client, k: Kind) -> BTreeMap<Bytes, usize> {
    let per_core = c
        .core
        .run_on_all(move |core| {
            let reg = core.pubsub.borrow();
            reg.names(k)
                .into_iter()
                .map(|n| {
                    let x = reg.count(k, &n);
                    (n, x)
                })
                .collect::<Vec<_>>()
        })
        .await;
    let mut m = BTreeMap::new();
    for (n, x) in per_core.into_iter().flatten() {
        *m.entry(n).or_insert(0) += x;
    }
    m
}

async fn list_names(c: &Client, mut a: Args, k: Kind) -> CmdResult {
    let pattern = if a.remaining() > 0 {
        Some(a.next_bytes()?)
    } else {
        None
    };
    a.finish()?;
    let names = counts(c, k).await;
    Ok(Reply::Array(
        names
            .into_keys()
            .filter(|n| pattern.as_ref().is_none_or(|p| glob_match(p, n, false)))
            .map(Reply::Bulk)
            .collect(),
    ))
}

async fn num_subs(c: &Client, mut a: Args, k: Kind) -> CmdResult {
    let names = rest(&mut a);
    let all = counts(c, k).await;
    // An array in RESP3 too, as Redis 7.0 replies.
    let mut out = Vec::with_capacity(names.len() * 2);
    for n in names {
        let x = all.get(&n).copied().unwrap_or(0);
        out.push(Reply::Bulk(n));
        out.push(Reply::Int(x as i64));
    }
    Ok(Reply::Array(out))
}

fn channels(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move { list_names(c, a, Kind::Channel).await })
}

fn shardchannels(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move { list_names(c, a, Kind::Shard).await })
}

fn numsub(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move { num_subs(c, a, Kind::Channel).await })
}

fn shardnumsub(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move { num_subs(c, a, Kind::Shard).await })
}

fn numpat(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { Ok(Reply::Int(counts(c, Kind::Pattern).await.len() as i64)) })
}

fn help(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(help_reply(
            "PUBSUB",
            &[
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
            ],
        ))
    })
}
