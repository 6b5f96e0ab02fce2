//! [`ClusterState`]: this node's cluster identity, epochs and slot ownership,
//! and the `CLUSTER` subcommands that need nothing but that state.
//!
//! The node is alone in its cluster until the bus exists, but the state
//! keeps a list of other nodes so that gossip can fill it later. Methods
//! mirror redis-server 7.0.15 (`cluster.c`), texts and shapes included:
//!
//! * A lone node's config epoch stays 0 when it adds slots (Redis bumps it
//!   only through SET-CONFIG-EPOCH, BUMPEPOCH, SETSLOT ... NODE, failover or
//!   epoch-collision handling); `redis-cli --cluster create` sets distinct
//!   epochs with SET-CONFIG-EPOCH.
//! * `cluster_state` is cached and recomputed by [`ClusterState::update_state`],
//!   which the runtime calls with the time: after any change (see
//!   [`ClusterState::take_todo`]) and every 100 ms while the state is `fail`.
//!   Like Redis, a master stays `fail` for 2 s after the first call (so a
//!   restarted master does not take writes before the cluster can reconfigure
//!   it), and for the rejoin delay (node timeout clamped to 0.5..5 s) after it
//!   was last in a minority. A lone node that gets all 16384 slots therefore
//!   turns `ok` about 5 s later, as redis-server does.
//!
//! Commands that need the keyspace leave that check to the caller:
//! FLUSHSLOTS (`ERR_FLUSHSLOTS_DB_NOT_EMPTY`) and RESET on a master
//! (`ERR_RESET_MASTER_WITH_KEYS`).

use super::error::ClusterError;
use super::gossip::BusState;
use super::node::{ClusterNode, NodeFlags, NodeId, OpenSlots};
use super::nodes_conf::{self, NodesConf};
use super::slot::{parse_slot, SlotSet, SLOTS};
use crate::protocol::Reply;
use bytes::Bytes;
use std::fmt::Write as _;

/// Offset from the client port to the cluster bus port.
pub const BUS_PORT_OFFSET: u16 = 10000;

/// The default bus port for client port `port` (`port + 10000`); `None`
/// above 55535, where Redis refuses to start with "Redis port number too
/// high. Cluster communication port is 10,000 port numbers higher than your
/// Redis port. Your Redis port number must be 55535 or less."
pub fn bus_port_for(port: u16) -> Option<u16> {
    port.checked_add(BUS_PORT_OFFSET)
}
/// A master waits this long after its first state update before `ok`.
pub const WRITABLE_DELAY_MS: u64 = 2000;
/// Bounds of the rejoin delay after being in a minority partition.
pub const MIN_REJOIN_DELAY_MS: u64 = 500;
pub const MAX_REJOIN_DELAY_MS: u64 = 5000;
/// `cluster-node-timeout` default.
pub const DEFAULT_NODE_TIMEOUT_MS: u64 = 15000;

/// Bus message types in Redis's numbering, with the names CLUSTER INFO uses.
pub const MSG_TYPE_NAMES: [&str; 11] = [
    "ping",
    "pong",
    "meet",
    "fail",
    "publish",
    "auth-req",
    "auth-ack",
    "update",
    "mfstart",
    "module",
    "publishshard",
];

/// `cluster_state` of CLUSTER INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Ok,
    Fail,
}

/// `cluster-preferred-endpoint-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointType {
    #[default]
    Ip,
    Hostname,
    UnknownEndpoint,
}

/// `CLUSTER RESET [HARD|SOFT]`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetMode {
    Soft,
    Hard,
}

/// What the caller must do after state changes (Redis's
/// `clusterDoBeforeSleep` flags), taken with [`ClusterState::take_todo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Todo {
    /// Write nodes.conf.
    pub save_config: bool,
    /// Redis's "fsync the config" flag. [`nodes_conf::save_atomic`] always
    /// fsyncs, so it matters only to a caller that saves some other way.
    pub fsync_config: bool,
    /// Call [`ClusterState::update_state`].
    pub update_state: bool,
    /// The slots this node serves changed: rebuild the slot table.
    pub slots_changed: bool,
    /// This node's master changed, or it became a master: point replication
    /// at `myself().replica_of`'s address, or stop replicating.
    pub replication_changed: bool,
}

