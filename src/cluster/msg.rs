//! The cluster bus wire format: Redis 7.0.15's `clusterMsg` (cluster.h),
//! encoded and decoded. No I/O; the socket side frames a stream with
//! [`frame_len`] and hands whole frames to [`decode`].
//!
//! # Layout
//!
//! Every integer is big-endian (`htons`/`htonl`/`htonu64`), except the
//! module id of MODULE messages, which Redis copies as it is. Strings sit
//! in fixed arrays and end with a NUL inside their array; node names are
//! exactly 40 bytes with no NUL. The header (`CLUSTERMSG_MIN_LEN`, 2256
//! bytes; the offsets are Redis's `static_assert`s):
//!
//! ```text
//! offset size field
//!      0    4 sig            "RCmb"
//!      4    4 totlen         whole message, header included
//!      8    2 ver            1
//!     10    2 port           client port (TLS port when the bus is TLS)
//!     12    2 type           PING 0 .. PUBLISHSHARD 10
//!     14    2 count          gossip entries (PING, PONG, MEET)
//!     16    8 currentEpoch
//!     24    8 configEpoch    own, or the master's for a replica
//!     32    8 offset         replication offset
//!     40   40 sender         node name
//!     80 2048 myslots        slot bitmap (the master's for a replica),
//!                            slot j = bit (j & 7) of byte j / 8
//!   2128   40 slaveof        master's name, all NUL for a master
//!   2168   46 myip           announced IP, all NUL when not announced
//!   2214    2 extensions     ping extensions after the gossip entries
//!   2216   30 notused1
//!   2246    2 pport          plaintext port when port is TLS, else 0
//!   2248    2 cport          cluster bus port
//!   2250    2 flags          sender's node flags (CLUSTER_NODE_*)
//!   2252    1 state          sender's cluster_state: 0 ok, 1 fail
//!   2253    3 mflags         mflags[0]: 1 PAUSED, 2 FORCEACK, 4 EXT_DATA
//!   2256      data           by type, below
//! ```
//!
//! Bodies:
//!
//! * PING, PONG, MEET: `count` gossip entries of 104 bytes (`nodename[40]
//!   ping_sent:u32 pong_received:u32 ip[46] port:u16 cport:u16 flags:u16
//!   pport:u16 notused1:u16`; times in seconds), then, when mflags[0] has
//!   EXT_DATA, `extensions` ping extensions, each `length:u32 type:u16
//!   unused:u16` and its data, `length` counting the 8-byte header and a
//!   multiple of 8. Redis 7.0.15 knows one type, HOSTNAME (0: the hostname,
//!   NUL-terminated, padded); 7.2 added HUMAN_NODENAME (1), FORGOTTEN_NODE
//!   (2: `name[40] ttl:u64` seconds) and SHARDID (3: `shard_id[40]`). These
//!   four are decoded; other types are kept as opaque bytes.
//! * FAIL: `nodename[40]`.
//! * PUBLISH, PUBLISHSHARD: `channel_len:u32 message_len:u32` then the
//!   channel and the message.
//! * UPDATE: `configEpoch:u64 nodename[40] slots[2048]`.
//! * FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART: nothing.
//! * MODULE: `module_id:u64 len:u32 type:u8` then `len` bytes (not kept).
//!
//! `totlen` must be exactly what the type implies, as Redis checks it
//! (`clusterProcessPacket`); a type this version does not know is accepted
//! whatever its length, as Redis does. Stricter than Redis: node names must
//! be node ids, strings must end inside their arrays, and IPs and hostnames
//! must be printable ASCII without spaces, `,` or `@` (they end up in
//! nodes.conf).

use super::node::{NodeId, NODE_ID_LEN};
use super::slot::{SlotSet, SLOT_BITMAP_LEN};
use std::fmt;

/// `sig` of every message.
pub const SIGNATURE: [u8; 4] = *b"RCmb";
/// `CLUSTER_PROTO_VER`
pub const PROTO_VER: u16 = 1;

