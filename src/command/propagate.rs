//! Propagation: what a core changed, as the commands that redo it, in the
//! order it changed it. This is Redis's `propagate()`/`alsoPropagate()`:
//! the append-only file is fed from it, and replication will be.
//!
//! Every core has one stream (`Shard::propagate`), RESP-encoded as it grows
//! (the format of [`crate::persistence::aof`]), with `SELECT` written when
//! the db changes. What goes in:
//!
//! - by default a keyed command's own arguments, when it changed the dataset
//!   (`Shard::dirty` grew while it ran);
//! - instead, what the command asked for with [`Ctx::propagate_as`] where
//!   Redis rewrites the command: relative expiries made absolute (SET EX →
//!   SET ... PXAT, EXPIRE → PEXPIREAT ...), random choices made explicit
//!   (SPOP → SREM), float increments as their result (INCRBYFLOAT → SET
//!   ... KEEPTTL), blocking pops as their non-blocking form;
//! - keys deleted because their TTL passed (on access or by the active
//!   cycle) as `DEL` (`UNLINK` with lazyfree-lazy-expire), before the command
//!   that met them;
//! - keys a multi-core command or SORT ... STORE wrote, as their new value
//!   ([`Shard::propagate_key`]);
//! - barriers (see `persistence::aof`) and node-wide commands (FLUSHALL ...)
//!   written while every core is held.
//!
//! Commands that ran as one unit on a core (a command whose propagation is
//! several commands, a transaction's commands on that core) are wrapped in
//! `MULTI`/`EXEC`, as Redis 7.0's propagatePendingCommands does.
//!
//! Nothing is built while nobody consumes the stream (`is_on`): the data path
//! then pays one branch per command.

use crate::persistence::aof::{encode_barrier, encode_command, encode_key, EXEC, MULTI};
use crate::runtime::Shard;
use bytes::Bytes;
use std::task::Waker;

/// One core's propagation stream.
#[derive(Default)]
pub struct Propagation {
    on: bool,
    /// Encoded commands not yet taken by the consumer.
    buf: Vec<u8>,
    /// Stream offset of `buf[0]` (bytes taken so far).
    taken: u64,
    /// The db the stream's last command ran in (`None`: write SELECT first).
    db: Option<usize>,
    /// Open units (a command, a transaction around commands).
    depth: u32,
    /// Where the outermost open unit starts in `buf`, and how many commands
    /// it wrote so far.
    unit_start: usize,
    unit_ops: u32,
    /// The running command called `propagate_as`/`propagate_none`.
    rewritten: bool,
    /// lazyfree-lazy-expire: expired keys go as UNLINK.
    pub unlink_expired: bool,
    /// lazyfree-lazy-server-del: server-side deletions (SPOP of a whole
    /// set) go as UNLINK.
    pub unlink_server_del: bool,
    /// Woken when the stream goes from empty to non-empty.
    consumer: Option<Waker>,
    /// Keys signalled as modified on a copy shard (`Shard::is_copy`): what a
    /// multi-core command must write back and propagate.
    pub changed: Vec<(usize, Bytes)>,
    /// Commands written since start (for statistics).
    pub ops: u64,
}

impl Propagation {
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Starts the stream: what follows is written to a file that starts
    /// in db 0, so the first command is preceded by a SELECT.
    pub fn start(&mut self) {
        self.on = true;
        self.db = None;
    }

    /// Stops the stream; what was not taken yet stays for `take`.
    pub fn stop(&mut self) {
        self.on = false;
        self.depth = 0;
        self.rewritten = false;
    }

    /// Drops what was written and not taken (nobody will write it).
    pub fn discard(&mut self) {
        self.taken += self.buf.len() as u64;
        self.buf.clear();
    }

    /// Stream offset after the last byte written.
    pub fn end_offset(&self) -> u64 {
        self.taken + self.buf.len() as u64
    }

    /// Bytes written and not taken yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Takes everything written so far and its end offset; nothing while a
    /// unit is open (its MULTI may still have to be put in front).
    pub fn take(&mut self) -> Option<(Vec<u8>, u64)> {
        if self.buf.is_empty() || self.depth > 0 {
            return None;
        }
        let b = std::mem::take(&mut self.buf);
        self.taken += b.len() as u64;
        Some((b, self.taken))
    }

    /// Registers the consumer's waker, woken when bytes arrive.
    pub fn set_consumer(&mut self, w: &Waker) {
        match &self.consumer {
            Some(x) if x.will_wake(w) => {}
            _ => self.consumer = Some(w.clone()),
        }
    }

    fn wrote(&mut self, was_empty: bool) {
        if was_empty {
            if let Some(w) = self.consumer.take() {
                w.wake();
            }
        }
    }

