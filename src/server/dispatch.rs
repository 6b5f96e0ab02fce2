//! A command's way from parsed arguments to reply: lookup, arity and auth
//! checks, cluster checks against the core's topology, routing by slot (run
//! here, batch to another core, or reserve several cores), and replies back in
//! request order.

use crate::cluster::slot::key_hash_slot;
use crate::command::{errors, flags, Args, CommandSpec, Ctx, Handler, Resolved, TABLE};
use crate::keyspace::{Entry, StrEnc, Ttl, Value};
use crate::node::Node;
use crate::observability::slowlog;
use crate::protocol::{encode, Reply};
use crate::runtime::clock::{ticks, ticks_to_ns};
use crate::runtime::topology::{OpenSlot, SlotOwner};
use crate::runtime::{now_ms, now_us, Core, Job, Served, Shard};
use crate::server::client::Client;
use bytes::Bytes;
use futures::channel::oneshot;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A keyed command on its way to the core that runs it.
#[derive(Clone)]
pub struct Request {
    pub id: usize,
    pub spec: &'static CommandSpec,
    pub argv: Vec<Bytes>,
    pub argpos: usize,
    pub db: u16,
    /// The first key's slot when routing computed it.
    pub slot: Option<u16>,
    /// Set when the keys' slot is migrating or importing: the core that
    /// runs the command first checks which keys it holds.
    pub open: Option<Box<OpenCheck>>,
}

/// The key check Redis makes for a slot in migration (`getNodeByQuery`),
/// done on the core holding the slot, just before the command runs.
#[derive(Clone, Debug)]
pub struct OpenCheck {
    pub slot: u16,
    /// Migrating: where a client is sent for keys this node lacks (`-ASK`).
    /// `None`: importing, the client sent ASKING.
    pub ask: Option<Arc<str>>,
    /// The command names several distinct keys.
    pub multiple: bool,
}

/// How a command's keys decide its cluster fate (Redis's `getNodeByQuery`
/// inputs beyond the slot).
pub struct ClusterQuery {
    /// The client sent ASKING (or the command carries the asking flag).
    pub asking: bool,
    pub write: bool,
    /// Several distinct keys, all of one slot.
    pub multiple: bool,
    /// MIGRATE: served here whenever the slot is open.
    pub migrate: bool,
    /// `cluster-allow-reads-when-down`
    pub reads_when_down: bool,
}

/// A key in a database.
type DbKey = (usize, Bytes);
/// A key's entry and expiry as gathered from its core.
type Held = (Entry, Option<u64>);
/// A key's final value, expiry and string encoding, written back to its core.
type Written = (Value, Option<u64>, StrEnc);

/// A route and what routing learnt on the way.
struct Routed {
    route: Route,
    /// The first key's slot, when known.
    slot: Option<u16>,
    open: Option<Box<OpenCheck>>,
}

impl Routed {
    fn here() -> Routed {
        Routed {
            route: Route::Here,
            slot: None,
            open: None,
        }
    }
}

enum Route {
    Here,
    Core(usize),
    /// Keys on several cores (standalone only), ascending.
    Cores(Vec<usize>),
}

/// What a forwarded command came back as.
pub enum Outcome {
    Done(Reply),
    /// The target core no longer holds the slot (it moved between cores while
    /// the request travelled): route it again.
    Reroute(Request),
}

/// [`cluster_route`] for connection commands that route their keys
/// themselves (SORT): no ASKING, no key check for open slots.
pub fn cluster_check(t: &crate::runtime::Topology, slot: u16, write: bool) -> Result<(), Reply> {
    let q = ClusterQuery {
        asking: false,
        write,
        multiple: false,
        migrate: false,
        reads_when_down: false,
    };
    cluster_route(t, slot, &q).map(|_| ())
}

/// Redis's cluster checks for keys that all hash to `slot`, in its order:
/// slot served at all, cluster up (or reads allowed while down), open slot
/// (the key check is left to the core: [`OpenCheck`]), served here (else
/// `-MOVED`).
pub fn cluster_route(
    t: &crate::runtime::Topology,
    slot: u16,
    q: &ClusterQuery,
) -> Result<Option<Box<OpenCheck>>, Reply> {
    let owner = match t.slot_owner.get(slot as usize) {
        None | Some(SlotOwner::Unassigned) => return Err(Reply::err(errors::CLUSTERDOWN_UNBOUND)),
        Some(o) => *o,
    };
    if !t.cluster_ok {
        if !q.reads_when_down {
            return Err(Reply::err(errors::CLUSTERDOWN));
        }
        if q.write {
            return Err(Reply::err(errors::CLUSTERDOWN_RO));
        }
    }
    if !t.open.is_empty() {
        match t.open.get(&slot) {
            Some(OpenSlot::Migrating(addr)) if owner == SlotOwner::Myself => {
                return Ok((!q.migrate).then(|| {
                    Box::new(OpenCheck {
                        slot,
                        ask: Some(addr.clone()),
                        multiple: q.multiple,
                    })
                }));
            }
            Some(OpenSlot::Importing) if q.migrate => return Ok(None),
            Some(OpenSlot::Importing) if q.asking => {
                return Ok(Some(Box::new(OpenCheck {
                    slot,
                    ask: None,
                    multiple: q.multiple,
                })));
            }
            _ => {}
        }
    }
    match owner {
        SlotOwner::Node(n) => {
            let addr = t.nodes.get(n as usize).map_or("", |s| s.as_str());
            Err(Reply::err_owned(format!("MOVED {slot} {addr}")))
        }
        _ => Ok(None),
    }
}

