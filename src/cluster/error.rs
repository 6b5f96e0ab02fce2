//! Errors of the `CLUSTER` subcommands, with Redis 7.0.15's exact texts.

use crate::protocol::Reply;
use std::fmt;

/// `CLUSTER FLUSHSLOTS` on a node whose db holds keys (the caller checks).
pub const ERR_FLUSHSLOTS_DB_NOT_EMPTY: &str = "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.";
/// `CLUSTER RESET` on a master holding keys, in any slot (the caller checks).
pub const ERR_RESET_MASTER_WITH_KEYS: &str =
    "ERR CLUSTER RESET can't be called with master nodes containing keys";
pub const ERR_INVALID_SLOT: &str = "ERR Invalid or out of range slot";
pub const ERR_SYNTAX: &str = "ERR syntax error";
pub const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const ERR_CONFIG_EPOCH_OTHER_NODES: &str =
    "ERR The user can assign a config epoch only when the node does not know any other node.";
pub const ERR_CONFIG_EPOCH_NON_ZERO: &str = "ERR Node config epoch is already non-zero";

/// An error reply of a `CLUSTER` subcommand. `Display` gives the reply text,
/// `ERR` prefix included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterError {
    /// `ERR wrong number of arguments for 'cluster|<sub>' command`; the name
    /// is the lowercase table name, whatever the client typed.
    WrongArity(&'static str),
    /// `ERR unknown subcommand or wrong number of arguments for '<typed>'.
    /// Try CLUSTER HELP.` (the name as typed, at most 128 bytes).
    SubcommandSyntax(String),
    /// `ERR syntax error`
    Syntax,
    /// `ERR Invalid or out of range slot`
    InvalidSlot,
    /// `ERR Slot <n> is already busy`
    SlotBusy(u16),
    /// `ERR Slot <n> is already unassigned`
    SlotUnassigned(u16),
    /// `ERR Slot <n> specified multiple times`
    SlotRepeated(u16),
    /// `ERR start slot number <a> is greater than end slot number <b>`
    RangeReversed(u16, u16),
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR Invalid config epoch specified: <n>`
    InvalidConfigEpoch(i64),
    /// SET-CONFIG-EPOCH on a node that knows other nodes.
    ConfigEpochOtherNodes,
    /// SET-CONFIG-EPOCH on a node whose config epoch is not 0.
    ConfigEpochNonZero,
    /// `ERR Unknown node <id>` (FORGET, REPLICATE, COUNT-FAILURE-REPORTS,
    /// SETSLOT ... NODE); the id as typed.
    UnknownNode(String),
    /// `ERR I don't know about node <id>` (SETSLOT MIGRATING|IMPORTING).
    DontKnowNode(String),
    /// `ERR Please use SETSLOT only with masters.`
    SetSlotOnReplica,
    /// `ERR I'm not the owner of hash slot <n>`
    NotSlotOwner(u16),
    /// `ERR I'm already the owner of hash slot <n>`
    AlreadySlotOwner(u16),
    /// `ERR Target node is not a master`
    TargetNotMaster,
    /// `ERR Can't assign hashslot <n> to a different node while I still hold
    /// keys for this hash slot.`
    SlotHasKeys(u16),
    /// `ERR Invalid CLUSTER SETSLOT action or number of arguments. Try
    /// CLUSTER HELP`
    SetSlotSyntax,
    /// `ERR I tried hard but I can't forget myself...`
    ForgetMyself,
    /// `ERR Can't forget my master!`
    ForgetMyMaster,
    /// `ERR Can't replicate myself`
    ReplicateMyself,
    /// `ERR I can only replicate a master, not a replica.`
    ReplicateReplica,
    /// `ERR To set a master the node must be empty and without assigned
    /// slots.`
    ReplicateNotEmpty,
    /// `ERR Invalid TCP base port specified: <port>` (MEET)
    InvalidBasePort(String),
    /// `ERR Invalid TCP bus port specified: <port>` (MEET)
    InvalidBusPort(String),
    /// `ERR Invalid node address specified: <ip>:<port>` (MEET)
    InvalidNodeAddress(String, String),
}

impl ClusterError {
    /// The subcommand-syntax error for the subcommand name as the client
    /// typed it. Like Redis, the name is cut to 128 bytes and CR/LF become
    /// spaces so the reply stays one line.
    pub fn subcommand_syntax(typed: &[u8]) -> ClusterError {
        let cut = typed.get(..128).unwrap_or(typed);
        let name = String::from_utf8_lossy(cut).replace(['\r', '\n'], " ");
        ClusterError::SubcommandSyntax(name)
    }

