//! Pub/Sub across cores. Each core keeps the subscriptions of the clients
//! connected to it; a publisher delivers to its own core directly and sends
//! one job to every other core that has subscribers (the node keeps a count
//! per core, so cores without any are skipped and keyspace notifications
//! cost nothing when nobody listens). Shard channels (SSUBSCRIBE) are routed
//! by their slot like keys, so in cluster mode they stay on the node owning
//! the slot.
//!
//! A subscriber's messages wait in a channel until its connection writes
//! them; the bytes waiting are its output buffer, held to
//! client-output-buffer-limit pubsub (hard limit, and soft limit for so many
//! seconds): past it the client is closed, as Redis does.

use super::client::Client;
use crate::config::ClientClass;
use crate::keyspace::glob::glob_match;
use crate::protocol::Reply;
use crate::runtime::{now_ms, Core, KeyEvent};
use bytes::Bytes;
use futures::channel::mpsc;
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::Ordering;

/// A message on its way to a subscriber.
#[derive(Debug, Clone)]
pub enum Msg {
    Message(Bytes, Bytes),
    PMessage(Bytes, Bytes, Bytes),
    SMessage(Bytes, Bytes),
}

impl Msg {
    pub fn reply(&self) -> Reply {
        let b = |x: &Bytes| Reply::Bulk(x.clone());
        Reply::Push(match self {
            Msg::Message(c, m) => vec![Reply::simple_bulk("message"), b(c), b(m)],
            Msg::PMessage(p, c, m) => vec![Reply::simple_bulk("pmessage"), b(p), b(c), b(m)],
            Msg::SMessage(c, m) => vec![Reply::simple_bulk("smessage"), b(c), b(m)],
        })
    }

    fn size(&self) -> usize {
        match self {
            Msg::Message(c, m) | Msg::SMessage(c, m) => c.len() + m.len() + 32,
            Msg::PMessage(p, c, m) => p.len() + c.len() + m.len() + 40,
        }
    }
}

/// A subscribed connection as the core's registry sees it.
pub struct Sink {
    pub client_id: u64,
    tx: mpsc::UnboundedSender<Msg>,
    /// Bytes queued and not yet written by the connection.
    pub queued: Cell<usize>,
    /// When the queue first went over the soft limit (ms), 0 = not over.
    soft_since: Cell<u64>,
    info: Rc<super::client::ClientInfo>,
}

impl Sink {
    /// Queues a message, or closes the client when its buffer is over the limit.
    fn send(&self, m: Msg, limit: crate::config::ClientBufferLimit) -> bool {
        if self.info.killed.get() {
            return false;
        }
        let q = self.queued.get() + m.size();
        let over_hard = limit.hard_bytes > 0 && q as u64 > limit.hard_bytes;
        let over_soft = limit.soft_bytes > 0 && q as u64 > limit.soft_bytes;
        let now = now_ms();
        let soft_expired = if over_soft {
            if self.soft_since.get() == 0 {
                self.soft_since.set(now);
            }
            now.saturating_sub(self.soft_since.get()) >= (limit.soft_seconds.max(0) as u64) * 1000
        } else {
            self.soft_since.set(0);
            false
        };
        if over_hard || soft_expired {
            tracing::warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                self.info.id,
                self.info.addr
            );
            self.info.killed.set(true);
            self.tx.close_channel();
            return false;
        }
        self.queued.set(q);
        self.tx.unbounded_send(m).is_ok()
    }

    /// The connection wrote a message out.
    pub fn written(&self, m: &Msg) {
        self.queued.set(self.queued.get().saturating_sub(m.size()));
    }
}

