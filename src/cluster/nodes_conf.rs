//! `nodes.conf`, in the format redis-server 7.0.15 writes it, and the line
//! format it shares with `CLUSTER NODES`.
//!
//! # Layout
//!
//! One line per known node (handshake nodes are left out of the file), then
//! the `vars` line; every line ends with `\n`:
//!
//! ```text
//! <id> <ip>:<port>@<cport>[,<hostname>] <flags> <master-id|-> <ping-sent-ms> <pong-recv-ms> <config-epoch> <connected|disconnected> [<slot>|<start>-<end>]... [[<slot>->-<id>]|[<slot>-<-<id>]]...
//! vars currentEpoch <n> lastVoteEpoch <n>
//! ```
//!
//! * `id`: 40 characters `[0-9a-z]`.
//! * `ip` is empty until the node learns it (a lone node prints
//!   `:7000@17000`); the IP is what precedes the last `:` of the address, so
//!   IPv6 addresses need no brackets. `,<hostname>` is present only when
//!   the node has one. A 7.2-style address (`,<hostname>,key=value...`) is
//!   accepted and its extra fields ignored; a missing `@<cport>` (files from
//!   before Redis 4) means port + 10000.
//! * `flags`: comma-separated, from `myself master slave fail? fail
//!   handshake noaddr nofailover`, in that order, or `noflags`.
//! * A replica's line shows its master's config epoch.
//! * Slots are maximal ranges in ascending order; the open-slot entries
//!   (`[100->-<id>]` migrating to, `[100-<-<id>]` importing from) follow on
//!   the line of `myself`.
//! * Blank lines are ignored (Redis 7.0 pads a shrinking file with `\n`).
//!   `vars` may carry more pairs; unknown ones are skipped.
//!
//! Writing goes through [`save_atomic`]: a temp file in the same directory,
//! fsync, rename, fsync of the directory, so a crash leaves the old file or
//! the new one, never a mix (redis-server 7.0 rewrites in place instead).

use super::node::{ClusterNode, NodeFlags, NodeId, OpenSlots};
use super::slot::{parse_slot, SlotSet};
use std::fmt::{self, Write as _};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The contents of a `nodes.conf`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodesConf {
    /// The node lines, in file order; exactly one is flagged `myself`.
    pub nodes: Vec<ClusterNode>,
    /// Open slots, from the `[...]` entries.
    pub open_slots: OpenSlots,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
}

/// Why a `nodes.conf` text is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number; `None` for a whole-file problem.
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for ParseError {}

/// Why [`load`] failed. The file is never modified.
#[derive(Debug)]
pub enum LoadError {
    Io { path: PathBuf, source: io::Error },
    Corrupt { path: PathBuf, error: ParseError },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } => write!(
                f,
                "can't read cluster config file \"{}\": {source}",
                path.display()
            ),
            LoadError::Corrupt { path, error } => write!(
                f,
                "corrupted cluster config file \"{}\", {error}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            LoadError::Corrupt { error, .. } => Some(error),
        }
    }
}

