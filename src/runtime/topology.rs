//! The topology snapshot every core routes with: which core holds each slot's
//! keys on this node and, in cluster mode, who serves each slot. Immutable;
//! a change builds a new snapshot and hands it to every core.

use crate::cluster::slot::SLOTS;
use std::collections::HashMap;
use std::sync::Arc;

/// Who serves a slot, as seen by this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotOwner {
    Myself,
    Unassigned,
    /// Another node; index into `Topology::nodes`.
    Node(u16),
}

#[derive(Debug, Clone)]
pub struct Topology {
    /// Increases with every change; a core never installs an older snapshot.
    pub version: u64,
    pub cluster_enabled: bool,
    /// cluster_state:ok (all slots served); always true standalone.
    pub cluster_ok: bool,
    /// `ClusterState::generation` this snapshot was built from (0 standalone).
    pub cluster_generation: u64,
    /// slot -> core holding its keys on this node.
    pub slot_core: Vec<u16>,
    /// slot -> who serves it (standalone: always `Myself`).
    pub slot_owner: Vec<SlotOwner>,
    /// `ip:port` of other nodes, for -MOVED.
    pub nodes: Vec<String>,
    /// Slots in migration on this node (`CLUSTER SETSLOT ... MIGRATING |
    /// IMPORTING`); empty almost always, so the data path checks
    /// `is_empty` first.
    pub open: HashMap<u16, OpenSlot>,
}

/// A slot being moved to or from this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenSlot {
    /// Being moved away: keys this node lacks are asked for at `ip:port`.
    Migrating(Arc<str>),
    /// Being moved here: served to clients that sent ASKING.
    Importing,
}

impl Topology {
    /// A standalone node: owns every slot, spread over `cores`.
    pub fn standalone(cores: usize) -> Topology {
        let all = crate::cluster::slot::SlotSet::full();
        Topology {
            version: 0,
            cluster_enabled: false,
            cluster_ok: true,
            cluster_generation: 0,
            slot_core: super::slot_table::assign_cores(&all, cores),
            slot_owner: vec![SlotOwner::Myself; SLOTS],
            nodes: Vec::new(),
            open: HashMap::new(),
        }
    }

    #[inline]
    pub fn core_of(&self, slot: u16) -> usize {
        self.slot_core.get(slot as usize).copied().unwrap_or(0) as usize
    }
}

impl Topology {
    /// True when this snapshot no longer matches `state`: slots or nodes
    /// changed since it was built, or cluster_state did.
    pub fn is_stale_for(&self, state: &crate::cluster::ClusterState) -> bool {
        self.cluster_generation != state.generation() || self.cluster_ok != state.is_ok()
    }

    /// The snapshot for a node in cluster mode: who serves each slot, and
    /// which core holds each slot's keys (owned slots balanced over `cores`).
    pub fn from_cluster(
        state: &crate::cluster::ClusterState,
        cores: usize,
        version: u64,
    ) -> Topology {
        let mine = state.my_slots();
        let mut nodes: Vec<String> = Vec::new();
        let mut slot_owner = vec![SlotOwner::Unassigned; SLOTS];
        // Node by node, so each address is formatted once; a slot claimed
        // twice goes to the first node, as `ClusterState::slot_owner` says.
        for n in state.nodes() {
            if n.slots.is_empty() {
                continue;
            }
            let owner = if n.is_myself() {
                SlotOwner::Myself
            } else {
                let addr = format!("{}:{}", n.ip, n.port);
                let idx = match nodes.iter().position(|a| *a == addr) {
                    Some(i) => i,
                    None => {
                        nodes.push(addr);
                        nodes.len() - 1
                    }
                };
                SlotOwner::Node(idx as u16)
            };
            for slot in n.slots.iter() {
                if let Some(o) = slot_owner.get_mut(slot as usize) {
                    if *o == SlotOwner::Unassigned {
                        *o = owner;
                    }
                }
            }
        }
        for slot in mine.iter() {
            if let Some(o) = slot_owner.get_mut(slot as usize) {
                *o = SlotOwner::Myself;
            }
        }
        let open_slots = state.open_slots();
        let mut open = HashMap::new();
        for (&slot, id) in &open_slots.migrating {
            if let Some(n) = state.node(id) {
                open.insert(
                    slot,
                    OpenSlot::Migrating(Arc::from(format!("{}:{}", n.ip, n.port))),
                );
            }
        }
        for &slot in open_slots.importing.keys() {
            open.insert(slot, OpenSlot::Importing);
        }
        Topology {
            version,
            cluster_enabled: true,
            cluster_ok: state.is_ok(),
            cluster_generation: state.generation(),
            slot_core: super::slot_table::assign_cores(mine, cores),
            slot_owner,
            nodes,
            open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterState;

    #[test]
    fn a_snapshot_is_stale_after_a_slot_change_even_with_the_todo_taken() {
        let mut st = ClusterState::new(7000, 17000);
        st.add_slots(&[b"1".as_slice(), b"2"]).unwrap();
        let topo = Topology::from_cluster(&st, 2, 1);
        assert!(!topo.is_stale_for(&st));
        assert_eq!(topo.slot_owner[1], SlotOwner::Myself);
        assert_eq!((topo.core_of(1), topo.core_of(2)), (0, 1));
        st.del_slots(&[b"2".as_slice()]).unwrap();
        let _ = st.take_todo();
        assert!(topo.is_stale_for(&st));
        let next = Topology::from_cluster(&st, 2, 2);
        assert!(!next.is_stale_for(&st));
        assert_eq!(next.slot_owner[2], SlotOwner::Unassigned);
    }
}