/// One core's subscriptions.
#[derive(Default)]
pub struct Registry {
    channels: HashMap<Bytes, Vec<Rc<Sink>>>,
    patterns: HashMap<Bytes, Vec<Rc<Sink>>>,
    shard_channels: HashMap<Bytes, Vec<Rc<Sink>>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Registry {
    fn map(&mut self, k: Kind) -> &mut HashMap<Bytes, Vec<Rc<Sink>>> {
        match k {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    fn add(&mut self, k: Kind, name: Bytes, s: Rc<Sink>) {
        self.map(k).entry(name).or_default().push(s);
    }

    fn remove(&mut self, k: Kind, name: &Bytes, client_id: u64) {
        let m = self.map(k);
        if let Some(v) = m.get_mut(name) {
            v.retain(|s| s.client_id != client_id);
            if v.is_empty() {
                m.remove(name);
            }
        }
    }

    /// Delivers a message published on `channel`; returns the receivers.
    fn deliver(
        &self,
        channel: &Bytes,
        msg: &Bytes,
        shard: bool,
        limit: crate::config::ClientBufferLimit,
    ) -> usize {
        let mut n = 0;
        if shard {
            for s in self.shard_channels.get(channel).into_iter().flatten() {
                n += s.send(Msg::SMessage(channel.clone(), msg.clone()), limit) as usize;
            }
            return n;
        }
        for s in self.channels.get(channel).into_iter().flatten() {
            n += s.send(Msg::Message(channel.clone(), msg.clone()), limit) as usize;
        }
        for (p, subs) in &self.patterns {
            if glob_match(p, channel, false) {
                for s in subs {
                    n += s.send(
                        Msg::PMessage(p.clone(), channel.clone(), msg.clone()),
                        limit,
                    ) as usize;
                }
            }
        }
        n
    }

    /// Channel names with subscribers (of `k`), for PUBSUB CHANNELS.
    pub fn names(&self, k: Kind) -> Vec<Bytes> {
        let m = match k {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        };
        m.keys().cloned().collect()
    }

    pub fn count(&self, k: Kind, name: &[u8]) -> usize {
        let m = match k {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        };
        m.get(name).map_or(0, Vec::len)
    }
}

/// A connection's own view of its subscriptions.
#[derive(Default)]
pub struct ClientSubs {
    pub channels: indexmap::IndexSet<Bytes>,
    pub patterns: indexmap::IndexSet<Bytes>,
    pub shard_channels: indexmap::IndexSet<Bytes>,
    pub sink: Option<Rc<Sink>>,
}

impl ClientSubs {
    fn set(&mut self, k: Kind) -> &mut indexmap::IndexSet<Bytes> {
        match k {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// What SUBSCRIBE-style replies count: channels + patterns, or shard channels.
    fn count(&self, k: Kind) -> usize {
        match k {
            Kind::Shard => self.shard_channels.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    pub fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }
}

fn limit(core: &Core) -> crate::config::ClientBufferLimit {
    core.node
        .config
        .read()
        .map(|c| c.client_output_buffer_limit(ClientClass::Pubsub))
        .unwrap_or(crate::config::ClientBufferLimit {
            hard_bytes: 32 << 20,
            soft_bytes: 8 << 20,
            soft_seconds: 60,
        })
}

fn verb(k: Kind, sub: bool) -> &'static str {
    match (k, sub) {
        (Kind::Channel, true) => "subscribe",
        (Kind::Channel, false) => "unsubscribe",
        (Kind::Pattern, true) => "psubscribe",
        (Kind::Pattern, false) => "punsubscribe",
        (Kind::Shard, true) => "ssubscribe",
        (Kind::Shard, false) => "sunsubscribe",
    }
}

impl Client {
    fn sink(&mut self) -> Rc<Sink> {
        if let Some(s) = &self.subs.sink {
            return s.clone();
        }
        let (tx, rx) = mpsc::unbounded();
        let s = Rc::new(Sink {
            client_id: self.info.id,
            tx,
            queued: Cell::new(0),
            soft_since: Cell::new(0),
            info: self.info.clone(),
        });
        self.subs.sink = Some(s.clone());
        self.sub_rx = Some(rx);
        s
    }

    fn count_change(&self, delta: isize) {
        if let Some(c) = self.core.node.pubsub_counts.get(self.core.id) {
            if delta >= 0 {
                c.fetch_add(delta as usize, Ordering::Relaxed);
            } else {
                c.fetch_sub((-delta) as usize, Ordering::Relaxed);
            }
        }
    }

    /// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE.
    pub fn subscribe(&mut self, k: Kind, names: Vec<Bytes>) -> Reply {
        let sink = self.sink();
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if self.subs.set(k).insert(n.clone()) {
                self.core
                    .pubsub
                    .borrow_mut()
                    .add(k, n.clone(), sink.clone());
                self.count_change(1);
            }
            out.push(Reply::Push(vec![
                Reply::simple_bulk(verb(k, true)),
                Reply::Bulk(n),
                Reply::Int(self.subs.count(k) as i64),
            ]));
        }
        Reply::Many(out)
    }

    /// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE (no names: all of them).
    pub fn unsubscribe(&mut self, k: Kind, names: Vec<Bytes>) -> Reply {
        let names: Vec<Bytes> = if names.is_empty() {
            self.subs.set(k).iter().cloned().collect()
        } else {
            names
        };
        if names.is_empty() {
            return Reply::Push(vec![
                Reply::simple_bulk(verb(k, false)),
                Reply::Nil,
                Reply::Int(self.subs.count(k) as i64),
            ]);
        }
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if self.subs.set(k).shift_remove(&n) {
                self.core.pubsub.borrow_mut().remove(k, &n, self.info.id);
                self.count_change(-1);
            }
            out.push(Reply::Push(vec![
                Reply::simple_bulk(verb(k, false)),
                Reply::Bulk(n),
                Reply::Int(self.subs.count(k) as i64),
            ]));
        }
        Reply::Many(out)
    }

    /// Drops every subscription (connection closed, RESET).
    pub fn unsubscribe_all(&mut self) {
        for k in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            let names: Vec<Bytes> = self.subs.set(k).drain(..).collect();
            for n in &names {
                self.core.pubsub.borrow_mut().remove(k, n, self.info.id);
            }
            self.count_change(-(names.len() as isize));
        }
    }

    /// RESP2 clients with subscriptions may only run these commands.
    pub fn in_subscribed_mode(&self) -> bool {
        self.proto == crate::protocol::Proto::Resp2 && self.subs.total() > 0
    }
}

/// Publishes on every core with subscribers; the number of receivers.
pub async fn publish(core: &Rc<Core>, channel: Bytes, msg: Bytes, shard: bool) -> usize {
    let mut n = 0;
    let mut waits = Vec::new();
    for c in 0..core.ncores {
        let has = core
            .node
            .pubsub_counts
            .get(c)
            .is_some_and(|x| x.load(Ordering::Relaxed) > 0);
        if !has {
            continue;
        }
        if c == core.id {
            n += core
                .pubsub
                .borrow()
                .deliver(&channel, &msg, shard, limit(core));
        } else {
            let (ch, m) = (channel.clone(), msg.clone());
            waits.push(core.run_on(c, move |core| {
                core.pubsub.borrow().deliver(&ch, &m, shard, limit(core))
            }));
        }
    }
    for w in waits {
        n += w.await.unwrap_or(0);
    }
    n
}

/// Publishes the keyspace events the commands on this core raised
/// (notify-keyspace-events), without waiting for the other cores.
pub fn flush_events(core: &Rc<Core>) {
    let node = &core.node;
    let flags = node.notify_flags();
    let events: Vec<KeyEvent> = {
        let mut shard = core.shard.borrow_mut();
        shard.drain_expired(flags);
        if shard.events.is_empty() {
            return;
        }
        std::mem::take(&mut shard.events)
    };
    let any = node
        .pubsub_counts
        .iter()
        .any(|c| c.load(Ordering::Relaxed) > 0);
    if !any {
        return;
    }
    use crate::config::keyspace_events::{KEYEVENT, KEYSPACE};
    let mut msgs: Vec<(Bytes, Bytes)> = Vec::with_capacity(events.len() * 2);
    for e in events {
        if flags & KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{}__:", e.db).into_bytes();
            ch.extend_from_slice(&e.key);
            msgs.push((Bytes::from(ch), Bytes::from_static(e.event.as_bytes())));
        }
        if flags & KEYEVENT != 0 {
            let ch = format!("__keyevent@{}__:{}", e.db, e.event);
            msgs.push((Bytes::from(ch), e.key.clone()));
        }
    }
    let msgs = std::sync::Arc::new(msgs);
    for c in 0..core.ncores {
        let has = node
            .pubsub_counts
            .get(c)
            .is_some_and(|x| x.load(Ordering::Relaxed) > 0);
        if !has {
            continue;
        }
        let m = msgs.clone();
        let job = move |core: &Rc<Core>| {
            let l = limit(core);
            let reg = core.pubsub.borrow();
            for (ch, msg) in m.iter() {
                reg.deliver(ch, msg, false, l);
            }
        };
        if c == core.id {
            job(core);
        } else {
            core.post(c, None, Box::new(job));
        }
    }
}