/// Appends the `CLUSTER NODES` / `nodes.conf` line of `node`, `\n` included.
/// `shown_epoch` is the node's config epoch, or its master's for a replica;
/// `open` is given for `myself` only.
pub fn write_node_line(
    out: &mut String,
    node: &ClusterNode,
    shown_epoch: u64,
    open: Option<&OpenSlots>,
) {
    let master = node.replica_of.as_ref().map_or("-", NodeId::as_str);
    let link = if node.link_connected || node.is_myself() {
        "connected"
    } else {
        "disconnected"
    };
    // Writing to a String cannot fail.
    let _ = write!(out, "{} {}:{}@{}", node.id, node.ip, node.port, node.cport);
    if !node.hostname.is_empty() {
        let _ = write!(out, ",{}", node.hostname);
    }
    let _ = write!(
        out,
        " {} {master} {} {} {shown_epoch} {link}",
        node.flags, node.ping_sent, node.pong_received
    );
    for (start, end) in node.slots.ranges() {
        if start == end {
            let _ = write!(out, " {start}");
        } else {
            let _ = write!(out, " {start}-{end}");
        }
    }
    if let Some(open) = open {
        let mut migrating = open.migrating.iter().peekable();
        let mut importing = open.importing.iter().peekable();
        // Ascending by slot; a slot both migrating and importing shows as
        // migrating, as in Redis.
        loop {
            let next_mig = migrating.peek().map(|(&s, _)| s);
            let next_imp = importing.peek().map(|(&s, _)| s);
            match (next_mig, next_imp) {
                (None, None) => break,
                (Some(m), Some(i)) if i < m => {
                    if let Some((slot, id)) = importing.next() {
                        let _ = write!(out, " [{slot}-<-{id}]");
                    }
                }
                (Some(m), Some(i)) if i == m => {
                    importing.next();
                }
                (Some(_), _) => {
                    if let Some((slot, id)) = migrating.next() {
                        let _ = write!(out, " [{slot}->-{id}]");
                    }
                }
                (None, Some(_)) => {
                    if let Some((slot, id)) = importing.next() {
                        let _ = write!(out, " [{slot}-<-{id}]");
                    }
                }
            }
        }
    }
    out.push('\n');
}

/// The config epoch a node's line shows: its master's for a replica whose
/// master is known, else its own.
pub(crate) fn shown_epoch<'a>(
    node: &ClusterNode,
    mut all: impl Iterator<Item = &'a ClusterNode>,
) -> u64 {
    match node.replica_of {
        Some(master) if node.is_replica() => all
            .find(|n| n.id == master)
            .map_or(node.config_epoch, |m| m.config_epoch),
        _ => node.config_epoch,
    }
}

/// The `vars` line, `\n` included.
pub fn write_vars_line(out: &mut String, current_epoch: u64, last_vote_epoch: u64) {
    let _ = writeln!(
        out,
        "vars currentEpoch {current_epoch} lastVoteEpoch {last_vote_epoch}"
    );
}

impl NodesConf {
    /// The file text: node lines (handshake nodes left out), then `vars`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            if node.flags.contains(NodeFlags::HANDSHAKE) {
                continue;
            }
            let epoch = shown_epoch(node, self.nodes.iter());
            let open = node.is_myself().then_some(&self.open_slots);
            write_node_line(&mut out, node, epoch, open);
        }
        write_vars_line(&mut out, self.current_epoch, self.last_vote_epoch);
        out
    }

    /// The node flagged `myself`.
    pub fn myself(&self) -> Option<&ClusterNode> {
        self.nodes.iter().find(|n| n.is_myself())
    }

    /// Parses a `nodes.conf` text. Strict where Redis writes a canonical
    /// form (numbers, ids, slots); lenient where Redis is (blank lines,
    /// unknown `vars`, case of flags).
    pub fn parse(text: &[u8]) -> Result<NodesConf, ParseError> {
        let mut conf = NodesConf {
            nodes: Vec::new(),
            open_slots: OpenSlots::default(),
            current_epoch: 0,
            last_vote_epoch: 0,
        };
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line_no = index + 1;
            let fail = |reason: String| ParseError {
                line: Some(line_no),
                reason,
            };
            let line = std::str::from_utf8(raw).map_err(|_| fail("not valid UTF-8".into()))?;
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            let Some(&first) = fields.first() else {
                continue;
            };
            if first.eq_ignore_ascii_case("vars") {
                parse_vars(&fields, &mut conf).map_err(fail)?;
                continue;
            }
            let node = parse_node_line(&fields, &mut conf.open_slots).map_err(fail)?;
            if conf.nodes.iter().any(|n| n.id == node.id) {
                return Err(fail(format!("node {} is listed twice", node.id)));
            }
            if node.is_myself() && conf.nodes.iter().any(ClusterNode::is_myself) {
                return Err(fail("more than one node is flagged myself".into()));
            }
            conf.nodes.push(node);
        }
        if conf.myself().is_none() {
            return Err(ParseError {
                line: None,
                reason: "no node is flagged myself".into(),
            });
        }
        Ok(conf)
    }
}

