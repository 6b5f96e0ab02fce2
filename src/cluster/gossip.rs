//! The cluster bus state machine: what redis-server 7.0.15's cluster.c does
//! with bus messages and in `clusterCron`, as methods on [`ClusterState`]
//! that take the time and return [`BusAction`]s. No sockets: the socket side
//! (`bus_io`) opens, reads, writes and closes links as told, and reports
//! back.
//!
//! # The socket side's part
//!
//! * Every 100 ms: [`ClusterState::bus_cron`].
//! * An accepted connection: [`ClusterState::bus_inbound_link`] gives its
//!   id; then [`ClusterState::bus_link_addrs`] with the socket's local and
//!   peer IPs (this node learns its own IP from the first MEET's local
//!   address, and a peer's from the peer address, as Redis does).
//! * `Connect`: open a TCP connection to `ip:cport`; on success
//!   [`ClusterState::bus_link_addrs`] then [`ClusterState::bus_link_connected`],
//!   on failure [`ClusterState::bus_link_closed`]. `Send`s for a link whose
//!   connect is under way are written once it connects (Redis queues them
//!   in the link's buffer) and dropped if it fails.
//! * Reading: [`msg::frame_len`] on the first 8 bytes (an error closes the
//!   link), then the whole frame to [`ClusterState::bus_receive`].
//! * A link that errors or is closed by the peer:
//!   [`ClusterState::bus_link_closed`]. A `Close` needs no report back.
//! * Actions queued by commands (MEET's handshake starts in the next cron;
//!   SETSLOT, FORGET, RESET may send or close): every method that returns
//!   actions also returns those, and [`ClusterState::take_bus_actions`]
//!   drains them at once.
//! * After any of these, the runtime's usual [`ClusterState::take_todo`]
//!   handling (update_state, nodes.conf, topology).
//!
//! Left out, and why: replica elections and manual failover
//! (`clusterHandleSlaveFailover`, MFSTART, AUTH_ACK counting) and replica
//! migration need the replication link; this node still votes as a master
//! (`clusterSendFailoverAuthIfNeeded`). Link buffer limits are the socket
//! side's. Module messages are ignored.

use super::error::ClusterError;
use super::msg::{self, Body, BusError, Gossip, GossipEntry, Header, Message, PingExt};
use super::node::{ClusterNode, FailReport, NodeFlags, NodeId};
use super::slot::{SlotSet, SLOTS};
use super::state::{parse_i64_strict, ClusterState, Health, Todo};
use crate::protocol::Reply;
use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A bus link, numbered by the state machine.
pub type LinkId = u64;

/// What the socket side must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusAction {
    /// Open an outbound TCP link to a node's bus address; the socket side
    /// then calls `bus_link_connected(link)` or `bus_link_closed(link)`.
    Connect {
        link: LinkId,
        ip: String,
        cport: u16,
    },
    /// Write one encoded message on a link.
    Send { link: LinkId, msg: Bytes },
    /// Close a link (flushing what was queued is not required).
    Close { link: LinkId },
    /// A PUBLISH (or PUBLISHSHARD) received from the bus: deliver to local
    /// subscribers.
    Deliver {
        channel: Vec<u8>,
        message: Vec<u8>,
        shard: bool,
    },
}

/// `CLUSTER_BLACKLIST_TTL`: seconds a forgotten node is not re-added.
pub const BLACKLIST_TTL_S: u64 = 60;
/// `CLUSTER_FAIL_REPORT_VALIDITY_MULT`
const FAIL_REPORT_VALIDITY_MULT: u64 = 2;
/// `CLUSTER_FAIL_UNDO_TIME_MULT`
const FAIL_UNDO_TIME_MULT: u64 = 2;

/// One bus link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Accepted from a peer (`from`), not opened by this node (`to`).
    pub inbound: bool,
    /// The node at the other end; `None` for an inbound link until a
    /// message names a known sender.
    pub node: Option<NodeId>,
    /// Unix ms the link was created.
    pub ctime: u64,
    /// Outbound: the connect completed. Inbound links are always connected.
    pub connected: bool,
    /// This end's IP, as the socket side reported it (empty if unknown).
    pub local_ip: String,
    /// The other end's IP (empty if unknown).
    pub peer_ip: String,
    /// `send-buffer-allocated` / `send-buffer-used` of CLUSTER LINKS, as the
    /// socket side reported them.
    pub send_buffer_allocated: u64,
    pub send_buffer_used: u64,
}

/// The bus part of [`ClusterState`].
#[derive(Debug, Clone)]
pub(super) struct BusState {
    links: BTreeMap<LinkId, LinkInfo>,
    next_link: LinkId,
    /// Actions not yet handed to the socket side.
    out: Vec<BusAction>,
    /// Forgotten node -> Unix second until which it is not re-added.
    blacklist: HashMap<NodeId, u64>,
    /// clusterCron calls.
    iteration: u64,
    /// PING/PONG/MEET messages built (`cluster_pings_sent`).
    pings_sent: u64,
    /// Nodes in PFAIL at the last cron (`stats_pfail_nodes`).
    pfail_nodes: usize,
    /// Slots whose owner stopped claiming them (`owner_not_claiming_slot`).
    not_claiming: SlotSet,
    rng: SmallRng,
    /// The latest time a caller passed.
    now_ms: u64,
    /// `cluster-announce-ip`.
    announce_ip: Option<String>,
    /// Slots this master lost to a newer configuration while staying a
    /// master: their keys must go (`delKeysInSlot`).
    lost_slots: BTreeSet<u16>,
}

impl Default for BusState {
    fn default() -> Self {
        BusState {
            links: BTreeMap::new(),
            next_link: 1,
            out: Vec::new(),
            blacklist: HashMap::new(),
            iteration: 0,
            pings_sent: 0,
            pfail_nodes: 0,
            not_claiming: SlotSet::new(),
            rng: SmallRng::from_rng(&mut rand::rng()),
            now_ms: 0,
            announce_ip: None,
            lost_slots: BTreeSet::new(),
        }
    }
}

const NO_OWNER: u16 = u16::MAX;

/// Index of a node in `ClusterState::nodes()` order: 0 is myself.
type NodeIdx = usize;

/// The Todo flags of a `clusterDoBeforeSleep` call.
fn want(save: bool, update: bool, fsync: bool) -> Todo {
    Todo {
        save_config: save,
        fsync_config: fsync,
        update_state: update,
        ..Todo::default()
    }
}

/// `inet_pton` then `inet_ntop`: the canonical text of an IP, or `None`.
fn normalize_ip(ip: &str) -> Option<String> {
    ip.parse::<std::net::IpAddr>().ok().map(|a| a.to_string())
}

impl ClusterState {
    // ----- nodes ---------------------------------------------------------

    fn node_mut(&mut self, id: &NodeId) -> Option<&mut ClusterNode> {
        if self.myself.id == *id {
            return Some(&mut self.myself);
        }
        self.others.iter_mut().find(|n| n.id == *id)
    }

    fn node_at(&self, idx: NodeIdx) -> Option<&ClusterNode> {
        match idx {
            0 => Some(&self.myself),
            i => self.others.get(i - 1),
        }
    }

    fn node_at_mut(&mut self, idx: NodeIdx) -> Option<&mut ClusterNode> {
        match idx {
            0 => Some(&mut self.myself),
            i => self.others.get_mut(i - 1),
        }
    }

    fn index_of(&self, id: &NodeId) -> Option<NodeIdx> {
        self.nodes().position(|n| n.id == *id)
    }

    fn flags_of(&self, id: &NodeId) -> NodeFlags {
        self.node(id).map_or(NodeFlags::NONE, |n| n.flags)
    }

    /// `clusterLookupNode` on an argument as typed.
    fn lookup_arg(&self, arg: &[u8]) -> Option<NodeId> {
        let id = NodeId::parse(arg)?;
        self.node(&id).map(|n| n.id)
    }

    /// slot -> index of its owner (`NO_OWNER` if none), for whole-bitmap
    /// passes.
    fn owner_table(&self) -> Vec<u16> {
        let mut table = vec![NO_OWNER; SLOTS];
        for (idx, node) in self.nodes().enumerate() {
            for slot in node.slots.iter() {
                if let Some(entry) = table.get_mut(usize::from(slot)) {
                    if *entry == NO_OWNER {
                        *entry = idx as u16;
                    }
                }
            }
        }
        table
    }

    fn slot_owner_idx(&self, slot: u16) -> Option<NodeIdx> {
        self.nodes().position(|n| n.slots.contains(slot))
    }

    /// `isSlotUnclaimed` given the owner's index.
    fn unclaimed(&self, slot: u16, owner: u16) -> bool {
        owner == NO_OWNER || self.bus.not_claiming.contains(slot)
    }