    /// Appends a command run in `db`.
    pub fn push<A: AsRef<[u8]>>(&mut self, db: usize, argv: &[A]) {
        if !self.on {
            return;
        }
        let was_empty = self.buf.is_empty();
        self.select(db);
        encode_command(&mut self.buf, argv);
        self.unit_ops += 1;
        self.ops += 1;
        self.wrote(was_empty);
    }

    fn select(&mut self, db: usize) {
        if self.db != Some(db) {
            let n = itoa::Buffer::new().format(db).to_string();
            encode_command(&mut self.buf, &[b"SELECT".as_slice(), n.as_bytes()]);
            self.db = Some(db);
        }
    }

    /// Appends a barrier (only while every core is held: see
    /// `persistence::aof`).
    pub fn barrier(&mut self, id: u64) {
        if !self.on {
            return;
        }
        let was_empty = self.buf.is_empty();
        encode_barrier(&mut self.buf, id);
        self.wrote(was_empty);
    }

    fn open(&mut self) {
        if self.depth == 0 {
            self.unit_start = self.buf.len();
            self.unit_ops = 0;
        }
        self.depth += 1;
        self.rewritten = false;
    }

    fn close(&mut self) {
        self.rewritten = false;
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 && self.unit_ops > 1 {
            let at = self.unit_start.min(self.buf.len());
            self.buf.splice(at..at, MULTI.iter().copied());
            self.buf.extend_from_slice(EXEC);
        }
    }
}

impl Shard {
    /// Writes a DEL (or UNLINK) for every key expired since the last call.
    pub fn propagate_expired(&mut self) {
        if !self.propagate.on {
            return;
        }
        let Shard { dbs, propagate, .. } = self;
        let cmd: &[u8] = if propagate.unlink_expired {
            b"UNLINK"
        } else {
            b"DEL"
        };
        for (i, d) in dbs.iter_mut().enumerate() {
            while let Some(k) = d.expired_log.get(d.expired_propagated) {
                propagate.push(i, &[cmd, k.as_bytes()]);
                d.expired_propagated += 1;
            }
        }
    }

    /// Opens a unit before a command (or a transaction) runs.
    pub fn propagate_begin(&mut self) {
        if !self.propagate.on {
            return;
        }
        self.propagate_expired();
        self.propagate.open();
    }

    /// Closes the unit of a command that ran in `db` with `argv`: logs the
    /// keys it found expired, then its arguments when it `changed` the
    /// dataset and did not ask for something else.
    pub fn propagate_end(&mut self, db: usize, argv: &[Bytes], changed: bool) {
        if !self.propagate.on || self.propagate.depth == 0 {
            return;
        }
        self.propagate_expired();
        if changed && !self.propagate.rewritten && !argv.is_empty() {
            self.propagate.push(db, argv);
        }
        self.propagate.close();
    }

    /// Logs `key` of `db` as its current value (or its deletion): for writes
    /// that are not one command of this core (the part of a multi-core
    /// command that landed here, SORT ... STORE).
    pub fn propagate_key(&mut self, db: usize, key: &[u8]) {
        if !self.propagate.on {
            return;
        }
        let Shard { dbs, propagate, .. } = self;
        let Some(d) = dbs.get(db) else { return };
        let was_empty = propagate.buf.is_empty();
        match d.entry_raw(key) {
            None => {
                propagate.select(db);
                encode_command(&mut propagate.buf, &[b"DEL".as_slice(), key]);
                propagate.unit_ops += 1;
                propagate.ops += 1;
            }
            Some(e) => {
                propagate.select(db);
                let n = encode_key(&mut propagate.buf, key, &e.val, d.expire_of(key), true);
                propagate.unit_ops += n as u32;
                propagate.ops += n as u64;
            }
        }
        propagate.wrote(was_empty);
    }

    /// Opens a unit that several writes share (a transaction's commands
    /// on this core, a multi-core command's write-back).
    pub fn propagate_unit_begin(&mut self) {
        if self.propagate.on {
            self.propagate_expired();
            self.propagate.open();
        }
    }

    /// Closes the unit opened by `propagate_unit_begin`.
    pub fn propagate_unit_end(&mut self) {
        if self.propagate.on && self.propagate.depth > 0 {
            self.propagate_expired();
            self.propagate.close();
        }
    }
}

