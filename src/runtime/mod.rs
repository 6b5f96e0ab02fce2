//! Executors and placement, the channel mesh between cores, and the per-core
//! context every task on a core shares. Only this folder knows glommio.
//!
//! The mesh: every core has one unbounded inbox; any core can post a `Job` (a
//! closure run on the target core with its `Core`) to any inbox. Replies travel
//! back through oneshot channels captured by the job; glommio wakes the waiting
//! task on its own core (a "foreign wake": eventfd when it sleeps).
//!
//! Core locks: a command whose keys live on several cores reserves those cores
//! in ascending core order (`lock_and`), runs, and releases them. While a core
//! is reserved it defers every other job and makes its local connections wait,
//! so no client observes a multi-core write half done, and ascending order
//! makes deadlock impossible.

pub mod clock;
pub mod file;
pub mod slot_table;
pub mod topology;

use crate::config::Config;
use crate::keyspace::Db;
use crate::node::Node;
use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
pub use topology::Topology;

/// Work posted to a core.
pub type Job = Box<dyn FnOnce(&Rc<Core>) + Send>;

pub struct Envelope {
    /// The lock token this job belongs to, if it is part of a multi-core operation.
    token: Option<u64>,
    job: Job,
}

/// Per-core counters reported in INFO's shards section.
#[derive(Debug, Default, Clone)]
pub struct CoreStats {
    pub forwarded_out: u64,
    pub forwarded_in: u64,
    /// Per core, not node-wide atomics: every read and write counts, and a
    /// shared counter would bounce its cache line between cores.
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub reads: u64,
    pub writes: u64,
    /// Commands per second over the last samples (INFO instantaneous_ops_per_sec).
    pub ops: OpsRate,
}

/// Redis's instantaneous metric: the rate between successive samples taken
/// every 100 ms, averaged over the last 16.
#[derive(Debug, Default, Clone)]
pub struct OpsRate {
    samples: [u64; 16],
    next: usize,
    last_total: u64,
    last_ms: u64,
}

impl OpsRate {
    pub fn sample(&mut self, total: u64, now_ms: u64) {
        if self.last_ms > 0 && now_ms > self.last_ms {
            let rate = total.saturating_sub(self.last_total) * 1000 / (now_ms - self.last_ms);
            self.samples[self.next] = rate;
            self.next = (self.next + 1) % self.samples.len();
        }
        self.last_total = total;
        self.last_ms = now_ms;
    }

    pub fn per_sec(&self) -> u64 {
        self.samples.iter().sum::<u64>() / self.samples.len() as u64
    }
}

/// Statistics of one command name on one core (INFO commandstats).
#[derive(Debug, Default, Clone, Copy)]
pub struct CmdStat {
    pub calls: u64,
    /// Time spent, in `clock::ticks` (converted to µs when reported).
    pub ticks: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// A core's keyspace and the counters that go with it.
pub struct Shard {
    pub dbs: Vec<Db>,
    pub stats: ShardStats,
    /// Changes made (Redis's server.dirty): save points, AOF, replication.
    pub dirty: u64,
    /// Keyspace events raised by the commands running now; the core
    /// publishes them once the command (or batch) is done.
    pub events: Vec<KeyEvent>,
    /// Clients blocked on keys of this core (BLPOP ...), by waiter id; ids
    /// grow, so a key's queue is in blocking order.
    pub waiters: HashMap<u64, Waiter>,
    /// The waiters of each blocked-on (db, key), first come first served.
    pub blocking: HashMap<(usize, Bytes), VecDeque<u64>>,
    next_waiter: u64,
    /// True while `serve_ready` runs (commands it re-runs do not recurse).
    serving: bool,
    /// Blocked-on keys that got elements during the running command.
    pub ready: Vec<(usize, Bytes)>,
    /// Set by a blocking command (BLPOP ...) that found nothing to serve;
    /// the dispatcher parks the client on those keys. See `Ctx::block`.
    pub block: Option<BlockRequest>,
    /// True while a transaction runs: blocking commands answer their
    /// timeout reply at once instead of blocking (as in Redis's MULTI).
    pub no_block: bool,
    /// WATCHed keys and the flags of the transactions watching them.
    pub watched: HashMap<(usize, Bytes), Vec<Arc<AtomicBool>>>,
    /// This core's SLOWLOG entries (observability::slowlog).
    pub slowlog: crate::observability::slowlog::CoreSlowlog,
    /// This core's latency monitor events (LATENCY LATEST ...).
    pub latency_events: crate::observability::latency::Monitor,
    /// A temporary copy that multi-core commands run on (its statistics are
    /// dropped): latency histograms and the slowlog skip it.
    pub is_copy: bool,
    /// What this core changed, as commands (AOF, later replication).
    pub propagate: crate::command::propagate::Propagation,
}

/// A client blocked on keys of this core.
pub struct Waiter {
    pub keys: Vec<(usize, Bytes)>,
    /// Runs the blocked command again: `None` while it still finds nothing.
    pub retry: Retry,
    pub done: oneshot::Sender<Served>,
}

/// Runs a blocked command again: `None` while it still finds nothing.
pub type Retry = Box<dyn FnMut(&mut Shard, u64) -> Option<Served>>;

/// What a blocked client gets when one of its keys is ready.
pub enum Served {
    /// The command ran and this is its reply.
    Reply(crate::protocol::Reply),
    /// Run the command again from the client's core (its keys span cores).
    Retry,
}

/// What a blocking command asks for when it found nothing to serve.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    /// Milliseconds to wait; 0 = forever.
    pub timeout_ms: u64,
    /// The keys whose readiness wakes the client (the command is then run
    /// again from the start).
    pub keys: Vec<Bytes>,
    /// What the client gets when the timeout passes.
    pub timeout_reply: crate::protocol::Reply,
}