    /// `clusterDelNode`: forget a node, its slots, links and reports.
    pub(super) fn del_node(&mut self, id: &NodeId) {
        self.open_slots.importing.retain(|_, n| n != id);
        self.open_slots.migrating.retain(|_, n| n != id);
        let now = self.bus.now_ms;
        let ids: Vec<NodeId> = self.nodes().map(|n| n.id).collect();
        for other in ids.iter().filter(|o| *o != id) {
            self.del_failure_report(other, id, now);
        }
        for node in std::iter::once(&mut self.myself).chain(self.others.iter_mut()) {
            if node.replica_of.as_ref() == Some(id) {
                node.replica_of = None;
            }
        }
        let mut links: Vec<LinkId> = self
            .bus
            .links
            .iter()
            .filter(|(_, l)| l.node.as_ref() == Some(id))
            .map(|(link, _)| *link)
            .collect();
        if let Some(node) = self.node(id) {
            links.extend(node.link.into_iter().chain(node.inbound_link));
        }
        links.sort_unstable();
        links.dedup();
        for link in links {
            self.free_link(link);
        }
        if *id != self.myself.id {
            self.others.retain(|n| n.id != *id);
        }
        self.topology_changed();
    }

    /// `clusterRenameNode`: a handshake node gets its real name.
    fn rename_node(&mut self, old: &NodeId, new: NodeId) {
        tracing::debug!("Renaming node {old} into {new}");
        if let Some(node) = self.node_mut(old) {
            node.id = new;
        }
        for link in self.bus.links.values_mut() {
            if link.node.as_ref() == Some(old) {
                link.node = Some(new);
            }
        }
        self.topology_changed();
    }

    /// `clusterSetNodeAsMaster`
    fn set_node_as_master(&mut self, id: &NodeId) {
        let is_myself = *id == self.myself.id;
        let Some(node) = self.node_mut(id) else {
            return;
        };
        if node.is_master() {
            return;
        }
        node.flags.remove(NodeFlags::SLAVE);
        node.flags.insert(NodeFlags::MASTER);
        node.replica_of = None;
        self.mark(want(true, true, false));
        if is_myself {
            self.mark(Todo {
                replication_changed: true,
                ..Todo::default()
            });
        }
    }

    /// `clusterSetMaster`: this node becomes a replica of `master`.
    fn set_master(&mut self, master: &NodeId) {
        if self.myself.is_master() {
            self.myself.flags.remove(NodeFlags::MASTER);
            self.myself.flags.insert(NodeFlags::SLAVE);
            self.open_slots.clear();
        }
        self.myself.replica_of = Some(*master);
        self.mark(Todo {
            replication_changed: true,
            ..Todo::default()
        });
    }

    // ----- failure reports ----------------------------------------------

    /// `clusterNodeAddFailureReport`: true if the report is new.
    fn add_failure_report(&mut self, failing: &NodeId, reporter: &NodeId, now: u64) -> bool {
        let Some(node) = self.node_mut(failing) else {
            return false;
        };
        if let Some(r) = node
            .fail_reports
            .iter_mut()
            .find(|r| r.reporter == *reporter)
        {
            r.time = now;
            return false;
        }
        node.fail_reports.push(FailReport {
            reporter: *reporter,
            time: now,
        });
        true
    }

    /// `clusterNodeCleanupFailureReports`
    fn cleanup_failure_reports(&mut self, id: &NodeId, now: u64) {
        let max = self.node_timeout_ms * FAIL_REPORT_VALIDITY_MULT;
        if let Some(node) = self.node_mut(id) {
            node.fail_reports
                .retain(|r| now.saturating_sub(r.time) <= max);
        }
    }

    /// `clusterNodeDelFailureReport`: true if there was one.
    fn del_failure_report(&mut self, id: &NodeId, reporter: &NodeId, now: u64) -> bool {
        let Some(node) = self.node_mut(id) else {
            return false;
        };
        let before = node.fail_reports.len();
        node.fail_reports.retain(|r| r.reporter != *reporter);
        if node.fail_reports.len() == before {
            return false;
        }
        self.cleanup_failure_reports(id, now);
        true
    }

    /// `clusterNodeFailureReportsCount`
    fn failure_reports_count(&mut self, id: &NodeId, now: u64) -> usize {
        self.cleanup_failure_reports(id, now);
        self.node(id).map_or(0, |n| n.fail_reports.len())
    }

    /// `markNodeAsFailingIfNeeded`
    fn mark_node_as_failing_if_needed(&mut self, id: &NodeId, now: u64) {
        let needed_quorum = self.size / 2 + 1;
        let flags = self.flags_of(id);
        if !flags.contains(NodeFlags::PFAIL) || flags.contains(NodeFlags::FAIL) {
            return;
        }
        let mut failures = self.failure_reports_count(id, now);
        if self.myself.is_master() {
            failures += 1;
        }
        if failures < needed_quorum {
            return;
        }
        tracing::info!("Marking node {id} as failing (quorum reached).");
        if let Some(node) = self.node_mut(id) {
            node.flags.remove(NodeFlags::PFAIL);
            node.flags.insert(NodeFlags::FAIL);
            node.fail_time = now;
        }
        self.send_fail(id);
        self.mark(want(true, true, false));
    }

    /// `clearNodeFailureIfNeeded`, for a FAIL node that answered.
    fn clear_node_failure_if_needed(&mut self, id: &NodeId, now: u64) {
        let timeout = self.node_timeout_ms;
        let Some(node) = self.node_mut(id) else {
            return;
        };
        if node.is_replica() || node.slots.is_empty() {
            tracing::info!(
                "Clear FAIL state for node {id}: {} is reachable again.",
                if node.is_replica() {
                    "replica"
                } else {
                    "master without slots"
                }
            );
            node.flags.remove(NodeFlags::FAIL);
            self.mark(want(true, true, false));
            return;
        }
        if node.is_master() && now.saturating_sub(node.fail_time) > timeout * FAIL_UNDO_TIME_MULT {
            tracing::info!(
                "Clear FAIL state for node {id}: is reachable again and nobody is serving its slots after some time."
            );
            node.flags.remove(NodeFlags::FAIL);
            self.mark(want(true, true, false));
        }
    }

    // ----- blacklist -----------------------------------------------------

    fn blacklist_cleanup(&mut self, now: u64) {
        let now_s = now / 1000;
        self.bus.blacklist.retain(|_, expire| *expire >= now_s);
    }

    fn blacklist_add(&mut self, id: &NodeId, now: u64) {
        self.blacklist_cleanup(now);
        self.bus.blacklist.insert(*id, now / 1000 + BLACKLIST_TTL_S);
    }

    fn blacklist_exists(&mut self, id: &NodeId, now: u64) -> bool {
        self.blacklist_cleanup(now);
        self.bus.blacklist.contains_key(id)
    }

    // ----- links ---------------------------------------------------------

    fn new_link(&mut self, inbound: bool, node: Option<NodeId>, now: u64) -> LinkId {
        let id = self.bus.next_link;
        self.bus.next_link += 1;
        self.bus.links.insert(
            id,
            LinkInfo {
                inbound,
                node,
                ctime: now,
                connected: inbound,
                local_ip: String::new(),
                peer_ip: String::new(),
                send_buffer_allocated: 0,
                send_buffer_used: 0,
            },
        );
        if let (false, Some(node)) = (inbound, node) {
            if let Some(n) = self.node_mut(&node) {
                n.link = Some(id);
                n.link_connected = true;
            }
        }
        id
    }

    /// Forgets a link; true if it was known.
    fn unlink(&mut self, link: LinkId) -> Option<LinkInfo> {
        let info = self.bus.links.remove(&link)?;
        if let Some(node) = info.node {
            if let Some(n) = self.node_mut(&node) {
                if n.link == Some(link) {
                    n.link = None;
                    n.link_connected = false;
                } else if n.inbound_link == Some(link) {
                    n.inbound_link = None;
                }
            }
        }
        Some(info)
    }

    /// `freeClusterLink`: forget it and tell the socket side to close it.
    fn free_link(&mut self, link: LinkId) {
        if self.unlink(link).is_some() {
            self.bus.out.push(BusAction::Close { link });
        }
    }

    /// `setClusterNodeToInboundClusterLink`
    fn set_inbound_link(&mut self, node: &NodeId, link: LinkId) {
        let old = self.node(node).and_then(|n| n.inbound_link);
        if let Some(old) = old.filter(|&l| l != link) {
            tracing::debug!("Replacing inbound link {old} from node {node} with {link}");
            self.free_link(old);
        }
        if let Some(n) = self.node_mut(node) {
            n.inbound_link = Some(link);
        }
        if let Some(l) = self.bus.links.get_mut(&link) {
            l.node = Some(*node);
        }
    }

    // ----- sending -------------------------------------------------------

    fn queue(&mut self, link: LinkId, msg_type: u16, bytes: Bytes) {
        if let Some(count) = self.stats.sent.get_mut(usize::from(msg_type)) {
            *count += 1;
        }
        self.bus.out.push(BusAction::Send { link, msg: bytes });
    }

