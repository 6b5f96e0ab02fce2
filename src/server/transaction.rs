//! MULTI/EXEC/WATCH on the connection's side: queueing, and running a
//! transaction atomically.
//!
//! How EXEC stays atomic and isolated on a thread-per-core node:
//! - The queued keyed commands and the WATCHed keys decide which cores are
//!   involved. In cluster mode every key is in one slot, so that is one core.
//! - One core: the whole transaction (WATCH check included) is one job on
//!   that core; nothing else runs there in between.
//! - Several cores (standalone): the cores are reserved in ascending order
//!   (`Client::exec_cores`, the multi-key command path), the WATCH flag is
//!   checked once all are held, every command runs on a copy of the keys it
//!   touches, and the results are written back before the cores are released.
//! - Commands that only talk to the connection (PING, ECHO, SELECT, TIME ...)
//!   run on the connection's core, their replies put in their place; SELECT's
//!   effect on the commands after it is worked out while planning.
//! - A transaction that also holds node-wide commands (FLUSHALL, DBSIZE,
//!   KEYS, INFO ...) runs its commands one after another instead: each is
//!   atomic, the transaction as a whole is not isolated from other clients.
//!
//! WATCH registers a shared flag with the core owning each key; any change
//! of the key there (`Shard::touch_watched`) sets it.

use super::client::{Client, MultiState, WatchState};
use super::dispatch::Request;
use crate::cluster::slot::key_hash_slot;
use crate::command::{errors, Args, Handler, Resolved};
use crate::protocol::Reply;
use crate::runtime::{now_ms, Core};
use bytes::Bytes;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// Connection commands that touch nothing but the connection: they may sit
/// in an atomic transaction.
const LOCAL: &[&str] = &["ping", "echo", "select", "time", "lastsave", "command"];

enum Item {
    Keyed(Request),
    Conn(Resolved, Vec<Bytes>),
}

impl Client {
    /// Queues a command after MULTI (its arity was checked). In cluster mode
    /// its slot must be served here, as Redis checks at queue time.
    pub fn queue(&mut self, res: Resolved, argv: Vec<Bytes>) -> Reply {
        if let Handler::Keyed(_) = res.spec.handler {
            if let Err(e) = self.check_route(&res, &argv) {
                self.flag_multi();
                return e;
            }
        }
        if let Some(m) = self.multi.as_mut() {
            m.queued.push((res, argv));
        }
        Reply::simple("QUEUED")
    }

    /// A command failed to queue: EXEC will answer EXECABORT.
    pub fn flag_multi(&mut self) {
        if let Some(m) = self.multi.as_mut() {
            m.failed = true;
        }
    }

    pub fn multi(&mut self) -> Result<Reply, Reply> {
        if self.multi.is_some() {
            return Err(Reply::err("ERR MULTI calls can not be nested"));
        }
        self.multi = Some(MultiState::default());
        Ok(Reply::OK)
    }

    pub fn discard(&mut self) -> Result<Reply, Reply> {
        if self.multi.take().is_none() {
            return Err(Reply::err("ERR DISCARD without MULTI"));
        }
        self.unwatch();
        Ok(Reply::OK)
    }

    /// WATCH: registers the keys with their cores and waits until they are
    /// registered, so a change made after the reply is seen.
    pub async fn watch_keys(&mut self, keys: Vec<Bytes>) -> Result<Reply, Reply> {
        if self.multi.is_some() {
            return Err(Reply::err("ERR WATCH inside MULTI is not allowed"));
        }
        let flag = match &self.watch {
            Some(w) => w.flag.clone(),
            None => Arc::new(AtomicBool::new(false)),
        };
        let db = self.db;
        let topo = self.core.topology();
        let mut added = Vec::new();
        for key in keys {
            let already = self
                .watch
                .as_ref()
                .is_some_and(|w| w.keys.iter().any(|(_, d, k)| *d == db && *k == key));
            if already || added.iter().any(|(_, _, k)| *k == key) {
                continue;
            }
            let core = topo.core_of(key_hash_slot(&key));
            let f = flag.clone();
            let k = key.clone();
            self.core
                .run_on(core, move |c| {
                    c.shard
                        .borrow_mut()
                        .watched
                        .entry((db, k))
                        .or_default()
                        .push(f);
                })
                .await;
            added.push((core, db, key));
        }
        match &mut self.watch {
            Some(w) => w.keys.extend(added),
            None => {
                self.watch = Some(WatchState { flag, keys: added });
            }
        }
        Ok(Reply::OK)
    }

    /// Forgets every WATCHed key (UNWATCH, EXEC, DISCARD, RESET, close).
    pub fn unwatch(&mut self) {
        let Some(w) = self.watch.take() else {
            return;
        };
        for (core, db, key) in w.keys {
            let f = w.flag.clone();
            self.core.post(
                core,
                None,
                Box::new(move |c: &Rc<Core>| {
                    let mut shard = c.shard.borrow_mut();
                    let k = (db, key);
                    if let Some(v) = shard.watched.get_mut(&k) {
                        v.retain(|x| !Arc::ptr_eq(x, &f));
                        if v.is_empty() {
                            shard.watched.remove(&k);
                        }
                    }
                }),
            );
        }
    }

    /// EXEC.
    pub async fn exec_transaction(&mut self) -> Result<Reply, Reply> {
        let Some(m) = self.multi.take() else {
            return Err(Reply::err("ERR EXEC without MULTI"));
        };
        let watch = self.watch.as_ref().map(|w| w.flag.clone());
        let watched_cores: Vec<usize> = self
            .watch
            .as_ref()
            .map(|w| w.keys.iter().map(|(c, _, _)| *c).collect())
            .unwrap_or_default();
        let result = self.run_transaction(m, watch, watched_cores).await;
        self.unwatch();
        result
    }

