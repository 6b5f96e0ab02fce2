//! CLUSTER subcommands, READONLY and READWRITE. The node's cluster state lives
//! in `Node::cluster`; changes of slot ownership are applied to every core by
//! `server::services::apply_cluster_change`.

use super::flags::*;
use super::keys::help_reply;
use super::{errors, Args, CmdResult, CommandSpec, Handler};
use crate::cluster::slot::{key_hash_slot, SLOTS};
use crate::cluster::{ClusterError, ClusterState, ResetMode};
use crate::protocol::Reply;
use crate::runtime::now_ms;
use crate::server::client::Client;
use crate::server::services::apply_cluster_change;
use bytes::Bytes;
use futures::future::LocalBoxFuture;

type Fut<'a> = LocalBoxFuture<'a, CmdResult>;

const fn c(
    name: &'static str,
    arity: i32,
    flags: u32,
    f: super::ConnFn,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, (0, 0, 0), Handler::Conn(f)).doc("cluster", since, summary)
}

const CLUSTER_SUBS: &[CommandSpec] = &[
    c(
        "meet",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        meet,
        "3.0.0",
        "Force a node cluster to handshake with another node",
    ),
    c(
        "forget",
        3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        forget,
        "3.0.0",
        "Remove a node from the nodes table",
    ),
    c(
        "setslot",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        setslot,
        "3.0.0",
        "Bind a hash slot to a specific node",
    ),
    c(
        "count-failure-reports",
        3,
        ADMIN | STALE,
        count_failure_reports,
        "3.0.0",
        "Return the number of failure reports active for a given node",
    ),
    c(
        "links",
        2,
        STALE,
        links,
        "7.0.0",
        "Returns a list of all TCP links to and from peer nodes in cluster",
    ),
    c(
        "replicate",
        3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        replicate,
        "3.0.0",
        "Reconfigure a node as a replica of the specified master node",
    ),
    c("myid", 2, 0, myid, "3.0.0", "Return the node id"),
    c(
        "info",
        2,
        0,
        info,
        "3.0.0",
        "Provides info about Redis Cluster node state",
    ),
    c(
        "nodes",
        2,
        0,
        nodes,
        "3.0.0",
        "Get Cluster config for the node",
    ),
    c(
        "slots",
        2,
        LOADING | STALE,
        slots,
        "3.0.0",
        "Get array of Cluster slot to node mappings",
    ),
    c(
        "shards",
        2,
        LOADING | STALE,
        shards,
        "7.0.0",
        "Get array of cluster slots to node mappings",
    ),
    c(
        "addslots",
        -3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        addslots,
        "3.0.0",
        "Assign new hash slots to receiving node",
    ),
    c(
        "addslotsrange",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        addslotsrange,
        "7.0.0",
        "Assign new hash slots to receiving node",
    ),
    c(
        "delslots",
        -3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        delslots,
        "3.0.0",
        "Set hash slots as unbound in receiving node",
    ),
    c(
        "delslotsrange",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        delslotsrange,
        "7.0.0",
        "Set hash slots as unbound in receiving node",
    ),
    c(
        "flushslots",
        2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        flushslots,
        "3.0.0",
        "Delete a node's own slots information",
    ),
    c(
        "keyslot",
        3,
        STALE,
        keyslot,
        "3.0.0",
        "Returns the hash slot of the specified key",
    ),
    c(
        "countkeysinslot",
        3,
        STALE,
        countkeysinslot,
        "3.0.0",
        "Return the number of local keys in the specified hash slot",
    ),
    c(
        "getkeysinslot",
        4,
        STALE,
        getkeysinslot,
        "3.0.0",
        "Return local key names in the specified hash slot",
    ),
    c(
        "reset",
        -2,
        ADMIN | STALE | NOSCRIPT,
        reset,
        "3.0.0",
        "Reset a Redis Cluster node",
    ),
    c(
        "bumpepoch",
        2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        bumpepoch,
        "3.0.0",
        "Advance the cluster config epoch",
    ),
    c(
        "set-config-epoch",
        3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        set_config_epoch,
        "3.0.0",
        "Set the configuration epoch in a new node",
    ),
    c(
        "saveconfig",
        2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        saveconfig,
        "3.0.0",
        "Forces the node to save cluster state on disk",
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        help,
        "5.0.0",
        "Show helpful text about the different subcommands",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("cluster", -2, 0, (0, 0, 0), Handler::Container)
        .doc("cluster", "3.0.0", "A container for cluster commands")
        .subs(CLUSTER_SUBS),
    CommandSpec::new(
        "readonly",
        1,
        FAST | LOADING | STALE,
        (0, 0, 0),
        Handler::Conn(readonly),
    )
    .doc(
        "cluster",
        "3.0.0",
        "Enables read queries for a connection to a cluster replica node",
    ),
    CommandSpec::new("asking", 1, FAST, (0, 0, 0), Handler::Conn(asking)).doc(
        "cluster",
        "3.0.0",
        "Sent by cluster clients after an -ASK redirect",
    ),
    CommandSpec::new(
        "readwrite",
        1,
        FAST | LOADING | STALE,
        (0, 0, 0),
        Handler::Conn(readwrite),
    )
    .doc(
        "cluster",
        "3.0.0",
        "Disables read queries for a connection to a cluster replica node",
    ),
];

/// Runs `f` on the node's cluster state; the error when cluster mode is off.
fn with_state<T>(c: &Client, f: impl FnOnce(&mut ClusterState) -> T) -> Result<T, Reply> {
    let mut guard = c
        .core
        .node
        .cluster
        .lock()
        .map_err(|_| Reply::err("ERR cluster state unavailable"))?;
    match guard.as_mut() {
        Some(s) => Ok(f(s)),
        None => Err(Reply::err(errors::CLUSTER_DISABLED)),
    }
}

fn rest(a: &mut Args) -> Vec<Bytes> {
    a.rest().to_vec()
}

fn myid(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { with_state(c, |s| s.myid_reply()) })
}