impl Todo {
    fn merge(&mut self, other: Todo) {
        self.save_config |= other.save_config;
        self.fsync_config |= other.fsync_config;
        self.update_state |= other.update_state;
        self.slots_changed |= other.slots_changed;
        self.replication_changed |= other.replication_changed;
    }
}

/// Bus message counters, indexed like [`MSG_TYPE_NAMES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusStats {
    pub sent: [u64; 11],
    pub received: [u64; 11],
    /// `total_cluster_links_buffer_limit_exceeded`
    pub links_buffer_limit_exceeded: u64,
}

/// What RESET did that the caller must finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetOutcome {
    /// The node was a replica and is now a master: stop replicating and
    /// empty the data, as Redis does.
    pub was_replica: bool,
}

/// This node's view of the cluster.
#[derive(Debug, Clone)]
pub struct ClusterState {
    // `pub(super)`: the bus state machine, a sibling module, will update
    // these; everything else goes through methods.
    pub(super) myself: ClusterNode,
    /// Every other known node.
    pub(super) others: Vec<ClusterNode>,
    pub(super) current_epoch: u64,
    pub(super) last_vote_epoch: u64,
    pub(super) open_slots: OpenSlots,
    /// Cached `cluster_state`.
    pub(super) health: Health,
    /// Cached `cluster_size`: masters serving at least one slot (1 until
    /// the first update, as in Redis).
    pub(super) size: usize,
    first_update_ms: Option<u64>,
    among_minority_ms: Option<u64>,
    todo: Todo,
    /// Increases whenever slot ownership or the known nodes change, so a
    /// topology built from an older generation is known to be stale even
    /// after another caller took the [`Todo`].
    generation: u64,
    /// Links, the blacklist and what the bus must send (see `gossip`).
    pub(super) bus: BusState,
    /// `cluster-node-timeout`
    pub node_timeout_ms: u64,
    /// `cluster-require-full-coverage`
    pub require_full_coverage: bool,
    /// `cluster-preferred-endpoint-type`
    pub preferred_endpoint: EndpointType,
    /// `cluster-allow-replica-migration`: a master left without slots by a
    /// newer configuration becomes a replica of the node that took them.
    pub allow_replica_migration: bool,
    /// Gossip the nodes CLUSTER FORGET blacklisted in FORGOTTEN_NODE ping
    /// extensions, as Redis 7.2 does. Off by default: 7.0.15 neither sends
    /// nor understands them (it logs each as an unknown extension). Received
    /// ones are acted on either way.
    pub gossip_forgotten_nodes: bool,
    pub stats: BusStats,
}

/// Reads the arguments after the subcommand name as slots, `Invalid or out of
/// range slot` for the first bad one.
fn parse_slots<A: AsRef<[u8]>>(args: &[A]) -> Result<Vec<u16>, ClusterError> {
    args.iter()
        .map(|a| parse_slot(a.as_ref()).ok_or(ClusterError::InvalidSlot))
        .collect()
}

/// `string2ll`: a canonical decimal i64 (optional `-`, no leading zeros, no
/// `+`, no spaces).
pub(super) fn parse_i64_strict(arg: &[u8]) -> Option<i64> {
    let digits = arg.strip_prefix(b"-").unwrap_or(arg);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.first() == Some(&b'0') && (digits.len() > 1 || digits.len() != arg.len()) {
        return None;
    }
    std::str::from_utf8(arg).ok()?.parse().ok()
}

impl ClusterState {
    /// A fresh node: random id, master, no slots, epochs 0, listening on
    /// `port` with its bus on `cport` (normally `port + 10000`).
    pub fn new(port: u16, cport: u16) -> ClusterState {
        ClusterState::with_id(NodeId::random(), port, cport)
    }

    /// [`ClusterState::new`] with a given id.
    pub fn with_id(id: NodeId, port: u16, cport: u16) -> ClusterState {
        let mut myself = ClusterNode::new(id);
        myself.flags = NodeFlags::MYSELF | NodeFlags::MASTER;
        myself.port = port;
        myself.cport = cport;
        myself.link_connected = true;
        ClusterState {
            myself,
            others: Vec::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            open_slots: OpenSlots::default(),
            health: Health::Fail,
            size: 1,
            first_update_ms: None,
            among_minority_ms: None,
            todo: Todo {
                save_config: true,
                fsync_config: true,
                update_state: true,
                slots_changed: true,
                replication_changed: false,
            },
            generation: 0,
            bus: BusState::default(),
            node_timeout_ms: DEFAULT_NODE_TIMEOUT_MS,
            require_full_coverage: true,
            preferred_endpoint: EndpointType::Ip,
            allow_replica_migration: true,
            gossip_forgotten_nodes: false,
            stats: BusStats::default(),
        }
    }