/// The redirection an open slot's key check gives, if any: run on the core
/// holding the slot (keys are looked up in db 0, expired ones count as
/// missing, nothing is touched).
fn open_slot_refusal(shard: &Shard, req: &Request, check: &OpenCheck, now: u64) -> Option<Reply> {
    let db = shard.dbs.first()?;
    let (mut missing, mut existing) = (0usize, 0usize);
    for i in req.spec.keys_of(&req.argv) {
        let Some(key) = req.argv.get(i) else { continue };
        if db.is_live(key, now) {
            existing += 1;
        } else {
            missing += 1;
        }
    }
    match &check.ask {
        Some(addr) if missing > 0 => Some(if existing > 0 {
            Reply::err(errors::TRYAGAIN_REHASHING)
        } else {
            Reply::err_owned(format!("ASK {} {addr}", check.slot))
        }),
        None if check.multiple && missing > 0 => Some(Reply::err(errors::TRYAGAIN_REHASHING)),
        _ => None,
    }
}

/// `rejected_calls` of INFO commandstats: a command refused before it ran.
fn count_rejected(shard: &mut Shard, id: usize) {
    let st = &mut shard.stats;
    if st.cmd.len() <= id {
        st.cmd
            .resize(TABLE.all.len().max(id + 1), Default::default());
    }
    st.cmd[id].rejected_calls += 1;
}

/// Runs a keyed command on this core's shard, recording its statistics.
pub fn exec_keyed(shard: &mut Shard, req: Request, now: u64, node: &Node) -> Reply {
    let Handler::Keyed(f) = req.spec.handler else {
        return Reply::err("ERR internal error: not a keyed command");
    };
    if let Some(check) = &req.open {
        if let Some(refusal) = open_slot_refusal(shard, &req, check, now) {
            count_rejected(shard, req.id);
            return refusal;
        }
    }
    let start = ticks();
    let db = req.db as usize;
    let hinted = match (req.slot, req.argv.get(req.spec.keys.first.max(0) as usize)) {
        (Some(slot), Some(key)) if req.spec.keys.first > 0 => {
            if let Some(d) = shard.dbs.get(db) {
                d.set_slot_hint(key, slot);
            }
            true
        }
        _ => false,
    };
    let mut args = Args::new(req.argv, req.argpos);
    // Propagation (AOF): what the command changed, as commands.
    let dirty = shard.dirty;
    shard.propagate_begin();
    let mut ctx = Ctx {
        shard,
        db: req.db as usize,
        now,
        node,
    };
    let reply = f(&mut ctx, &mut args).unwrap_or_else(|e| e);
    shard.propagate_end(db, args.argv(), shard.dirty != dirty);
    if hinted {
        if let Some(d) = shard.dbs.get(db) {
            d.clear_slot_hint();
        }
    }
    let failed = reply.is_error();
    record(shard, node, req.spec, req.id, start, failed, args.argv());
    if !shard.ready.is_empty() {
        shard.serve_ready(now);
    }
    reply
}

/// Where every command's time is measured (on the core that ran it):
/// commandstats, then latency histogram, latency monitor and slowlog
/// (`observability::latency::observe`). `argv` may be empty when the
/// slowlog is off.
fn record(
    shard: &mut Shard,
    node: &Node,
    spec: &CommandSpec,
    id: usize,
    start: u64,
    failed: bool,
    argv: &[Bytes],
) {
    let dt = ticks().wrapping_sub(start);
    let st = &mut shard.stats;
    if st.cmd.len() <= id {
        st.cmd
            .resize(TABLE.all.len().max(id + 1), Default::default());
    }
    let s = &mut st.cmd[id];
    s.calls += 1;
    s.ticks += dt;
    if failed {
        s.failed_calls += 1;
    }
    st.total_commands += 1;
    crate::observability::latency::observe(shard, node, spec, id, ticks_to_ns(dt), argv);
}

/// Whether a command's arguments must be kept for a possible SLOWLOG entry
/// (connection commands consume them). CONFIG SET may turn the slowlog on
/// and is logged under the new setting, as in Redis.
fn slowlog_wants(node: &Node, res: &Resolved) -> bool {
    (node.tun.slowlog_ns.load(Ordering::Relaxed) >= 0 && !res.spec.has(flags::SKIP_SLOWLOG))
        || TABLE.fullname(res.id) == "config|set"
}

/// The (db, key) pairs a multi-core command may read or write: its keys in
/// the client's db, and for `COPY ... DB n` the destination in db n too.
fn keys_with_dbs(req: &Request, databases: usize) -> Vec<DbKey> {
    let db = req.db as usize;
    let mut out: Vec<DbKey> = req
        .spec
        .keys_of(&req.argv)
        .filter_map(|i| req.argv.get(i).map(|k| (db, k.clone())))
        .collect();
    if req.spec.name == "copy" {
        let mut i = 3;
        while i + 1 < req.argv.len() {
            if req.argv[i].eq_ignore_ascii_case(b"db") {
                let n = crate::keyspace::value::parse_i64(&req.argv[i + 1]);
                if let (Some(n), Some(dst)) = (n, req.argv.get(2)) {
                    if n >= 0 && (n as usize) < databases {
                        out.push((n as usize, dst.clone()));
                    }
                }
            }
            i += 1;
        }
    }
    out
}

/// Whether every key of `req` is held by `core` per its current topology.
fn held_here(core: &Core, req: &Request) -> bool {
    core.with_topology(|t| {
        req.spec
            .keys_of(&req.argv)
            .all(|i| t.core_of(key_hash_slot(&req.argv[i])) == core.id)
    })
}

/// What a forwarded batch comes back as: its outcomes, and the SLOWLOG
/// entries its commands made, for the sending connection to complete.
type BatchResult = (Vec<Outcome>, Vec<slowlog::Entry>);

/// Runs a batch that another core sent here.
fn exec_batch(core: &Rc<Core>, reqs: Vec<Request>) -> BatchResult {
    let now = now_ms();
    core.stats.borrow_mut().forwarded_in += reqs.len() as u64;
    let out = {
        let mut shard = core.shard.borrow_mut();
        shard.slowlog.capturing = true;
        let out = reqs
            .into_iter()
            .map(|r| {
                if held_here(core, &r) {
                    Outcome::Done(exec_keyed(&mut shard, r, now, &core.node))
                } else {
                    Outcome::Reroute(r)
                }
            })
            .collect();
        shard.slowlog.capturing = false;
        (out, shard.slowlog.take_pending())
    };
    super::pubsub::flush_events(core);
    out
}