/// A keyspace notification waiting to be published.
#[derive(Debug, Clone)]
pub struct KeyEvent {
    pub class: u32,
    pub event: &'static str,
    pub db: usize,
    pub key: Bytes,
}

#[derive(Debug, Default, Clone)]
pub struct ShardStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Indexed by command id.
    pub cmd: Vec<CmdStat>,
    /// Latency histograms by command id (LATENCY HISTOGRAM, INFO latencystats).
    pub latency: crate::observability::latency::CmdHistograms,
    /// Error replies by their first word (INFO errorstats).
    pub errors: std::collections::BTreeMap<String, u64>,
    pub total_commands: u64,
}

impl Shard {
    pub fn new(databases: usize) -> Shard {
        Shard {
            dbs: (0..databases).map(|_| Db::new()).collect(),
            stats: ShardStats::default(),
            dirty: 0,
            events: Vec::new(),
            waiters: HashMap::new(),
            blocking: HashMap::new(),
            next_waiter: 1,
            serving: false,
            ready: Vec::new(),
            watched: HashMap::new(),
            block: None,
            no_block: false,
            slowlog: Default::default(),
            latency_events: Default::default(),
            is_copy: false,
            propagate: Default::default(),
        }
    }

    /// True while blocked clients are being served (commands run again
    /// inside another client's command).
    pub fn is_serving(&self) -> bool {
        self.serving
    }