    /// The state a `nodes.conf` describes. As in Redis, a slot claimed by
    /// two nodes goes to the first in file order, nodes only referred to (as
    /// a master or migration peer) are added without address or flags, and
    /// the current epoch is raised to the highest config epoch. The caller
    /// then sets the ports it listens on ([`ClusterState::set_my_ports`]):
    /// Redis takes them from its configuration, not from the file.
    pub fn from_conf(conf: NodesConf) -> Result<ClusterState, String> {
        let NodesConf {
            nodes,
            open_slots,
            current_epoch,
            last_vote_epoch,
        } = conf;
        let mut myself = None;
        let mut others = Vec::with_capacity(nodes.len());
        let mut claimed = SlotSet::new();
        for mut node in nodes {
            let mine = std::mem::take(&mut node.slots);
            for slot in mine.iter() {
                if claimed.insert(slot) {
                    node.slots.insert(slot);
                }
            }
            if node.is_myself() {
                if myself.is_some() {
                    return Err("more than one node is flagged myself".into());
                }
                node.link_connected = true;
                myself = Some(node);
            } else {
                others.push(node);
            }
        }
        let myself = myself.ok_or("no node is flagged myself")?;
        let mut state = ClusterState::with_id(myself.id, myself.port, myself.cport);
        state.myself = myself;
        state.others = others;
        state.open_slots = open_slots;
        state.last_vote_epoch = last_vote_epoch;
        let referred: Vec<NodeId> = state
            .nodes()
            .filter_map(|n| n.replica_of)
            .chain(state.open_slots.migrating.values().copied())
            .chain(state.open_slots.importing.values().copied())
            .collect();
        for id in referred {
            if state.node(&id).is_none() {
                state.others.push(ClusterNode::new(id));
            }
        }
        state.current_epoch = current_epoch.max(state.max_config_epoch());
        state.todo = Todo {
            save_config: false,
            fsync_config: false,
            update_state: true,
            slots_changed: true,
            replication_changed: state.myself.is_replica(),
        };
        Ok(state)
    }

    /// The `nodes.conf` contents for this state.
    pub fn to_conf(&self) -> NodesConf {
        NodesConf {
            nodes: self.nodes().cloned().collect(),
            open_slots: self.open_slots.clone(),
            current_epoch: self.current_epoch,
            last_vote_epoch: self.last_vote_epoch,
        }
    }

    /// The `nodes.conf` text for this state (what [`nodes_conf::save_atomic`]
    /// should write).
    pub fn nodes_conf_text(&self) -> String {
        self.to_conf().to_text()
    }

    // ----- accessors ---------------------------------------------------

    pub fn myself(&self) -> &ClusterNode {
        &self.myself
    }

    pub fn my_id(&self) -> NodeId {
        self.myself.id
    }

    /// Every known node, myself first.
    pub fn nodes(&self) -> impl Iterator<Item = &ClusterNode> + Clone {
        std::iter::once(&self.myself).chain(self.others.iter())
    }

    /// Every known node but myself.
    pub fn others(&self) -> &[ClusterNode] {
        &self.others
    }

    pub fn node(&self, id: &NodeId) -> Option<&ClusterNode> {
        self.nodes().find(|n| n.id == *id)
    }

    /// The slots this node serves.
    pub fn my_slots(&self) -> &SlotSet {
        &self.myself.slots
    }

    /// The node serving `slot`, if any.
    pub fn slot_owner(&self, slot: u16) -> Option<&ClusterNode> {
        self.nodes().find(|n| n.slots.contains(slot))
    }

    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    pub fn last_vote_epoch(&self) -> u64 {
        self.last_vote_epoch
    }

    pub fn config_epoch(&self) -> u64 {
        self.myself.config_epoch
    }

    pub fn open_slots(&self) -> &OpenSlots {
        &self.open_slots
    }