/// Replies of one `process` call, in request order. Replies are encoded
/// straight into the output until a forwarded command is pending; after that
/// they wait in `slots` until the batches come back.
struct Replies<'o> {
    out: &'o mut Vec<u8>,
    slots: Vec<Option<Reply>>,
    batches: Vec<(Vec<Request>, Vec<usize>)>,
    pending: usize,
}

impl Client {
    fn emit(&mut self, r: &mut Replies<'_>, reply: Reply) {
        // Messages published to this client while its command ran go first,
        // as Redis writes them into the output buffer during the command.
        if let Some(rx) = self.sub_rx.as_mut() {
            while let Ok(m) = rx.try_recv() {
                if let Some(s) = &self.subs.sink {
                    s.written(&m);
                }
                let push = m.reply();
                if r.slots.is_empty() {
                    encode(&push, self.proto, r.out);
                } else {
                    r.slots.push(Some(push));
                }
            }
        }
        if reply.is_error() {
            self.count_error(&reply);
        }
        if r.slots.is_empty() {
            encode(&reply, self.proto, r.out);
        } else {
            r.slots.push(Some(reply));
        }
    }

    fn count_error(&self, reply: &Reply) {
        if let Reply::Error(e) = reply {
            let word = e.split(' ').next().unwrap_or("ERR").to_string();
            *self
                .core
                .shard
                .borrow_mut()
                .stats
                .errors
                .entry(word)
                .or_insert(0) += 1;
        }
    }

    /// Sends the pending batches, waits for them, and writes every reply held back.
    async fn flush(&mut self, r: &mut Replies<'_>) {
        if r.pending > 0 {
            let mut waits = Vec::new();
            for (core, (reqs, idx)) in r.batches.iter_mut().enumerate() {
                if reqs.is_empty() {
                    continue;
                }
                let reqs = std::mem::take(reqs);
                let idx = std::mem::take(idx);
                let (tx, rx) = oneshot::channel::<BatchResult>();
                self.core.stats.borrow_mut().forwarded_out += reqs.len() as u64;
                self.core.post(
                    core,
                    None,
                    Box::new(move |c| {
                        let before = c.produced();
                        let out = exec_batch(c, reqs);
                        // Answered once this core's AOF holds the writes.
                        c.when_durable_since(before, move || {
                            let _ = tx.send(out);
                        });
                    }),
                );
                waits.push((rx, idx));
            }
            for (rx, idx) in waits {
                let (outcomes, slow) = rx.await.unwrap_or_default();
                if !slow.is_empty() {
                    self.adopt_slow(slow);
                }
                for (o, i) in outcomes.into_iter().zip(idx) {
                    let reply = match o {
                        Outcome::Done(reply) => reply,
                        Outcome::Reroute(req) => self.reroute(req).await,
                    };
                    if reply.is_error() {
                        self.count_error(&reply);
                    }
                    if let Some(s) = r.slots.get_mut(i) {
                        *s = Some(reply);
                    }
                }
            }
            r.pending = 0;
        }
        for reply in r.slots.drain(..).flatten() {
            encode(&reply, self.proto, r.out);
        }
    }

    /// The cluster checks of `route` alone (MULTI queues with them).
    pub(crate) fn check_route(&self, res: &Resolved, argv: &[Bytes]) -> Result<(), Reply> {
        self.route(res, argv, None).map(|_| ())
    }

    /// Runs a request whose core changed under it, with bounded retries.
    pub(crate) async fn reroute(&mut self, mut req: Request) -> Reply {
        for _ in 0..1000 {
            let route = self.core.with_topology(|t| {
                let mut cores: Vec<usize> = req
                    .spec
                    .keys_of(&req.argv)
                    .map(|i| t.core_of(key_hash_slot(&req.argv[i])))
                    .collect();
                cores.sort_unstable();
                cores.dedup();
                cores
            });
            let outcome = if route.len() > 1 {
                return self.exec_multi(req, route).await;
            } else if route.first().is_none_or(|&c| c == self.core.id) {
                self.core.wait_unlocked().await;
                let (outcome, slow) = {
                    let mut shard = self.core.shard.borrow_mut();
                    if held_here(&self.core, &req) {
                        shard.slowlog.capturing = true;
                        let r = exec_keyed(&mut shard, req, now_ms(), &self.core.node);
                        shard.slowlog.capturing = false;
                        (Outcome::Done(r), shard.slowlog.take_pending())
                    } else {
                        (Outcome::Reroute(req), Vec::new())
                    }
                };
                if !slow.is_empty() {
                    self.adopt_slow(slow);
                }
                outcome
            } else {
                let target = route[0];
                let (tx, rx) = oneshot::channel();
                self.core.post(
                    target,
                    None,
                    Box::new(move |c| {
                        let before = c.produced();
                        let out = exec_batch(c, vec![req]);
                        c.when_durable_since(before, move || {
                            let _ = tx.send(out);
                        });
                    }),
                );
                let Ok((mut outcomes, slow)) = rx.await else {
                    return Reply::err("ERR shard unavailable");
                };
                if !slow.is_empty() {
                    self.adopt_slow(slow);
                }
                match outcomes.pop() {
                    Some(o) => o,
                    None => return Reply::err("ERR shard unavailable"),
                }
            };
            match outcome {
                Outcome::Done(r) => return r,
                Outcome::Reroute(r) => {
                    req = r;
                    crate::runtime::sleep(std::time::Duration::from_millis(1)).await;
                }
            }
        }
        Reply::err("TRYAGAIN slot is moving between cores")
    }