fn info(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        with_state(c, |_| ())?;
        // cluster_state as the cores enforce it: the live state may already
        // have turned (core 0's cron) while the new topology is still being
        // installed, and a client that polls for "ok" must not then get
        // -CLUSTERDOWN. Bring the cores up to date first, read this core's
        // snapshot, and wait until every core has it too.
        apply_cluster_change(&c.core).await;
        let enforced_ok = c.core.with_topology(|t| t.cluster_ok);
        let text = with_state(c, |s| s.info_text())?;
        let _ = c.core.run_on_all(|_| ()).await;
        let text = match text.split_once("\r\n") {
            Some((first, rest)) if first.starts_with("cluster_state:") => {
                let state = if enforced_ok { "ok" } else { "fail" };
                format!("cluster_state:{state}\r\n{rest}")
            }
            _ => text,
        };
        Ok(Reply::Verbatim("txt", Bytes::from(text)))
    })
}

fn nodes(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { with_state(c, |s| s.nodes_reply()) })
}

fn slots(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { with_state(c, |s| s.slots_reply(0)) })
}

fn shards(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { with_state(c, |s| s.shards_reply(0)) })
}

/// Applies a state-changing subcommand, then brings every core up to date
/// and hands what it queued for the bus (PONGs, closed links) to core 0.
async fn change(
    c: &mut Client,
    f: impl FnOnce(&mut ClusterState) -> Result<(), ClusterError>,
) -> CmdResult {
    with_state(c, f)?.map_err(Reply::from)?;
    crate::cluster::bus_io::flush_commands(&c.core);
    apply_cluster_change(&c.core).await;
    Ok(Reply::OK)
}

fn meet(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let typed = a.argv()[1].clone();
        let args = rest(&mut a);
        change(c, |s| s.meet_command(&typed, &args, now_ms())).await
    })
}

fn forget(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let id = a.next_bytes()?;
        change(c, |s| s.forget(&id, now_ms())).await
    })
}