    /// Invalidates the transactions watching `key` (signalModifiedKey).
    pub fn touch_watched(&mut self, db: usize, key: &[u8]) {
        if self.is_copy {
            // A multi-core command's copy: these keys get written back
            // and propagated.
            self.propagate
                .changed
                .push((db, Bytes::copy_from_slice(key)));
        }
        if self.watched.is_empty() {
            return;
        }
        if let Some(flags) = self.watched.get(&(db, Bytes::copy_from_slice(key))) {
            for f in flags {
                f.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Invalidates the transactions watching a key of `db` that exists
    /// there, or in `other` (FLUSHDB/FLUSHALL empty `db`; SWAPDB replaces it
    /// with `other`), as Redis's touchAllWatchedKeysInDb.
    pub fn touch_watched_in_db(&mut self, db: usize, other: Option<usize>) {
        if self.watched.is_empty() {
            return;
        }
        let Shard { watched, dbs, .. } = self;
        for ((d, k), flags) in watched.iter() {
            if *d != db {
                continue;
            }
            let exists = |i: usize| dbs.get(i).is_some_and(|x| x.entry_raw(k).is_some());
            if exists(db) || other.is_some_and(exists) {
                for f in flags {
                    f.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }

    /// Parks a client on `keys` (of `db`): `retry` runs its command again
    /// when one of them is ready; what it serves goes to the returned receiver.
    pub fn add_waiter(
        &mut self,
        db: usize,
        keys: Vec<Bytes>,
        retry: Retry,
    ) -> (u64, oneshot::Receiver<Served>) {
        let id = self.next_waiter;
        self.next_waiter += 1;
        let (tx, rx) = oneshot::channel();
        let keys: Vec<(usize, Bytes)> = keys.into_iter().map(|k| (db, k)).collect();
        for k in &keys {
            let q = self.blocking.entry(k.clone()).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
        self.waiters.insert(
            id,
            Waiter {
                keys,
                retry,
                done: tx,
            },
        );
        (id, rx)
    }

    /// Removes a waiter (timeout, disconnect). False when it is gone
    /// already: then it was served and its reply is on the way.
    pub fn remove_waiter(&mut self, id: u64) -> bool {
        match self.waiters.remove(&id) {
            Some(w) => {
                self.unlink_waiter(id, &w.keys);
                true
            }
            None => false,
        }
    }

    fn unlink_waiter(&mut self, id: u64, keys: &[(usize, Bytes)]) {
        for k in keys {
            if let Some(q) = self.blocking.get_mut(k) {
                q.retain(|&x| x != id);
                if q.is_empty() {
                    self.blocking.remove(k);
                }
            }
        }
    }

    /// Serves the clients blocked on keys that became ready, each key's
    /// clients in the order they blocked, until a key has nothing left for
    /// the next one (Redis's handleClientsBlockedOnKeys). Commands run here
    /// may make more keys ready (BLMOVE's destination): those are served too.
    pub fn serve_ready(&mut self, now: u64) {
        if self.serving || self.ready.is_empty() {
            return;
        }
        self.serving = true;
        let mut i = 0;
        // Each round serves or stops at one waiter; bounded by the waiters
        // plus the keys made ready.
        while i < self.ready.len() {
            let k = self.ready[i].clone();
            i += 1;
            while let Some(id) = self.blocking.get(&k).and_then(|q| q.front().copied()) {
                let Some(mut w) = self.waiters.remove(&id) else {
                    self.unlink_waiter(id, std::slice::from_ref(&k));
                    continue;
                };
                if w.done.is_canceled() {
                    self.unlink_waiter(id, &w.keys);
                    continue;
                }
                match (w.retry)(self, now) {
                    None => {
                        self.waiters.insert(id, w);
                        break;
                    }
                    Some(served) => {
                        self.unlink_waiter(id, &w.keys);
                        let _ = w.done.send(served);
                    }
                }
            }
        }
        self.ready.clear();
        self.serving = false;
    }

    /// Handles the keys deleted by expiry since the last call: WATCHers are
    /// invalidated and `expired` events raised (with `notify` flags).
    pub fn drain_expired(&mut self, notify: u32) {
        use crate::config::keyspace_events::{EXPIRED, KEYEVENT, KEYSPACE};
        let events = notify & EXPIRED != 0 && notify & (KEYSPACE | KEYEVENT) != 0;
        self.propagate_expired();
        for db in 0..self.dbs.len() {
            if self.dbs[db].expired_log.is_empty() {
                continue;
            }
            self.dbs[db].expired_propagated = 0;
            let log = std::mem::take(&mut self.dbs[db].expired_log);
            for k in log {
                self.touch_watched(db, &k);
                if events {
                    self.events.push(KeyEvent {
                        class: EXPIRED,
                        event: "expired",
                        db,
                        key: Bytes::copy_from_slice(&k),
                    });
                }
            }
        }
    }

    /// Records that `key` got elements, if a client blocks on it.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocking.is_empty() {
            return;
        }
        let k = (db, Bytes::copy_from_slice(key));
        if self.blocking.contains_key(&k) && !self.ready.contains(&k) {
            self.ready.push(k);
        }
    }
}

/// Everything one core owns. Tasks on the core hold an `Rc<Core>`.
pub struct Core {
    pub id: usize,
    pub ncores: usize,
    pub node: Arc<Node>,
    pub shard: RefCell<Shard>,
    topo: RefCell<Arc<Topology>>,
    mesh: Vec<mpsc::UnboundedSender<Envelope>>,
    lock: Cell<Option<u64>>,
    deferred: RefCell<VecDeque<Envelope>>,
    unlock_waiters: RefCell<Vec<Waker>>,
    pub stats: RefCell<CoreStats>,
    /// Clients connected to this core (for CLIENT LIST / KILL).
    pub clients: RefCell<crate::server::client::Registry>,
    /// Subscriptions of this core's clients.
    pub pubsub: RefCell<crate::server::pubsub::Registry>,
    /// How far this core's propagated commands are written and fsynced;
    /// replies wait on it when the AOF asks (see `Durable`).
    pub durable: Durable,
    /// This core's append-only file.
    pub aof: RefCell<crate::server::aof::CoreAof>,
}

/// What a reply waits for before it leaves, when the AOF is on: Redis
/// writes the AOF before answering (every policy), and with `appendfsync
/// always` fsyncs it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitFor {
    /// Nothing (no AOF).
    #[default]
    Nothing,
    /// The bytes written to the file (everysec, no).
    Written,
    /// The bytes fsynced (always).
    Synced,
}

/// Group commit: how far this core's propagation stream is written and
/// fsynced, and the tasks waiting for it. A reply waits until everything
/// the core had propagated when the reply was ready is written (or synced):
/// the writer takes all that accumulated meanwhile in one write and one
/// fsync, so pipelined and forwarded commands share them.
#[derive(Default)]
pub struct Durable {
    mode: Cell<WaitFor>,
    written: Cell<u64>,
    synced: Cell<u64>,
    waiters: RefCell<Vec<Waker>>,
}

impl Durable {
    pub fn mode(&self) -> WaitFor {
        self.mode.get()
    }

    pub fn set_mode(&self, m: WaitFor) {
        self.mode.set(m);
        self.wake();
    }

    pub fn written(&self) -> u64 {
        self.written.get()
    }

    pub fn synced(&self) -> u64 {
        self.synced.get()
    }

    /// The writer reports progress (stream offsets).
    pub fn progress(&self, written: u64, synced: u64) {
        self.written.set(written);
        self.synced.set(synced);
        self.wake();
    }

    fn wake(&self) {
        let ws = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in ws {
            w.wake();
        }
    }

    /// Whether stream offset `target` is as durable as the mode asks.
    pub fn reached(&self, target: u64) -> bool {
        match self.mode.get() {
            WaitFor::Nothing => true,
            WaitFor::Written => self.written.get() >= target,
            WaitFor::Synced => self.synced.get() >= target,
        }
    }
}

/// Waits until `target` is durable on `core`.
struct DurableWait<'a> {
    core: &'a Core,
    target: u64,
}

impl Future for DurableWait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.core.durable.reached(self.target) {
            Poll::Ready(())
        } else {
            self.core
                .durable
                .waiters
                .borrow_mut()
                .push(cx.waker().clone());
            Poll::Pending
        }
    }
}

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Unix time in microseconds.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

impl Core {
    pub fn topology(&self) -> Arc<Topology> {
        self.topo.borrow().clone()
    }