    fn send(&mut self, link: LinkId, msg: &Message) {
        let bytes = Bytes::from(msg::encode(msg));
        self.queue(link, msg.body.msg_type(), bytes);
    }

    /// `clusterBroadcastMessage`: every node but myself and handshake nodes,
    /// on the links this node opened.
    fn broadcast(&mut self, msg: &Message) {
        let bytes = Bytes::from(msg::encode(msg));
        let links: Vec<LinkId> = self
            .others
            .iter()
            .filter(|n| !n.in_handshake())
            .filter_map(|n| n.link)
            .collect();
        for link in links {
            self.queue(link, msg.body.msg_type(), bytes.clone());
        }
    }

    /// `clusterBuildMessageHdr`
    fn build_header(&self) -> Header {
        let master = match self.myself.replica_of {
            Some(m) if self.myself.is_replica() => self.node(&m).unwrap_or(&self.myself),
            _ => &self.myself,
        };
        Header {
            port: self.myself.port,
            current_epoch: self.current_epoch,
            config_epoch: master.config_epoch,
            offset: self.myself.repl_offset as u64,
            sender: self.myself.id,
            myslots: master.slots.clone(),
            slaveof: self.myself.replica_of,
            myip: self.bus.announce_ip.clone().unwrap_or_default(),
            pport: self.myself.pport,
            cport: self.myself.cport,
            flags: self.myself.flags.to_wire(),
            state: match self.health {
                Health::Ok => 0,
                Health::Fail => 1,
            },
            mflags: [0; 3],
        }
    }

    fn gossip_entry(node: &ClusterNode) -> GossipEntry {
        GossipEntry {
            node: node.id,
            ping_sent: (node.ping_sent / 1000) as u32,
            pong_received: (node.pong_received / 1000) as u32,
            ip: node.ip.clone(),
            port: node.port,
            cport: node.cport,
            flags: node.flags.to_wire(),
            pport: node.pport,
        }
    }

    /// `clusterSendPing`: a PING, PONG or MEET with gossip about a tenth of
    /// the nodes (at least 3) picked at random, every PFAIL node, and the
    /// hostname extension.
    fn send_ping(&mut self, link: LinkId, msg_type: u16) {
        let now = self.bus.now_ms;
        self.bus.pings_sent += 1;
        let pings_sent = self.bus.pings_sent;
        let total = 1 + self.others.len();
        let mut freshnodes = total as i64 - 2;
        let mut wanted = ((total / 10) as i64).max(3);
        if wanted > freshnodes {
            wanted = freshnodes;
        }
        let mut pfail_wanted = self.bus.pfail_nodes;

        let Some(info) = self.bus.links.get(&link) else {
            return;
        };
        if !info.inbound && msg_type == msg::TYPE_PING {
            if let Some(node) = info.node {
                if let Some(n) = self.node_mut(&node) {
                    n.ping_sent = now;
                }
            }
        }
        let header = self.build_header();

        let mut entries = Vec::new();
        let mut max_iterations = wanted * 3;
        while freshnodes > 0 && (entries.len() as i64) < wanted && max_iterations > 0 {
            max_iterations -= 1;
            let idx = self.bus.rng.random_range(0..total);
            if idx == 0 {
                continue; // myself: the header is about it already
            }
            let Some(node) = self.others.get_mut(idx - 1) else {
                continue;
            };
            if node.flags.contains(NodeFlags::PFAIL) {
                continue; // added below
            }
            if node
                .flags
                .intersects(NodeFlags::HANDSHAKE | NodeFlags::NOADDR)
                || (node.link.is_none() && node.slots.is_empty())
            {
                freshnodes -= 1;
                continue;
            }
            if node.last_in_ping_gossip == pings_sent {
                continue;
            }
            entries.push(Self::gossip_entry(node));
            node.last_in_ping_gossip = pings_sent;
            freshnodes -= 1;
        }
        for node in &self.others {
            if pfail_wanted == 0 {
                break;
            }
            if node
                .flags
                .intersects(NodeFlags::HANDSHAKE | NodeFlags::NOADDR)
                || !node.flags.contains(NodeFlags::PFAIL)
            {
                continue;
            }
            entries.push(Self::gossip_entry(node));
            pfail_wanted -= 1;
        }

        let mut extensions = Vec::new();
        if !self.myself.hostname.is_empty() {
            extensions.push(PingExt::Hostname(self.myself.hostname.clone()));
        }
        if self.gossip_forgotten_nodes {
            self.blacklist_cleanup(now);
            let now_s = now / 1000;
            let mut forgotten: Vec<(NodeId, u64)> = self
                .bus
                .blacklist
                .iter()
                .map(|(id, expire)| (*id, expire.saturating_sub(now_s)))
                .collect();
            forgotten.sort();
            extensions.extend(
                forgotten
                    .into_iter()
                    .map(|(node, ttl)| PingExt::ForgottenNode { node, ttl }),
            );
        }
        let gossip = Gossip {
            entries,
            extensions,
        };
        let body = match msg_type {
            msg::TYPE_PONG => Body::Pong(gossip),
            msg::TYPE_MEET => Body::Meet(gossip),
            _ => Body::Ping(gossip),
        };
        self.send(link, &Message { header, body });
    }

    /// `clusterBroadcastPong(CLUSTER_BROADCAST_ALL)`
    fn broadcast_pong(&mut self) {
        let links: Vec<LinkId> = self
            .others
            .iter()
            .filter(|n| !n.in_handshake())
            .filter_map(|n| n.link)
            .collect();
        for link in links {
            self.send_ping(link, msg::TYPE_PONG);
        }
    }

    /// `clusterSendFail`
    fn send_fail(&mut self, node: &NodeId) {
        let msg = Message {
            header: self.build_header(),
            body: Body::Fail { node: *node },
        };
        self.broadcast(&msg);
    }

    /// `clusterSendUpdate`: `about`'s slots and epoch, on `link`.
    fn send_update(&mut self, link: Option<LinkId>, about: &NodeId) {
        let Some(link) = link else {
            return;
        };
        let Some(node) = self.node(about) else {
            return;
        };
        let mut slots = node.slots.clone();
        // Don't advertise slots that the node stopped claiming.
        for slot in self.bus.not_claiming.iter() {
            slots.remove(slot);
        }
        let msg = Message {
            header: self.build_header(),
            body: Body::Update {
                config_epoch: node.config_epoch,
                node: *about,
                slots,
            },
        };
        self.send(link, &msg);
    }

    // ----- epochs --------------------------------------------------------

    /// `clusterBumpConfigEpochWithoutConsensus`: true if bumped.
    fn bump_epoch_without_consensus(&mut self) -> bool {
        let max = self.max_config_epoch();
        if self.myself.config_epoch == 0 || self.myself.config_epoch != max {
            self.current_epoch += 1;
            self.myself.config_epoch = self.current_epoch;
            self.mark(want(true, false, true));
            tracing::warn!("New configEpoch set to {}", self.myself.config_epoch);
            true
        } else {
            false
        }
    }

    /// `clusterHandleConfigEpochCollision`: of two masters with one config
    /// epoch, the one with the smaller id takes a new epoch.
    fn handle_config_epoch_collision(&mut self, sender: &NodeId) {
        let Some(s) = self.node(sender) else {
            return;
        };
        if s.config_epoch != self.myself.config_epoch || !s.is_master() || !self.myself.is_master()
        {
            return;
        }
        if sender.as_bytes() <= self.myself.id.as_bytes() {
            return;
        }
        self.current_epoch += 1;
        self.myself.config_epoch = self.current_epoch;
        self.mark(want(true, false, true));
        tracing::debug!(
            "WARNING: configEpoch collision with node {sender}. configEpoch set to {}",
            self.myself.config_epoch
        );
    }

    // ----- receiving -----------------------------------------------------

    /// `nodeIp2String`: the announced IP, or the link's peer address.
    fn node_ip(&self, link: LinkId, announced: &str) -> Option<String> {
        if !announced.is_empty() {
            return Some(announced.to_string());
        }
        let peer = &self.bus.links.get(&link)?.peer_ip;
        (!peer.is_empty()).then(|| peer.clone())
    }

    /// `nodeUpdateAddressIfNeeded`: true if the address changed.
    fn update_address_if_needed(&mut self, id: &NodeId, link: LinkId, hdr: &Header) -> bool {
        let Some(node) = self.node(id) else {
            return false;
        };
        if node.link == Some(link) {
            return false;
        }
        let Some(ip) = self.node_ip(link, &hdr.myip) else {
            return false;
        };
        if node.port == hdr.port
            && node.cport == hdr.cport
            && node.pport == hdr.pport
            && node.ip == ip
        {
            return false;
        }
        let old_link = node.link;
        tracing::warn!("Address updated for node {id}, now {ip}:{}", hdr.port);
        if let Some(n) = self.node_mut(id) {
            n.ip = ip;
            n.port = hdr.port;
            n.pport = hdr.pport;
            n.cport = hdr.cport;
            n.flags.remove(NodeFlags::NOADDR);
        }
        if let Some(l) = old_link {
            self.free_link(l);
        }
        self.topology_changed();
        if self.myself.is_replica() && self.myself.replica_of.as_ref() == Some(id) {
            self.mark(Todo {
                replication_changed: true,
                ..Todo::default()
            });
        }
        true
    }