    /// Cached `cluster_state`.
    pub fn health(&self) -> Health {
        self.health
    }

    pub fn is_ok(&self) -> bool {
        self.health == Health::Ok
    }

    /// Cached `cluster_size`.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The pending work, cleared.
    pub fn take_todo(&mut self) -> Todo {
        std::mem::take(&mut self.todo)
    }

    pub(super) fn mark(&mut self, todo: Todo) {
        if todo.slots_changed {
            self.generation += 1;
        }
        self.todo.merge(todo);
    }

    /// Slots of other nodes, their addresses or the set of nodes changed:
    /// a topology built before is stale.
    pub(super) fn topology_changed(&mut self) {
        self.generation += 1;
    }

    /// See the `generation` field: changes with every change of slots or nodes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    // ----- own address -------------------------------------------------

    /// The ports this node listens on (from configuration, overriding what
    /// nodes.conf said, as Redis does at start).
    pub fn set_my_ports(&mut self, port: u16, cport: u16) {
        if (self.myself.port, self.myself.cport) != (port, cport) {
            self.myself.port = port;
            self.myself.cport = cport;
            self.mark(Todo {
                save_config: true,
                ..Todo::default()
            });
        }
    }

    /// The IP this node was told it has (MEET, or `cluster-announce-ip`).
    pub fn set_my_ip(&mut self, ip: &str) {
        if self.myself.ip != ip {
            self.myself.ip = ip.to_string();
            self.mark(Todo {
                save_config: true,
                ..Todo::default()
            });
        }
    }

    /// `cluster-announce-hostname` (empty for none).
    pub fn set_my_hostname(&mut self, hostname: &str) {
        if self.myself.hostname != hostname {
            self.myself.hostname = hostname.to_string();
            self.mark(Todo {
                save_config: true,
                ..Todo::default()
            });
        }
    }

    // ----- slot assignment ---------------------------------------------

    /// Redis's `checkSlotAssignmentsOrReply` for `start..=end`.
    fn check_slots(
        &self,
        seen: &mut SlotSet,
        del: bool,
        start: u16,
        end: u16,
    ) -> Result<(), ClusterError> {
        for slot in start..=end {
            let assigned = self.slot_owner(slot).is_some();
            if del && !assigned {
                return Err(ClusterError::SlotUnassigned(slot));
            }
            if !del && assigned {
                return Err(ClusterError::SlotBusy(slot));
            }
            if !seen.insert(slot) {
                return Err(ClusterError::SlotRepeated(slot));
            }
        }
        Ok(())
    }

    /// Applies a checked set of slots (`clusterUpdateSlots`).
    fn update_slots(&mut self, slots: &SlotSet, del: bool) {
        let mut mine_changed = false;
        let mut others_changed = false;
        for slot in slots.iter() {
            // Now that the slot has an owner (or none), it is no longer
            // being imported.
            self.open_slots.importing.remove(&slot);
            if del {
                mine_changed |= self.myself.slots.remove(slot);
                for node in &mut self.others {
                    others_changed |= node.slots.remove(slot);
                }
            } else {
                mine_changed |= self.myself.slots.insert(slot);
            }
        }
        if others_changed {
            self.topology_changed();
        }
        self.mark(Todo {
            save_config: true,
            update_state: true,
            slots_changed: mine_changed,
            ..Todo::default()
        });
    }

    fn slots_command<A: AsRef<[u8]>>(
        &mut self,
        args: &[A],
        del: bool,
        name: &'static str,
    ) -> Result<(), ClusterError> {
        if args.is_empty() {
            return Err(ClusterError::WrongArity(name));
        }
        // Every argument must parse before any is checked.
        let slots = parse_slots(args)?;
        let mut seen = SlotSet::new();
        for slot in slots {
            self.check_slots(&mut seen, del, slot, slot)?;
        }
        self.update_slots(&seen, del);
        Ok(())
    }