    /// The inputs of Redis's cluster checks besides the slot.
    fn cluster_query(&self, res: &Resolved, multiple: bool) -> ClusterQuery {
        ClusterQuery {
            asking: self.asking || res.spec.has(flags::ASKING),
            write: res.spec.has(flags::WRITE),
            multiple,
            migrate: res.spec.name == "migrate",
            reads_when_down: self
                .core
                .node
                .tun
                .cluster_reads_when_down
                .load(Ordering::Relaxed),
        }
    }

    /// Where a keyed command runs, after the cluster checks.
    /// `first_slot` is the slot of `argv[1]` when the caller already hashed it.
    fn route(
        &self,
        res: &Resolved,
        argv: &[Bytes],
        first_slot: Option<u16>,
    ) -> Result<Routed, Reply> {
        let keys = res.spec.keys;
        let here = |c: usize| {
            if c == self.core.id {
                Route::Here
            } else {
                Route::Core(c)
            }
        };
        // The common case, one key: no iterator, no bookkeeping.
        if keys.first > 0 && keys.first == keys.last && res.spec.find_keys.is_none() {
            let Some(key) = argv.get(keys.first as usize) else {
                return Ok(Routed::here());
            };
            let slot = match first_slot {
                Some(s) if keys.first == 1 => s,
                _ => key_hash_slot(key),
            };
            return self.core.with_topology(|t| {
                let open = if t.cluster_enabled {
                    cluster_route(t, slot, &self.cluster_query(res, false))?
                } else {
                    None
                };
                Ok(Routed {
                    route: here(t.core_of(slot)),
                    slot: Some(slot),
                    open,
                })
            });
        }
        let slot = first_slot.filter(|_| keys.first == 1);
        self.core.with_topology(|t| {
            let mut first: Option<(u16, &Bytes)> = None;
            let mut multiple = false;
            let mut cores: [usize; 2] = [usize::MAX; 2];
            let mut many: Option<Vec<usize>> = None;
            for i in res.spec.keys_of(argv) {
                let Some(key) = argv.get(i) else { continue };
                let slot = key_hash_slot(key);
                if t.cluster_enabled {
                    match first {
                        None => {
                            if t.slot_owner[slot as usize] == SlotOwner::Unassigned {
                                return Err(Reply::err(errors::CLUSTERDOWN_UNBOUND));
                            }
                            first = Some((slot, key));
                        }
                        Some((s, k)) if k != key => {
                            if s != slot {
                                return Err(Reply::err(errors::CROSSSLOT));
                            }
                            multiple = true;
                        }
                        _ => {}
                    }
                }
                let c = t.core_of(slot);
                if cores[0] == usize::MAX {
                    cores[0] = c;
                } else if cores[0] != c {
                    let v = many.get_or_insert_with(|| vec![cores[0]]);
                    if !v.contains(&c) {
                        v.push(c);
                    }
                }
            }
            let open = match first {
                Some((slot, _)) => cluster_route(t, slot, &self.cluster_query(res, multiple))?,
                None => None,
            };
            let route = match many {
                Some(mut v) => {
                    v.sort_unstable();
                    Route::Cores(v)
                }
                None if cores[0] == usize::MAX => Route::Here,
                None => here(cores[0]),
            };
            Ok(Routed { route, slot, open })
        })
    }

    /// The command's row, with a one-entry cache per connection: clients
    /// mostly repeat the same command, and the bytes compare is cheaper than
    /// lowercasing and hashing the name.
    fn resolve(&mut self, argv: &[Bytes]) -> Result<Resolved, Reply> {
        if let (Some((name, res)), Some(a0)) = (&self.last_resolved, argv.first()) {
            if name == a0 {
                let (argc, arity) = (argv.len() as i32, res.spec.arity);
                if (arity > 0 && arity != argc) || argc < -arity {
                    return Err(Reply::err_owned(errors::wrong_args(TABLE.fullname(res.id))));
                }
                return Ok(*res);
            }
        }
        let res = TABLE.resolve(argv)?;
        if res.argpos == 1 && res.spec.subcommands.is_empty() {
            if let Some(a0) = argv.first() {
                self.last_resolved = Some((a0.clone(), res));
            }
        }
        Ok(res)
    }

    fn feed_monitor(&self, argv: &[Bytes]) {
        let us = now_us();
        let mut line = format!(
            "+{}.{:06} [{} {}]",
            us / 1_000_000,
            us % 1_000_000,
            self.db,
            self.info.addr
        );
        for a in argv {
            line.push_str(" \"");
            for &b in a.iter() {
                match b {
                    b'\\' => line.push_str("\\\\"),
                    b'"' => line.push_str("\\\""),
                    b'\n' => line.push_str("\\n"),
                    b'\r' => line.push_str("\\r"),
                    b'\t' => line.push_str("\\t"),
                    0x07 => line.push_str("\\a"),
                    0x08 => line.push_str("\\b"),
                    0x20..=0x7e => line.push(b as char),
                    _ => line.push_str(&format!("\\x{b:02x}")),
                }
            }
            line.push('"');
        }
        line.push_str("\r\n");
        self.core.node.feed_monitors(Bytes::from(line));
    }

    /// Starts loading, for every command of a pipeline whose first argument is
    /// a key held here, that key's slot table, so the lookups that follow miss
    /// the cache less. (The argument may not be a key: then it is a wasted hint.)
    /// Returns the slot of each command's first argument, for routing.
    fn prefetch(&self, cmds: &[Vec<Bytes>]) -> Vec<u16> {
        let shard = self.core.shard.borrow();
        let db = shard.dbs.get(self.db);
        let slots: Vec<u16> = self.core.with_topology(|t| {
            cmds.iter()
                .map(|argv| {
                    let Some(k) = argv.get(1) else {
                        return u16::MAX;
                    };
                    let slot = key_hash_slot(k);
                    if t.core_of(slot) != self.core.id {
                        return slot | 0x8000;
                    }
                    if let Some(db) = db {
                        db.prefetch_slot(slot as usize);
                    }
                    slot
                })
                .collect()
        });
        if let Some(db) = db {
            for (argv, &s) in cmds.iter().zip(&slots) {
                if s & 0x8000 == 0 {
                    if let Some(k) = argv.get(1) {
                        db.touch(s as usize, k);
                    }
                }
            }
        }
        // Bit 15 marked "not on this core" / "no argument"; slots are < 16384.
        slots
            .into_iter()
            .map(|s| if s == u16::MAX { 0 } else { s & 0x3FFF })
            .collect()
    }