    /// `getNodeFromLinkAndMsg`
    fn sender_of(&mut self, link: LinkId, sender: &NodeId) -> Option<NodeId> {
        let link_node = self.bus.links.get(&link)?.node;
        if let Some(n) = link_node {
            if !self.flags_of(&n).contains(NodeFlags::HANDSHAKE) && self.node(&n).is_some() {
                return Some(n);
            }
        }
        let found = self.node(sender).map(|n| n.id)?;
        if link_node.is_none() {
            self.set_inbound_link(&found, link);
        }
        Some(found)
    }

    /// `clusterProcessGossipSection`
    fn process_gossip_section(
        &mut self,
        link: LinkId,
        hdr: &Header,
        entries: &[GossipEntry],
        now: u64,
    ) {
        let link_node = self.bus.links.get(&link).and_then(|l| l.node);
        let sender = link_node.or_else(|| self.node(&hdr.sender).map(|n| n.id));
        let sender_is_master =
            sender.is_some_and(|s| self.flags_of(&s).contains(NodeFlags::MASTER));
        let bad = NodeFlags::FAIL | NodeFlags::PFAIL;
        for g in entries {
            let flags = NodeFlags::from_wire(g.flags);
            if self.node(&g.node).is_some() {
                let id = g.node;
                if let Some(s) = sender.filter(|_| sender_is_master && id != self.myself.id) {
                    if flags.intersects(bad) {
                        if self.add_failure_report(&id, &s, now) {
                            tracing::debug!("Node {s} reported node {id} as not reachable.");
                        }
                        self.mark_node_as_failing_if_needed(&id, now);
                    } else if self.del_failure_report(&id, &s, now) {
                        tracing::debug!("Node {s} reported node {id} is back online.");
                    }
                }
                if !flags.intersects(bad)
                    && self.node(&id).is_some_and(|n| n.ping_sent == 0)
                    && self.failure_reports_count(&id, now) == 0
                {
                    let pongtime = u64::from(g.pong_received) * 1000;
                    if let Some(n) = self.node_mut(&id) {
                        if pongtime <= now + 500 && pongtime > n.pong_received {
                            n.pong_received = pongtime;
                        }
                    }
                }
                let Some(node) = self.node(&id) else {
                    continue;
                };
                if node.flags.intersects(bad)
                    && !flags.contains(NodeFlags::NOADDR)
                    && !flags.intersects(bad)
                    && (!node.ip.eq_ignore_ascii_case(&g.ip)
                        || node.port != g.port
                        || node.cport != g.cport)
                {
                    if let Some(l) = node.link {
                        self.free_link(l);
                    }
                    if let Some(n) = self.node_mut(&id) {
                        n.ip = g.ip.clone();
                        n.port = g.port;
                        n.pport = g.pport;
                        n.cport = g.cport;
                        n.flags.remove(NodeFlags::NOADDR);
                    }
                    self.topology_changed();
                }
            } else if sender.is_some()
                && !flags.contains(NodeFlags::NOADDR)
                && !self.blacklist_exists(&g.node, now)
            {
                let mut node = ClusterNode::new(g.node);
                node.flags = flags;
                node.flags.remove(NodeFlags::MYSELF);
                node.ip = g.ip.clone();
                node.port = g.port;
                node.pport = g.pport;
                node.cport = g.cport;
                node.ctime = now;
                self.others.push(node);
                self.mark(want(true, false, false));
                self.topology_changed();
            }
        }
    }

    /// `clusterProcessPingExtensions`
    fn process_ping_exts(&mut self, sender: &NodeId, exts: &[PingExt], now: u64) {
        let mut hostname = None;
        for ext in exts {
            match ext {
                PingExt::Hostname(h) => hostname = Some(h.clone()),
                PingExt::ForgottenNode { node, ttl } => {
                    // What Redis 7.2 does with it.
                    let mine = self.myself.is_replica() && self.myself.replica_of == Some(*node);
                    if *node != self.myself.id && !mine && self.node(node).is_some() {
                        let now_s = now / 1000;
                        self.bus.blacklist.insert(*node, now_s.saturating_add(*ttl));
                        self.del_node(node);
                        self.mark(want(true, true, false));
                    }
                }
                PingExt::HumanNodename(_) | PingExt::ShardId(_) => {}
                PingExt::Unknown { ext_type, .. } => {
                    tracing::warn!("Received unknown extension type {ext_type}");
                }
            }
        }
        // No hostname extension: the sender has no announced hostname.
        let hostname = hostname.unwrap_or_default();
        if let Some(n) = self.node_mut(sender) {
            if n.hostname != hostname {
                n.hostname = hostname;
            }
        }
    }

    /// `clusterUpdateSlotsConfigWith`: `sender` claims `slots` with
    /// `epoch`; rebind the slots this configuration wins.
    fn update_slots_config_with(&mut self, sender: &NodeId, epoch: u64, slots: &SlotSet) {
        if *sender == self.myself.id {
            tracing::warn!("Discarding UPDATE message about myself.");
            return;
        }
        let Some(sender_idx) = self.index_of(sender) else {
            return;
        };
        let cur_master: Option<NodeIdx> = if self.myself.is_master() {
            Some(0)
        } else {
            self.myself.replica_of.and_then(|m| self.index_of(&m))
        };
        let mut table = self.owner_table();
        let mut sender_slots = 0usize;
        let mut migrated_our_slots = 0usize;
        let mut new_master = false;
        let mut dirty: Vec<u16> = Vec::new();
        let mut changed = false;
        let mut mine_changed = false;
        for slot in 0..SLOTS as u16 {
            let owner = table.get(usize::from(slot)).copied().unwrap_or(NO_OWNER);
            if slots.contains(slot) {
                sender_slots += 1;
                if usize::from(owner) == sender_idx {
                    self.bus.not_claiming.remove(slot);
                    continue;
                }
                if self.open_slots.importing.contains_key(&slot) {
                    continue;
                }
                let wins = self.unclaimed(slot, owner)
                    || self
                        .node_at(usize::from(owner))
                        .is_some_and(|o| o.config_epoch < epoch);
                if !wins {
                    continue;
                }
                if owner == 0 {
                    dirty.push(slot);
                }
                if owner != NO_OWNER && cur_master == Some(usize::from(owner)) {
                    new_master = true;
                    migrated_our_slots += 1;
                }
                if owner != NO_OWNER {
                    if let Some(o) = self.node_at_mut(usize::from(owner)) {
                        o.slots.remove(slot);
                    }
                    mine_changed |= owner == 0;
                }
                if let Some(s) = self.node_at_mut(sender_idx) {
                    s.slots.insert(slot);
                }
                if let Some(entry) = table.get_mut(usize::from(slot)) {
                    *entry = sender_idx as u16;
                }
                self.bus.not_claiming.remove(slot);
                changed = true;
            } else if usize::from(owner) == sender_idx {
                // Still bound to the sender, which no longer claims it: keep
                // it bound, but do not spread that in UPDATE messages.
                self.bus.not_claiming.insert(slot);
            }
        }
        if changed {
            self.mark(Todo {
                save_config: true,
                update_state: true,
                fsync_config: true,
                slots_changed: mine_changed,
                ..Todo::default()
            });
            self.topology_changed();
        }

        let cur_master_empty = cur_master
            .and_then(|i| self.node_at(i))
            .is_some_and(|m| m.slots.is_empty());
        let grandmaster = self
            .myself
            .replica_of
            .and_then(|m| self.node(&m))
            .and_then(|m| m.replica_of)
            .filter(|gm| self.node(gm).is_some());
        if new_master
            && cur_master_empty
            && (self.allow_replica_migration || sender_slots == migrated_our_slots)
        {
            tracing::warn!(
                "Configuration change detected. Reconfiguring myself as a replica of {sender}"
            );
            self.set_master(sender);
            self.mark(want(true, true, true));
        } else if let Some(gm) = grandmaster.filter(|gm| *gm != self.myself.id) {
            tracing::warn!(
                "I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {gm}"
            );
            self.set_master(&gm);
            self.mark(want(true, true, true));
        } else if !dirty.is_empty() {
            self.bus.lost_slots.extend(dirty);
        }
    }