    /// Borrow of the current topology for routing (no refcount traffic).
    pub fn with_topology<T>(&self, f: impl FnOnce(&Topology) -> T) -> T {
        f(&self.topo.borrow())
    }

    pub fn set_topology(&self, t: Arc<Topology>) {
        *self.topo.borrow_mut() = t;
    }

    /// Posts a job to `core`'s inbox.
    pub fn post(&self, core: usize, token: Option<u64>, job: Job) {
        if let Some(tx) = self.mesh.get(core) {
            // A send fails only when the target core has shut down.
            let _ = tx.unbounded_send(Envelope { token, job });
        }
    }

    /// Runs `f` on `core` and returns its result.
    pub fn run_on<T, F>(&self, core: usize, f: F) -> impl Future<Output = Option<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Rc<Core>) -> T + Send + 'static,
    {
        self.run_on_token(core, None, f)
    }

    /// [`Core::run_on`] for work that may write: the result comes back once
    /// what `f` propagated on that core is durable (see `Durable`).
    pub fn run_on_durable<T, F>(&self, core: usize, f: F) -> impl Future<Output = Option<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Rc<Core>) -> T + Send + 'static,
    {
        self.post_answered(core, None, move |c, tx| {
            let before = c.produced();
            let v = f(c);
            c.when_durable_since(before, move || {
                let _ = tx.send(v);
            });
        })
    }

    /// Resolves once everything `core` had propagated when this request
    /// reached it is durable (after work posted to it earlier, such as a
    /// multi-core command's write-back).
    pub fn durable_barrier(&self, core: usize) -> impl Future<Output = ()> {
        let done = self.post_answered(core, None, |c, tx| {
            c.when_durable_since(0, move || {
                let _ = tx.send(());
            });
        });
        async move {
            let _ = done.await;
        }
    }

    /// Offset of the end of this core's propagation stream.
    pub fn produced(&self) -> u64 {
        self.shard
            .try_borrow()
            .map_or(0, |s| s.propagate.end_offset())
    }

    /// Calls `f` once what this core propagated after stream offset
    /// `before` is durable: at once when nothing was (or nothing waits),
    /// else from a task.
    pub fn when_durable_since(self: &Rc<Self>, before: u64, f: impl FnOnce() + 'static) {
        if self.durable.mode() == WaitFor::Nothing {
            return f();
        }
        let target = self.produced();
        if target <= before || self.durable.reached(target) {
            return f();
        }
        let c = self.clone();
        spawn(async move {
            DurableWait { core: &c, target }.await;
            f();
        });
    }

    /// Waits until what this core propagated after offset `before` is
    /// durable.
    pub async fn durable_since(&self, before: u64) {
        if self.durable.mode() == WaitFor::Nothing {
            return;
        }
        let target = self.produced();
        if target <= before {
            return;
        }
        DurableWait { core: self, target }.await
    }

    fn run_on_token<T, F>(
        &self,
        core: usize,
        token: Option<u64>,
        f: F,
    ) -> impl Future<Output = Option<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Rc<Core>) -> T + Send + 'static,
    {
        self.post_answered(core, token, move |c, tx| {
            let _ = tx.send(f(c));
        })
    }

    /// Posts `f` to `core` with the sender of what the returned future
    /// resolves to (`None` when the core dropped it unanswered).
    fn post_answered<T, F>(
        &self,
        core: usize,
        token: Option<u64>,
        f: F,
    ) -> impl Future<Output = Option<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Rc<Core>, oneshot::Sender<T>) + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.post(core, token, Box::new(move |c| f(c, tx)));
        async move { rx.await.ok() }
    }
    /// Runs `f` on every core (this one included) and collects the results in core order.
    pub async fn run_on_all<T, F>(&self, f: F) -> Vec<T>
    where
        T: Send + 'static,
        F: Fn(&Rc<Core>) -> T + Send + Sync + Clone + 'static,
    {
        let futs: Vec<_> = (0..self.ncores)
            .map(|c| self.run_on(c, f.clone()))
            .collect();
        let mut out = Vec::with_capacity(futs.len());
        for f in futs {
            if let Some(v) = f.await {
                out.push(v);
            }
        }
        out
    }

    fn deliver(self: &Rc<Core>, env: Envelope) {
        match self.lock.get() {
            Some(t) if env.token != Some(t) => {
                self.deferred.borrow_mut().push_back(env);
                return;
            }
            _ => (env.job)(self),
        }
        self.drain_deferred();
    }

    fn drain_deferred(self: &Rc<Core>) {
        while self.lock.get().is_none() {
            let next = self.deferred.borrow_mut().pop_front();
            match next {
                Some(env) => (env.job)(self),
                None => break,
            }
        }
    }

    /// True when another operation holds this core.
    pub fn is_locked(&self) -> bool {
        self.lock.get().is_some()
    }

    /// Waits until no multi-core operation holds this core. Local command
    /// execution calls this first.
    pub fn wait_unlocked(&self) -> impl Future<Output = ()> + '_ {
        UnlockWait { core: self }
    }

    fn unlock_local(self: &Rc<Core>) {
        self.lock.set(None);
        for w in self.unlock_waiters.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Reserves `cores` (sorted ascending, distinct) for one operation, runs
    /// `f` with the token while they are held, then releases them. `gather`
    /// runs on each core as it is reserved and its result is handed to `f` in
    /// core order; `f` returns per-core finishing jobs (run on each core just
    /// before its release, e.g. to write results back) and a value.
    pub async fn lock_and<G, T, R>(
        self: &Rc<Core>,
        cores: &[usize],
        gather: G,
        f: impl FnOnce(Vec<T>) -> (Vec<Option<Job>>, R),
    ) -> R
    where
        G: Fn(&Rc<Core>) -> T + Send + Sync + Clone + 'static,
        T: Send + 'static,
    {
        self.lock_and_async(cores, gather, |v| std::future::ready(f(v)))
            .await
    }

    /// [`Core::lock_and`] whose middle step is asynchronous (MIGRATE talks to
    /// another node while the keys' core is held, so no write slips in
    /// between reading a key and deleting it). The cores stay reserved
    /// until `f` finishes: keep it bounded.
    pub async fn lock_and_async<G, T, R, F>(
        self: &Rc<Core>,
        cores: &[usize],
        gather: G,
        f: impl FnOnce(Vec<T>) -> F,
    ) -> R
    where
        G: Fn(&Rc<Core>) -> T + Send + Sync + Clone + 'static,
        T: Send + 'static,
        F: Future<Output = (Vec<Option<Job>>, R)>,
    {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        let mut gathered = Vec::with_capacity(cores.len());
        for &c in cores {
            if c == self.id {
                self.wait_unlocked().await;
                self.lock.set(Some(token));
                gathered.push(gather(self));
            } else {
                let g = gather.clone();
                let r = self
                    .run_on_token(c, None, move |core| {
                        core.lock.set(Some(token));
                        core.stats.borrow_mut().forwarded_in += 1;
                        g(core)
                    })
                    .await;
                match r {
                    Some(v) => gathered.push(v),
                    None => {
                        // Target core gone (shutting down): release what we hold.
                        self.release_all(cores, token, Vec::new());
                        return f(Vec::new()).await.1;
                    }
                }
            }
        }
        let (finish, out) = f(gathered).await;
        self.release_all(cores, token, finish);
        out
    }

    fn release_all(self: &Rc<Core>, cores: &[usize], token: u64, mut finish: Vec<Option<Job>>) {
        finish.resize_with(cores.len(), || None);
        for (&c, job) in cores.iter().zip(finish) {
            if c == self.id {
                if self.lock.get() == Some(token) {
                    if let Some(j) = job {
                        j(self);
                    }
                    self.unlock_local();
                    self.drain_deferred();
                }
            } else {
                self.post(
                    c,
                    Some(token),
                    Box::new(move |core| {
                        if core.lock.get() == Some(token) {
                            if let Some(j) = job {
                                j(core);
                            }
                            core.unlock_local();
                        }
                    }),
                );
            }
        }
    }
}