// Header field offsets (cluster.h's static_asserts).
pub const OFF_SIG: usize = 0;
pub const OFF_TOTLEN: usize = 4;
pub const OFF_VER: usize = 8;
pub const OFF_PORT: usize = 10;
pub const OFF_TYPE: usize = 12;
pub const OFF_COUNT: usize = 14;
pub const OFF_CURRENT_EPOCH: usize = 16;
pub const OFF_CONFIG_EPOCH: usize = 24;
pub const OFF_OFFSET: usize = 32;
pub const OFF_SENDER: usize = 40;
pub const OFF_MYSLOTS: usize = 80;
pub const OFF_SLAVEOF: usize = 2128;
pub const OFF_MYIP: usize = 2168;
pub const OFF_EXTENSIONS: usize = 2214;
pub const OFF_NOTUSED: usize = 2216;
pub const OFF_PPORT: usize = 2246;
pub const OFF_CPORT: usize = 2248;
pub const OFF_FLAGS: usize = 2250;
pub const OFF_STATE: usize = 2252;
pub const OFF_MFLAGS: usize = 2253;
pub const OFF_DATA: usize = 2256;

/// `NET_IP_STR_LEN`: the IP arrays, NUL included.
pub const IP_LEN: usize = 46;
/// Header length (`CLUSTERMSG_MIN_LEN`): the shortest valid message.
pub const HEADER_LEN: usize = OFF_DATA;
/// One gossip entry (`clusterMsgDataGossip`).
pub const GOSSIP_LEN: usize = 104;
/// FAIL body.
pub const FAIL_LEN: usize = NODE_ID_LEN;
/// PUBLISH body before the channel and message.
pub const PUBLISH_FIXED_LEN: usize = 8;
/// UPDATE body.
pub const UPDATE_LEN: usize = 8 + NODE_ID_LEN + SLOT_BITMAP_LEN;
/// MODULE body before the payload.
pub const MODULE_FIXED_LEN: usize = 13;
/// A ping extension's header.
pub const EXT_HEADER_LEN: usize = 8;
/// `sizeof(clusterMsg)`: the header plus the largest fixed body (UPDATE).
pub const MSG_STRUCT_LEN: usize = HEADER_LEN + UPDATE_LEN;
/// The longest `totlen` [`frame_len`] accepts. Only PUBLISH grows without
/// bound; its channel and message are each at most `proto-max-bulk-len`
/// (512 MB by default), so this leaves room for both. A reader must still
/// grow its buffer with the data that arrives, not with `totlen`.
pub const MAX_FRAME_LEN: usize = (1 << 30) + HEADER_LEN + PUBLISH_FIXED_LEN;

// Gossip entry offsets.
const G_NAME: usize = 0;
const G_PING_SENT: usize = 40;
const G_PONG_RECEIVED: usize = 44;
const G_IP: usize = 48;
const G_PORT: usize = 94;
const G_CPORT: usize = 96;
const G_FLAGS: usize = 98;
const G_PPORT: usize = 100;

// Message types (`CLUSTERMSG_TYPE_*`).
pub const TYPE_PING: u16 = 0;
pub const TYPE_PONG: u16 = 1;
pub const TYPE_MEET: u16 = 2;
pub const TYPE_FAIL: u16 = 3;
pub const TYPE_PUBLISH: u16 = 4;
pub const TYPE_FAILOVER_AUTH_REQUEST: u16 = 5;
pub const TYPE_FAILOVER_AUTH_ACK: u16 = 6;
pub const TYPE_UPDATE: u16 = 7;
pub const TYPE_MFSTART: u16 = 8;
pub const TYPE_MODULE: u16 = 9;
pub const TYPE_PUBLISHSHARD: u16 = 10;
/// Number of known types (`CLUSTERMSG_TYPE_COUNT`).
pub const TYPE_COUNT: u16 = 11;

// mflags[0] bits.
pub const MFLAG0_PAUSED: u8 = 1 << 0;
pub const MFLAG0_FORCEACK: u8 = 1 << 1;
pub const MFLAG0_EXT_DATA: u8 = 1 << 2;