fn parse_u64(field: &str, what: &str) -> Result<u64, String> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid {what} '{field}'"));
    }
    field
        .parse::<u64>()
        .map_err(|_| format!("invalid {what} '{field}'"))
}

fn parse_port(field: &str, what: &str) -> Result<u16, String> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid {what} '{field}'"));
    }
    field
        .parse::<u16>()
        .map_err(|_| format!("invalid {what} '{field}'"))
}

fn parse_id(field: &str, what: &str) -> Result<NodeId, String> {
    NodeId::parse(field.as_bytes()).ok_or_else(|| format!("invalid {what} '{field}'"))
}

fn parse_vars(fields: &[&str], conf: &mut NodesConf) -> Result<(), String> {
    let pairs = fields.get(1..).unwrap_or_default();
    if !pairs.len().is_multiple_of(2) {
        return Err("vars line has a name without a value".into());
    }
    for pair in pairs.chunks_exact(2) {
        if let [name, value] = pair {
            if name.eq_ignore_ascii_case("currentEpoch") {
                conf.current_epoch = parse_u64(value, "currentEpoch")?;
            } else if name.eq_ignore_ascii_case("lastVoteEpoch") {
                conf.last_vote_epoch = parse_u64(value, "lastVoteEpoch")?;
            }
            // Unknown variables are skipped, as Redis does.
        }
    }
    Ok(())
}

/// `ip:port@cport[,hostname[,aux=value...]]`
fn parse_address(field: &str, node: &mut ClusterNode) -> Result<(), String> {
    let mut parts = field.split(',');
    let addr = parts.next().unwrap_or_default();
    node.hostname = parts.next().unwrap_or_default().to_string();
    let (ip, ports) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("invalid address '{field}'"))?;
    node.ip = ip.to_string();
    match ports.split_once('@') {
        Some((port, cport)) => {
            node.port = parse_port(port, "port")?;
            node.cport = parse_port(cport, "cluster bus port")?;
        }
        None => {
            node.port = parse_port(ports, "port")?;
            node.cport = node
                .port
                .checked_add(10000)
                .ok_or_else(|| format!("port {} has no default bus port", node.port))?;
        }
    }
    Ok(())
}

fn parse_node_line(fields: &[&str], open: &mut OpenSlots) -> Result<ClusterNode, String> {
    let [id, addr, flags, master, ping, pong, epoch, _link, slots @ ..] = fields else {
        return Err(format!(
            "a node line needs at least 8 fields, found {}",
            fields.len()
        ));
    };
    let mut node = ClusterNode::new(parse_id(id, "node id")?);
    parse_address(addr, &mut node)?;
    for name in flags.split(',') {
        let flag = NodeFlags::from_name(name).ok_or_else(|| format!("unknown flag '{name}'"))?;
        node.flags.insert(flag);
    }
    if *master != "-" {
        node.replica_of = Some(parse_id(master, "master id")?);
    }
    node.ping_sent = parse_u64(ping, "ping-sent time")?;
    node.pong_received = parse_u64(pong, "pong-received time")?;
    node.config_epoch = parse_u64(epoch, "config epoch")?;
    // The link state is a runtime fact, not configuration: Redis ignores it.
    node.link_connected = false;
    for &entry in slots {
        if let Some(inner) = entry.strip_prefix('[') {
            parse_open_slot(entry, inner, open)?;
        } else {
            parse_slot_range(entry, &mut node.slots)?;
        }
    }
    Ok(node)
}