struct UnlockWait<'a> {
    core: &'a Core,
}

impl Future for UnlockWait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.core.lock.get().is_none() {
            Poll::Ready(())
        } else {
            self.core
                .unlock_waiters
                .borrow_mut()
                .push(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// The CPUs in this process's affinity mask, in order.
pub fn affinity_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// The CPU the calling thread runs on.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: no arguments; returns -1 on failure.
    let c = unsafe { libc::sched_getcpu() };
    (c >= 0).then_some(c as usize)
}

/// Raises RLIMIT_MEMLOCK's soft limit to the hard one (io_uring registers
/// memory); best effort, as asking for more fails with EPERM.
fn raise_memlock() {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_MEMLOCK, &r);
        }
    }
}

/// What each core runs once its `Core` exists.
pub type CoreMain = Arc<dyn Fn(Rc<Core>) -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

/// Starts one executor per shard and runs `main` on each; returns when all end.
pub fn run(
    node: Arc<Node>,
    config: &Config,
    topology: Arc<Topology>,
    main: CoreMain,
) -> std::io::Result<()> {
    use glommio::{CpuSet, LocalExecutorPoolBuilder, PoolPlacement};
    raise_memlock();
    let cpus = affinity_cpus();
    let n = node.threads;
    let placement = if n <= cpus.len() {
        let online = CpuSet::online().map_err(|e| std::io::Error::other(e.to_string()))?;
        let sets: Vec<CpuSet> = cpus[..n]
            .iter()
            .map(|&cpu| online.clone().filter(|l| l.cpu == cpu))
            .collect();
        if sets.iter().any(|s| s.is_empty()) {
            PoolPlacement::Unbound(n)
        } else {
            PoolPlacement::Custom(sets)
        }
    } else {
        tracing::warn!(
            "threads={} is more than the {} CPUs in the affinity mask: shards run unpinned",
            n,
            cpus.len()
        );
        PoolPlacement::Unbound(n)
    };
    let pinned = matches!(placement, PoolPlacement::Custom(_));
    let mut txs = Vec::with_capacity(n);
    let mut rxs = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = mpsc::unbounded::<Envelope>();
        txs.push(tx);
        rxs.push(Some(rx));
    }
    let rxs = Arc::new(Mutex::new(rxs));
    let next_id = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let databases = config.databases();
    let spin = Duration::from_micros(node.spin_before_park_us);
    let handles = LocalExecutorPoolBuilder::new(placement)
        .name("shard")
        .io_memory(2 << 20)
        .spin_before_park(spin)
        .on_all_shards(move || {
            // Pinned shard i runs on the i-th CPU of the affinity mask, so
            // INFO, logs and `taskset` agree; unpinned shards number themselves.
            let id = match (pinned, current_cpu()) {
                (true, Some(cpu)) => cpus[..n].iter().position(|&c| c == cpu),
                _ => None,
            }
            .unwrap_or_else(|| next_id.fetch_add(1, Ordering::SeqCst) % n);
            let rx = rxs
                .lock()
                .ok()
                .and_then(|mut v| v.get_mut(id).and_then(Option::take));
            let core = Rc::new(Core {
                id,
                ncores: n,
                node: node.clone(),
                shard: RefCell::new(Shard::new(databases)),
                topo: RefCell::new(topology.clone()),
                mesh: txs.clone(),
                lock: Cell::new(None),
                deferred: RefCell::new(VecDeque::new()),
                unlock_waiters: RefCell::new(Vec::new()),
                stats: RefCell::new(CoreStats::default()),
                clients: RefCell::new(Default::default()),
                pubsub: RefCell::new(Default::default()),
                durable: Durable::default(),
                aof: RefCell::new(Default::default()),
            });
            let main = main.clone();
            async move {
                if let Some(mut rx) = rx {
                    let c = core.clone();
                    glommio::spawn_local(async move {
                        while let Some(env) = rx.next().await {
                            c.deliver(env);
                        }
                    })
                    .detach();
                }
                main(core).await;
            }
        })
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    for r in handles.join_all() {
        r.map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    Ok(())
}