impl super::Ctx<'_> {
    /// Whether the changes are being propagated (build rewrites only then).
    pub fn propagating(&self) -> bool {
        self.shard.propagate.on
    }

    /// Propagates `argv` (in the command's db) for this command instead of
    /// its own arguments, as Redis's rewriteClientCommandVector and
    /// alsoPropagate; may be called several times.
    pub fn propagate_as<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        if !self.shard.propagate.on {
            return;
        }
        self.shard.propagate_expired();
        self.shard.propagate.push(self.db, argv);
        self.shard.propagate.rewritten = true;
    }

    /// Propagates nothing for this command (what it changed was propagated
    /// some other way).
    pub fn propagate_none(&mut self) {
        self.shard.propagate.rewritten = true;
    }

    /// DEL, or UNLINK when lazyfree-lazy-expire is on: what Redis
    /// propagates for a key deleted because its time passed.
    pub fn expire_del_cmd(&self) -> &'static [u8] {
        if self.shard.propagate.unlink_expired {
            b"UNLINK"
        } else {
            b"DEL"
        }
    }

    /// DEL, or UNLINK with lazyfree-lazy-server-del.
    pub fn server_del_cmd(&self) -> &'static [u8] {
        if self.shard.propagate.unlink_server_del {
            b"UNLINK"
        } else {
            b"DEL"
        }
    }
}