// Ping extension types.
pub const EXT_HOSTNAME: u16 = 0;
pub const EXT_HUMAN_NODENAME: u16 = 1;
pub const EXT_FORGOTTEN_NODE: u16 = 2;
pub const EXT_SHARDID: u16 = 3;

/// Why bytes are not a valid bus message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusError {
    /// Fewer bytes than the part being read needs.
    Truncated { needed: usize, got: usize },
    /// The first four bytes are not `RCmb`.
    BadSignature,
    /// `totlen` shorter than a header or longer than [`MAX_FRAME_LEN`].
    BadFrameLength(u32),
    /// `totlen` is not the length of the frame given.
    FrameLengthMismatch { totlen: u32, frame: usize },
    /// `ver` other than 1.
    BadVersion(u16),
    /// `totlen` is not what the type and its counts imply.
    BadLength {
        msg_type: u16,
        totlen: u32,
        expected: u64,
    },
    /// A ping extension whose length is not a multiple of 8, shorter than
    /// its header, or past the end of the message.
    BadExtension { index: u16, length: u32 },
    /// A field that is not what it must be: a node name not 40 characters of
    /// `[0-9a-z]`, a string without its NUL, text that is not UTF-8.
    BadField(&'static str),
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusError::Truncated { needed, got } => {
                write!(f, "truncated message: {got} bytes, {needed} needed")
            }
            BusError::BadSignature => f.write_str("bad message signature"),
            BusError::BadFrameLength(len) => write!(f, "bad message length {len}"),
            BusError::FrameLengthMismatch { totlen, frame } => {
                write!(f, "message length {totlen} but the frame has {frame} bytes")
            }
            BusError::BadVersion(v) => write!(f, "unsupported protocol version {v}"),
            BusError::BadLength {
                msg_type,
                totlen,
                expected,
            } => write!(
                f,
                "invalid {} message of length {totlen}, expected {expected}",
                type_name(*msg_type)
            ),
            BusError::BadExtension { index, length } => {
                write!(f, "invalid ping extension #{index} of length {length}")
            }
            BusError::BadField(field) => write!(f, "invalid field {field}"),
        }
    }
}

impl std::error::Error for BusError {}

/// The name CLUSTER INFO and Redis's logs use for a message type.
pub fn type_name(msg_type: u16) -> &'static str {
    super::state::MSG_TYPE_NAMES
        .get(usize::from(msg_type))
        .copied()
        .unwrap_or("unknown")
}

/// The length of the message whose first 8 bytes are `first8` (more bytes
/// are ignored): checks the signature and that `totlen` is at least a
/// header and at most [`MAX_FRAME_LEN`], as Redis's read handler does before
/// reading the rest.
pub fn frame_len(first8: &[u8]) -> Result<usize, BusError> {
    let head = first8.get(..8).ok_or(BusError::Truncated {
        needed: 8,
        got: first8.len(),
    })?;
    if head.get(..4) != Some(&SIGNATURE[..]) {
        return Err(BusError::BadSignature);
    }
    let totlen = read_u32(head, OFF_TOTLEN)?;
    let len = usize::try_from(totlen).map_err(|_| BusError::BadFrameLength(totlen))?;
    if !(HEADER_LEN..=MAX_FRAME_LEN).contains(&len) {
        return Err(BusError::BadFrameLength(totlen));
    }
    Ok(len)
}

/// The header fields, decoded. `type`, `count`, `extensions` and `totlen`
/// follow from the body and are not stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Client port.
    pub port: u16,
    pub current_epoch: u64,
    /// The sender's config epoch, or its master's for a replica.
    pub config_epoch: u64,
    /// Replication offset.
    pub offset: u64,
    pub sender: NodeId,
    /// Slots the sender (or its master) serves.
    pub myslots: SlotSet,
    /// The sender's master, for a replica.
    pub slaveof: Option<NodeId>,
    /// Announced IP; empty when the receiver should use the peer address.
    pub myip: String,
    pub pport: u16,
    pub cport: u16,
    /// Node flags in the bus encoding (see `NodeFlags::from_wire`).
    pub flags: u16,
    /// The sender's cluster_state: 0 ok, 1 fail.
    pub state: u8,
    pub mflags: [u8; 3],
}