    /// Runs a batch of parsed commands and appends their encoded replies to `out`.
    pub async fn process(&mut self, cmds: Vec<Vec<Bytes>>, out: &mut Vec<u8>) {
        let ncores = self.core.ncores;
        let produced = self.core.produced();
        // Whether a command of this batch may have changed data: only then
        // do its replies wait for the AOF (a batch of reads must not wait
        // on other clients' writes: with the disk failing, INFO and GET
        // still answer, as in Redis).
        let mut may_write = false;
        let mut r = Replies {
            out,
            slots: Vec::new(),
            batches: Vec::new(),
            pending: 0,
        };
        let mut now = now_ms();
        let first_slots = if cmds.len() > 1 {
            self.prefetch(&cmds)
        } else {
            Vec::new()
        };
        for (i, argv) in cmds.into_iter().enumerate() {
            if self.close_after_reply {
                break;
            }
            // ASKING holds for the command after it (or until EXEC), as
            // Redis's resetClient clears it.
            if self.asking && !self.asking_fresh && self.multi.is_none() {
                self.asking = false;
            }
            self.asking_fresh = false;
            let res = match self.resolve(&argv) {
                Ok(res) => res,
                Err(e) => {
                    self.flag_multi();
                    self.emit(&mut r, e);
                    continue;
                }
            };
            if !self.authenticated && !res.spec.has(flags::NO_AUTH) {
                self.flag_multi();
                self.emit(&mut r, Reply::err(errors::NOAUTH));
                continue;
            }
            // -MISCONF while the AOF cannot be written, -LOADING while it loads.
            let queued_write = || {
                self.multi
                    .as_ref()
                    .is_some_and(|m| m.queued.iter().any(|(q, _)| q.spec.has(flags::WRITE)))
            };
            if let Some(e) = super::aof::refuse(&self.core.node, res.spec, queued_write) {
                self.flag_multi();
                self.reject(res.id);
                self.emit(&mut r, e);
                continue;
            }
            if res.spec.has(flags::WRITE) || matches!(res.spec.name, "exec" | "debug") {
                may_write = true;
            }
            if self.multi.is_some() {
                if res.spec.has(flags::NO_MULTI) {
                    self.flag_multi();
                    self.emit(&mut r, Reply::err(errors::NOT_IN_MULTI));
                    continue;
                }
                let top = res.argpos == 1;
                if !(top
                    && matches!(
                        res.spec.name,
                        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
                    ))
                {
                    let reply = self.queue(res, argv);
                    self.emit(&mut r, reply);
                    continue;
                }
            }
            if self.in_subscribed_mode()
                && !(res.argpos == 1
                    && matches!(
                        res.spec.name,
                        "subscribe"
                            | "psubscribe"
                            | "ssubscribe"
                            | "unsubscribe"
                            | "punsubscribe"
                            | "sunsubscribe"
                            | "ping"
                            | "quit"
                            | "reset"
                    ))
            {
                let e = format!(
                    "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                    TABLE.fullname(res.id)
                );
                self.emit(&mut r, Reply::err_owned(e));
                continue;
            }
            self.info.last_cmd.set(res.id);
            if self.core.node.monitor_count.load(Ordering::Relaxed) > 0
                && !res.spec.has(flags::SKIP_MONITOR)
                && !res.spec.has(flags::ADMIN)
            {
                self.feed_monitor(&argv);
            }
            match res.spec.handler {
                Handler::Keyed(_) => {
                    // A core reserved by a multi-core operation may be changing
                    // slot ownership: wait it out before routing, so the route
                    // is decided on the topology the command will run under.
                    if self.core.is_locked() {
                        self.core.wait_unlocked().await;
                        now = now_ms();
                    }
                    let Routed { route, slot, open } =
                        match self.route(&res, &argv, first_slots.get(i).copied()) {
                            Ok(routed) => routed,
                            Err(e) => {
                                self.reject(res.id);
                                self.emit(&mut r, e);
                                continue;
                            }
                        };
                    let req = Request {
                        id: res.id,
                        spec: res.spec,
                        argv,
                        argpos: res.argpos,
                        db: self.db as u16,
                        slot,
                        open,
                    };
                    if res.spec.has(flags::BLOCKING) && !self.in_multi() {
                        self.flush(&mut r).await;
                        let reply = self.exec_blocking(req, route).await;
                        self.emit(&mut r, reply);
                        now = now_ms();
                        continue;
                    }
                    match route {
                        Route::Here => {
                            let (reply, slow) = {
                                let mut shard = self.core.shard.borrow_mut();
                                shard.slowlog.capturing = true;
                                let reply = exec_keyed(&mut shard, req, now, &self.core.node);
                                shard.slowlog.capturing = false;
                                let slow = if shard.slowlog.pending.is_empty() {
                                    Vec::new()
                                } else {
                                    shard.slowlog.take_pending()
                                };
                                (reply, slow)
                            };
                            if !slow.is_empty() {
                                self.adopt_slow(slow);
                            }
                            self.emit(&mut r, reply);
                        }
                        Route::Core(c) => {
                            if r.batches.is_empty() {
                                r.batches.resize_with(ncores, Default::default);
                            }
                            r.slots.push(None);
                            let slot_idx = r.slots.len() - 1;
                            r.batches[c].0.push(req);
                            r.batches[c].1.push(slot_idx);
                            r.pending += 1;
                        }
                        Route::Cores(cores) => {
                            self.flush(&mut r).await;
                            let reply = self.exec_multi(req, cores).await;
                            self.emit(&mut r, reply);
                            now = now_ms();
                        }
                    }
                }
                Handler::Conn(f) => {
                    self.flush(&mut r).await;
                    let logged = slowlog_wants(&self.core.node, &res).then(|| argv.clone());
                    let start = ticks();
                    let reply = f(self, Args::new(argv, res.argpos))
                        .await
                        .unwrap_or_else(|e| e);
                    self.record_here(res, start, reply.is_error(), logged.as_deref());
                    self.emit(&mut r, reply);
                    now = now_ms();
                }
                Handler::Container => {
                    let e = crate::command::errors::wrong_args(res.spec.name);
                    self.emit(&mut r, Reply::err_owned(e));
                }
            }
        }
        self.flush(&mut r).await;
        super::pubsub::flush_events(&self.core);
        // The replies leave once what this batch propagated here is durable.
        if may_write {
            self.core.durable_since(produced).await;
        }
    }

