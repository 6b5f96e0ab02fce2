//! One node of the cluster as this node knows it: its id, address, flags,
//! epochs and slots. Shared by the cluster state, `CLUSTER NODES` and
//! `nodes.conf`.

use super::gossip::LinkId;
use super::slot::SlotSet;
use std::collections::BTreeMap;
use std::fmt;

/// Length of a node id: 40 characters.
pub const NODE_ID_LEN: usize = 40;

/// A node id: 40 characters of `[0-9a-z]` (Redis generates lowercase hex and
/// accepts lowercase alphanumerics, `verifyClusterNodeId`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId([u8; NODE_ID_LEN]);

impl NodeId {
    /// A fresh random id: 40 lowercase hex characters.
    pub fn random() -> NodeId {
        use rand::RngCore;
        let mut raw = [0u8; NODE_ID_LEN / 2];
        rand::rng().fill_bytes(&mut raw);
        let mut id = [0u8; NODE_ID_LEN];
        for (pair, byte) in id.chunks_exact_mut(2).zip(raw) {
            let hex = b"0123456789abcdef";
            if let [hi, lo] = pair {
                *hi = hex.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
                *lo = hex.get(usize::from(byte & 15)).copied().unwrap_or(b'0');
            }
        }
        NodeId(id)
    }

    /// Parses an id: exactly 40 characters of `[0-9a-z]`.
    pub fn parse(s: &[u8]) -> Option<NodeId> {
        let id: [u8; NODE_ID_LEN] = s.try_into().ok()?;
        id.iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            .then_some(NodeId(id))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.as_str())
    }
}

/// Node flags, as `CLUSTER NODES` and `nodes.conf` spell them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NodeFlags(u16);

impl NodeFlags {
    pub const NONE: NodeFlags = NodeFlags(0);
    pub const MYSELF: NodeFlags = NodeFlags(1 << 0);
    pub const MASTER: NodeFlags = NodeFlags(1 << 1);
    pub const SLAVE: NodeFlags = NodeFlags(1 << 2);
    /// `fail?`: this node suspects the node is down.
    pub const PFAIL: NodeFlags = NodeFlags(1 << 3);
    pub const FAIL: NodeFlags = NodeFlags(1 << 4);
    pub const HANDSHAKE: NodeFlags = NodeFlags(1 << 5);
    pub const NOADDR: NodeFlags = NodeFlags(1 << 6);
    pub const NOFAILOVER: NodeFlags = NodeFlags(1 << 7);
    /// Send MEET rather than PING on the next new link (a node added by
    /// `CLUSTER MEET`). Never printed, never saved, as in Redis.
    pub const MEET: NodeFlags = NodeFlags(1 << 8);

    /// The flags as `clusterNode.flags` numbers them on the bus
    /// (`CLUSTER_NODE_*` in cluster.h), in the same order as
    /// [`NodeFlags::from_wire`] reads them.
    const WIRE: [(NodeFlags, u16); 9] = [
        (NodeFlags::MASTER, 1),
        (NodeFlags::SLAVE, 2),
        (NodeFlags::PFAIL, 4),
        (NodeFlags::FAIL, 8),
        (NodeFlags::MYSELF, 16),
        (NodeFlags::HANDSHAKE, 32),
        (NodeFlags::NOADDR, 64),
        (NodeFlags::MEET, 128),
        // 256 is CLUSTER_NODE_MIGRATE_TO (replica migration), not kept.
        (NodeFlags::NOFAILOVER, 512),
    ];

    /// The flags in the bus encoding (header `flags`, gossip `flags`).
    pub fn to_wire(self) -> u16 {
        NodeFlags::WIRE
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .fold(0, |acc, (_, bit)| acc | bit)
    }

    /// Flags read from the bus; bits this node does not keep are dropped.
    pub fn from_wire(wire: u16) -> NodeFlags {
        NodeFlags::WIRE
            .iter()
            .filter(|(_, bit)| wire & bit != 0)
            .fold(NodeFlags::NONE, |acc, (f, _)| acc | *f)
    }