    /// `clusterSendFailoverAuthIfNeeded`: vote for a replica whose master
    /// failed, once per epoch.
    fn send_failover_auth_if_needed(&mut self, node_id: &NodeId, request: &Header, now: u64) {
        if self.myself.is_replica() || self.myself.slots.is_empty() {
            return;
        }
        if request.current_epoch < self.current_epoch {
            tracing::warn!(
                "Failover auth denied to {node_id}: reqEpoch ({}) < curEpoch({})",
                request.current_epoch,
                self.current_epoch
            );
            return;
        }
        if self.last_vote_epoch == self.current_epoch {
            tracing::warn!(
                "Failover auth denied to {node_id}: already voted for epoch {}",
                self.current_epoch
            );
            return;
        }
        let force_ack = request.mflags[0] & msg::MFLAG0_FORCEACK != 0;
        let Some(node) = self.node(node_id) else {
            return;
        };
        let master = node.replica_of.and_then(|m| self.node(&m));
        let Some(master) = master.filter(|_| !node.is_master()) else {
            tracing::warn!(
                "Failover auth denied to {node_id}: it is a master node or I don't know its master"
            );
            return;
        };
        if !master.is_failed() && !force_ack {
            tracing::warn!("Failover auth denied to {node_id}: its master is up");
            return;
        }
        let timeout2 = self.node_timeout_ms * 2;
        if now.saturating_sub(master.voted_time) < timeout2 {
            tracing::warn!(
                "Failover auth denied to {node_id}: can't vote about this master before {} milliseconds",
                timeout2.saturating_sub(now.saturating_sub(master.voted_time))
            );
            return;
        }
        let master_id = master.id;
        let link = node.link;
        let table = self.owner_table();
        for slot in request.myslots.iter() {
            let owner = table.get(usize::from(slot)).copied().unwrap_or(NO_OWNER);
            if self.unclaimed(slot, owner) {
                continue;
            }
            if let Some(o) = self.node_at(usize::from(owner)) {
                if o.config_epoch > request.config_epoch {
                    tracing::warn!(
                        "Failover auth denied to {node_id}: slot {slot} epoch ({}) > reqEpoch ({})",
                        o.config_epoch,
                        request.config_epoch
                    );
                    return;
                }
            }
        }
        self.last_vote_epoch = self.current_epoch;
        if let Some(m) = self.node_mut(&master_id) {
            m.voted_time = now;
        }
        self.mark(want(true, false, true));
        if let Some(link) = link {
            let msg = Message {
                header: self.build_header(),
                body: Body::FailoverAuthAck,
            };
            self.send(link, &msg);
        }
        tracing::warn!(
            "Failover auth granted to {node_id} for epoch {}",
            self.current_epoch
        );
    }