/// Spawns a task on the current core.
pub fn spawn<F: Future<Output = ()> + 'static>(f: F) {
    glommio::spawn_local(f).detach();
}

/// Sleeps on the current core's timer.
pub async fn sleep(d: Duration) {
    glommio::timer::sleep(d).await;
}

/// Lets other tasks on this core run if this one has used its share.
pub async fn yield_now() {
    glommio::yield_if_needed().await;
}

pub use glommio::net::{TcpListener, TcpStream};

/// A listening socket for `addr` with SO_REUSEPORT (every core binds the same
/// port and the kernel spreads connections), IPv6 sockets IPv6-only (as
/// Redis), and `backlog` as tcp-backlog says.
pub fn bind_listener(addr: std::net::SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::os::fd::{FromRawFd, IntoRawFd};
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let sk = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    sk.set_reuse_address(true)?;
    sk.set_reuse_port(true)?;
    if addr.is_ipv6() {
        sk.set_only_v6(true)?;
    }
    sk.bind(&addr.into())?;
    sk.listen(backlog)?;
    // SAFETY: the descriptor comes straight from a socket we own and give away.
    Ok(unsafe { TcpListener::from_raw_fd(sk.into_raw_fd()) })
}

#[cfg(test)]
mod tests {
    use super::OpsRate;

    #[test]
    fn ops_rate_averages_the_last_samples() {
        let mut r = OpsRate::default();
        r.sample(0, 1000);
        for i in 1..=16u64 {
            r.sample(i * 100, 1000 + i * 100); // 100 commands per 100 ms
        }
        assert_eq!(r.per_sec(), 1000);
        r.sample(1600, 2800); // idle for 100 ms
        assert_eq!(r.per_sec(), 1000 * 15 / 16);
    }
}