fn setslot(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        with_state(c, |_| ())?;
        let args = rest(&mut a);
        // SETSLOT NODE needs the keys this node holds in the slot.
        let keys = match args
            .first()
            .and_then(|s| crate::cluster::slot::parse_slot(s))
        {
            Some(slot) => keys_in_slot(c, slot).await,
            None => 0,
        };
        change(c, |s| s.setslot(&args, keys as u64)).await
    })
}

fn count_failure_reports(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let id = a.next_bytes()?;
        with_state(c, |s| s.count_failure_reports(&id, now_ms()))?.map_err(Reply::from)
    })
}

fn links(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { with_state(c, |s| s.links_reply()) })
}

fn replicate(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let id = a.next_bytes()?;
        with_state(c, |_| ())?;
        let has_keys = db0_keys(c).await != 0;
        change(c, |s| s.replicate_command(&id, has_keys)).await
    })
}

/// Keys this node holds in `slot` (db 0), from the core holding it.
async fn keys_in_slot(c: &Client, slot: u16) -> usize {
    let owner = c.core.with_topology(|t| t.core_of(slot));
    c.core
        .run_on(owner, move |core| {
            core.shard.borrow().dbs[0].count_in_slot(slot as usize)
        })
        .await
        .unwrap_or(0)
}

fn addslots(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let args = rest(&mut a);
        change(c, |s| s.add_slots(&args)).await
    })
}

fn addslotsrange(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let args = rest(&mut a);
        change(c, |s| s.add_slots_range(&args)).await
    })
}

fn delslots(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let args = rest(&mut a);
        change(c, |s| s.del_slots(&args)).await
    })
}

fn delslotsrange(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let args = rest(&mut a);
        change(c, |s| s.del_slots_range(&args)).await
    })
}

/// Keys in db 0 on every core.
async fn db0_keys(c: &Client) -> usize {
    c.core
        .run_on_all(|core| core.shard.borrow().dbs[0].len())
        .await
        .into_iter()
        .sum()
}

fn flushslots(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        with_state(c, |_| ())?;
        if db0_keys(c).await != 0 {
            return Err(Reply::err(
                "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.",
            ));
        }
        change(c, |s| {
            s.flush_slots();
            Ok(())
        })
        .await
    })
}

fn keyslot(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        with_state(c, |_| ())?;
        let key = a.next_bytes()?;
        Ok(Reply::Int(key_hash_slot(&key) as i64))
    })
}

use super::parse_i64_arg as int_arg;

/// `n` as a slot number, or the error `err` when it is outside 0..16383.
fn slot_in_range(n: i64, err: &'static str) -> Result<u16, Reply> {
    u16::try_from(n)
        .ok()
        .filter(|&s| usize::from(s) < SLOTS)
        .ok_or_else(|| Reply::err(err))
}

fn countkeysinslot(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        with_state(c, |_| ())?;
        let slot = slot_in_range(int_arg(&a.next_bytes()?)?, "ERR Invalid slot")?;
        Ok(Reply::Int(keys_in_slot(c, slot).await as i64))
    })
}

fn getkeysinslot(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        with_state(c, |_| ())?;
        // Redis parses both integers before checking either's range.
        let slot = int_arg(&a.next_bytes()?)?;
        let count = int_arg(&a.next_bytes()?)?;
        const BAD: &str = "ERR Invalid slot or number of keys";
        let slot = slot_in_range(slot, BAD)?;
        let count = usize::try_from(count).map_err(|_| Reply::err(BAD))?;
        let owner = c.core.with_topology(|t| t.core_of(slot));
        let keys = c
            .core
            .run_on(owner, move |core| {
                core.shard.borrow().dbs[0]
                    .keys_in_slot(slot as usize, count)
                    .into_iter()
                    .map(|k| Bytes::copy_from_slice(&k))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
        Ok(Reply::Array(keys.into_iter().map(Reply::Bulk).collect()))
    })
}

