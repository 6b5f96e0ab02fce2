//! The cluster bus's sockets, on core 0: the listener on the bus port, one
//! outbound link per known node and the inbound links other nodes open. The
//! protocol and every decision live in the state machine
//! ([`ClusterState`]'s `bus_*` methods), which takes events and returns
//! [`BusAction`]s; this file only carries them out. It is the one file of
//! `cluster/` that knows the runtime.
//!
//! A link is two tasks: a reader that frames messages (`RCmb` + length, see
//! [`frame_len`]) and hands each to the state machine, and a writer that
//! drains the link's queue with as few writes as it can. Bad input (wrong
//! signature, a length out of bounds, a message the codec refuses) closes
//! that link with a log line; the node keeps serving.

use super::gossip::{BusAction, LinkId};
use super::msg::frame_len;
use super::ClusterState;
use crate::runtime::{self, now_ms, Core, TcpListener, TcpStream};
use bytes::{Bytes, BytesMut};
use futures::channel::mpsc;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Most bytes one write gathers from a link's queue.
const WRITE_BATCH: usize = 256 * 1024;
const READ_CHUNK: usize = 16 * 1024;
/// How often the state machine's cron runs (Redis's clusterCron: 10 Hz).
const CRON_PERIOD: Duration = Duration::from_millis(100);

/// A link as the socket side knows it. An outbound link is registered
/// when its connect starts, so messages sent meanwhile queue up and are
/// written once it connects (as Redis queues them in the link's buffer).
struct Link {
    tx: mpsc::UnboundedSender<Bytes>,
    /// The socket, once connected.
    fd: Option<RawFd>,
}

thread_local! {
    /// The links of this node; only core 0 touches it.
    static LINKS: RefCell<HashMap<LinkId, Link>> = RefCell::new(HashMap::new());
}

/// Runs `f` on the node's cluster state (None when cluster mode is off or
/// the lock is poisoned). Never held across an await.
fn with_state<T>(core: &Core, f: impl FnOnce(&mut ClusterState) -> T) -> Option<T> {
    let mut guard = core.node.cluster.lock().ok()?;
    guard.as_mut().map(f)
}

/// Core 0's bus service: accepts on `listeners` and runs the cron until
/// shutdown. Topology changes the bus causes reach the cores through
/// [`crate::server::services::after_cluster_change`].
pub async fn run(core: Rc<Core>, listeners: Vec<TcpListener>) {
    for l in listeners {
        runtime::spawn(accept_loop(core.clone(), l));
    }
    while !core.node.shutting_down.load(Ordering::Relaxed) {
        runtime::sleep(CRON_PERIOD).await;
        if let Some(actions) = with_state(&core, |s| {
            let mut a = s.take_bus_actions();
            a.extend(s.bus_cron(now_ms()));
            a
        }) {
            execute(&core, actions);
        }
        crate::server::services::after_cluster_change(&core).await;
    }
    LINKS.with(|l| {
        for (_, link) in l.borrow_mut().drain() {
            shutdown(link.fd);
        }
    });
}

/// Carries out the state machine's actions. Must run on core 0 (the links
/// live there); other cores post a job (see [`publish`]).
pub fn execute(core: &Rc<Core>, actions: Vec<BusAction>) {
    for action in actions {
        match action {
            BusAction::Connect { link, ip, cport } => {
                let (tx, rx) = mpsc::unbounded();
                LINKS.with(|l| l.borrow_mut().insert(link, Link { tx, fd: None }));
                runtime::spawn(connect(core.clone(), link, ip, cport, rx));
            }
            BusAction::Send { link, msg } => LINKS.with(|l| {
                if let Some(link) = l.borrow().get(&link) {
                    let _ = link.tx.unbounded_send(msg);
                }
            }),
            BusAction::Close { link } => {
                if let Some(l) = LINKS.with(|l| l.borrow_mut().remove(&link)) {
                    shutdown(l.fd);
                }
            }
            BusAction::Deliver {
                channel,
                message,
                shard,
            } => {
                let core = core.clone();
                runtime::spawn(async move {
                    crate::server::pubsub::publish(
                        &core,
                        Bytes::from(channel),
                        Bytes::from(message),
                        shard,
                    )
                    .await;
                });
            }
        }
    }
}

/// Carries out what commands queued (MEET's handshake, SETSLOT's PONGs,
/// FORGET, RESET): from any core, on core 0.
pub fn flush_commands(core: &Rc<Core>) {
    let job = |c: &Rc<Core>| {
        if let Some(actions) = with_state(c, |s| s.take_bus_actions()) {
            execute(c, actions);
        }
    };
    if core.id == 0 {
        job(core);
    } else {
        core.post(0, None, Box::new(job));
    }
}

/// Sends a PUBLISH (or, `shard`, a PUBLISHSHARD) to the other nodes; runs the
/// send on core 0 from any core.
pub fn publish(core: &Rc<Core>, channel: Bytes, message: Bytes, shard: bool) {
    let job = move |c: &Rc<Core>| {
        if let Some(actions) = with_state(c, |s| s.bus_publish(&channel, &message, shard)) {
            execute(c, actions);
        }
    };
    if core.id == 0 {
        job(core);
    } else {
        core.post(0, None, Box::new(job));
    }
}