    fn reject(&self, id: usize) {
        count_rejected(&mut self.core.shard.borrow_mut(), id);
    }

    /// Runs a command whose keys live on several cores atomically (see
    /// `exec_cores`); a blocking one that found nothing parks the client.
    pub async fn exec_multi(&mut self, req: Request, cores: Vec<usize>) -> Reply {
        let res = Resolved {
            id: req.id,
            spec: req.spec,
            argpos: req.argpos,
        };
        let logged = slowlog_wants(&self.core.node, &res).then(|| req.argv.clone());
        let start = ticks();
        let r = self.exec_cores(vec![req], cores, None, true).await;
        let reply = r.replies.and_then(|mut v| v.pop()).unwrap_or(Reply::Nil);
        self.record_here(res, start, reply.is_error(), logged.as_deref());
        reply
    }

    /// Records a command this connection ran itself (connection commands,
    /// multi-core ones), its SLOWLOG entry with this client's address.
    fn record_here(&self, res: Resolved, start: u64, failed: bool, argv: Option<&[Bytes]>) {
        let slow = {
            let mut shard = self.core.shard.borrow_mut();
            shard.slowlog.capturing = true;
            let node = &self.core.node;
            record(
                &mut shard,
                node,
                res.spec,
                res.id,
                start,
                failed,
                argv.unwrap_or(&[]),
            );
            shard.slowlog.capturing = false;
            shard.slowlog.take_pending()
        };
        if !slow.is_empty() {
            self.adopt_slow(slow);
        }
    }

    /// Logs SLOWLOG entries made for this client's commands (on whichever
    /// core ran them) in this core's slowlog, with the client's address and
    /// name.
    fn adopt_slow(&self, entries: Vec<slowlog::Entry>) {
        if entries.is_empty() {
            return;
        }
        let peer = self.info.addr.to_string();
        let name = self.info.name.borrow().clone();
        let max = self.core.node.tun.slowlog_max_len.load(Ordering::Relaxed);
        let mut shard = self.core.shard.borrow_mut();
        for mut e in entries {
            e.peer.clone_from(&peer);
            e.name.clone_from(&name);
            shard.slowlog.push(e, max);
        }
    }