    /// `clusterProcessPacket`
    fn process_packet(&mut self, link: LinkId, msg: Message, now: u64) {
        let Message { header: hdr, body } = msg;
        let msg_type = body.msg_type();
        let sender = self.sender_of(link, &hdr.sender);
        if let Some(n) = sender.and_then(|s| self.node_mut(&s)) {
            n.data_received = now;
        }

        let mut sender_config_epoch = 0;
        if let Some(s) = sender.filter(|s| !self.flags_of(s).contains(NodeFlags::HANDSHAKE)) {
            sender_config_epoch = hdr.config_epoch;
            if hdr.current_epoch > self.current_epoch {
                self.current_epoch = hdr.current_epoch;
                self.mark(want(true, false, false));
            }
            let mut newer = false;
            if let Some(n) = self.node_mut(&s) {
                if sender_config_epoch > n.config_epoch {
                    n.config_epoch = sender_config_epoch;
                    newer = true;
                }
                n.repl_offset = hdr.offset as i64;
                n.repl_offset_time = now;
            }
            if newer {
                self.mark(want(true, false, true));
            }
        }

        let (inbound, link_node) = match self.bus.links.get(&link) {
            Some(l) => (l.inbound, l.node),
            None => return,
        };

        if let Body::Ping(g) | Body::Meet(g) = &body {
            let is_meet = msg_type == msg::TYPE_MEET;
            // Learn this node's own address from a MEET (or any PING while
            // it has none): the peer connected to it.
            if (is_meet || self.myself.ip.is_empty()) && self.bus.announce_ip.is_none() {
                let local = self
                    .bus
                    .links
                    .get(&link)
                    .map(|l| l.local_ip.clone())
                    .unwrap_or_default();
                if !local.is_empty() && local != self.myself.ip {
                    tracing::warn!("IP address for this node updated to {local}");
                    self.myself.ip = local;
                    self.mark(want(true, false, false));
                }
            }
            if sender.is_none() && is_meet {
                if let Some(ip) = self.node_ip(link, &hdr.myip) {
                    let mut node = ClusterNode::new(NodeId::random());
                    node.flags = NodeFlags::HANDSHAKE;
                    node.ip = ip;
                    node.port = hdr.port;
                    node.pport = hdr.pport;
                    node.cport = hdr.cport;
                    node.ctime = now;
                    self.others.push(node);
                    self.mark(want(true, false, false));
                }
                // A MEET's gossip is trusted even from an unknown sender.
                self.process_gossip_section(link, &hdr, &g.entries, now);
            }
            self.send_ping(link, msg::TYPE_PONG);
        }

        match &body {
            Body::Ping(g) | Body::Pong(g) | Body::Meet(g) => {
                if !inbound {
                    let Some(ln) = link_node else {
                        return;
                    };
                    if self.flags_of(&ln).contains(NodeFlags::HANDSHAKE) {
                        if let Some(s) = sender {
                            tracing::debug!(
                                "Handshake: we already know node {s}, updating the address if needed."
                            );
                            if self.update_address_if_needed(&s, link, &hdr) {
                                self.mark(want(true, true, false));
                            }
                            // Forget the handshake node, and its link.
                            self.del_node(&ln);
                            return;
                        }
                        self.rename_node(&ln, hdr.sender);
                        tracing::debug!("Handshake with node {} completed.", hdr.sender);
                        let role = NodeFlags::from_wire(hdr.flags);
                        if let Some(n) = self.node_mut(&hdr.sender) {
                            n.flags.remove(NodeFlags::HANDSHAKE);
                            if role.contains(NodeFlags::MASTER) {
                                n.flags.insert(NodeFlags::MASTER);
                            }
                            if role.contains(NodeFlags::SLAVE) {
                                n.flags.insert(NodeFlags::SLAVE);
                            }
                        }
                        self.mark(want(true, false, false));
                    } else if ln != hdr.sender {
                        tracing::debug!("PONG contains mismatching sender ID. About node {ln}");
                        if let Some(n) = self.node_mut(&ln) {
                            n.flags.insert(NodeFlags::NOADDR);
                            n.ip.clear();
                            n.port = 0;
                            n.pport = 0;
                            n.cport = 0;
                        }
                        self.free_link(link);
                        self.mark(want(true, false, false));
                        self.topology_changed();
                        return;
                    }
                }

                if let Some(n) = sender.and_then(|s| self.node_mut(&s)) {
                    if NodeFlags::from_wire(hdr.flags).contains(NodeFlags::NOFAILOVER) {
                        n.flags.insert(NodeFlags::NOFAILOVER);
                    } else {
                        n.flags.remove(NodeFlags::NOFAILOVER);
                    }
                }

                if let Some(s) = sender {
                    if msg_type == msg::TYPE_PING
                        && !self.flags_of(&s).contains(NodeFlags::HANDSHAKE)
                        && self.update_address_if_needed(&s, link, &hdr)
                    {
                        self.mark(want(true, true, false));
                    }
                }

                if !inbound && msg_type == msg::TYPE_PONG {
                    let node = self.bus.links.get(&link).and_then(|l| l.node);
                    if let Some(id) = node {
                        let mut flags = NodeFlags::NONE;
                        if let Some(n) = self.node_mut(&id) {
                            n.pong_received = now;
                            n.ping_sent = 0;
                            flags = n.flags;
                            if flags.contains(NodeFlags::PFAIL) {
                                n.flags.remove(NodeFlags::PFAIL);
                            }
                        }
                        if flags.contains(NodeFlags::PFAIL) {
                            self.mark(want(true, true, false));
                        } else if flags.contains(NodeFlags::FAIL) {
                            self.clear_node_failure_if_needed(&id, now);
                        }
                    }
                }

                // Role switches.
                if let Some(s) = sender {
                    match hdr.slaveof {
                        None => self.set_node_as_master(&s),
                        Some(m) => {
                            let master = self.node(&m).map(|n| n.id);
                            if self.flags_of(&s).contains(NodeFlags::MASTER) {
                                let had_slots = self.node(&s).is_some_and(|n| !n.slots.is_empty());
                                if let Some(n) = self.node_mut(&s) {
                                    n.slots.clear();
                                    n.flags.remove(NodeFlags::MASTER);
                                    n.flags.insert(NodeFlags::SLAVE);
                                }
                                if had_slots {
                                    self.topology_changed();
                                }
                                self.mark(want(true, true, false));
                            }
                            if let Some(master) = master {
                                if let Some(n) = self.node_mut(&s) {
                                    if n.replica_of != Some(master) {
                                        n.replica_of = Some(master);
                                        self.mark(want(true, false, false));
                                    }
                                }
                            }
                        }
                    }
                }

                // Slots: the sender's (or its master's) claim against ours.
                let mut dirty_slots = false;
                let mut sender_is_master = false;
                if let Some(s) = sender.and_then(|s| self.node(&s)) {
                    sender_is_master = s.is_master();
                    let sender_master = if s.is_master() {
                        Some(s)
                    } else {
                        s.replica_of.and_then(|m| self.node(&m))
                    };
                    if let Some(sm) = sender_master {
                        dirty_slots = sm.slots != hdr.myslots;
                    }
                }
                if let (Some(s), true, true) = (sender, sender_is_master, dirty_slots) {
                    self.update_slots_config_with(&s, sender_config_epoch, &hdr.myslots);
                }
                // The reverse: the sender claims slots we know are served
                // with a newer configuration: tell it.
                if let (Some(s), true) = (sender, dirty_slots) {
                    let table = self.owner_table();
                    for slot in hdr.myslots.iter() {
                        let owner = table.get(usize::from(slot)).copied().unwrap_or(NO_OWNER);
                        if self.unclaimed(slot, owner) {
                            continue;
                        }
                        let Some(o) = self.node_at(usize::from(owner)) else {
                            continue;
                        };
                        if o.id == s {
                            continue;
                        }
                        if o.config_epoch > sender_config_epoch {
                            let about = o.id;
                            tracing::debug!(
                                "Node {s} has old slots configuration, sending an UPDATE message about {about}"
                            );
                            let to = self.node(&s).and_then(|n| n.link);
                            self.send_update(to, &about);
                            break;
                        }
                    }
                }

                if let Some(s) = sender {
                    if self.myself.is_master()
                        && self.flags_of(&s).contains(NodeFlags::MASTER)
                        && sender_config_epoch == self.myself.config_epoch
                    {
                        self.handle_config_epoch_collision(&s);
                    }
                    self.process_gossip_section(link, &hdr, &g.entries, now);
                    self.process_ping_exts(&s, &g.extensions, now);
                }
            }
            Body::Fail { node } => match sender {
                Some(_) => {
                    let flags = self.flags_of(node);
                    if self.node(node).is_some()
                        && !flags.intersects(NodeFlags::FAIL | NodeFlags::MYSELF)
                    {
                        tracing::info!("FAIL message received from {} about {node}", hdr.sender);
                        if let Some(n) = self.node_mut(node) {
                            n.flags.insert(NodeFlags::FAIL);
                            n.flags.remove(NodeFlags::PFAIL);
                            n.fail_time = now;
                        }
                        self.mark(want(true, true, false));
                    }
                }
                None => tracing::info!(
                    "Ignoring FAIL message from unknown node {} about {node}",
                    hdr.sender
                ),
            },
            Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
                if sender.is_some() {
                    self.bus.out.push(BusAction::Deliver {
                        channel: channel.clone(),
                        message: message.clone(),
                        shard: msg_type == msg::TYPE_PUBLISHSHARD,
                    });
                }
            }
            Body::FailoverAuthRequest => {
                if let Some(s) = sender {
                    self.send_failover_auth_if_needed(&s, &hdr, now);
                }
            }
            Body::Update {
                config_epoch,
                node,
                slots,
            } => {
                if sender.is_none() {
                    return;
                }
                let Some(n) = self.node(node) else {
                    return;
                };
                if n.config_epoch >= *config_epoch {
                    return;
                }
                if n.is_replica() {
                    self.set_node_as_master(node);
                }
                if let Some(n) = self.node_mut(node) {
                    n.config_epoch = *config_epoch;
                }
                self.mark(want(true, false, true));
                self.update_slots_config_with(node, *config_epoch, slots);
            }
            // Elections and manual failover are left out (see the module
            // doc); module messages have no receiver here.
            Body::FailoverAuthAck | Body::MfStart | Body::Module { .. } => {}
            Body::Unknown { msg_type } => {
                tracing::warn!("Received unknown packet type: {msg_type}");
            }
        }
    }

    // ----- the socket side's entry points --------------------------------

    fn take_out(&mut self) -> Vec<BusAction> {
        std::mem::take(&mut self.bus.out)
    }

    /// Actions queued since the last call that returned them (by commands:
    /// SETSLOT, FORGET, RESET, REPLICATE).
    pub fn take_bus_actions(&mut self) -> Vec<BusAction> {
        self.take_out()
    }

    /// Whether actions are waiting for [`ClusterState::take_bus_actions`].
    pub fn has_bus_actions(&self) -> bool {
        !self.bus.out.is_empty()
    }

    /// The socket side accepted a connection on the bus port.
    pub fn bus_inbound_link(&mut self, now_ms: u64) -> LinkId {
        self.bus.now_ms = now_ms;
        self.new_link(true, None, now_ms)
    }

    /// The addresses of a link's socket, plain IP text (no port, no
    /// brackets): `local_ip` from getsockname, `peer_ip` from getpeername.
    /// Call it for every accepted link and every connected outbound one.
    pub fn bus_link_addrs(&mut self, link: LinkId, local_ip: &str, peer_ip: &str) {
        if let Some(l) = self.bus.links.get_mut(&link) {
            l.local_ip = local_ip.to_string();
            l.peer_ip = peer_ip.to_string();
        }
    }

    /// What the socket side knows of a link's send buffer, for CLUSTER
    /// LINKS.
    pub fn bus_link_send_buffer(&mut self, link: LinkId, allocated: u64, used: u64) {
        if let Some(l) = self.bus.links.get_mut(&link) {
            l.send_buffer_allocated = allocated;
            l.send_buffer_used = used;
        }
    }

    /// An outbound link connected (`clusterLinkConnectHandler`): send a
    /// PING, or a MEET to a node met with CLUSTER MEET.
    pub fn bus_link_connected(&mut self, link: LinkId, now_ms: u64) -> Vec<BusAction> {
        self.bus.now_ms = now_ms;
        let Some(info) = self.bus.links.get_mut(&link) else {
            return self.take_out();
        };
        if info.inbound {
            return self.take_out();
        }
        info.connected = true;
        let Some(node) = info.node else {
            return self.take_out();
        };
        let Some(n) = self.node(&node) else {
            return self.take_out();
        };
        let old_ping_sent = n.ping_sent;
        let meet = n.flags.contains(NodeFlags::MEET);
        self.send_ping(link, if meet { msg::TYPE_MEET } else { msg::TYPE_PING });
        if let Some(n) = self.node_mut(&node) {
            if old_ping_sent != 0 {
                n.ping_sent = old_ping_sent;
            }
            n.flags.remove(NodeFlags::MEET);
        }
        self.take_out()
    }

    /// A link failed, was closed by the peer, or its connect failed. An
    /// unknown id (already closed here) is ignored.
    pub fn bus_link_closed(&mut self, link: LinkId, now_ms: u64) {
        self.bus.now_ms = now_ms;
        let Some(info) = self.unlink(link) else {
            return;
        };
        // A connect that failed counts as a ping sent, so that failure
        // detection runs even when no link ever comes up (what Redis does
        // on a connect error).
        if !info.inbound && !info.connected {
            if let Some(n) = info.node.and_then(|id| self.node_mut(&id)) {
                if n.ping_sent == 0 {
                    n.ping_sent = now_ms;
                }
            }
        }
    }

    /// One whole message received on `link` (framed with
    /// [`msg::frame_len`]). A frame with a bad signature or length closes
    /// the link; other invalid messages are dropped, as Redis drops them.
    pub fn bus_receive(&mut self, link: LinkId, frame: &[u8], now_ms: u64) -> Vec<BusAction> {
        self.bus.now_ms = now_ms;
        if !self.bus.links.contains_key(&link) {
            return self.take_out();
        }
        if let Some(&[hi, lo]) = frame.get(msg::OFF_TYPE..msg::OFF_TYPE + 2) {
            let t = u16::from_be_bytes([hi, lo]);
            if let Some(count) = self.stats.received.get_mut(usize::from(t)) {
                *count += 1;
            }
        }
        match msg::decode(frame) {
            Ok(m) => self.process_packet(link, m, now_ms),
            Err(e) if e.is_framing() => {
                tracing::warn!("Bad message length or signature received from Cluster bus: {e}");
                self.free_link(link);
            }
            Err(e) => tracing::warn!("Dropping an invalid cluster bus message: {e}"),
        }
        self.take_out()
    }

    /// `clusterCron`, to be called every 100 ms: connects to nodes without a
    /// link, pings, times out handshakes, links and nodes (PFAIL).
    pub fn bus_cron(&mut self, now_ms: u64) -> Vec<BusAction> {
        let now = now_ms;
        self.bus.now_ms = now;
        self.bus.iteration += 1;
        let timeout = self.node_timeout_ms;
        let handshake_timeout = timeout.max(1000);
        self.bus.pfail_nodes = 0;

        let ids: Vec<NodeId> = self.others.iter().map(|n| n.id).collect();
        for id in &ids {
            let Some(node) = self.node(id) else {
                continue;
            };
            if node.flags.contains(NodeFlags::NOADDR) {
                continue;
            }
            let (flags, ctime, has_link) = (node.flags, node.ctime, node.link.is_some());
            let (ip, cport) = (node.ip.clone(), node.cport);
            if flags.contains(NodeFlags::PFAIL) {
                self.bus.pfail_nodes += 1;
            }
            if flags.contains(NodeFlags::HANDSHAKE) && now.saturating_sub(ctime) > handshake_timeout
            {
                tracing::debug!("Handshake with {ip}:{cport} timed out");
                self.del_node(id);
                continue;
            }
            if !has_link {
                let link = self.new_link(false, Some(*id), now);
                self.bus.out.push(BusAction::Connect { link, ip, cport });
            }
        }

        // Once a second, ping the node with the oldest pong among 5 random
        // ones.
        if self.bus.iteration.is_multiple_of(10) {
            let total = 1 + self.others.len();
            let mut best: Option<(LinkId, u64)> = None;
            for _ in 0..5 {
                let idx = self.bus.rng.random_range(0..total);
                let Some(node) = self.node_at(idx) else {
                    continue;
                };
                let Some(link) = node.link else {
                    continue;
                };
                if node.ping_sent != 0
                    || node
                        .flags
                        .intersects(NodeFlags::MYSELF | NodeFlags::HANDSHAKE)
                {
                    continue;
                }
                if best.is_none_or(|(_, pong)| pong > node.pong_received) {
                    best = Some((link, node.pong_received));
                }
            }
            if let Some((link, _)) = best {
                self.send_ping(link, msg::TYPE_PING);
            }
        }

        let mut update_state = false;
        let ids: Vec<NodeId> = self.others.iter().map(|n| n.id).collect();
        for id in &ids {
            let Some(node) = self.node(id) else {
                continue;
            };
            if node
                .flags
                .intersects(NodeFlags::MYSELF | NodeFlags::NOADDR | NodeFlags::HANDSHAKE)
            {
                continue;
            }
            let ping_delay = now.saturating_sub(node.ping_sent);
            let data_delay = now.saturating_sub(node.data_received);
            // No pong nor any data for half the timeout on a link older than
            // the timeout: drop the link, the next cron reconnects.
            if let Some(link) = node.link {
                let old = self
                    .bus
                    .links
                    .get(&link)
                    .is_some_and(|l| now.saturating_sub(l.ctime) > timeout);
                if old
                    && node.ping_sent != 0
                    && ping_delay > timeout / 2
                    && data_delay > timeout / 2
                {
                    self.free_link(link);
                }
            }
            let Some(node) = self.node(id) else {
                continue;
            };
            if let Some(link) = node.link {
                if node.ping_sent == 0 && now.saturating_sub(node.pong_received) > timeout / 2 {
                    self.send_ping(link, msg::TYPE_PING);
                    continue;
                }
            }
            if node.ping_sent == 0 {
                continue;
            }
            let node_delay = ping_delay.min(data_delay);
            if node_delay > timeout && !node.flags.intersects(NodeFlags::PFAIL | NodeFlags::FAIL) {
                tracing::debug!("*** NODE {id} possibly failing");
                if let Some(n) = self.node_mut(id) {
                    n.flags.insert(NodeFlags::PFAIL);
                }
                update_state = true;
            }
        }

        if update_state || self.health == Health::Fail {
            self.update_state(now);
        }
        self.take_out()
    }

    // ----- commands ------------------------------------------------------

    /// `CLUSTER MEET ip port [cport]` once parsed: starts a handshake with
    /// the address (the next [`ClusterState::bus_cron`] connects). A
    /// handshake already in progress with it is not an error.
    pub fn meet(
        &mut self,
        ip: &str,
        port: u16,
        cport: u16,
        now_ms: u64,
    ) -> Result<(), ClusterError> {
        self.bus.now_ms = now_ms;
        let invalid = || ClusterError::InvalidNodeAddress(ip.to_string(), port.to_string());
        let norm = normalize_ip(ip).ok_or_else(invalid)?;
        if port == 0 || cport == 0 {
            return Err(invalid());
        }
        let in_progress = self.others.iter().any(|n| {
            n.in_handshake()
                && n.ip.eq_ignore_ascii_case(&norm)
                && n.port == port
                && n.cport == cport
        });
        if in_progress {
            return Ok(());
        }
        let mut node = ClusterNode::new(NodeId::random());
        node.flags = NodeFlags::HANDSHAKE | NodeFlags::MEET;
        node.ip = norm;
        node.port = port;
        node.cport = cport;
        node.ctime = now_ms;
        self.others.push(node);
        Ok(())
    }

    /// `CLUSTER MEET ip port [cport]`: `typed` is the subcommand as the
    /// client sent it, `args` what follows. Redis's parsing and errors.
    pub fn meet_command<A: AsRef<[u8]>>(
        &mut self,
        typed: &[u8],
        args: &[A],
        now_ms: u64,
    ) -> Result<(), ClusterError> {
        let (ip, port_arg, cport_arg) = match args {
            [ip, port] => (ip.as_ref(), port.as_ref(), None),
            [ip, port, cport] => (ip.as_ref(), port.as_ref(), Some(cport.as_ref())),
            _ => return Err(ClusterError::subcommand_syntax(typed)),
        };
        let port = parse_i64_strict(port_arg)
            .ok_or_else(|| ClusterError::InvalidBasePort(ClusterError::shown(port_arg)))?;
        let cport = match cport_arg {
            Some(arg) => parse_i64_strict(arg)
                .ok_or_else(|| ClusterError::InvalidBusPort(ClusterError::shown(arg)))?,
            None => port.saturating_add(i64::from(super::state::BUS_PORT_OFFSET)),
        };
        let invalid = || {
            ClusterError::InvalidNodeAddress(ClusterError::shown(ip), ClusterError::shown(port_arg))
        };
        let ip_text = std::str::from_utf8(ip).map_err(|_| invalid())?;
        let (Ok(port16), Ok(cport16)) = (u16::try_from(port), u16::try_from(cport)) else {
            return Err(invalid());
        };
        self.meet(ip_text, port16, cport16, now_ms)
            .map_err(|_| invalid())
    }

    /// `CLUSTER FORGET id`: drop the node and keep it out for 60 s.
    pub fn forget(&mut self, arg: &[u8], now_ms: u64) -> Result<(), ClusterError> {
        self.bus.now_ms = now_ms;
        let Some(id) = self.lookup_arg(arg) else {
            return Err(ClusterError::UnknownNode(ClusterError::shown(arg)));
        };
        if id == self.myself.id {
            return Err(ClusterError::ForgetMyself);
        }
        if self.myself.is_replica() && self.myself.replica_of == Some(id) {
            return Err(ClusterError::ForgetMyMaster);
        }
        self.blacklist_add(&id, now_ms);
        self.del_node(&id);
        self.mark(want(true, true, false));
        Ok(())
    }

    /// `CLUSTER COUNT-FAILURE-REPORTS id`
    pub fn count_failure_reports(
        &mut self,
        arg: &[u8],
        now_ms: u64,
    ) -> Result<Reply, ClusterError> {
        self.bus.now_ms = now_ms;
        let Some(id) = self.lookup_arg(arg) else {
            return Err(ClusterError::UnknownNode(ClusterError::shown(arg)));
        };
        Ok(Reply::Int(self.failure_reports_count(&id, now_ms) as i64))
    }

    /// `CLUSTER REPLICATE id` for a known id, without the keyspace check
    /// (see [`ClusterState::replicate_command`]). Records the master; the
    /// runtime starts replication on `Todo::replication_changed`.
    pub fn replicate(&mut self, master: &NodeId) -> Result<(), ClusterError> {
        let Some(n) = self.node(master) else {
            return Err(ClusterError::UnknownNode(master.to_string()));
        };
        if n.is_myself() {
            return Err(ClusterError::ReplicateMyself);
        }
        if n.is_replica() {
            return Err(ClusterError::ReplicateReplica);
        }
        if self.myself.is_master() && !self.myself.slots.is_empty() {
            return Err(ClusterError::ReplicateNotEmpty);
        }
        self.set_master(master);
        self.mark(want(true, true, false));
        Ok(())
    }

    /// `CLUSTER REPLICATE id` as typed; `db_has_keys`: db 0 holds keys (a
    /// master must be empty to become a replica).
    pub fn replicate_command(&mut self, arg: &[u8], db_has_keys: bool) -> Result<(), ClusterError> {
        let Some(id) = self.lookup_arg(arg) else {
            return Err(ClusterError::UnknownNode(ClusterError::shown(arg)));
        };
        if id == self.myself.id {
            return Err(ClusterError::ReplicateMyself);
        }
        if self.flags_of(&id).contains(NodeFlags::SLAVE) {
            return Err(ClusterError::ReplicateReplica);
        }
        if self.myself.is_master() && db_has_keys {
            return Err(ClusterError::ReplicateNotEmpty);
        }
        self.replicate(&id)
    }

    /// `CLUSTER SETSLOT slot IMPORTING id | MIGRATING id | STABLE | NODE id`;
    /// `args` follow the subcommand. `keys_in_slot` is how many keys this
    /// node holds in the slot (0 if the slot argument is invalid: the
    /// caller may parse it with `slot::parse_slot`). Sends (a PONG to all
    /// after importing) are queued for [`ClusterState::take_bus_actions`].
    pub fn setslot<A: AsRef<[u8]>>(
        &mut self,
        args: &[A],
        keys_in_slot: u64,
    ) -> Result<(), ClusterError> {
        let (Some(slot_arg), Some(action)) = (args.first(), args.get(1)) else {
            return Err(ClusterError::WrongArity("setslot"));
        };
        if self.myself.is_replica() {
            return Err(ClusterError::SetSlotOnReplica);
        }
        let slot = super::slot::parse_slot(slot_arg.as_ref()).ok_or(ClusterError::InvalidSlot)?;
        let action = action.as_ref();
        let target = args.get(2).map(|a| a.as_ref());
        let mine = self.myself.slots.contains(slot);
        match (args.len(), target) {
            (3, Some(arg)) if action.eq_ignore_ascii_case(b"migrating") => {
                if !mine {
                    return Err(ClusterError::NotSlotOwner(slot));
                }
                let n = self
                    .lookup_arg(arg)
                    .ok_or_else(|| ClusterError::DontKnowNode(ClusterError::shown(arg)))?;
                if self.flags_of(&n).contains(NodeFlags::SLAVE) {
                    return Err(ClusterError::TargetNotMaster);
                }
                self.open_slots.migrating.insert(slot, n);
            }
            (3, Some(arg)) if action.eq_ignore_ascii_case(b"importing") => {
                if mine {
                    return Err(ClusterError::AlreadySlotOwner(slot));
                }
                let n = self
                    .lookup_arg(arg)
                    .ok_or_else(|| ClusterError::DontKnowNode(ClusterError::shown(arg)))?;
                if self.flags_of(&n).contains(NodeFlags::SLAVE) {
                    return Err(ClusterError::TargetNotMaster);
                }
                self.open_slots.importing.insert(slot, n);
            }
            (2, None) if action.eq_ignore_ascii_case(b"stable") => {
                self.open_slots.importing.remove(&slot);
                self.open_slots.migrating.remove(&slot);
            }
            (3, Some(arg)) if action.eq_ignore_ascii_case(b"node") => {
                let n = self
                    .lookup_arg(arg)
                    .ok_or_else(|| ClusterError::UnknownNode(ClusterError::shown(arg)))?;
                if self.flags_of(&n).contains(NodeFlags::SLAVE) {
                    return Err(ClusterError::TargetNotMaster);
                }
                let to_myself = n == self.myself.id;
                if mine && !to_myself && keys_in_slot != 0 {
                    return Err(ClusterError::SlotHasKeys(slot));
                }
                if keys_in_slot == 0 {
                    self.open_slots.migrating.remove(&slot);
                }
                // clusterDelSlot + clusterAddSlot
                let owner = self.slot_owner_idx(slot);
                if let Some(o) = owner.and_then(|i| self.node_at_mut(i)) {
                    o.slots.remove(slot);
                }
                if let Some(t) = self.node_mut(&n) {
                    t.slots.insert(slot);
                }
                self.mark(Todo {
                    slots_changed: mine != to_myself,
                    ..Todo::default()
                });
                self.topology_changed();
                if mine
                    && !to_myself
                    && self.myself.slots.is_empty()
                    && self.allow_replica_migration
                {
                    tracing::warn!(
                        "Configuration change detected. Reconfiguring myself as a replica of {n}"
                    );
                    self.set_master(&n);
                    self.mark(want(true, true, true));
                }
                if to_myself && self.open_slots.importing.contains_key(&slot) {
                    // Manually migrated: a new config epoch, so that the new
                    // owner wins everywhere.
                    if self.bump_epoch_without_consensus() {
                        tracing::warn!("configEpoch updated after importing slot {slot}");
                    }
                    self.open_slots.importing.remove(&slot);
                    self.broadcast_pong();
                }
            }
            _ => return Err(ClusterError::SetSlotSyntax),
        }
        // Open slots are part of the routing snapshot (-ASK, -TRYAGAIN).
        self.topology_changed();
        self.mark(want(true, true, false));
        Ok(())
    }

    /// `CLUSTER LINKS`: one map per link this node has with a known node.
    pub fn links_reply(&self) -> Reply {
        let key = |k: &'static str| Reply::simple_bulk(k);
        let mut out = Vec::new();
        for node in self.nodes() {
            for link in node.link.into_iter().chain(node.inbound_link) {
                let Some(l) = self.bus.links.get(&link) else {
                    continue;
                };
                let mut events = String::new();
                if l.connected {
                    events.push('r');
                }
                if l.send_buffer_used > 0 {
                    events.push('w');
                }
                out.push(Reply::Map(vec![
                    (
                        key("direction"),
                        Reply::simple_bulk(if l.inbound { "from" } else { "to" }),
                    ),
                    (key("node"), Reply::bulk_from_slice(node.id.as_bytes())),
                    (key("create-time"), Reply::Int(l.ctime as i64)),
                    (key("events"), Reply::bulk_from_slice(events.as_bytes())),
                    (
                        key("send-buffer-allocated"),
                        Reply::Int(l.send_buffer_allocated as i64),
                    ),
                    (
                        key("send-buffer-used"),
                        Reply::Int(l.send_buffer_used as i64),
                    ),
                ]));
            }
        }
        Reply::Array(out)
    }

    /// Cluster-wide PUBLISH (to every node) or SPUBLISH (to the nodes of
    /// this node's shard).
    pub fn bus_publish(&mut self, channel: &[u8], message: &[u8], shard: bool) -> Vec<BusAction> {
        let body = if shard {
            Body::PublishShard {
                channel: channel.to_vec(),
                message: message.to_vec(),
            }
        } else {
            Body::Publish {
                channel: channel.to_vec(),
                message: message.to_vec(),
            }
        };
        let msg = Message {
            header: self.build_header(),
            body,
        };
        if !shard {
            self.broadcast(&msg);
            return self.take_out();
        }
        let primary = if self.myself.is_master() {
            Some(self.myself.id)
        } else {
            self.myself.replica_of
        };
        let Some(primary) = primary else {
            return self.take_out();
        };
        let links: Vec<LinkId> = self
            .nodes()
            .filter(|n| n.id == primary || (n.replica_of == Some(primary) && n.is_replica()))
            .filter(|n| !n.flags.intersects(NodeFlags::MYSELF | NodeFlags::HANDSHAKE))
            .filter_map(|n| n.link)
            .collect();
        if !links.is_empty() {
            let bytes = Bytes::from(msg::encode(&msg));
            for link in links {
                self.queue(link, msg::TYPE_PUBLISHSHARD, bytes.clone());
            }
        }
        self.take_out()
    }

    // ----- settings and inspection ---------------------------------------

    /// `cluster-announce-ip` (`None` to learn the address from MEETs).
    pub fn set_announce_ip(&mut self, ip: Option<&str>) {
        let ip = ip.filter(|s| !s.is_empty()).map(|s| {
            let cut = s.len().min(msg::IP_LEN - 1);
            s.get(..cut).unwrap_or(s).to_string()
        });
        if self.bus.announce_ip == ip {
            return;
        }
        self.bus.announce_ip = ip.clone();
        self.set_my_ip(ip.as_deref().unwrap_or(""));
    }

    /// This node's replication offset, sent in every message header.
    pub fn set_repl_offset(&mut self, offset: i64) {
        self.myself.repl_offset = offset;
    }

    /// Slots this node lost to a newer configuration while still a master
    /// (Redis then deletes their keys, `delKeysInSlot`), cleared.
    pub fn take_lost_slots(&mut self) -> Vec<u16> {
        std::mem::take(&mut self.bus.lost_slots)
            .into_iter()
            .collect()
    }

    /// The bus links, by id.
    pub fn bus_links(&self) -> impl Iterator<Item = (LinkId, &LinkInfo)> {
        self.bus.links.iter().map(|(id, l)| (*id, l))
    }

    /// Seeds the random choices of gossip and pings (tests).
    pub fn seed_bus_rng(&mut self, seed: u64) {
        self.bus.rng = SmallRng::seed_from_u64(seed);
    }

    /// Whether `id` is blacklisted by FORGET at `now_ms`.
    pub fn is_blacklisted(&mut self, id: &NodeId, now_ms: u64) -> bool {
        self.blacklist_exists(id, now_ms)
    }
}

impl BusError {
    /// Errors that leave the stream unframed (bad signature or length): the
    /// link must close.
    pub fn is_framing(&self) -> bool {
        matches!(
            self,
            BusError::BadSignature
                | BusError::BadFrameLength(_)
                | BusError::FrameLengthMismatch { .. }
                | BusError::Truncated { .. }
        )
    }
}

#[cfg(test)]
#[path = "gossip_tests.rs"]
mod tests;