    async fn run_transaction(
        &mut self,
        m: MultiState,
        watch: Option<Arc<AtomicBool>>,
        watched_cores: Vec<usize>,
    ) -> Result<Reply, Reply> {
        if m.failed {
            return Err(Reply::err(EXECABORT));
        }
        if watch.as_ref().is_some_and(|w| w.load(Ordering::Relaxed)) {
            return Ok(Reply::NilArray);
        }
        // Plan: each command's db (after the SELECTs before it), cores, slots.
        let databases = self.core.shard.borrow().dbs.len();
        let topo = self.core.topology();
        let mut db = self.db;
        let mut items = Vec::with_capacity(m.queued.len());
        let mut cores: Vec<usize> = watched_cores;
        let mut slot: Option<u16> = None;
        let mut atomic = true;
        for (res, argv) in m.queued {
            match res.spec.handler {
                Handler::Keyed(_) => {
                    for i in res.spec.keys_of(&argv) {
                        let Some(k) = argv.get(i) else { continue };
                        let s = key_hash_slot(k);
                        if topo.cluster_enabled && slot.is_some_and(|x| x != s) {
                            return Err(Reply::err(errors::CROSSSLOT));
                        }
                        slot = Some(s);
                        cores.push(topo.core_of(s));
                    }
                    items.push(Item::Keyed(Request {
                        id: res.id,
                        spec: res.spec,
                        argv,
                        argpos: res.argpos,
                        db: db as u16,
                        slot: None,
                        open: None,
                    }));
                }
                _ => {
                    let name = res.spec.name;
                    if name == "select" {
                        let n = argv
                            .get(1)
                            .and_then(|b| crate::keyspace::value::parse_i64(b));
                        if let Some(n) = n.filter(|&n| n >= 0 && (n as usize) < databases) {
                            db = n as usize;
                        }
                    }
                    atomic &= res.argpos == 1 && LOCAL.contains(&name);
                    items.push(Item::Conn(res, argv));
                }
            }
        }
        cores.sort_unstable();
        cores.dedup();
        if !atomic {
            return Ok(Reply::Array(self.run_one_by_one(items).await));
        }
        // Keyed commands first, all at once; their replies keep their places.
        let mut keyed = Vec::new();
        let mut places = Vec::new();
        for (i, it) in items.iter().enumerate() {
            if let Item::Keyed(r) = it {
                keyed.push(r.clone());
                places.push(i);
            }
        }
        let mut replies: Vec<Option<Reply>> = vec![None; items.len()];
        if !keyed.is_empty() || !cores.is_empty() {
            let out = match cores.len() {
                0 | 1 => {
                    let c = cores.first().copied().unwrap_or(self.core.id);
                    let w = watch.clone();
                    let run = move |core: &Rc<Core>| run_on_core(core, keyed, w);
                    if c == self.core.id {
                        self.core.wait_unlocked().await;
                        run(&self.core)
                    } else {
                        self.core.run_on_durable(c, run).await.flatten()
                    }
                }
                _ => self.exec_cores(keyed, cores, watch, false).await.replies,
            };
            let Some(out) = out else {
                return Ok(Reply::NilArray);
            };
            for (p, r) in places.into_iter().zip(out) {
                replies[p] = Some(r);
            }
        }
        for (i, it) in items.into_iter().enumerate() {
            if let Item::Conn(res, argv) = it {
                replies[i] = Some(self.run_conn(res, argv).await);
            }
        }
        Ok(Reply::Array(
            replies
                .into_iter()
                .map(|r| r.unwrap_or(Reply::Nil))
                .collect(),
        ))
    }

    /// A transaction with node-wide commands: each command in turn.
    async fn run_one_by_one(&mut self, items: Vec<Item>) -> Vec<Reply> {
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let r = match it {
                Item::Keyed(mut req) => {
                    req.db = self.db as u16;
                    self.core.shard.borrow_mut().no_block = true;
                    let r = self.reroute(req).await;
                    self.core.shard.borrow_mut().no_block = false;
                    r
                }
                Item::Conn(res, argv) => self.run_conn(res, argv).await,
            };
            out.push(r);
        }
        out
    }

    async fn run_conn(&mut self, res: Resolved, argv: Vec<Bytes>) -> Reply {
        match res.spec.handler {
            Handler::Conn(f) => f(self, Args::new(argv, res.argpos))
                .await
                .unwrap_or_else(|e| e),
            _ => Reply::err_owned(errors::wrong_args(res.spec.name)),
        }
    }
}

/// Runs a transaction's keyed commands on the one core holding their keys;
/// `None` when a WATCHed key changed.
fn run_on_core(
    core: &Rc<Core>,
    reqs: Vec<Request>,
    watch: Option<Arc<AtomicBool>>,
) -> Option<Vec<Reply>> {
    if watch.is_some_and(|w| w.load(Ordering::Relaxed)) {
        return None;
    }
    let now = now_ms();
    let mut shard = core.shard.borrow_mut();
    shard.no_block = true;
    // One unit: propagated inside MULTI/EXEC when it wrote several commands.
    shard.propagate_unit_begin();
    let out = reqs
        .into_iter()
        .map(|r| super::dispatch::exec_keyed(&mut shard, r, now, &core.node))
        .collect();
    shard.propagate_unit_end();
    shard.no_block = false;
    Some(out)
}