impl Header {
    /// A header with every field zero or empty.
    pub fn new(sender: NodeId) -> Header {
        Header {
            port: 0,
            current_epoch: 0,
            config_epoch: 0,
            offset: 0,
            sender,
            myslots: SlotSet::new(),
            slaveof: None,
            myip: String::new(),
            pport: 0,
            cport: 0,
            flags: 0,
            state: 0,
            mflags: [0; 3],
        }
    }
}

/// One gossip entry: what the sender knows of another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GossipEntry {
    pub node: NodeId,
    /// Seconds (Unix time) of the ping the sender waits a pong for, 0 if none.
    pub ping_sent: u32,
    /// Seconds (Unix time) of the last pong the sender received.
    pub pong_received: u32,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    /// Bus encoding.
    pub flags: u16,
    pub pport: u16,
}

/// A ping extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingExt {
    /// `cluster-announce-hostname` of the sender.
    Hostname(String),
    /// 7.2's `cluster-announce-human-nodename`.
    HumanNodename(String),
    /// 7.2: the sender forgot this node (CLUSTER FORGET); do not re-add it
    /// for `ttl` seconds.
    ForgottenNode { node: NodeId, ttl: u64 },
    /// 7.2: the sender's shard id.
    ShardId([u8; NODE_ID_LEN]),
    /// Any other type: its data as sent, padding included.
    Unknown { ext_type: u16, data: Vec<u8> },
}

/// PING, PONG and MEET bodies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gossip {
    pub entries: Vec<GossipEntry>,
    pub extensions: Vec<PingExt>,
}

/// A message body; the variant is the message type.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Ping(Gossip),
    Pong(Gossip),
    Meet(Gossip),
    Fail {
        node: NodeId,
    },
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    PublishShard {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    FailoverAuthRequest,
    FailoverAuthAck,
    Update {
        config_epoch: u64,
        node: NodeId,
        slots: SlotSet,
    },
    MfStart,
    /// A module's message; the payload is skipped.
    Module {
        module_id: u64,
        module_type: u8,
        len: u32,
    },
    /// A type this version does not know.
    Unknown {
        msg_type: u16,
    },
}

impl Body {
    /// The `type` field.
    pub fn msg_type(&self) -> u16 {
        match self {
            Body::Ping(_) => TYPE_PING,
            Body::Pong(_) => TYPE_PONG,
            Body::Meet(_) => TYPE_MEET,
            Body::Fail { .. } => TYPE_FAIL,
            Body::Publish { .. } => TYPE_PUBLISH,
            Body::PublishShard { .. } => TYPE_PUBLISHSHARD,
            Body::FailoverAuthRequest => TYPE_FAILOVER_AUTH_REQUEST,
            Body::FailoverAuthAck => TYPE_FAILOVER_AUTH_ACK,
            Body::Update { .. } => TYPE_UPDATE,
            Body::MfStart => TYPE_MFSTART,
            Body::Module { .. } => TYPE_MODULE,
            Body::Unknown { msg_type } => *msg_type,
        }
    }
}

/// A whole bus message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

// ----- encoding ---------------------------------------------------------

fn put_name(out: &mut Vec<u8>, id: Option<&NodeId>) {
    match id {
        Some(id) => out.extend_from_slice(id.as_bytes()),
        None => out.extend_from_slice(&[0; NODE_ID_LEN]),
    }
}

/// `s` in a NUL-padded array of `len` bytes, cut to leave room for the NUL.
fn put_cstr(out: &mut Vec<u8>, s: &str, len: usize) {
    let bytes = s.as_bytes();
    let keep = bytes.len().min(len.saturating_sub(1));
    out.extend_from_slice(bytes.get(..keep).unwrap_or_default());
    out.resize(out.len() + (len - keep), 0);
}