    /// Runs requests (one command, or a transaction's commands in order)
    /// whose keys live on several cores: reserves those cores in ascending
    /// order, copies the keys' entries here, runs the commands on that copy,
    /// writes the results back and releases the cores. Nobody sees the keys
    /// in between, so the commands are atomic like Redis's.
    /// With `watch`, nothing runs (replies `None`) if the flag is set once
    /// every core is held: a WATCHed key changed. With `may_block`, a
    /// blocking command that found nothing is parked on its keys' cores
    /// (registered before they are released, so no push is missed).
    pub async fn exec_cores(
        &mut self,
        reqs: Vec<Request>,
        cores: Vec<usize>,
        watch: Option<Arc<AtomicBool>>,
        may_block: bool,
    ) -> CoresResult {
        let mut keys_by_core: Vec<Vec<DbKey>> = vec![Vec::new(); self.core.ncores];
        let topo = self.core.topology();
        let databases = self.core.shard.borrow().dbs.len();
        for req in &reqs {
            for (db, key) in keys_with_dbs(req, databases) {
                let c = topo.core_of(key_hash_slot(&key));
                if let Some(v) = keys_by_core.get_mut(c) {
                    if !v.iter().any(|(d, k)| *d == db && *k == key) {
                        v.push((db, key));
                    }
                }
            }
        }
        let keys_by_core = Arc::new(keys_by_core);
        let write = reqs.iter().any(|r| r.spec.has(flags::WRITE));
        let node = self.core.node.clone();
        let kb = keys_by_core.clone();
        let gather = move |c: &Rc<Core>| -> Vec<(DbKey, Option<Held>)> {
            let now = now_ms();
            let mut shard = c.shard.borrow_mut();
            kb.get(c.id)
                .map(|keys| {
                    keys.iter()
                        .filter_map(|(db, k)| {
                            let d = shard.dbs.get_mut(*db)?;
                            let e = d.peek(k, now).cloned();
                            let exp = d.expire_of(k);
                            Some(((*db, k.clone()), e.map(|e| (e, exp))))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let cores_for_finish = cores.clone();
        let (parked_tx, mut parked_rx) = futures::channel::mpsc::unbounded();
        let single = reqs.len() == 1;
        let topo2 = topo.clone();
        let (replies, scratch, block) = self
            .core
            .lock_and(&cores, gather, move |gathered| {
                let now = now_ms();
                let mut scratch = Shard::new(databases);
                scratch.is_copy = true;
                for per_core in gathered {
                    for ((db, k), e) in per_core {
                        if let (Some((e, exp)), Some(d)) = (e, scratch.dbs.get_mut(db)) {
                            d.set_enc(&k, e.val, exp.map_or(Ttl::Clear, Ttl::At), now, e.enc);
                        }
                    }
                }
                if watch.is_some_and(|w| w.load(Ordering::Relaxed)) {
                    let none: Vec<Option<Job>> = cores_for_finish.iter().map(|_| None).collect();
                    return (none, (None, scratch, None));
                }
                scratch.no_block = !(may_block && single);
                let replies: Vec<Reply> = reqs
                    .into_iter()
                    .map(|r| exec_keyed(&mut scratch, r, now, &node))
                    .collect();
                let block = scratch.block.take();
                let changed = std::mem::take(&mut scratch.propagate.changed);
                let mut finish: Vec<Option<Job>> = Vec::new();
                for &c in &cores_for_finish {
                    let park: Option<(usize, Vec<Bytes>)> = block.as_ref().and_then(|b| {
                        let db = keys_by_core.get(c)?.first()?.0;
                        let mine: Vec<Bytes> = b
                            .keys
                            .iter()
                            .filter(|k| topo.core_of(key_hash_slot(k)) == c)
                            .cloned()
                            .collect();
                        (!mine.is_empty()).then_some((db, mine))
                    });
                    if !write && park.is_none() {
                        finish.push(None);
                        continue;
                    }
                    let writes: Vec<(DbKey, Option<Written>)> = if write {
                        keys_by_core
                            .get(c)
                            .map(|keys| {
                                keys.iter()
                                    .filter_map(|(db, k)| {
                                        let d = scratch.dbs.get_mut(*db)?;
                                        let val = d.peek(k, now).map(|e| (e.val.clone(), e.enc));
                                        let v = val.map(|(val, enc)| (val, d.expire_of(k), enc));
                                        Some(((*db, k.clone()), v))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    let parked_tx = parked_tx.clone();
                    // The keys the commands changed here, propagated as their values.
                    let logged: Vec<DbKey> = writes
                        .iter()
                        .filter(|(k, _)| changed.contains(k))
                        .map(|(k, _)| k.clone())
                        .collect();
                    finish.push(Some(Box::new(move |core: &Rc<Core>| {
                        let now = now_ms();
                        let mut shard = core.shard.borrow_mut();
                        for ((db, k), v) in writes {
                            let Some(d) = shard.dbs.get_mut(db) else {
                                continue;
                            };
                            match v {
                                None => {
                                    d.remove(&k, now);
                                }
                                Some((val, exp, enc)) => {
                                    let ready = matches!(val, Value::List(_) | Value::ZSet(_));
                                    d.set_enc(&k, val, exp.map_or(Ttl::Clear, Ttl::At), now, enc);
                                    if ready {
                                        shard.signal_ready(db, &k);
                                    }
                                }
                            }
                            shard.touch_watched(db, &k);
                        }
                        super::aof::log_written_keys(&mut shard, &logged);
                        if let Some((db, keys)) = park {
                            // The keys span cores: a ready key only wakes the
                            // client, which runs the command again.
                            let (id, rx) =
                                shard.add_waiter(db, keys, Box::new(|_, _| Some(Served::Retry)));
                            let _ = parked_tx.unbounded_send((core.id, id, rx));
                        }
                        shard.serve_ready(now);
                    })));
                }
                (finish, (Some(replies), scratch, block))
            })
            .await;
        {
            let mut shard = self.core.shard.borrow_mut();
            shard.stats.keyspace_hits += scratch.stats.keyspace_hits;
            shard.stats.keyspace_misses += scratch.stats.keyspace_misses;
            shard.dirty += scratch.dirty;
            shard.events.extend(scratch.events);
        }
        if write {
            let me = self.core.id;
            super::aof::durable_on(&self.core, cores.iter().copied().filter(|&c| c != me)).await;
        }
        let mut waits = Vec::new();
        if let Some(b) = &block {
            let n = cores
                .iter()
                .filter(|&&c| b.keys.iter().any(|k| topo2.core_of(key_hash_slot(k)) == c))
                .count();
            use futures::StreamExt;
            while waits.len() < n {
                match parked_rx.next().await {
                    Some(w) => waits.push(w),
                    None => break,
                }
            }
        }
        CoresResult {
            replies,
            parked: block.map(|b| Parked {
                waits,
                timeout_ms: b.timeout_ms,
                timeout_reply: b.timeout_reply,
            }),
        }
    }

    /// Runs a blocking command (BLPOP ...): at once when one of its keys is
    /// ready, else parks the client on its keys until one is, or until the
    /// timeout, or until the client goes away. Pipelined commands after it
    /// wait, as in Redis.
    async fn exec_blocking(&mut self, req: Request, route: Route) -> Reply {
        let mut route = Some(route);
        let mut deadline: Option<Option<u64>> = None;
        for _ in 0..100_000 {
            let route_now = match route.take() {
                Some(r) => r,
                None => match self.route_again(&req) {
                    Ok(r) => r,
                    Err(e) => return e,
                },
            };
            let started = match route_now {
                Route::Here => match capture_slow(&self.core, |c| run_blocking(c, req.clone())) {
                    (Ok(s), slow) => {
                        self.adopt_slow(slow);
                        s
                    }
                    (Err(_), _) => continue,
                },
                Route::Core(c) => {
                    let r = req.clone();
                    let run = move |core: &Rc<Core>| capture_slow(core, |c| run_blocking(c, r));
                    match self.core.run_on_durable(c, run).await {
                        Some((Ok(s), slow)) => {
                            self.adopt_slow(slow);
                            s
                        }
                        Some((Err(_), _)) => {
                            crate::runtime::sleep(std::time::Duration::from_millis(1)).await;
                            continue;
                        }
                        None => return Reply::err("ERR shard unavailable"),
                    }
                }
                Route::Cores(cores) => {
                    let r = self.exec_cores(vec![req.clone()], cores, None, true).await;
                    match r.parked {
                        Some(p) => Started::Parked(p),
                        None => {
                            Started::Done(r.replies.and_then(|mut v| v.pop()).unwrap_or(Reply::Nil))
                        }
                    }
                }
            };
            let parked = match started {
                Started::Done(reply) => {
                    return reply;
                }
                Started::Parked(p) => p,
            };
            let until = *deadline.get_or_insert_with(|| {
                (parked.timeout_ms > 0).then(|| now_ms().saturating_add(parked.timeout_ms))
            });
            match self.wait_parked(parked, until).await {
                Waited::Served(reply) => {
                    // Served on another core: its AOF must hold the pop.
                    super::aof::durable_everywhere(&self.core).await;
                    return reply;
                }
                Waited::Retry => continue,
                Waited::TimedOut(reply) => return reply,
                Waited::Gone => {
                    self.close_after_reply = true;
                    return Reply::NilArray;
                }
            }
        }
        Reply::err("ERR blocking command retried too often")
    }

    /// The route of a request run again after a wake-up.
    fn route_again(&self, req: &Request) -> Result<Route, Reply> {
        let res = Resolved {
            id: req.id,
            spec: req.spec,
            argpos: req.argpos,
        };
        self.route(&res, &req.argv, None).map(|r| r.route)
    }

    /// Waits for a parked command: served, woken (run it again), timed out,
    /// or the client went away. Checks the socket and CLIENT KILL every
    /// 100 ms, so a closed client does not take an element later.
    async fn wait_parked(&mut self, parked: Parked, until: Option<u64>) -> Waited {
        use futures::future::{select, select_all, Either};
        let Parked {
            waits,
            timeout_reply,
            ..
        } = parked;
        let ids: Vec<(usize, u64)> = waits.iter().map(|(c, id, _)| (*c, *id)).collect();
        let mut rxs: Vec<_> = waits.into_iter().map(|(_, _, rx)| rx).collect();
        if rxs.is_empty() {
            return Waited::Retry;
        }
        loop {
            let now = now_ms();
            let tick = match until {
                Some(u) if u <= now => 0,
                Some(u) => (u - now).min(100),
                None => 100,
            };
            let timer = crate::runtime::sleep(std::time::Duration::from_millis(tick));
            futures::pin_mut!(timer);
            let first = select_all(rxs.iter_mut());
            match select(first, timer).await {
                Either::Left(((res, _, _), _)) => {
                    self.cancel_waiters(&ids).await;
                    return match res {
                        Ok(Served::Reply(r)) => Waited::Served(r),
                        _ => Waited::Retry,
                    };
                }
                Either::Right(_) => {}
            }
            let gone = self.info.killed.get() || peer_closed(self.info.fd);
            let late = until.is_some_and(|u| now_ms() >= u);
            if gone || late {
                if self.cancel_waiters(&ids).await {
                    return if gone {
                        Waited::Gone
                    } else {
                        Waited::TimedOut(timeout_reply)
                    };
                }
                // Served meanwhile: its reply is on its way.
                for rx in rxs.iter_mut() {
                    if let Ok(Served::Reply(r)) = rx.await {
                        return Waited::Served(r);
                    }
                }
                return Waited::Retry;
            }
        }
    }

    /// Removes the client's waiters; true when every one was still there
    /// (none was served).
    async fn cancel_waiters(&self, ids: &[(usize, u64)]) -> bool {
        let mut all = true;
        for &(c, id) in ids {
            let removed = if c == self.core.id {
                self.core.shard.borrow_mut().remove_waiter(id)
            } else {
                self.core
                    .run_on(c, move |core| core.shard.borrow_mut().remove_waiter(id))
                    .await
                    .unwrap_or(true)
            };
            all &= removed;
        }
        all
    }
}

/// What `exec_cores` did.
pub struct CoresResult {
    /// The replies in request order; `None` when a WATCHed key had changed.
    pub replies: Option<Vec<Reply>>,
    /// A blocking command found nothing and is parked.
    pub parked: Option<Parked>,
}

/// A blocked command's waiters: (core, waiter id, where its result comes).
pub struct Parked {
    pub waits: Vec<(usize, u64, oneshot::Receiver<Served>)>,
    pub timeout_ms: u64,
    pub timeout_reply: Reply,
}

enum Started {
    Done(Reply),
    Parked(Parked),
}

enum Waited {
    Served(Reply),
    Retry,
    TimedOut(Reply),
    Gone,
}

/// Runs `f` on `core` with the slowlog capturing: the entries its commands
/// made come back with its result.
fn capture_slow<T>(core: &Rc<Core>, f: impl FnOnce(&Rc<Core>) -> T) -> (T, Vec<slowlog::Entry>) {
    core.shard.borrow_mut().slowlog.capturing = true;
    let out = f(core);
    let mut shard = core.shard.borrow_mut();
    shard.slowlog.capturing = false;
    (out, shard.slowlog.take_pending())
}

/// Runs a blocking command on the core holding its keys; parks it there if
/// it found nothing. `Err` when the keys moved to another core meanwhile.
fn run_blocking(core: &Rc<Core>, req: Request) -> Result<Started, Request> {
    if !held_here(core, &req) {
        return Err(req);
    }
    let now = now_ms();
    let node = core.node.clone();
    let mut shard = core.shard.borrow_mut();
    let reply = exec_keyed(&mut shard, req.clone(), now, &node);
    let Some(b) = shard.block.take() else {
        return Ok(Started::Done(reply));
    };
    let db = req.db as usize;
    let retry = Box::new(move |shard: &mut Shard, now: u64| {
        let reply = exec_keyed(shard, req.clone(), now, &node);
        match shard.block.take() {
            Some(_) => None,
            None => Some(Served::Reply(reply)),
        }
    });
    let (id, rx) = shard.add_waiter(db, b.keys, retry);
    Ok(Started::Parked(Parked {
        waits: vec![(core.id, id, rx)],
        timeout_ms: b.timeout_ms,
        timeout_reply: b.timeout_reply,
    }))
}

/// Whether the peer closed the connection (a non-blocking peek reads EOF).
fn peer_closed(fd: i32) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: recv into a live 1-byte buffer; MSG_PEEK leaves the data queued.
    let n = unsafe {
        libc::recv(
            fd,
            b.as_mut_ptr() as *mut libc::c_void,
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n == 0
}