/// An absolute unix-ms time as an argument.
pub fn ms_arg(ms: u64) -> Vec<u8> {
    itoa::Buffer::new().format(ms).as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Ttl, Value};
    use crate::persistence::aof::{read_all, Item};

    fn commands(b: &[u8]) -> Vec<String> {
        read_all(b)
            .unwrap()
            .0
            .into_iter()
            .map(|(_, i)| match i {
                Item::Command(a) => a
                    .iter()
                    .map(|x| String::from_utf8_lossy(x).into_owned())
                    .collect::<Vec<_>>()
                    .join(" "),
                Item::Barrier(id) => format!("#{id}"),
                Item::Annotation => "#".into(),
            })
            .collect()
    }

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn off_by_default_and_nothing_is_built() {
        let mut sh = Shard::new(2);
        sh.propagate_begin();
        sh.propagate_end(0, &argv("SET a b"), true);
        assert_eq!(sh.propagate.end_offset(), 0);
        assert!(sh.propagate.take().is_none());
    }

    #[test]
    fn selects_wraps_units_and_counts_offsets() {
        let mut sh = Shard::new(4);
        sh.propagate.start();
        sh.propagate_begin();
        sh.propagate_end(0, &argv("SET a b"), true);
        sh.propagate_begin();
        sh.propagate_end(0, &argv("GET a"), false);
        sh.propagate_begin();
        sh.propagate_end(2, &argv("DEL x"), true);
        // A unit of two: MULTI/EXEC around it.
        sh.propagate_unit_begin();
        sh.propagate_begin();
        sh.propagate_end(2, &argv("INCR n"), true);
        sh.propagate_begin();
        sh.propagate_end(2, &argv("INCR m"), true);
        assert!(sh.propagate.take().is_none(), "no taking inside a unit");
        sh.propagate_unit_end();
        sh.propagate.barrier(9);
        let end = sh.propagate.end_offset();
        let (b, off) = sh.propagate.take().unwrap();
        assert_eq!(off, end);
        assert_eq!(
            commands(&b),
            [
                "SELECT 0", "SET a b", "SELECT 2", "DEL x", "MULTI", "INCR n", "INCR m", "EXEC",
                "#9"
            ]
        );
        assert_eq!(sh.propagate.end_offset(), end);
    }

    #[test]
    fn expired_keys_come_first_as_del_or_unlink() {
        let mut sh = Shard::new(1);
        sh.propagate.start();
        sh.dbs[0].set(b"old", Value::str(b"v"), Ttl::At(5), 1);
        // A read at t=10, outside any command, deletes it: its DEL goes
        // before the next command, on its own.
        assert!(sh.dbs[0].get(b"old", 10).is_none());
        sh.propagate_begin();
        sh.propagate_end(0, &argv("SET old w"), true);
        sh.propagate.unlink_expired = true;
        sh.dbs[0].set(b"o2", Value::str(b"v"), Ttl::At(5), 1);
        assert!(sh.dbs[0].get(b"o2", 10).is_none());
        sh.drain_expired(0);
        let (b, _) = sh.propagate.take().unwrap();
        assert_eq!(
            commands(&b),
            ["SELECT 0", "DEL old", "SET old w", "UNLINK o2"]
        );
    }

    #[test]
    fn rewrites_replace_the_arguments() {
        let mut sh = Shard::new(1);
        sh.propagate.start();
        let node = crate::node::tests_node();
        sh.propagate_begin();
        {
            let mut ctx = crate::command::Ctx {
                shard: &mut sh,
                db: 0,
                now: 0,
                node: &node,
            };
            ctx.propagate_as(&[b"PEXPIREAT".as_slice(), b"k", b"1000"]);
        }
        sh.propagate_end(0, &argv("EXPIRE k 1"), true);
        sh.propagate_begin();
        {
            let mut ctx = crate::command::Ctx {
                shard: &mut sh,
                db: 0,
                now: 0,
                node: &node,
            };
            ctx.propagate_none();
        }
        sh.propagate_end(0, &argv("SPOP s"), true);
        sh.dbs[0].set(b"k", Value::str(b"v"), Ttl::At(99), 0);
        sh.propagate_key(0, b"k");
        sh.propagate_key(0, b"gone");
        let (b, _) = sh.propagate.take().unwrap();
        assert_eq!(
            commands(&b),
            [
                "SELECT 0",
                "PEXPIREAT k 1000",
                "SET k v PXAT 99",
                "DEL gone"
            ]
        );
    }

    /// Runs `line` through the dispatcher's keyed path at time `now` and
    /// returns what it propagated.
    fn run(sh: &mut Shard, node: &crate::node::Node, now: u64, line: &str) -> Vec<String> {
        let argv = argv(line);
        let res = crate::command::TABLE.resolve(&argv).unwrap();
        let req = crate::server::dispatch::Request {
            id: res.id,
            spec: res.spec,
            argv,
            argpos: res.argpos,
            db: 0,
            slot: None,
            open: None,
        };
        crate::server::dispatch::exec_keyed(sh, req, now, node);
        sh.propagate
            .take()
            .map(|(b, _)| commands(&b))
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !c.starts_with("SELECT"))
            .collect()
    }

    #[test]
    fn commands_are_rewritten_as_redis_propagates_them() {
        let node = crate::node::tests_node();
        let mut sh = Shard::new(1);
        sh.propagate.start();
        let t = 1_000_000u64;
        let cases: &[(&str, &[&str])] = &[
            ("SET k v", &["SET k v"]),
            ("SET k v EX 10 GET", &["SET k v PXAT 1010000"]),
            ("SET k v NX", &[]),
            ("SET k w XX KEEPTTL", &["SET k w KEEPTTL"]),
            ("GET k", &[]),
            ("SETEX s 5 v", &["SET s v PXAT 1005000"]),
            ("PSETEX s 5 v", &["SET s v PXAT 1000005"]),
            ("GETEX s PX 7", &["PEXPIREAT s 1000007"]),
            ("GETEX s PERSIST", &["PERSIST s"]),
            ("GETEX s EXAT 1", &["DEL s"]),
            ("GETDEL k", &["DEL k"]),
            ("GETDEL k", &[]),
            ("SET e 1", &["SET e 1"]),
            ("EXPIRE e 100 NX", &["PEXPIREAT e 1100000 NX"]),
            ("PEXPIRE e 5 XX", &["PEXPIREAT e 1000005 XX"]),
            ("EXPIREAT e 2000", &["PEXPIREAT e 2000000"]),
            ("EXPIRE e 0", &["DEL e"]),
            ("EXPIRE nokey 10", &[]),
            ("INCRBYFLOAT f 1.5", &["SET f 1.5 KEEPTTL"]),
            ("HINCRBYFLOAT h x 2.5", &["HSET h x 2.5"]),
            ("SADD st a", &["SADD st a"]),
            ("SPOP st", &["SREM st a"]),
            ("SADD st a b c", &["SADD st a b c"]),
            ("SPOP st 5", &["DEL st"]),
            ("RPUSH l a b c", &["RPUSH l a b c"]),
            ("BLPOP l 0", &["LPOP l"]),
            ("BRPOP l 0", &["RPOP l"]),
            ("LMPOP 1 l LEFT COUNT 5", &["LPOP l 1"]),
            ("RPUSH l a b", &["RPUSH l a b"]),
            ("BLMOVE l m LEFT RIGHT 0", &["LMOVE l m LEFT RIGHT"]),
            ("BRPOPLPUSH l m 0", &["LMOVE l m RIGHT LEFT"]),
            ("ZADD z 1 a 2 b 3 c", &["ZADD z 1 a 2 b 3 c"]),
            ("BZPOPMIN z 0", &["ZPOPMIN z"]),
            ("ZMPOP 1 z MAX COUNT 9", &["ZPOPMAX z 2"]),
            ("DEL z nokey", &[]),
            ("DEL m", &["DEL m"]),
        ];
        for (line, want) in cases {
            let got = run(&mut sh, &node, t, line);
            assert_eq!(got, *want, "{line}");
        }
        // SPOP of part of a set: SREM of exactly the members that went.
        run(&mut sh, &node, t, "SADD big 1 2 3 4 5 6 7 8 9 10");
        let got = run(&mut sh, &node, t, "SPOP big 3");
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("SREM big "), "{got:?}");
        assert_eq!(got[0].split(' ').count(), 5);
        let got = run(&mut sh, &node, t, "SPOP big 6");
        assert_eq!(got[0].split(' ').count(), 8, "{got:?}");
        // A key whose TTL passed is deleted before the command that met it.
        run(&mut sh, &node, t, "SET old v PX 10");
        let got = run(&mut sh, &node, t + 20, "APPEND old x");
        assert_eq!(got, ["MULTI", "DEL old", "APPEND old x", "EXEC"]);
    }
}
