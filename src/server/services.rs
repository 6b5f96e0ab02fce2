//! Node services: cluster state upkeep (core 0's cron, nodes.conf saving) and
//! installing a new topology on every core, moving per-slot tables between
//! cores when the slot table changes.

use crate::cluster::slot::SLOTS;
use crate::cluster::{nodes_conf, ClusterState};
use crate::keyspace::SlotTable;
use crate::node::Node;
use crate::runtime::{now_ms, Core, Job, Topology};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static TOPOLOGY_VERSION: AtomicU64 = AtomicU64::new(1);

fn next_version() -> u64 {
    TOPOLOGY_VERSION.fetch_add(1, Ordering::Relaxed)
}

/// cluster-config-file, relative to `dir` (the working directory).
pub fn nodes_conf_path(node: &Node) -> PathBuf {
    let name = node
        .config
        .read()
        .map(|c| c.cluster_config_file().to_string())
        .unwrap_or_else(|_| "nodes.conf".into());
    PathBuf::from(name)
}

/// The ports this node announces: `cluster-announce-port` /
/// `cluster-announce-bus-port` when set, else the client port and the bus
/// port (`cluster-port`, or client port + 10000), as Redis's
/// clusterUpdateMyselfAnnouncedPorts.
pub fn announced_ports(cfg: &crate::config::Config) -> (u16, u16) {
    let port = match cfg.cluster_announce_port() {
        0 => cfg.port(),
        p => p,
    };
    let cport = match cfg.cluster_announce_bus_port() {
        0 => bus_port(cfg),
        p => p,
    };
    (port, cport)
}

/// The bus port this node listens on: `cluster-port`, or the client port +
/// 10000.
pub fn bus_port(cfg: &crate::config::Config) -> u16 {
    match cfg.cluster_port() {
        0 => crate::cluster::bus_port_for(cfg.port()).unwrap_or(0),
        p => p,
    }
}

/// Applies the options that shape this node's own entry (ports, announced
/// ip and hostname, timeouts) to `state`.
pub fn apply_cluster_options(state: &mut ClusterState, cfg: &crate::config::Config) {
    let (port, cport) = announced_ports(cfg);
    state.set_my_ports(port, cport);
    let ip = cfg.cluster_announce_ip().map(String::from_utf8_lossy);
    state.set_announce_ip(ip.as_deref());
    let hostname = cfg.cluster_announce_hostname().unwrap_or_default();
    state.set_my_hostname(&String::from_utf8_lossy(hostname));
    state.node_timeout_ms = cfg.cluster_node_timeout();
    state.require_full_coverage = cfg.cluster_require_full_coverage();
}

/// Loads the node's identity from nodes.conf, or creates a new one and saves it.
pub fn load_cluster_state(
    path: &Path,
    cfg: &crate::config::Config,
) -> Result<ClusterState, String> {
    let (port, cport) = announced_ports(cfg);
    let mut state = match nodes_conf::load(path).map_err(|e| e.to_string())? {
        Some(conf) => ClusterState::from_conf(conf)
            .map_err(|e| format!("corrupted cluster config file \"{}\": {e}", path.display()))?,
        None => {
            let s = ClusterState::new(port, cport);
            tracing::info!("No cluster configuration found, I'm {}", s.my_id().as_str());
            s
        }
    };
    apply_cluster_options(&mut state, cfg);
    state.update_state(now_ms());
    let _ = state.take_todo();
    nodes_conf::save_atomic(path, &state.nodes_conf_text()).map_err(|e| {
        format!(
            "Cannot save the cluster config file {}: {e}",
            path.display()
        )
    })?;
    Ok(state)
}

/// The first topology: from the cluster state, or standalone.
pub fn initial_topology(state: Option<&ClusterState>, cores: usize) -> Topology {
    match state {
        Some(s) => Topology::from_cluster(s, cores, next_version()),
        None => Topology::standalone(cores),
    }
}