fn put_ext(out: &mut Vec<u8>, ext_type: u16, data: &[u8]) {
    let padded = data.len().div_ceil(8) * 8;
    let length = EXT_HEADER_LEN + padded;
    out.extend_from_slice(&(length as u32).to_be_bytes());
    out.extend_from_slice(&ext_type.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(data);
    out.resize(out.len() + (padded - data.len()), 0);
}

/// A string extension's data: the text and its NUL (padding added later).
fn cstr_data(s: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(s.len() + 1);
    data.extend_from_slice(s.as_bytes());
    data.push(0);
    data
}

/// The bytes of `msg`, as Redis 7.0.15 would send it. PING, PONG and MEET
/// get the EXT_DATA flag when they carry extensions.
pub fn encode(msg: &Message) -> Vec<u8> {
    let h = &msg.header;
    let mut mflags = h.mflags;
    let (count, extensions) = match &msg.body {
        Body::Ping(g) | Body::Pong(g) | Body::Meet(g) => {
            if !g.extensions.is_empty() {
                mflags[0] |= MFLAG0_EXT_DATA;
            }
            (g.entries.len(), g.extensions.len())
        }
        _ => (0, 0),
    };
    let mut out = Vec::with_capacity(MSG_STRUCT_LEN);
    out.extend_from_slice(&SIGNATURE);
    out.extend_from_slice(&[0; 4]); // totlen, set at the end
    out.extend_from_slice(&PROTO_VER.to_be_bytes());
    out.extend_from_slice(&h.port.to_be_bytes());
    out.extend_from_slice(&msg.body.msg_type().to_be_bytes());
    out.extend_from_slice(&(count.min(usize::from(u16::MAX)) as u16).to_be_bytes());
    out.extend_from_slice(&h.current_epoch.to_be_bytes());
    out.extend_from_slice(&h.config_epoch.to_be_bytes());
    out.extend_from_slice(&h.offset.to_be_bytes());
    put_name(&mut out, Some(&h.sender));
    out.extend_from_slice(&h.myslots.to_bitmap());
    put_name(&mut out, h.slaveof.as_ref());
    put_cstr(&mut out, &h.myip, IP_LEN);
    out.extend_from_slice(&(extensions.min(usize::from(u16::MAX)) as u16).to_be_bytes());
    out.extend_from_slice(&[0; 30]);
    out.extend_from_slice(&h.pport.to_be_bytes());
    out.extend_from_slice(&h.cport.to_be_bytes());
    out.extend_from_slice(&h.flags.to_be_bytes());
    out.push(h.state);
    out.extend_from_slice(&mflags);
    debug_assert_eq!(out.len(), HEADER_LEN);

    match &msg.body {
        Body::Ping(g) | Body::Pong(g) | Body::Meet(g) => {
            for e in g.entries.iter().take(usize::from(u16::MAX)) {
                put_name(&mut out, Some(&e.node));
                out.extend_from_slice(&e.ping_sent.to_be_bytes());
                out.extend_from_slice(&e.pong_received.to_be_bytes());
                put_cstr(&mut out, &e.ip, IP_LEN);
                out.extend_from_slice(&e.port.to_be_bytes());
                out.extend_from_slice(&e.cport.to_be_bytes());
                out.extend_from_slice(&e.flags.to_be_bytes());
                out.extend_from_slice(&e.pport.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            for ext in g.extensions.iter().take(usize::from(u16::MAX)) {
                match ext {
                    PingExt::Hostname(s) => put_ext(&mut out, EXT_HOSTNAME, &cstr_data(s)),
                    PingExt::HumanNodename(s) => {
                        put_ext(&mut out, EXT_HUMAN_NODENAME, &cstr_data(s))
                    }
                    PingExt::ForgottenNode { node, ttl } => {
                        let mut data = Vec::with_capacity(NODE_ID_LEN + 8);
                        data.extend_from_slice(node.as_bytes());
                        data.extend_from_slice(&ttl.to_be_bytes());
                        put_ext(&mut out, EXT_FORGOTTEN_NODE, &data);
                    }
                    PingExt::ShardId(id) => put_ext(&mut out, EXT_SHARDID, id),
                    PingExt::Unknown { ext_type, data } => put_ext(&mut out, *ext_type, data),
                }
            }
        }
        Body::Fail { node } => put_name(&mut out, Some(node)),
        Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
            out.extend_from_slice(&(channel.len() as u32).to_be_bytes());
            out.extend_from_slice(&(message.len() as u32).to_be_bytes());
            out.extend_from_slice(channel);
            out.extend_from_slice(message);
        }
        Body::Update {
            config_epoch,
            node,
            slots,
        } => {
            out.extend_from_slice(&config_epoch.to_be_bytes());
            put_name(&mut out, Some(node));
            out.extend_from_slice(&slots.to_bitmap());
        }
        Body::Module {
            module_id,
            module_type,
            len,
        } => {
            out.extend_from_slice(&module_id.to_ne_bytes());
            out.extend_from_slice(&len.to_be_bytes());
            out.push(*module_type);
            out.resize(out.len() + *len as usize, 0);
        }
        Body::FailoverAuthRequest
        | Body::FailoverAuthAck
        | Body::MfStart
        | Body::Unknown { .. } => {}
    }
    let totlen = (out.len() as u32).to_be_bytes();
    if let Some(field) = out.get_mut(OFF_TOTLEN..OFF_TOTLEN + 4) {
        field.copy_from_slice(&totlen);
    }
    out
}

// ----- decoding ---------------------------------------------------------

fn field(buf: &[u8], off: usize, len: usize) -> Result<&[u8], BusError> {
    off.checked_add(len)
        .and_then(|end| buf.get(off..end))
        .ok_or(BusError::Truncated {
            needed: off.saturating_add(len),
            got: buf.len(),
        })
}

fn array<const N: usize>(buf: &[u8], off: usize) -> Result<[u8; N], BusError> {
    let mut out = [0u8; N];
    out.copy_from_slice(field(buf, off, N)?);
    Ok(out)
}

fn read_u16(buf: &[u8], off: usize) -> Result<u16, BusError> {
    Ok(u16::from_be_bytes(array(buf, off)?))
}

fn read_u32(buf: &[u8], off: usize) -> Result<u32, BusError> {
    Ok(u32::from_be_bytes(array(buf, off)?))
}

fn read_u64(buf: &[u8], off: usize) -> Result<u64, BusError> {
    Ok(u64::from_be_bytes(array(buf, off)?))
}

fn read_name(buf: &[u8], off: usize, what: &'static str) -> Result<NodeId, BusError> {
    NodeId::parse(field(buf, off, NODE_ID_LEN)?).ok_or(BusError::BadField(what))
}

/// A NUL-terminated string inside `bytes`.
fn read_cstr(bytes: &[u8], what: &'static str) -> Result<String, BusError> {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(BusError::BadField(what))?;
    let text = bytes.get(..end).ok_or(BusError::BadField(what))?;
    String::from_utf8(text.to_vec()).map_err(|_| BusError::BadField(what))
}

/// [`read_cstr`] for an IP or a hostname: printable ASCII without spaces,
/// `,` or `@`, which would not survive the `ip:port@cport,hostname` form of
/// nodes.conf and CLUSTER NODES. (Redis trusts these; it validates
/// announced hostnames to `[A-Za-z0-9.-]` and IPs are IP text.)
fn read_addr(bytes: &[u8], what: &'static str) -> Result<String, BusError> {
    let text = read_cstr(bytes, what)?;
    if text
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b',' && b != b'@')
    {
        Ok(text)
    } else {
        Err(BusError::BadField(what))
    }
}

fn bad_length(msg_type: u16, totlen: u32, expected: u64) -> BusError {
    BusError::BadLength {
        msg_type,
        totlen,
        expected,
    }
}

/// Decodes one whole message. Checks what Redis checks (signature,
/// version, `totlen` against the frame and against what the type implies,
/// extension lengths) and more: names must be valid node ids and strings
/// must end inside their arrays. Never panics, whatever the bytes.
pub fn decode(frame: &[u8]) -> Result<Message, BusError> {
    let totlen_usize = frame_len(frame)?;
    let totlen = read_u32(frame, OFF_TOTLEN)?;
    if totlen_usize != frame.len() {
        return Err(BusError::FrameLengthMismatch {
            totlen,
            frame: frame.len(),
        });
    }
    let ver = read_u16(frame, OFF_VER)?;
    if ver != PROTO_VER {
        return Err(BusError::BadVersion(ver));
    }
    let msg_type = read_u16(frame, OFF_TYPE)?;
    let count = read_u16(frame, OFF_COUNT)?;
    let extensions = read_u16(frame, OFF_EXTENSIONS)?;
    let mflags: [u8; 3] = array(frame, OFF_MFLAGS)?;

    let slaveof_raw = field(frame, OFF_SLAVEOF, NODE_ID_LEN)?;
    let slaveof = if slaveof_raw.iter().all(|&b| b == 0) {
        None
    } else {
        Some(NodeId::parse(slaveof_raw).ok_or(BusError::BadField("slaveof"))?)
    };
    let header = Header {
        port: read_u16(frame, OFF_PORT)?,
        current_epoch: read_u64(frame, OFF_CURRENT_EPOCH)?,
        config_epoch: read_u64(frame, OFF_CONFIG_EPOCH)?,
        offset: read_u64(frame, OFF_OFFSET)?,
        sender: read_name(frame, OFF_SENDER, "sender")?,
        myslots: SlotSet::from_bitmap(field(frame, OFF_MYSLOTS, SLOT_BITMAP_LEN)?),
        slaveof,
        myip: read_addr(field(frame, OFF_MYIP, IP_LEN)?, "myip")?,
        pport: read_u16(frame, OFF_PPORT)?,
        cport: read_u16(frame, OFF_CPORT)?,
        flags: read_u16(frame, OFF_FLAGS)?,
        state: field(frame, OFF_STATE, 1)?.first().copied().unwrap_or(0),
        mflags,
    };

    let data = frame.get(HEADER_LEN..).unwrap_or_default();
    let fixed = |len: usize| -> Result<(), BusError> {
        if data.len() != len {
            return Err(bad_length(msg_type, totlen, (HEADER_LEN + len) as u64));
        }
        Ok(())
    };
    let body = match msg_type {
        TYPE_PING | TYPE_PONG | TYPE_MEET => {
            let gossip = decode_gossip(data, msg_type, totlen, count, extensions, mflags[0])?;
            match msg_type {
                TYPE_PING => Body::Ping(gossip),
                TYPE_PONG => Body::Pong(gossip),
                _ => Body::Meet(gossip),
            }
        }
        TYPE_FAIL => {
            fixed(FAIL_LEN)?;
            Body::Fail {
                node: read_name(data, 0, "fail nodename")?,
            }
        }
        TYPE_PUBLISH | TYPE_PUBLISHSHARD => {
            let channel_len = read_u32(data, 0).map_err(|_| {
                bad_length(msg_type, totlen, (HEADER_LEN + PUBLISH_FIXED_LEN) as u64)
            })?;
            let message_len = read_u32(data, 4)?;
            let expected = (HEADER_LEN + PUBLISH_FIXED_LEN) as u64
                + u64::from(channel_len)
                + u64::from(message_len);
            if expected != u64::from(totlen) {
                return Err(bad_length(msg_type, totlen, expected));
            }
            let channel = field(data, PUBLISH_FIXED_LEN, channel_len as usize)?.to_vec();
            let message = field(
                data,
                PUBLISH_FIXED_LEN + channel_len as usize,
                message_len as usize,
            )?
            .to_vec();
            if msg_type == TYPE_PUBLISH {
                Body::Publish { channel, message }
            } else {
                Body::PublishShard { channel, message }
            }
        }
        TYPE_FAILOVER_AUTH_REQUEST | TYPE_FAILOVER_AUTH_ACK | TYPE_MFSTART => {
            fixed(0)?;
            match msg_type {
                TYPE_FAILOVER_AUTH_REQUEST => Body::FailoverAuthRequest,
                TYPE_FAILOVER_AUTH_ACK => Body::FailoverAuthAck,
                _ => Body::MfStart,
            }
        }
        TYPE_UPDATE => {
            fixed(UPDATE_LEN)?;
            Body::Update {
                config_epoch: read_u64(data, 0)?,
                node: read_name(data, 8, "update nodename")?,
                slots: SlotSet::from_bitmap(field(data, 8 + NODE_ID_LEN, SLOT_BITMAP_LEN)?),
            }
        }
        TYPE_MODULE => {
            let len = read_u32(data, 8).map_err(|_| {
                bad_length(msg_type, totlen, (HEADER_LEN + MODULE_FIXED_LEN) as u64)
            })?;
            let expected = (HEADER_LEN + MODULE_FIXED_LEN) as u64 + u64::from(len);
            if expected != u64::from(totlen) {
                return Err(bad_length(msg_type, totlen, expected));
            }
            Body::Module {
                module_id: u64::from_ne_bytes(array(data, 0)?),
                module_type: field(data, 12, 1)?.first().copied().unwrap_or(0),
                len,
            }
        }
        // Redis assumes a type it does not know is well formed.
        other => Body::Unknown { msg_type: other },
    };
    Ok(Message { header, body })
}

fn decode_gossip(
    data: &[u8],
    msg_type: u16,
    totlen: u32,
    count: u16,
    extensions: u16,
    mflags0: u8,
) -> Result<Gossip, BusError> {
    let gossip_len = usize::from(count) * GOSSIP_LEN;
    if data.len() < gossip_len {
        return Err(bad_length(
            msg_type,
            totlen,
            (HEADER_LEN + gossip_len) as u64,
        ));
    }
    let mut entries = Vec::with_capacity(usize::from(count));
    for i in 0..usize::from(count) {
        let e = field(data, i * GOSSIP_LEN, GOSSIP_LEN)?;
        entries.push(GossipEntry {
            node: read_name(e, G_NAME, "gossip nodename")?,
            ping_sent: read_u32(e, G_PING_SENT)?,
            pong_received: read_u32(e, G_PONG_RECEIVED)?,
            ip: read_addr(field(e, G_IP, IP_LEN)?, "gossip ip")?,
            port: read_u16(e, G_PORT)?,
            cport: read_u16(e, G_CPORT)?,
            flags: read_u16(e, G_FLAGS)?,
            pport: read_u16(e, G_PPORT)?,
        });
    }
    // Like Redis, extensions count only when the EXT_DATA flag says so.
    let mut rest = data.get(gossip_len..).unwrap_or_default();
    let mut exts = Vec::new();
    if mflags0 & MFLAG0_EXT_DATA != 0 {
        for index in 0..extensions {
            let length =
                read_u32(rest, 0).map_err(|_| BusError::BadExtension { index, length: 0 })?;
            let ext_type = read_u16(rest, 4)?;
            let len = length as usize;
            if !length.is_multiple_of(8) || len < EXT_HEADER_LEN || len > rest.len() {
                return Err(BusError::BadExtension { index, length });
            }
            let ext_data = rest.get(EXT_HEADER_LEN..len).unwrap_or_default();
            exts.push(decode_ext(ext_type, ext_data)?);
            rest = rest.get(len..).unwrap_or_default();
        }
    }
    if !rest.is_empty() {
        let expected = (totlen as usize - rest.len()) as u64;
        return Err(bad_length(msg_type, totlen, expected));
    }
    Ok(Gossip {
        entries,
        extensions: exts,
    })
}

fn decode_ext(ext_type: u16, data: &[u8]) -> Result<PingExt, BusError> {
    Ok(match ext_type {
        EXT_HOSTNAME => PingExt::Hostname(read_addr(data, "hostname extension")?),
        EXT_HUMAN_NODENAME => PingExt::HumanNodename(read_cstr(data, "human nodename extension")?),
        EXT_FORGOTTEN_NODE => PingExt::ForgottenNode {
            node: read_name(data, 0, "forgotten node extension")?,
            ttl: read_u64(data, NODE_ID_LEN)?,
        },
        EXT_SHARDID => PingExt::ShardId(array(data, 0)?),
        other => PingExt::Unknown {
            ext_type: other,
            data: data.to_vec(),
        },
    })
}

#[cfg(test)]
#[path = "msg_tests.rs"]
mod tests;