fn parse_slot_range(entry: &str, slots: &mut SlotSet) -> Result<(), String> {
    let bad = || format!("invalid slot range '{entry}'");
    let (start, end) = match entry.split_once('-') {
        Some((a, b)) => (a, b),
        None => (entry, entry),
    };
    let start = parse_slot(start.as_bytes()).ok_or_else(bad)?;
    let end = parse_slot(end.as_bytes()).ok_or_else(bad)?;
    if start > end {
        return Err(bad());
    }
    slots.insert_range(start, end);
    Ok(())
}

/// `[<slot>->-<id>]` (migrating) or `[<slot>-<-<id>]` (importing).
fn parse_open_slot(entry: &str, inner: &str, open: &mut OpenSlots) -> Result<(), String> {
    let bad = || format!("invalid open slot '{entry}'");
    let inner = inner.strip_suffix(']').ok_or_else(bad)?;
    let (slot, id, migrating) = if let Some((slot, id)) = inner.split_once("->-") {
        (slot, id, true)
    } else if let Some((slot, id)) = inner.split_once("-<-") {
        (slot, id, false)
    } else {
        return Err(bad());
    };
    let slot = parse_slot(slot.as_bytes()).ok_or_else(bad)?;
    let id = NodeId::parse(id.as_bytes()).ok_or_else(bad)?;
    if migrating {
        open.migrating.insert(slot, id);
    } else {
        open.importing.insert(slot, id);
    }
    Ok(())
}

/// Reads `path`. `Ok(None)` when the file does not exist or is empty (a new
/// node: Redis then creates its identity and writes the file). A corrupt
/// file is an error naming the file and line; the file is left as it is.
pub fn load(path: &Path) -> Result<Option<NodesConf>, LoadError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(LoadError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    NodesConf::parse(&bytes)
        .map(Some)
        .map_err(|error| LoadError::Corrupt {
            path: path.to_path_buf(),
            error,
        })
}

/// Replaces `path` with `contents` atomically: writes a temp file in the same
/// directory, fsyncs it, renames it over `path` and fsyncs the directory.
/// On error the temp file is removed and `path` is untouched.
pub fn save_atomic(path: &Path, contents: &str) -> io::Result<()> {
    save(path, contents, true)
}