fn reset(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        with_state(c, |_| ())?;
        let typed = a.argv()[1].clone();
        let args = rest(&mut a);
        let mode = ClusterState::parse_reset(&typed, &args).map_err(Reply::from)?;
        let is_master = with_state(c, |s| s.myself().is_master())?;
        if is_master && db0_keys(c).await != 0 {
            return Err(Reply::err(
                "ERR CLUSTER RESET can't be called with master nodes containing keys",
            ));
        }
        with_state(c, |s| {
            s.reset(mode);
            if mode == ResetMode::Hard {
                tracing::info!("Node hard reset, now I'm {}", s.my_id().as_str());
            }
        })?;
        crate::cluster::bus_io::flush_commands(&c.core);
        apply_cluster_change(&c.core).await;
        Ok(Reply::OK)
    })
}

fn bumpepoch(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let r = with_state(c, |s| s.bump_epoch())?;
        apply_cluster_change(&c.core).await;
        Ok(r)
    })
}

fn set_config_epoch(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let args = rest(&mut a);
        change(c, |s| s.set_config_epoch(&args)).await
    })
}

fn saveconfig(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let text = with_state(c, |s| s.nodes_conf_text())?;
        let path = crate::server::services::nodes_conf_path(&c.core.node);
        crate::cluster::save_atomic(&path, &text).map_err(|e| {
            Reply::err_owned(format!("ERR error saving the cluster node config: {e}"))
        })?;
        Ok(Reply::OK)
    })
}

fn help(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(help_reply(
            "CLUSTER",
            &[
                "ADDSLOTS <slot> [<slot> ...]",
                "    Assign slots to current node.",
                "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
                "    Assign slots which are between <start-slot> and <end-slot> to current node.",
                "BUMPEPOCH",
                "    Advance the cluster config epoch.",
                "COUNT-FAILURE-REPORTS <node-id>",
                "    Return number of failure reports for <node-id>.",
                "COUNTKEYSINSLOT <slot>",
                "    Return the number of keys in <slot>.",
                "DELSLOTS <slot> [<slot> ...]",
                "    Delete slots information from current node.",
                "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
                "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
                "FAILOVER [FORCE|TAKEOVER]",
                "    Promote current replica node to being a master.",
                "FORGET <node-id>",
                "    Remove a node from the cluster.",
                "GETKEYSINSLOT <slot> <count>",
                "    Return key names stored by current node in a slot.",
                "FLUSHSLOTS",
                "    Delete current node own slots information.",
                "INFO",
                "    Return information about the cluster.",
                "KEYSLOT <key>",
                "    Return the hash slot for <key>.",
                "MEET <ip> <port> [<bus-port>]",
                "    Connect nodes into a working cluster.",
                "MYID",
                "    Return the node id.",
                "NODES",
                "    Return cluster configuration seen by node. Output format:",
                "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
                "REPLICATE <node-id>",
                "    Configure current node as replica to <node-id>.",
                "RESET [HARD|SOFT]",
                "    Reset current node (default: soft).",
                "SET-CONFIG-EPOCH <epoch>",
                "    Set config epoch of current node.",
                "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
                "    Set slot state.",
                "REPLICAS <node-id>",
                "    Return <node-id> replicas.",
                "SAVECONFIG",
                "    Force saving cluster configuration on disk.",
                "SLOTS",
                "    Return information about slots range mappings. Each range is made of:",
                "    start, end, master and replicas IP addresses, ports and ids",
                "SHARDS",
                "    Return information about slot range mappings and the nodes associated with them.",
                "LINKS",
                "    Return information about all network links between this node and its peers.",
                "    Output format is an array where each array element is a map containing attributes of a link",
            ],
        ))
    })
}

fn readonly(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        if !c.core.node.cluster_enabled() {
            return Err(Reply::err(errors::CLUSTER_DISABLED));
        }
        c.info.readonly.set(true);
        Ok(Reply::OK)
    })
}

fn asking(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        if !c.core.node.cluster_enabled() {
            return Err(Reply::err(errors::CLUSTER_DISABLED));
        }
        c.asking = true;
        c.asking_fresh = true;
        Ok(Reply::OK)
    })
}

fn readwrite(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        if !c.core.node.cluster_enabled() {
            return Err(Reply::err(errors::CLUSTER_DISABLED));
        }
        c.info.readonly.set(false);
        Ok(Reply::OK)
    })
}