fn shutdown(fd: Option<RawFd>) {
    let Some(fd) = fd else { return };
    // SAFETY: shutdown on a descriptor a link task owns; a closed or reused
    // descriptor gives EBADF/ENOTCONN at worst, which are ignored. The
    // tasks close the descriptor only after their stream is dropped, and
    // the link is removed from LINKS before that.
    unsafe {
        libc::shutdown(fd, libc::SHUT_RDWR);
    }
}

async fn accept_loop(core: Rc<Core>, listener: TcpListener) {
    while !core.node.shutting_down.load(Ordering::Relaxed) {
        let stream = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("Accepting cluster node connection: {}", e);
                runtime::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            continue;
        };
        tracing::debug!("Accepting cluster node connection from {}", peer);
        let Some(link) = with_state(&core, |s| {
            let link = s.bus_inbound_link(now_ms());
            s.bus_link_addrs(
                link,
                &plain_ip(local.ip()).to_string(),
                &plain_ip(peer.ip()).to_string(),
            );
            link
        }) else {
            continue;
        };
        let (tx, rx) = mpsc::unbounded();
        LINKS.with(|l| l.borrow_mut().insert(link, Link { tx, fd: None }));
        start_link(&core, link, stream, rx);
    }
}

/// An IPv4-mapped IPv6 address as plain IPv4, as Redis prints peers.
fn plain_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

async fn connect(
    core: Rc<Core>,
    link: LinkId,
    ip: String,
    cport: u16,
    rx: mpsc::UnboundedReceiver<Bytes>,
) {
    let timeout = core
        .node
        .config
        .read()
        .map_or(15_000, |c| c.cluster_node_timeout())
        .clamp(100, 60_000);
    let stream = match ip.parse::<IpAddr>() {
        Ok(a) => {
            TcpStream::connect_timeout(SocketAddr::new(a, cport), Duration::from_millis(timeout))
                .await
                .map_err(|e| e.to_string())
        }
        Err(_) => Err("not an IP address".to_string()),
    };
    let stream = match stream {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("Connecting to cluster node {}:{}: {}", ip, cport, e);
            link_ended(&core, link);
            return;
        }
    };
    if !LINKS.with(|l| l.borrow().contains_key(&link)) {
        // Closed by the state machine while connecting.
        return;
    }
    let local = stream
        .local_addr()
        .map(|a| plain_ip(a.ip()).to_string())
        .unwrap_or_default();
    let peer = stream
        .peer_addr()
        .map(|a| plain_ip(a.ip()).to_string())
        .unwrap_or_default();
    start_link(&core, link, stream, rx);
    if let Some(actions) = with_state(&core, |s| {
        s.bus_link_addrs(link, &local, &peer);
        s.bus_link_connected(link, now_ms())
    }) {
        execute(&core, actions);
    }
}

/// Starts a connected link's reader and writer (the link is registered).
fn start_link(
    core: &Rc<Core>,
    link: LinkId,
    stream: TcpStream,
    rx: mpsc::UnboundedReceiver<Bytes>,
) {
    let _ = stream.set_nodelay(true);
    let fd = stream.as_raw_fd();
    LINKS.with(|l| {
        if let Some(entry) = l.borrow_mut().get_mut(&link) {
            entry.fd = Some(fd);
        }
    });
    let (reader, writer) = stream.split();
    runtime::spawn(write_loop(core.clone(), link, writer, rx));
    runtime::spawn(read_loop(core.clone(), link, reader));
}

/// Forgets a link the socket side saw end; tells the state machine unless
/// the state machine closed it itself.
fn link_ended(core: &Core, link: LinkId) {
    if let Some(l) = LINKS.with(|l| l.borrow_mut().remove(&link)) {
        shutdown(l.fd);
        with_state(core, |s| s.bus_link_closed(link, now_ms()));
    }
}

async fn write_loop(
    core: Rc<Core>,
    link: LinkId,
    mut writer: futures::io::WriteHalf<TcpStream>,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
) {
    let mut buf: Vec<u8> = Vec::new();
    while let Some(first) = rx.next().await {
        buf.clear();
        buf.extend_from_slice(&first);
        while buf.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(m) => buf.extend_from_slice(&m),
                _ => break,
            }
        }
        if let Err(e) = writer.write_all(&buf).await {
            tracing::debug!("Writing to cluster link {}: {}", link, e);
            link_ended(&core, link);
            return;
        }
    }
    let _ = writer.close().await;
}

async fn read_loop(core: Rc<Core>, link: LinkId, mut reader: futures::io::ReadHalf<TcpStream>) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!("Reading from cluster link {}: {}", link, e);
                break;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut frames = Vec::new();
        let mut bad = None;
        while buf.len() >= 8 {
            match frame_len(&buf[..8]) {
                Ok(len) if buf.len() >= len => frames.push(buf.split_to(len).freeze()),
                Ok(_) => break,
                Err(e) => {
                    bad = Some(e);
                    break;
                }
            }
        }
        let actions = with_state(&core, |s| {
            let now = now_ms();
            let mut out = Vec::new();
            for f in &frames {
                out.extend(s.bus_receive(link, f, now));
            }
            out
        });
        if let Some(actions) = actions {
            execute(&core, actions);
        }
        if let Some(e) = bad {
            tracing::warn!(
                "Closing cluster bus link {}: bad message header: {}",
                link,
                e
            );
            break;
        }
        if !LINKS.with(|l| l.borrow().contains_key(&link)) {
            // The state machine closed it while handling these frames.
            return;
        }
        if !frames.is_empty() {
            crate::server::services::after_cluster_change(&core).await;
        }
    }
    link_ended(&core, link);
}