/// Finishes a change of cluster state: updates cluster_state, saves
/// nodes.conf when asked, and hands every core a new topology when slots or
/// health changed.
pub async fn after_cluster_change(core: &Rc<Core>) {
    let node = core.node.clone();
    // Options CONFIG SET may have changed, and the file's path; read before
    // the cluster lock is taken, so the two locks are never held together.
    let options = node
        .config
        .read()
        .ok()
        .map(|c| (c.cluster_require_full_coverage(), c.cluster_node_timeout()));
    let path = nodes_conf_path(&node);
    let topo = {
        let Ok(mut guard) = node.cluster.lock() else {
            return;
        };
        let Some(s) = guard.as_mut() else { return };
        if let Some((full_coverage, node_timeout_ms)) = options {
            s.require_full_coverage = full_coverage;
            s.node_timeout_ms = node_timeout_ms;
        }
        let mut todo = s.take_todo();
        s.update_state(now_ms());
        let more = s.take_todo();
        todo.save_config |= more.save_config;
        todo.fsync_config |= more.fsync_config;
        todo.slots_changed |= more.slots_changed;
        // Saved under the lock: whoever takes the lock next (a command on
        // another core) finds the file already written.
        if todo.save_config {
            if let Err(e) = nodes_conf::save(&path, &s.nodes_conf_text(), todo.fsync_config) {
                tracing::warn!(
                    "Could not save the cluster config {}: {}",
                    path.display(),
                    e
                );
            }
        }
        // Judged against the state, not only the todo: when another core's
        // call took the todo first, this core's snapshot still tells whether
        // the change has been installed.
        let stale = core.with_topology(|t| t.is_stale_for(s));
        let topo = (todo.slots_changed || stale)
            .then(|| Topology::from_cluster(s, core.ncores, next_version()));
        (topo, s.take_lost_slots())
    };
    let (topo, lost) = topo;
    if let Some(t) = topo {
        install_topology(core, Arc::new(t)).await;
    }
    if !lost.is_empty() {
        delete_keys_in_slots(core, lost).await;
    }
}

/// Drops the keys of slots another master now serves with a newer
/// configuration (Redis's "dirty slots": delKeysInSlot), on their cores.
async fn delete_keys_in_slots(core: &Rc<Core>, slots: Vec<u16>) {
    let slots = Arc::new(slots);
    let deleted: usize = core
        .run_on_all(move |c| {
            let topo = c.topology();
            let mut shard = c.shard.borrow_mut();
            let mut n = 0;
            for &slot in slots.iter().filter(|&&s| topo.core_of(s) == c.id) {
                for db in shard.dbs.iter_mut() {
                    if let Some(t) = db.take_slot(slot as usize) {
                        n += t.keys.len();
                    }
                }
            }
            n
        })
        .await
        .into_iter()
        .sum();
    if deleted > 0 {
        tracing::warn!(
            "Deleted {} keys in slots this node no longer serves",
            deleted
        );
    }
}

/// [`after_cluster_change`] for a command: when it returns, every core
/// routes with a topology at least as new as the cluster state the command
/// left, so the client's next command (on any connection) sees the change.
pub async fn apply_cluster_change(core: &Rc<Core>) {
    after_cluster_change(core).await;
    // A topology reaches the other cores in the job that releases them,
    // posted but not awaited, and a concurrent call (core 0's cron) may be
    // the one installing it. Every core defers jobs while reserved and sets
    // the topology before its release, so a no-op job answered by every core
    // means every core has it.
    let _ = core.run_on_all(|_| ()).await;
}

/// Installs `new` on every core while all are reserved; slot tables whose
/// core changes move to their new core in the same step, so no command sees a
/// slot on two cores or on none.
pub async fn install_topology(core: &Rc<Core>, new: Arc<Topology>) {
    let all: Vec<usize> = (0..core.ncores).collect();
    let n = core.ncores;
    let for_gather = new.clone();
    // Slots may change cores: every core's AOF gets a barrier at this
    // moment, so loading replays what a slot's old core wrote first.
    let barrier = core.node.aof.next_barrier();
    core.lock_and(
        &all,
        move |c: &Rc<Core>| {
            let cur = c.topology();
            let mut out: Vec<(usize, usize, Box<SlotTable>)> = Vec::new();
            if cur.version >= for_gather.version {
                return out;
            }
            let mut shard = c.shard.borrow_mut();
            for slot in 0..SLOTS {
                if cur.slot_core[slot] as usize == c.id
                    && for_gather.slot_core[slot] as usize != c.id
                {
                    for (dbi, db) in shard.dbs.iter_mut().enumerate() {
                        if let Some(t) = db.take_slot(slot) {
                            out.push((slot, dbi, t));
                        }
                    }
                }
            }
            out
        },
        move |gathered| {
            let mut per_core: Vec<Vec<(usize, usize, Box<SlotTable>)>> =
                (0..n).map(|_| Vec::new()).collect();
            for (slot, dbi, t) in gathered.into_iter().flatten() {
                let to = new.core_of(slot as u16);
                if let Some(v) = per_core.get_mut(to) {
                    v.push((slot, dbi, t));
                }
            }
            let jobs = per_core
                .into_iter()
                .map(|tables| {
                    let t = new.clone();
                    Some(Box::new(move |c: &Rc<Core>| {
                        let moved = tables.len();
                        {
                            let mut shard = c.shard.borrow_mut();
                            shard.propagate.barrier(barrier);
                            for (slot, dbi, table) in tables {
                                if let Some(db) = shard.dbs.get_mut(dbi) {
                                    db.put_slot(slot, table);
                                }
                            }
                        }
                        if c.topology().version < t.version {
                            c.set_topology(t);
                        }
                        if moved > 0 {
                            tracing::debug!("shard {} received {} slot tables", c.id, moved);
                        }
                    }) as Job)
                })
                .collect();
            (jobs, ())
        },
    )
    .await;
}
