//! Redis Cluster, the parts that are plain code: no sockets, no runtime.
//!
//! * [`slot`]: `key -> slot` (CRC16/XMODEM with hash tags, exactly as Redis
//!   Cluster) and [`SlotSet`], a 16384-bit set of slots.
//! * [`node`]: a node as this node knows it ([`ClusterNode`]): id, address,
//!   flags, epochs, slots.
//! * [`state`]: [`ClusterState`], this node's identity, epochs and slot
//!   ownership, with the `CLUSTER` subcommands that need only that state
//!   (ADDSLOTS, ADDSLOTSRANGE, DELSLOTS, DELSLOTSRANGE, FLUSHSLOTS, RESET,
//!   MYID, INFO, NODES, SLOTS, SHARDS, BUMPEPOCH, SET-CONFIG-EPOCH) and the
//!   `cluster_state` computation, driven by the caller's clock.
//! * [`nodes_conf`]: the `nodes.conf` format of redis-server 7.0.15, its
//!   parser (errors name file and line) and an atomic writer.
//! * [`msg`]: the cluster bus wire format (Redis 7.0.15's `clusterMsg`),
//!   encoder, validating decoder and `frame_len` for framing a stream.
//! * [`gossip`]: the bus state machine on [`ClusterState`]: MEET and
//!   handshakes, PING/PONG gossip, the 100 ms cron, PFAIL/FAIL, slot
//!   ownership by config epoch, UPDATE, epoch collisions, FORGET, PUBLISH,
//!   votes, and the subcommands that need it (MEET, SETSLOT, FORGET,
//!   REPLICATE, COUNT-FAILURE-REPORTS, LINKS). It takes the time and returns
//!   [`BusAction`]s; only the bus I/O module touches sockets.
//! * [`error`]: the subcommands' error replies, with Redis's exact texts.
//!
//! Which core holds which slot's keys is `runtime::slot_table`'s business.
//!
//! Typical use by the runtime (core 0):
//!
//! ```text
//! let state = match nodes_conf::load(path)? {
//!     Some(conf) => ClusterState::from_conf(conf)?,
//!     None => ClusterState::new(port, port + 10000),
//! };
//! state.set_my_ports(port, port + 10000);
//! // after each command and every 100 ms:
//! let todo = state.take_todo();
//! if todo.update_state || !state.is_ok() { state.update_state(now_ms) }
//! if todo.save_config { nodes_conf::save_atomic(path, &state.nodes_conf_text())? }
//! if todo.slots_changed { rebuild the slot table from state.my_slots() }
//! if todo.replication_changed { replicate state.myself().replica_of, or stop }
//! for slot in state.take_lost_slots() { delete the slot's keys }
//! // the bus, on core 0 (see `gossip`'s module doc for the whole contract):
//! every 100 ms: run state.bus_cron(now_ms)'s actions
//! accepted: let link = state.bus_inbound_link(now_ms); state.bus_link_addrs(link, local, peer)
//! connected: state.bus_link_addrs(link, local, peer); run state.bus_link_connected(link, now_ms)
//! a frame: run state.bus_receive(link, frame, now_ms); errors: state.bus_link_closed(link, now_ms)
//! ```

pub mod bus_io;
pub mod error;
pub mod gossip;
pub mod msg;
pub mod node;
pub mod nodes_conf;
pub mod slot;
pub mod state;

pub use error::ClusterError;
pub use gossip::{BusAction, LinkId, LinkInfo};
pub use msg::BusError;
pub use node::{ClusterNode, FailReport, NodeFlags, NodeId, OpenSlots};
pub use nodes_conf::{save_atomic, LoadError, NodesConf};
pub use slot::{key_hash_slot, SlotSet, SLOTS};
pub use state::{bus_port_for, ClusterState, EndpointType, Health, ResetMode, ResetOutcome, Todo};