    fn slots_range_command<A: AsRef<[u8]>>(
        &mut self,
        args: &[A],
        del: bool,
        name: &'static str,
    ) -> Result<(), ClusterError> {
        if args.is_empty() || !args.len().is_multiple_of(2) {
            return Err(ClusterError::WrongArity(name));
        }
        // Each pair is parsed and checked before the next is read.
        let mut seen = SlotSet::new();
        for pair in args.chunks_exact(2) {
            let [start, end] = pair else { continue };
            let start = parse_slot(start.as_ref()).ok_or(ClusterError::InvalidSlot)?;
            let end = parse_slot(end.as_ref()).ok_or(ClusterError::InvalidSlot)?;
            if start > end {
                return Err(ClusterError::RangeReversed(start, end));
            }
            self.check_slots(&mut seen, del, start, end)?;
        }
        self.update_slots(&seen, del);
        Ok(())
    }

    /// `CLUSTER ADDSLOTS slot [slot ...]`; `args` are the slots. Nothing
    /// changes unless every slot is valid, free and given once.
    pub fn add_slots<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), ClusterError> {
        self.slots_command(args, false, "addslots")
    }

    /// `CLUSTER ADDSLOTSRANGE start end [start end ...]`
    pub fn add_slots_range<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), ClusterError> {
        self.slots_range_command(args, false, "addslotsrange")
    }

    /// `CLUSTER DELSLOTS slot [slot ...]`
    pub fn del_slots<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), ClusterError> {
        self.slots_command(args, true, "delslots")
    }

    /// `CLUSTER DELSLOTSRANGE start end [start end ...]`
    pub fn del_slots_range<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), ClusterError> {
        self.slots_range_command(args, true, "delslotsrange")
    }

    /// `CLUSTER FLUSHSLOTS`: this node serves no slot any more. The caller
    /// first checks the db is empty (`ERR_FLUSHSLOTS_DB_NOT_EMPTY`).
    pub fn flush_slots(&mut self) {
        let had = !self.myself.slots.is_empty();
        self.myself.slots.clear();
        self.mark(Todo {
            save_config: true,
            update_state: true,
            slots_changed: had,
            ..Todo::default()
        });
    }

    // ----- reset and epochs --------------------------------------------

    /// Parses `CLUSTER RESET [HARD|SOFT]`: `typed` is the subcommand name as
    /// the client sent it, `args` what follows.
    pub fn parse_reset<A: AsRef<[u8]>>(
        typed: &[u8],
        args: &[A],
    ) -> Result<ResetMode, ClusterError> {
        match args {
            [] => Ok(ResetMode::Soft),
            [mode] if mode.as_ref().eq_ignore_ascii_case(b"hard") => Ok(ResetMode::Hard),
            [mode] if mode.as_ref().eq_ignore_ascii_case(b"soft") => Ok(ResetMode::Soft),
            [_] => Err(ClusterError::Syntax),
            _ => Err(ClusterError::subcommand_syntax(typed)),
        }
    }

    /// `CLUSTER RESET`: become a master serving nothing, close open slots
    /// and forget every other node; a hard reset also takes a new id and sets
    /// the epochs to 0. The caller first refuses a master holding keys
    /// (`ERR_RESET_MASTER_WITH_KEYS`).
    pub fn reset(&mut self, mode: ResetMode) -> ResetOutcome {
        let was_replica = self.myself.is_replica();
        if was_replica {
            self.myself.flags.remove(NodeFlags::SLAVE);
            self.myself.flags.insert(NodeFlags::MASTER);
            self.myself.replica_of = None;
        }
        self.open_slots.clear();
        let had_slots = !self.myself.slots.is_empty();
        self.myself.slots.clear();
        // Their links close with them (the bus sends the Close actions).
        let ids: Vec<NodeId> = self.others.iter().map(|n| n.id).collect();
        for id in ids {
            self.del_node(&id);
        }
        self.others.clear();
        if mode == ResetMode::Hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            self.myself.config_epoch = 0;
            self.myself.id = NodeId::random();
        }
        self.mark(Todo {
            save_config: true,
            fsync_config: true,
            update_state: true,
            slots_changed: had_slots,
            replication_changed: was_replica,
        });
        self.topology_changed();
        ResetOutcome { was_replica }
    }

    /// The greatest config epoch known, or the current epoch if greater.
    pub fn max_config_epoch(&self) -> u64 {
        self.nodes()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch)
    }

    /// `CLUSTER BUMPEPOCH`: `+BUMPED <epoch>` or `+STILL <epoch>`. Bumps
    /// when this node's config epoch is 0 or not the greatest.
    pub fn bump_epoch(&mut self) -> Reply {
        let bumped =
            self.myself.config_epoch == 0 || self.myself.config_epoch != self.max_config_epoch();
        if bumped {
            self.current_epoch += 1;
            self.myself.config_epoch = self.current_epoch;
            self.mark(Todo {
                save_config: true,
                fsync_config: true,
                ..Todo::default()
            });
        }
        let word = if bumped { "BUMPED" } else { "STILL" };
        Reply::Simple(format!("{word} {}", self.myself.config_epoch).into())
    }

    /// `CLUSTER SET-CONFIG-EPOCH epoch`, allowed only on a node that knows
    /// no other node and whose config epoch is 0.
    pub fn set_config_epoch<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), ClusterError> {
        let [arg] = args else {
            return Err(ClusterError::WrongArity("set-config-epoch"));
        };
        let epoch = parse_i64_strict(arg.as_ref()).ok_or(ClusterError::NotInteger)?;
        let epoch = u64::try_from(epoch).map_err(|_| ClusterError::InvalidConfigEpoch(epoch))?;
        if !self.others.is_empty() {
            return Err(ClusterError::ConfigEpochOtherNodes);
        }
        if self.myself.config_epoch != 0 {
            return Err(ClusterError::ConfigEpochNonZero);
        }
        self.myself.config_epoch = epoch;
        self.current_epoch = self.current_epoch.max(epoch);
        self.mark(Todo {
            save_config: true,
            update_state: true,
            ..Todo::default()
        });
        Ok(())
    }

    // ----- state -------------------------------------------------------

    /// Recomputes `cluster_state` and `cluster_size` at `now_ms` (Unix ms),
    /// as Redis's `clusterUpdateState`.
    pub fn update_state(&mut self, now_ms: u64) {
        self.todo.update_state = false;
        let first = *self.first_update_ms.get_or_insert(now_ms);
        if self.myself.is_master()
            && self.health == Health::Fail
            && now_ms.saturating_sub(first) < WRITABLE_DELAY_MS
        {
            return;
        }

        let mut new = Health::Ok;
        if self.require_full_coverage {
            let served: usize = self
                .nodes()
                .filter(|n| !n.is_failed())
                .map(|n| n.slots.count())
                .sum();
            if served < SLOTS {
                new = Health::Fail;
            }
        }

        let mut size = 0;
        let mut reachable = 0;
        for node in self.nodes() {
            if node.is_master() && !node.slots.is_empty() {
                size += 1;
                if !node.flags.intersects(NodeFlags::FAIL | NodeFlags::PFAIL) {
                    reachable += 1;
                }
            }
        }
        self.size = size;
        if reachable < size / 2 + 1 {
            new = Health::Fail;
            self.among_minority_ms = Some(now_ms);
        }

        if new != self.health {
            let rejoin = self
                .node_timeout_ms
                .clamp(MIN_REJOIN_DELAY_MS, MAX_REJOIN_DELAY_MS);
            let recently_minority = self
                .among_minority_ms
                .is_some_and(|t| now_ms.saturating_sub(t) < rejoin);
            if new == Health::Ok && self.myself.is_master() && recently_minority {
                return;
            }
            self.health = new;
        }
    }

    // ----- replies -----------------------------------------------------

    /// `CLUSTER MYID`
    pub fn myid_reply(&self) -> Reply {
        Reply::bulk_from_slice(self.myself.id.as_bytes())
    }

    /// The text of `CLUSTER INFO` (`\r\n` line ends).
    pub fn info_text(&self) -> String {
        let (mut assigned, mut ok, mut pfail, mut fail) = (0usize, 0usize, 0usize, 0usize);
        for node in self.nodes() {
            let n = node.slots.count();
            assigned += n;
            if node.is_failed() {
                fail += n;
            } else if node.flags.contains(NodeFlags::PFAIL) {
                pfail += n;
            } else {
                ok += n;
            }
        }
        let my_epoch = match self.myself.replica_of {
            Some(master) if self.myself.is_replica() => self
                .node(&master)
                .map_or(self.myself.config_epoch, |m| m.config_epoch),
            _ => self.myself.config_epoch,
        };
        let state = match self.health {
            Health::Ok => "ok",
            Health::Fail => "fail",
        };
        let mut out = String::with_capacity(512);
        let _ = write!(
            out,
            "cluster_state:{state}\r\n\
             cluster_slots_assigned:{assigned}\r\n\
             cluster_slots_ok:{ok}\r\n\
             cluster_slots_pfail:{pfail}\r\n\
             cluster_slots_fail:{fail}\r\n\
             cluster_known_nodes:{}\r\n\
             cluster_size:{}\r\n\
             cluster_current_epoch:{}\r\n\
             cluster_my_epoch:{my_epoch}\r\n",
            1 + self.others.len(),
            self.size,
            self.current_epoch,
        );
        for (counts, dir) in [
            (&self.stats.sent, "sent"),
            (&self.stats.received, "received"),
        ] {
            let mut total = 0u64;
            for (name, &count) in MSG_TYPE_NAMES.iter().zip(counts.iter()) {
                if count != 0 {
                    total += count;
                    let _ = write!(out, "cluster_stats_messages_{name}_{dir}:{count}\r\n");
                }
            }
            let _ = write!(out, "cluster_stats_messages_{dir}:{total}\r\n");
        }
        let _ = write!(
            out,
            "total_cluster_links_buffer_limit_exceeded:{}\r\n",
            self.stats.links_buffer_limit_exceeded
        );
        out
    }

    /// `CLUSTER INFO`: a verbatim `txt` string (a bulk string in RESP2).
    pub fn info_reply(&self) -> Reply {
        Reply::Verbatim("txt", Bytes::from(self.info_text()))
    }

    /// The text of `CLUSTER NODES`: one line per node, `\n` line ends.
    pub fn nodes_text(&self) -> String {
        let mut out = String::with_capacity(128 * (1 + self.others.len()));
        for node in self.nodes() {
            let epoch = nodes_conf::shown_epoch(node, self.nodes());
            let open = node.is_myself().then_some(&self.open_slots);
            nodes_conf::write_node_line(&mut out, node, epoch, open);
        }
        out
    }

    /// `CLUSTER NODES`: a verbatim `txt` string (a bulk string in RESP2).
    pub fn nodes_reply(&self) -> Reply {
        Reply::Verbatim("txt", Bytes::from(self.nodes_text()))
    }

    /// Replicas of `master`.
    fn replicas_of<'a>(&'a self, master: &'a NodeId) -> impl Iterator<Item = &'a ClusterNode> + 'a {
        self.nodes()
            .filter(move |n| n.is_replica() && n.replica_of.as_ref() == Some(master))
    }

    /// A node entry of CLUSTER SLOTS: preferred endpoint, port, id, and a
    /// map of the other known endpoints.
    fn slots_node_entry(&self, node: &ClusterNode) -> Reply {
        let endpoint = match self.preferred_endpoint {
            EndpointType::Ip => Reply::bulk_from_slice(node.ip.as_bytes()),
            EndpointType::Hostname if node.hostname.is_empty() => Reply::bulk_from_slice(b"?"),
            EndpointType::Hostname => Reply::bulk_from_slice(node.hostname.as_bytes()),
            EndpointType::UnknownEndpoint => Reply::Nil,
        };
        let mut meta = Vec::new();
        if self.preferred_endpoint != EndpointType::Ip {
            meta.push((
                Reply::bulk_from_slice(b"ip"),
                Reply::bulk_from_slice(node.ip.as_bytes()),
            ));
        }
        if self.preferred_endpoint != EndpointType::Hostname && !node.hostname.is_empty() {
            meta.push((
                Reply::bulk_from_slice(b"hostname"),
                Reply::bulk_from_slice(node.hostname.as_bytes()),
            ));
        }
        Reply::Array(vec![
            endpoint,
            Reply::Int(i64::from(node.port)),
            Reply::bulk_from_slice(node.id.as_bytes()),
            Reply::Map(meta),
        ])
    }

    /// `CLUSTER SLOTS`: one entry per run of slots with the same owner, in
    /// slot order: `[start, end, master, replicas...]`. Like Redis 7.0.15
    /// (`isReplicaAvailable`), replicas that failed or report offset 0 (not
    /// synced yet) are left out; `my_repl_offset` is this node's offset, used
    /// when it is itself a replica.
    pub fn slots_reply(&self, my_repl_offset: i64) -> Reply {
        let mut owners: Vec<(u16, u16, &ClusterNode)> = self
            .nodes()
            .flat_map(|n| n.slots.ranges().map(move |(s, e)| (s, e, n)))
            .collect();
        owners.sort_by_key(|&(start, _, _)| start);
        // Adjacent ranges of one node are one run.
        let mut runs: Vec<(u16, u16, &ClusterNode)> = Vec::with_capacity(owners.len());
        for (start, end, node) in owners {
            match runs.last_mut() {
                Some(last) if last.2.id == node.id && u32::from(last.1) + 1 == u32::from(start) => {
                    last.1 = end;
                }
                _ => runs.push((start, end, node)),
            }
        }
        let entries = runs
            .into_iter()
            .map(|(start, end, node)| {
                let mut entry = vec![
                    Reply::Int(i64::from(start)),
                    Reply::Int(i64::from(end)),
                    self.slots_node_entry(node),
                ];
                entry.extend(
                    self.replicas_of(&node.id)
                        .filter(|r| {
                            let offset = if r.is_myself() {
                                my_repl_offset
                            } else {
                                r.repl_offset
                            };
                            !r.is_failed() && offset != 0
                        })
                        .map(|r| self.slots_node_entry(r)),
                );
                Reply::Array(entry)
            })
            .collect();
        Reply::Array(entries)
    }

    /// A node of CLUSTER SHARDS.
    fn shards_node_entry(&self, node: &ClusterNode, my_repl_offset: i64) -> Reply {
        let endpoint: &[u8] = match self.preferred_endpoint {
            EndpointType::Ip => node.ip.as_bytes(),
            EndpointType::Hostname if node.hostname.is_empty() => b"?",
            EndpointType::Hostname => node.hostname.as_bytes(),
            EndpointType::UnknownEndpoint => b"",
        };
        let offset = if node.is_myself() {
            my_repl_offset
        } else {
            node.repl_offset
        };
        let health: &'static [u8] = if node.is_failed() {
            b"fail"
        } else if node.is_replica() && offset == 0 {
            b"loading"
        } else {
            b"online"
        };
        let key = |k: &'static [u8]| Reply::Bulk(Bytes::from_static(k));
        let mut fields = vec![(key(b"id"), Reply::bulk_from_slice(node.id.as_bytes()))];
        if node.port != 0 {
            fields.push((key(b"port"), Reply::Int(i64::from(node.port))));
        }
        fields.push((key(b"ip"), Reply::bulk_from_slice(node.ip.as_bytes())));
        fields.push((key(b"endpoint"), Reply::bulk_from_slice(endpoint)));
        if !node.hostname.is_empty() {
            fields.push((
                key(b"hostname"),
                Reply::bulk_from_slice(node.hostname.as_bytes()),
            ));
        }
        let role: &'static [u8] = if node.is_replica() {
            b"replica"
        } else {
            b"master"
        };
        fields.push((key(b"role"), Reply::Bulk(Bytes::from_static(role))));
        fields.push((key(b"replication-offset"), Reply::Int(offset)));
        fields.push((key(b"health"), Reply::Bulk(Bytes::from_static(health))));
        Reply::Map(fields)
    }

    /// `CLUSTER SHARDS`: one map per master, `slots` (flat start/end pairs)
    /// and `nodes` (the master, then its replicas). `my_repl_offset` is
    /// this node's replication offset (`master_repl_offset`).
    pub fn shards_reply(&self, my_repl_offset: i64) -> Reply {
        let shards = self
            .nodes()
            .filter(|n| n.is_master())
            .map(|master| {
                let slots = master
                    .slots
                    .ranges()
                    .flat_map(|(s, e)| [Reply::Int(i64::from(s)), Reply::Int(i64::from(e))])
                    .collect();
                let nodes = std::iter::once(master)
                    .chain(self.replicas_of(&master.id))
                    .map(|n| self.shards_node_entry(n, my_repl_offset))
                    .collect();
                Reply::Map(vec![
                    (
                        Reply::Bulk(Bytes::from_static(b"slots")),
                        Reply::Array(slots),
                    ),
                    (
                        Reply::Bulk(Bytes::from_static(b"nodes")),
                        Reply::Array(nodes),
                    ),
                ])
            })
            .collect();
        Reply::Array(shards)
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
