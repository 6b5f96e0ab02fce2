//! A connection's state (`Client`) and the per-core registry of connected
//! clients that CLIENT LIST / KILL read.

use crate::protocol::Proto;
use crate::runtime::Core;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::rc::Rc;

/// What other connections may see of a client (CLIENT LIST, KILL).
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: RawFd,
    pub created_ms: u64,
    pub name: RefCell<String>,
    pub last_interaction_ms: Cell<u64>,
    pub db: Cell<usize>,
    pub resp: Cell<u8>,
    pub last_cmd: Cell<usize>,
    pub killed: Cell<bool>,
    pub monitor: Cell<bool>,
    pub readonly: Cell<bool>,
    pub no_evict: Cell<bool>,
    /// Unread bytes in the query buffer at the last read.
    pub qbuf: Cell<usize>,
}

impl ClientInfo {
    /// A client as it is when it connects (db 0, RESP2, no flags).
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, fd: RawFd, name: &str) -> ClientInfo {
        let now = crate::runtime::now_ms();
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created_ms: now,
            name: RefCell::new(name.to_string()),
            last_interaction_ms: Cell::new(now),
            db: Cell::new(0),
            resp: Cell::new(2),
            last_cmd: Cell::new(usize::MAX),
            killed: Cell::new(false),
            monitor: Cell::new(false),
            readonly: Cell::new(false),
            no_evict: Cell::new(false),
            qbuf: Cell::new(0),
        }
    }

    /// Closes the connection from outside: its read returns end-of-file.
    pub fn kill(&self) {
        self.killed.set(true);
        // SAFETY: shutdown on a descriptor this client owns; harmless if it is
        // already closed (EBADF/ENOTCONN are ignored).
        unsafe {
            libc::shutdown(self.fd, libc::SHUT_RDWR);
        }
    }

    pub fn flags(&self) -> String {
        let mut f = String::new();
        if self.monitor.get() {
            f.push('O');
        }
        if self.readonly.get() {
            f.push('r');
        }
        if self.no_evict.get() {
            f.push('e');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }

    /// One CLIENT LIST / CLIENT INFO line, fields as Redis 7.0 prints them.
    pub fn line(&self, now_ms: u64) -> String {
        let cmd = crate::command::TABLE.fullname(self.last_cmd.get());
        let cmd = if cmd.is_empty() { "NULL" } else { cmd };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            self.name.borrow(),
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_interaction_ms.get()) / 1000,
            self.flags(),
            self.db.get(),
            self.qbuf.get(),
            cmd,
            self.resp.get(),
        )
    }
}

/// The clients connected to one core.
#[derive(Default)]
pub struct Registry {
    pub clients: BTreeMap<u64, Rc<ClientInfo>>,
}

/// A connection's session state; command handlers of the `Conn` kind get it.
pub struct Client {
    pub core: Rc<Core>,
    pub info: Rc<ClientInfo>,
    pub db: usize,
    pub proto: Proto,
    pub authenticated: bool,
    /// The peer is on a loopback address (protected mode, DEBUG local).
    pub is_local: bool,
    /// Close once the pending replies are written (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Set by SHUTDOWN and friends: the connection stops reading.
    pub monitor_rx: Option<futures::channel::mpsc::UnboundedReceiver<bytes::Bytes>>,
    /// The last command name as sent and its row (see `dispatch`).
    pub last_resolved: Option<(bytes::Bytes, crate::command::Resolved)>,
    /// Commands queued since MULTI.
    pub multi: Option<MultiState>,
    /// Keys WATCHed by this client and the flag their cores set when one changes.
    pub watch: Option<WatchState>,
    /// Channels, patterns and shard channels subscribed to.
    pub subs: super::pubsub::ClientSubs,
    /// Where published messages for this client arrive (once it subscribed).
    pub sub_rx: Option<futures::channel::mpsc::UnboundedReceiver<super::pubsub::Msg>>,
    /// ASKING was sent: the next command (or the transaction it opens) may
    /// use a slot this node is importing.
    pub asking: bool,
    /// ASKING was the command just run, so `asking` survives one more.
    pub asking_fresh: bool,
}

/// A transaction being queued.
#[derive(Default)]
pub struct MultiState {
    pub queued: Vec<(crate::command::Resolved, Vec<bytes::Bytes>)>,
    /// A command failed to queue: EXEC answers EXECABORT.
    pub failed: bool,
}

/// WATCHed keys: (core, db, key), and the flag set by a change to any.
pub struct WatchState {
    pub flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub keys: Vec<(usize, usize, bytes::Bytes)>,
}

impl Client {
    pub fn new(
        core: Rc<Core>,
        info: Rc<ClientInfo>,
        authenticated: bool,
        is_local: bool,
    ) -> Client {
        Client {
            core,
            info,
            db: 0,
            proto: Proto::Resp2,
            authenticated,
            is_local,
            close_after_reply: false,
            monitor_rx: None,
            last_resolved: None,
            multi: None,
            watch: None,
            subs: Default::default(),
            sub_rx: None,
            asking: false,
            asking_fresh: false,
        }
    }

    pub fn in_multi(&self) -> bool {
        self.multi.is_some()
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.set(db);
    }

    pub fn set_proto(&mut self, p: Proto) {
        self.proto = p;
        self.info.resp.set(if p == Proto::Resp3 { 3 } else { 2 });
    }
}