    /// Names in the order Redis prints them (`redisNodeFlagsTable`).
    const NAMES: [(NodeFlags, &'static str); 8] = [
        (NodeFlags::MYSELF, "myself"),
        (NodeFlags::MASTER, "master"),
        (NodeFlags::SLAVE, "slave"),
        (NodeFlags::PFAIL, "fail?"),
        (NodeFlags::FAIL, "fail"),
        (NodeFlags::HANDSHAKE, "handshake"),
        (NodeFlags::NOADDR, "noaddr"),
        (NodeFlags::NOFAILOVER, "nofailover"),
    ];

    #[inline]
    pub fn contains(self, other: NodeFlags) -> bool {
        self.0 & other.0 == other.0
    }

    #[inline]
    pub fn intersects(self, other: NodeFlags) -> bool {
        self.0 & other.0 != 0
    }

    #[inline]
    pub fn insert(&mut self, other: NodeFlags) {
        self.0 |= other.0;
    }

    #[inline]
    pub fn remove(&mut self, other: NodeFlags) {
        self.0 &= !other.0;
    }

    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// One flag name (case-insensitive, as Redis reads them); `noflags` is
    /// the empty set. `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<NodeFlags> {
        if name.eq_ignore_ascii_case("noflags") {
            return Some(NodeFlags::NONE);
        }
        NodeFlags::NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|&(f, _)| f)
    }
}

impl std::ops::BitOr for NodeFlags {
    type Output = NodeFlags;
    fn bitor(self, rhs: NodeFlags) -> NodeFlags {
        NodeFlags(self.0 | rhs.0)
    }
}

/// `myself,master`, or `noflags` for none.
impl fmt::Display for NodeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (flag, name) in NodeFlags::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("noflags")?;
        }
        Ok(())
    }
}

impl fmt::Debug for NodeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeFlags({self})")
    }
}

/// A node as this node knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterNode {
    pub id: NodeId,
    /// Empty until learned (a lone node does not know its own address).
    pub ip: String,
    /// Client port.
    pub port: u16,
    /// Cluster bus port.
    pub cport: u16,
    /// `cluster-announce-hostname`; empty if none.
    pub hostname: String,
    pub flags: NodeFlags,
    /// The master, for a replica.
    pub replica_of: Option<NodeId>,
    /// Unix time in ms of the ping we wait a pong for, 0 if none.
    pub ping_sent: u64,
    /// Unix time in ms of the last pong received, 0 if none.
    pub pong_received: u64,
    pub config_epoch: u64,
    /// Whether a bus link to the node is up (myself always shows connected).
    pub link_connected: bool,
    /// Slots it serves.
    pub slots: SlotSet,
    /// Replication offset it last announced.
    pub repl_offset: i64,
    /// Plaintext client port when `port` is the TLS one, else 0 (`pport`).
    pub pport: u16,
    /// When this node learned of it (Unix ms): handshakes time out from it.
    pub ctime: u64,
    /// When any message from it last arrived (Unix ms).
    pub data_received: u64,
    /// When it was flagged FAIL (Unix ms).
    pub fail_time: u64,
    /// When this node last voted for one of its replicas (Unix ms).
    pub voted_time: u64,
    /// When its replication offset was last heard (Unix ms).
    pub repl_offset_time: u64,
    /// Masters that reported it failing, and when they last did.
    pub fail_reports: Vec<FailReport>,
    /// The bus link this node opened to it, if any (`clusterNode.link`).
    pub link: Option<LinkId>,
    /// The bus link it opened to this node, once identified.
    pub inbound_link: Option<LinkId>,
    /// Number of the last PING/PONG it was gossiped in.
    pub last_in_ping_gossip: u64,
}

/// A master's report that a node is failing (`clusterNodeFailReport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailReport {
    pub reporter: NodeId,
    /// Unix ms of the last report.
    pub time: u64,
}

impl ClusterNode {
    /// A node with no address, flags or slots (what Redis creates for a node
    /// it has only heard of).
    pub fn new(id: NodeId) -> ClusterNode {
        ClusterNode {
            id,
            ip: String::new(),
            port: 0,
            cport: 0,
            hostname: String::new(),
            flags: NodeFlags::NONE,
            replica_of: None,
            ping_sent: 0,
            pong_received: 0,
            config_epoch: 0,
            link_connected: false,
            slots: SlotSet::new(),
            repl_offset: 0,
            pport: 0,
            ctime: 0,
            data_received: 0,
            fail_time: 0,
            voted_time: 0,
            repl_offset_time: 0,
            fail_reports: Vec::new(),
            link: None,
            inbound_link: None,
            last_in_ping_gossip: 0,
        }
    }