/// Writes `contents` to `path` through a temp file and a rename, so a
/// reader sees the old or the new file whole; with `fsync` the file and its
/// directory are synced too (Redis syncs only when its FSYNC_CONFIG flag
/// asks: epoch changes, not every SETSLOT).
pub fn save(path: &Path, contents: &str, fsync: bool) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);

    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("\"{}\" names no file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);

    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        file.write_all(contents.as_bytes())?;
        if fsync {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if fsync {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by redis-server 7.0.15, port 7002 of a 4-master cluster with
    /// one replica, slot 100 migrating, one master failed.
    const REDIS_MULTI: &str = "\
97d0ead4e5c58e115da6c7f4f3395ce8886c9075 127.0.0.1:17005@27005 master,fail - 1795316857131 1795316856629 4 disconnected 12288-16383
7bf4058ae0586508ce678e72cd5c948ea3e8ded0 127.0.0.1:17003@27003 master - 0 1795316857936 2 connected 4096-8191
a056d55eb2e64e5b0da5faf92997b027a936d969 127.0.0.1:17004@27004 master - 0 1795316858136 3 connected 8192-12287
c3ef6f12ab568e55392768d3ab8cbadb5557c52a 127.0.0.1:17006@27006 slave 67dc9f291720b05d3f0bf0203c914f5d37e8a647 0 1795316857936 1 connected
67dc9f291720b05d3f0bf0203c914f5d37e8a647 127.0.0.1:17002@27002 myself,master - 0 1795316857000 1 connected 0-4095 [100->-7bf4058ae0586508ce678e72cd5c948ea3e8ded0]
vars currentEpoch 4 lastVoteEpoch 0
";

    /// The importing side of the same migration (port 7003).
    const REDIS_IMPORTING: &str = "\
a056d55eb2e64e5b0da5faf92997b027a936d969 127.0.0.1:17004@27004 master - 0 1795316749056 3 connected 8192-12287
c3ef6f12ab568e55392768d3ab8cbadb5557c52a 127.0.0.1:17006@27006 slave 67dc9f291720b05d3f0bf0203c914f5d37e8a647 0 1795316747146 1 connected
67dc9f291720b05d3f0bf0203c914f5d37e8a647 127.0.0.1:17002@27002 master - 0 1795316747045 1 connected 0-4095
97d0ead4e5c58e115da6c7f4f3395ce8886c9075 127.0.0.1:17005@27005 master - 0 1795316748051 4 connected 12288-16383
7bf4058ae0586508ce678e72cd5c948ea3e8ded0 127.0.0.1:17003@27003 myself,master - 0 1795316747000 2 connected 4096-8191 [100-<-67dc9f291720b05d3f0bf0203c914f5d37e8a647]
vars currentEpoch 4 lastVoteEpoch 0
";

    /// A lone redis-server 7.0.15 node after `CLUSTER ADDSLOTS 5 6 7`,
    /// `ADDSLOTSRANGE 100 200 1000 1000`, `ADDSLOTS 3000` with
    /// `cluster-announce-hostname host.example`.
    const REDIS_LONE: &str = "\
820adec62c48ad66bf742ebce8c39e98d8057670 :17001@27001,host.example myself,master - 0 0 0 connected 5-7 100-200 1000 3000
vars currentEpoch 0 lastVoteEpoch 0
";

    /// What a fresh redis-server 7.0.15 writes before it knows its port.
    const REDIS_FRESH: &str = "\
820adec62c48ad66bf742ebce8c39e98d8057670 :0@0 myself,master - 0 0 0 connected
vars currentEpoch 0 lastVoteEpoch 0
";

    fn id(s: &str) -> NodeId {
        NodeId::parse(s.as_bytes()).unwrap_or_else(|| panic!("bad test id {s}"))
    }

    #[test]
    fn parses_redis_multi_node_file() {
        let conf = NodesConf::parse(REDIS_MULTI.as_bytes()).expect("parse");
        assert_eq!(conf.nodes.len(), 5);
        assert_eq!(conf.current_epoch, 4);
        assert_eq!(conf.last_vote_epoch, 0);
        let me = conf.myself().expect("myself");
        assert_eq!(me.id, id("67dc9f291720b05d3f0bf0203c914f5d37e8a647"));
        assert_eq!(me.ip, "127.0.0.1");
        assert_eq!((me.port, me.cport), (17002, 27002));
        assert_eq!(me.config_epoch, 1);
        assert_eq!(me.slots.ranges().collect::<Vec<_>>(), vec![(0, 4095)]);
        assert_eq!(
            conf.open_slots.migrating.get(&100),
            Some(&id("7bf4058ae0586508ce678e72cd5c948ea3e8ded0"))
        );
        assert!(conf.open_slots.importing.is_empty());

        let failed = conf.nodes.first().expect("node");
        assert!(failed.is_failed() && failed.is_master());
        assert_eq!(failed.ping_sent, 1795316857131);
        assert!(!failed.link_connected);

        let replica = conf.nodes.get(3).expect("node");
        assert!(replica.is_replica());
        assert_eq!(replica.replica_of, Some(me.id));
        assert!(replica.slots.is_empty());

        // Written back, byte for byte, except the link state, which is not
        // configuration.
        let expected = REDIS_MULTI.replace(" connected", " disconnected");
        let expected = expected.replace(
            "1795316857000 1 disconnected 0-4095",
            "1795316857000 1 connected 0-4095",
        );
        assert_eq!(conf.to_text(), expected);
    }

    #[test]
    fn parses_redis_importing_and_lone_files() {
        let conf = NodesConf::parse(REDIS_IMPORTING.as_bytes()).expect("parse");
        assert_eq!(
            conf.open_slots.importing.get(&100),
            Some(&id("67dc9f291720b05d3f0bf0203c914f5d37e8a647"))
        );
        assert!(conf.to_text().contains(
            "myself,master - 0 1795316747000 2 connected 4096-8191 [100-<-67dc9f291720b05d3f0bf0203c914f5d37e8a647]\n"
        ));

        let conf = NodesConf::parse(REDIS_LONE.as_bytes()).expect("parse");
        let me = conf.myself().expect("myself");
        assert_eq!(me.ip, "");
        assert_eq!(me.hostname, "host.example");
        assert_eq!(me.slots.count(), 3 + 101 + 1 + 1);
        assert_eq!(conf.to_text(), REDIS_LONE);

        let conf = NodesConf::parse(REDIS_FRESH.as_bytes()).expect("parse");
        assert_eq!(conf.to_text(), REDIS_FRESH);
    }

    #[test]
    fn round_trip() {
        let mut me = ClusterNode::new(NodeId::random());
        me.flags = NodeFlags::MYSELF | NodeFlags::MASTER;
        me.ip = "::1".into();
        me.port = 7000;
        me.cport = 17000;
        me.config_epoch = 3;
        me.slots = SlotSet::from_ranges(&[(0, 0), (2, 100), (16383, 16383)]);
        let mut other = ClusterNode::new(NodeId::random());
        other.flags = NodeFlags::SLAVE | NodeFlags::PFAIL | NodeFlags::NOFAILOVER;
        other.replica_of = Some(me.id);
        other.config_epoch = 3;
        other.hostname = "replica.example".into();
        other.pong_received = 1700000000000;
        let mut open = OpenSlots::default();
        open.migrating.insert(2, other.id);
        open.importing.insert(1, other.id);
        let conf = NodesConf {
            nodes: vec![me, other],
            open_slots: open,
            current_epoch: 9,
            last_vote_epoch: 7,
        };
        let text = conf.to_text();
        assert!(text.contains(":7000@17000 myself,master - 0 0 3 connected 0 2-100 16383 [1-<-"));
        assert!(text.ends_with("vars currentEpoch 9 lastVoteEpoch 7\n"));
        let back = NodesConf::parse(text.as_bytes()).expect("parse");
        assert_eq!(back, conf);
        assert_eq!(back.to_text(), text);
    }

    #[test]
    fn tolerates_what_redis_tolerates() {
        // Blank padding, CRLF, unknown vars, flag case, no bus port, 7.2 aux fields.
        let text = "\n\
67dc9f291720b05d3f0bf0203c914f5d37e8a647 127.0.0.1:7000 MYSELF,Master - 0 0 2 connected 1-2\r\n\
7bf4058ae0586508ce678e72cd5c948ea3e8ded0 127.0.0.1:7001@17001,,tls-port=0,shard-id=abc master - 0 0 1 connected\n\
vars currentEpoch 5 lastVoteEpoch 1 futureVar 3\n\n\n";
        let conf = NodesConf::parse(text.as_bytes()).expect("parse");
        let me = conf.myself().expect("myself");
        assert_eq!((me.port, me.cport), (7000, 17000));
        assert_eq!(me.flags, NodeFlags::MYSELF | NodeFlags::MASTER);
        let other = conf.nodes.get(1).expect("node");
        assert_eq!(other.cport, 17001);
        assert_eq!(other.hostname, "");
        assert_eq!((conf.current_epoch, conf.last_vote_epoch), (5, 1));
    }

    #[test]
    fn corrupt_files_name_the_line() {
        let good =
            "67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,master - 0 0 0 connected";
        let cases: &[(&str, usize, &str)] = &[
            ("67dc9f29 :7000@17000 myself,master - 0 0 0 connected", 1, "invalid node id"),
            (
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,master - 0 0 0",
                1,
                "at least 8 fields",
            ),
            (
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647 7000@17000 myself,master - 0 0 0 connected",
                1,
                "invalid address",
            ),
            (
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647 :70000@17000 myself,master - 0 0 0 connected",
                1,
                "invalid port",
            ),
            (
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,boss - 0 0 0 connected",
                1,
                "unknown flag 'boss'",
            ),
            (
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,master - 0 0 x connected",
                1,
                "invalid config epoch",
            ),
            (
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,master - 0 0 0 connected 5-16384",
                1,
                "invalid slot range '5-16384'",
            ),
            (
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,master - 0 0 0 connected 9-5",
                1,
                "invalid slot range",
            ),
            (
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,master - 0 0 0 connected [5->-xyz]",
                1,
                "invalid open slot",
            ),
            (
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647 :7000@17000 myself,master - 0 0 0 connected [5=>-7bf4058ae0586508ce678e72cd5c948ea3e8ded0]",
                1,
                "invalid open slot",
            ),
        ];
        for &(text, line, reason) in cases {
            let err = NodesConf::parse(text.as_bytes()).expect_err(text);
            assert_eq!(err.line, Some(line), "{text}");
            assert!(err.reason.contains(reason), "{text}: {}", err.reason);
        }

        let twice = format!("{good}\n{good}\n");
        let err = NodesConf::parse(twice.as_bytes()).expect_err("dup");
        assert_eq!(err.line, Some(2));
        assert!(err.reason.contains("listed twice"));

        let two_myself = format!(
            "{good}\n{}\n",
            good.replace(
                "67dc9f291720b05d3f0bf0203c914f5d37e8a647",
                "7bf4058ae0586508ce678e72cd5c948ea3e8ded0"
            )
        );
        let err = NodesConf::parse(two_myself.as_bytes()).expect_err("two myself");
        assert_eq!(err.line, Some(2));

        let err = NodesConf::parse(b"vars currentEpoch 1 lastVoteEpoch\n").expect_err("vars");
        assert_eq!(err.line, Some(1));
        let err = NodesConf::parse(format!("{good}\nvars currentEpoch -1\n").as_bytes())
            .expect_err("vars");
        assert_eq!(err.line, Some(2));

        let err = NodesConf::parse(b"\n\nvars currentEpoch 0 lastVoteEpoch 0\n").expect_err("none");
        assert_eq!(err.line, None);
        assert!(err.reason.contains("no node is flagged myself"));

        let err = NodesConf::parse(b"\xff\xfe\n").expect_err("utf8");
        assert_eq!(err.line, Some(1));
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "shardis-nodes-conf-{tag}-{}-{}",
            std::process::id(),
            NodeId::random()
        ));
        fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    #[test]
    fn save_and_load() {
        let dir = temp_dir("save");
        let path = dir.join("nodes.conf");
        assert!(load(&path).expect("missing is fine").is_none());
        fs::write(&path, b"").expect("write");
        assert!(load(&path).expect("empty is fine").is_none());

        save_atomic(&path, REDIS_MULTI).expect("save");
        let conf = load(&path).expect("load").expect("some");
        assert_eq!(conf.nodes.len(), 5);
        save_atomic(&path, REDIS_LONE).expect("save again");
        assert_eq!(fs::read_to_string(&path).expect("read"), REDIS_LONE);
        // No temp file is left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .expect("ls")
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("nodes.conf")]);

        let corrupt = "vars currentEpoch 0 lastVoteEpoch 0\nthis is not a node line at all\n";
        fs::write(&path, corrupt).expect("write");
        let err = load(&path).expect_err("corrupt");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        assert_eq!(fs::read_to_string(&path).expect("read"), corrupt);

        let missing_dir = dir.join("no-such-dir").join("nodes.conf");
        assert!(save_atomic(&missing_dir, "x").is_err());
        assert!(save_atomic(Path::new("/"), "x").is_err());
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn load_reports_io_errors() {
        let dir = temp_dir("io");
        // A directory where the file should be.
        let err = load(&dir).expect_err("a directory");
        assert!(matches!(err, LoadError::Io { .. }));
        assert!(err.to_string().contains("can't read cluster config file"));
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