    /// An argument as Redis shows it inside an error (`addReplyErrorFormat`
    /// turns CR and LF into spaces).
    pub fn shown(arg: &[u8]) -> String {
        String::from_utf8_lossy(arg).replace(['\r', '\n'], " ")
    }

    pub fn to_reply(&self) -> Reply {
        match self {
            ClusterError::Syntax => Reply::err(ERR_SYNTAX),
            ClusterError::InvalidSlot => Reply::err(ERR_INVALID_SLOT),
            ClusterError::NotInteger => Reply::err(ERR_NOT_INTEGER),
            ClusterError::ConfigEpochOtherNodes => Reply::err(ERR_CONFIG_EPOCH_OTHER_NODES),
            ClusterError::ConfigEpochNonZero => Reply::err(ERR_CONFIG_EPOCH_NON_ZERO),
            other => Reply::err_owned(other.to_string()),
        }
    }
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::WrongArity(sub) => {
                write!(f, "ERR wrong number of arguments for 'cluster|{sub}' command")
            }
            ClusterError::SubcommandSyntax(name) => write!(
                f,
                "ERR unknown subcommand or wrong number of arguments for '{name}'. Try CLUSTER HELP."
            ),
            ClusterError::Syntax => f.write_str(ERR_SYNTAX),
            ClusterError::InvalidSlot => f.write_str(ERR_INVALID_SLOT),
            ClusterError::SlotBusy(slot) => write!(f, "ERR Slot {slot} is already busy"),
            ClusterError::SlotUnassigned(slot) => write!(f, "ERR Slot {slot} is already unassigned"),
            ClusterError::SlotRepeated(slot) => {
                write!(f, "ERR Slot {slot} specified multiple times")
            }
            ClusterError::RangeReversed(start, end) => write!(
                f,
                "ERR start slot number {start} is greater than end slot number {end}"
            ),
            ClusterError::NotInteger => f.write_str(ERR_NOT_INTEGER),
            ClusterError::InvalidConfigEpoch(epoch) => {
                write!(f, "ERR Invalid config epoch specified: {epoch}")
            }
            ClusterError::ConfigEpochOtherNodes => f.write_str(ERR_CONFIG_EPOCH_OTHER_NODES),
            ClusterError::ConfigEpochNonZero => f.write_str(ERR_CONFIG_EPOCH_NON_ZERO),
            ClusterError::UnknownNode(id) => write!(f, "ERR Unknown node {id}"),
            ClusterError::DontKnowNode(id) => write!(f, "ERR I don't know about node {id}"),
            ClusterError::SetSlotOnReplica => {
                f.write_str("ERR Please use SETSLOT only with masters.")
            }
            ClusterError::NotSlotOwner(slot) => {
                write!(f, "ERR I'm not the owner of hash slot {slot}")
            }
            ClusterError::AlreadySlotOwner(slot) => {
                write!(f, "ERR I'm already the owner of hash slot {slot}")
            }
            ClusterError::TargetNotMaster => f.write_str("ERR Target node is not a master"),
            ClusterError::SlotHasKeys(slot) => write!(
                f,
                "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
            ),
            ClusterError::SetSlotSyntax => f.write_str(
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
            ),
            ClusterError::ForgetMyself => {
                f.write_str("ERR I tried hard but I can't forget myself...")
            }
            ClusterError::ForgetMyMaster => f.write_str("ERR Can't forget my master!"),
            ClusterError::ReplicateMyself => f.write_str("ERR Can't replicate myself"),
            ClusterError::ReplicateReplica => {
                f.write_str("ERR I can only replicate a master, not a replica.")
            }
            ClusterError::ReplicateNotEmpty => f.write_str(
                "ERR To set a master the node must be empty and without assigned slots.",
            ),
            ClusterError::InvalidBasePort(port) => {
                write!(f, "ERR Invalid TCP base port specified: {port}")
            }
            ClusterError::InvalidBusPort(port) => {
                write!(f, "ERR Invalid TCP bus port specified: {port}")
            }
            ClusterError::InvalidNodeAddress(ip, port) => {
                write!(f, "ERR Invalid node address specified: {ip}:{port}")
            }
        }
    }
}

impl std::error::Error for ClusterError {}

impl From<ClusterError> for Reply {
    fn from(e: ClusterError) -> Reply {
        e.to_reply()
    }
}