    pub fn is_myself(&self) -> bool {
        self.flags.contains(NodeFlags::MYSELF)
    }

    pub fn is_master(&self) -> bool {
        self.flags.contains(NodeFlags::MASTER)
    }

    pub fn is_replica(&self) -> bool {
        self.flags.contains(NodeFlags::SLAVE)
    }

    /// Flagged FAIL (not merely suspected).
    pub fn is_failed(&self) -> bool {
        self.flags.contains(NodeFlags::FAIL)
    }

    pub fn in_handshake(&self) -> bool {
        self.flags.contains(NodeFlags::HANDSHAKE)
    }
}

/// Slots in migration on this node (`CLUSTER SETSLOT ... MIGRATING|IMPORTING`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenSlots {
    /// slot -> node it is being moved to (`[slot->-id]`).
    pub migrating: BTreeMap<u16, NodeId>,
    /// slot -> node it is being moved from (`[slot-<-id]`).
    pub importing: BTreeMap<u16, NodeId>,
}

impl OpenSlots {
    pub fn is_empty(&self) -> bool {
        self.migrating.is_empty() && self.importing.is_empty()
    }

    pub fn clear(&mut self) {
        self.migrating.clear();
        self.importing.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_40_lowercase_hex() {
        let a = NodeId::random();
        let b = NodeId::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 40);
        assert!(a
            .as_str()
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(NodeId::parse(a.as_bytes()), Some(a));
    }

    #[test]
    fn id_validation() {
        assert!(NodeId::parse(b"820adec62c48ad66bf742ebce8c39e98d8057670").is_some());
        assert!(NodeId::parse(b"820adec62c48ad66bf742ebce8c39e98d805767").is_none());
        assert!(NodeId::parse(b"820adec62c48ad66bf742ebce8c39e98d80576700").is_none());
        assert!(NodeId::parse(b"820ADEC62C48AD66BF742EBCE8C39E98D8057670").is_none());
        assert!(NodeId::parse(b"820adec62c48ad66bf742ebce8c39e98d805767-").is_none());
    }

    #[test]
    fn flags_text() {
        assert_eq!(
            (NodeFlags::MYSELF | NodeFlags::MASTER).to_string(),
            "myself,master"
        );
        assert_eq!(
            (NodeFlags::FAIL | NodeFlags::MASTER).to_string(),
            "master,fail"
        );
        assert_eq!(
            (NodeFlags::SLAVE | NodeFlags::PFAIL).to_string(),
            "slave,fail?"
        );
        assert_eq!(NodeFlags::NONE.to_string(), "noflags");
        assert_eq!(NodeFlags::from_name("FAIL?"), Some(NodeFlags::PFAIL));
        assert_eq!(NodeFlags::from_name("noflags"), Some(NodeFlags::NONE));
        assert_eq!(NodeFlags::from_name("replica"), None);
        // MEET is never shown.
        assert_eq!(
            (NodeFlags::MASTER | NodeFlags::HANDSHAKE | NodeFlags::MEET).to_string(),
            "master,handshake"
        );
    }

    #[test]
    fn wire_flags_are_redis_numbers() {
        assert_eq!((NodeFlags::MYSELF | NodeFlags::MASTER).to_wire(), 17);
        assert_eq!((NodeFlags::SLAVE | NodeFlags::PFAIL).to_wire(), 6);
        assert_eq!((NodeFlags::FAIL | NodeFlags::NOFAILOVER).to_wire(), 8 | 512);
        assert_eq!((NodeFlags::HANDSHAKE | NodeFlags::MEET).to_wire(), 32 | 128);
        assert_eq!(NodeFlags::NOADDR.to_wire(), 64);
        for bits in 0..1024u16 {
            let back = NodeFlags::from_wire(bits).to_wire();
            assert_eq!(back, bits & !256, "{bits}");
        }
        assert_eq!(NodeFlags::from_wire(0xffff).to_wire(), 1023 & !256);
    }
}
