//! The command table and the pieces every command uses.
//!
//! A command is one table row (`CommandSpec`: name, arity, flags, key
//! positions, handler, docs) in its family's file, and one function. Keyed
//! commands run on the core that owns their keys as plain functions on the
//! shard (`Ctx`) returning a `Reply`; connection and node commands run on the
//! connection's core and may await other cores. `COMMAND` output comes from
//! this table.

pub mod bitops;
pub mod cluster;
pub mod connection;
pub mod dump;
pub mod errors;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod latency;
pub mod lists;
pub mod memory;
pub mod migrate;
pub mod propagate;
pub mod pubsub;
pub mod server;
pub mod sets;
pub mod sort;
pub mod strings;
pub mod transactions;
pub mod zsets;

pub use crate::config::keyspace_events;
use crate::keyspace::{Db, EncLimits, Kind, Value};
use crate::protocol::Reply;
use crate::runtime::KeyEvent;
use crate::runtime::Shard;
use crate::server::client::Client;
use bytes::Bytes;
use futures::future::LocalBoxFuture;
use std::collections::HashMap;
use std::sync::LazyLock;

pub type CmdResult = Result<Reply, Reply>;

/// A keyed command: runs on the owning core, with the keyspace.
pub type KeyedFn = fn(&mut Ctx, &mut Args) -> CmdResult;
/// A connection or node command: runs on the connection's core, may await.
pub type ConnFn = for<'a> fn(&'a mut Client, Args) -> LocalBoxFuture<'a, CmdResult>;

#[derive(Clone, Copy)]
pub enum Handler {
    Keyed(KeyedFn),
    Conn(ConnFn),
    /// A container (CLIENT, CONFIG, ...): dispatches on its subcommands.
    Container,
}

pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const SENTINEL: u32 = 1 << 14;
    pub const NO_MULTI: u32 = 1 << 15;
    pub const ALLOW_BUSY: u32 = 1 << 16;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 17;
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;
    /// Keys are found by parsing the arguments (SORT's STORE ...): only
    /// shown by COMMAND INFO, routing uses the key positions.
    pub const MOVABLE_KEYS: u32 = 1 << 19;
    /// Served on an importing slot without a prior ASKING (RESTORE-ASKING).
    pub const ASKING: u32 = 1 << 20;

    /// The names COMMAND INFO prints, in Redis's order (addReplyCommandFlags).
    /// Redis hides may_replicate and sentinel on purpose, so they are absent.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's keys are, as in Redis's legacy (first, last, step) triple;
/// `last` negative counts from the end (-1: the last argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub first: i16,
    pub last: i16,
    pub step: i16,
}

impl KeySpec {
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
    };

    /// Indexes of the keys in `argv`.
    pub fn positions(&self, argc: usize) -> std::iter::StepBy<std::ops::Range<usize>> {
        let first = self.first.max(0) as usize;
        let last = if self.last < 0 {
            argc as i64 + self.last as i64
        } else {
            self.last as i64
        };
        let step = self.step.max(1) as usize;
        let end = if self.first <= 0 || last < first as i64 {
            first
        } else {
            (last as usize + 1).min(argc)
        };
        (first..end).step_by(step)
    }
}

pub struct CommandSpec {
    /// Lowercase name; for subcommands just the subcommand (`kill`).
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    pub handler: Handler,
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub subcommands: &'static [CommandSpec],
    /// For commands whose keys (first, last, step) cannot describe (a
    /// `numkeys` argument, SORT's STORE ...): the key positions in argv.
    /// COMMAND INFO then shows the `movablekeys` flag.
    pub find_keys: Option<FindKeys>,
}

/// A command's own key finder: argv in, key positions out.
pub type FindKeys = fn(&[Bytes]) -> Vec<usize>;

/// The positions of a command's keys in its argv.
pub enum KeyPositions {
    Spec(std::iter::StepBy<std::ops::Range<usize>>),
    List(std::vec::IntoIter<usize>),
}

impl Iterator for KeyPositions {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            KeyPositions::Spec(i) => i.next(),
            KeyPositions::List(i) => i.next(),
        }
    }
}

/// `numkeys` at argv[`at`], the keys right after it (ZUNION, SINTERCARD,
/// LMPOP ...). Nothing when numkeys is not a positive integer that fits:
/// the command's own parsing then answers the error.
pub fn numkeys_keys(argv: &[Bytes], at: usize) -> Vec<usize> {
    let n = argv
        .get(at)
        .and_then(|b| crate::keyspace::value::parse_i64(b))
        .unwrap_or(0);
    if n <= 0 || (n as u64) > (argv.len() as u64).saturating_sub(at as u64 + 1) {
        return Vec::new();
    }
    (at + 1..at + 1 + n as usize).collect()
}

/// Keys after a numkeys at argv[1] (ZUNION, ZINTER, ZDIFF, ZINTERCARD,
/// SINTERCARD, LMPOP, ZMPOP).
pub fn keys_numkeys_at_1(argv: &[Bytes]) -> Vec<usize> {
    numkeys_keys(argv, 1)
}

/// Keys after a numkeys at argv[2] (BLMPOP and BZMPOP, after the timeout).
pub fn keys_numkeys_at_2(argv: &[Bytes]) -> Vec<usize> {
    numkeys_keys(argv, 2)
}

/// The destination at argv[1], then the keys after a numkeys at argv[2]
/// (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE).
pub fn keys_dest_numkeys_at_2(argv: &[Bytes]) -> Vec<usize> {
    let mut v = vec![1];
    v.extend(numkeys_keys(argv, 2));
    v
}

impl CommandSpec {
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: (i16, i16, i16),
        handler: Handler,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            keys: KeySpec {
                first: keys.0,
                last: keys.1,
                step: keys.2,
            },
            handler,
            group: "generic",
            summary: "",
            since: "1.0.0",
            subcommands: &[],
            find_keys: None,
        }
    }

    /// Keys found by a function (see `find_keys`).
    pub const fn movable(mut self, f: FindKeys) -> CommandSpec {
        self.find_keys = Some(f);
        self
    }

    /// Where the keys of this command are in `argv`.
    #[inline]
    pub fn keys_of(&self, argv: &[Bytes]) -> KeyPositions {
        match self.find_keys {
            Some(f) => KeyPositions::List(f(argv).into_iter()),
            None => KeyPositions::Spec(self.keys.positions(argv.len())),
        }
    }

    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
    ) -> CommandSpec {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self
    }

    pub const fn subs(mut self, subs: &'static [CommandSpec]) -> CommandSpec {
        self.subcommands = subs;
        self
    }

    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
}

/// A resolved command: its id (index in the table, for statistics), its row,
/// its full name (`client|kill`) and the index of its first argument.
#[derive(Clone, Copy)]
pub struct Resolved {
    pub id: usize,
    pub spec: &'static CommandSpec,
    pub argpos: usize,
}

pub struct Table {
    /// Every command and subcommand, by id.
    pub all: Vec<(&'static CommandSpec, String)>,
    by_name: HashMap<String, usize, foldhash::fast::RandomState>,
    /// Top-level commands, in registration order.
    pub top: Vec<usize>,
}

const FAMILIES: &[&[CommandSpec]] = &[
    connection::COMMANDS,
    strings::COMMANDS,
    keys::COMMANDS,
    dump::COMMANDS,
    hashes::COMMANDS,
    lists::COMMANDS,
    sets::COMMANDS,
    zsets::COMMANDS,
    bitops::COMMANDS,
    hyperloglog::COMMANDS,
    sort::COMMANDS,
    transactions::COMMANDS,
    pubsub::COMMANDS,
    server::COMMANDS,
    memory::COMMANDS,
    latency::COMMANDS,
    cluster::COMMANDS,
    migrate::COMMANDS,
];

pub static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut t = Table {
        all: Vec::new(),
        by_name: HashMap::default(),
        top: Vec::new(),
    };
    for fam in FAMILIES {
        for spec in fam.iter() {
            let id = t.all.len();
            t.all.push((spec, spec.name.to_string()));
            t.by_name.insert(spec.name.to_string(), id);
            t.top.push(id);
            for sub in spec.subcommands {
                let full = format!("{}|{}", spec.name, sub.name);
                let sid = t.all.len();
                t.all.push((sub, full.clone()));
                t.by_name.insert(full, sid);
            }
        }
    }
    t
});

fn lower_into<'a>(name: &[u8], buf: &'a mut [u8; 64]) -> Option<&'a str> {
    if name.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    std::str::from_utf8(&buf[..name.len()]).ok()
}

impl Table {
    pub fn get(&self, name: &str) -> Option<(usize, &'static CommandSpec)> {
        self.by_name.get(name).map(|&id| (id, self.all[id].0))
    }

    pub fn fullname(&self, id: usize) -> &str {
        self.all.get(id).map_or("", |(_, n)| n.as_str())
    }

    /// Finds the command `argv` names, with Redis's errors for unknown commands,
    /// unknown subcommands and wrong arity.
    pub fn resolve(&self, argv: &[Bytes]) -> Result<Resolved, Reply> {
        let mut buf = [0u8; 64];
        let name = argv.first().map(|b| &b[..]).unwrap_or(b"");
        let found = lower_into(name, &mut buf).and_then(|n| self.get(n));
        let Some((id, spec)) = found else {
            return Err(Reply::err_owned(errors::unknown_command(
                name,
                argv.get(1..).unwrap_or(&[]),
            )));
        };
        let mut r = Resolved {
            id,
            spec,
            argpos: 1,
        };
        if !spec.subcommands.is_empty() && argv.len() >= 2 {
            let sub = &argv[1];
            let mut full = String::with_capacity(spec.name.len() + 1 + sub.len());
            full.push_str(spec.name);
            full.push('|');
            full.push_str(&String::from_utf8_lossy(sub).to_ascii_lowercase());
            match self.by_name.get(&full) {
                Some(&sid) => {
                    r = Resolved {
                        id: sid,
                        spec: self.all[sid].0,
                        argpos: 2,
                    }
                }
                None => return Err(Reply::err_owned(errors::unknown_subcommand(sub, spec.name))),
            }
        }
        let argc = argv.len() as i32;
        let a = r.spec.arity;
        if (a > 0 && a != argc) || argc < -a {
            return Err(Reply::err_owned(errors::wrong_args(self.fullname(r.id))));
        }
        Ok(r)
    }
}

/// A cursor over a command's arguments (after the command name).
pub struct Args {
    argv: Vec<Bytes>,
    pos: usize,
}

impl Args {
    pub fn new(argv: Vec<Bytes>, pos: usize) -> Args {
        Args { argv, pos }
    }

    /// All arguments, the command name included.
    pub fn argv(&self) -> &[Bytes] {
        &self.argv
    }

    pub fn into_argv(self) -> Vec<Bytes> {
        self.argv
    }

    /// Arguments not read yet.
    pub fn remaining(&self) -> usize {
        self.argv.len().saturating_sub(self.pos)
    }

    pub fn peek(&self) -> Option<&Bytes> {
        self.argv.get(self.pos)
    }

    /// The next argument; a syntax error when there is none.
    pub fn next_bytes(&mut self) -> Result<Bytes, Reply> {
        let b = self
            .argv
            .get(self.pos)
            .cloned()
            .ok_or_else(|| Reply::err(errors::SYNTAX))?;
        self.pos += 1;
        Ok(b)
    }

    /// The next argument as a slice.
    pub fn next_slice(&mut self) -> Result<&[u8], Reply> {
        let i = self.pos;
        if i >= self.argv.len() {
            return Err(Reply::err(errors::SYNTAX));
        }
        self.pos += 1;
        Ok(&self.argv[i])
    }

    pub fn next_i64(&mut self) -> Result<i64, Reply> {
        let b = self.next_slice()?;
        parse_i64_arg(b)
    }

    pub fn next_f64(&mut self) -> Result<f64, Reply> {
        let b = self.next_slice()?;
        parse_f64(b).ok_or_else(|| Reply::err(errors::NOT_FLOAT))
    }

    /// The next argument, uppercased, for option keywords.
    pub fn next_keyword(&mut self) -> Result<String, Reply> {
        let b = self.next_slice()?;
        Ok(String::from_utf8_lossy(b).to_ascii_uppercase())
    }

    /// Consumes the next argument when it equals `kw` (case-insensitive).
    pub fn eat(&mut self, kw: &str) -> bool {
        match self.peek() {
            Some(b) if b.eq_ignore_ascii_case(kw.as_bytes()) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// Every argument not read yet.
    pub fn rest(&mut self) -> &[Bytes] {
        let i = self.pos.min(self.argv.len());
        self.pos = self.argv.len();
        &self.argv[i..]
    }

    /// A syntax error when arguments are left over.
    pub fn finish(&self) -> Result<(), Reply> {
        if self.remaining() > 0 {
            Err(Reply::err(errors::SYNTAX))
        } else {
            Ok(())
        }
    }
}

/// An integer argument with Redis's error text.
pub fn parse_i64_arg(b: &[u8]) -> Result<i64, Reply> {
    crate::keyspace::value::parse_i64(b).ok_or_else(|| Reply::err(errors::NOT_INT))
}

/// An `int` argument as Redis's getIntFromObjectOrReply reads it: an integer,
/// then a range check with its own text.
pub fn parse_i32_arg(b: &[u8]) -> Result<i32, Reply> {
    let v = parse_i64_arg(b)?;
    i32::try_from(v).map_err(|_| Reply::err(errors::INT_RANGE))
}

/// A float as Redis's string2ld/strtold accepts it: no spaces, no NaN;
/// "inf", "+inf", "-inf" allowed.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    if lower.contains("nan") || lower.contains("inf") {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

/// A blocking command's timeout as Redis's getTimeoutFromObjectOrReply reads
/// it (seconds, fractions allowed): milliseconds, 0 meaning forever.
pub fn parse_timeout(b: &[u8]) -> Result<u64, Reply> {
    let secs = parse_f64(b).ok_or_else(|| Reply::err(errors::TIMEOUT_NOT_FLOAT))?;
    let ms = (secs * 1000.0).ceil();
    // Redis 7.0 casts to long long with no range check: out of range (inf,
    // 1e100) comes out as LLONG_MIN on x86, so "negative" too.
    if !(0.0..9_223_372_036_854_775_808.0).contains(&ms) {
        return Err(Reply::err(errors::TIMEOUT_NEG));
    }
    Ok(ms as u64)
}

/// What a keyed command sees: the core's keyspace and the client's db.
pub struct Ctx<'a> {
    pub shard: &'a mut Shard,
    pub db: usize,
    /// Unix time in ms, taken once per batch.
    pub now: u64,
    pub node: &'a crate::node::Node,
}

impl Ctx<'_> {
    /// proto-max-bulk-len, for commands that grow strings.
    pub fn max_bulk(&self) -> usize {
        self.node.proto_max_bulk_len()
    }

    pub fn db(&mut self) -> &mut Db {
        &mut self.shard.dbs[self.db]
    }

    /// The encoding thresholds (hash-max-listpack-entries ...) now in force.
    pub fn limits(&self) -> EncLimits {
        self.node.enc_limits()
    }

    /// A read lookup (Redis's lookupKeyRead): counts a keyspace hit or miss;
    /// WRONGTYPE when the key holds another type.
    pub fn read<T: Kind>(&mut self, key: &[u8]) -> Result<Option<&mut T>, Reply> {
        let now = self.now;
        let Shard { dbs, stats, .. } = &mut *self.shard;
        match dbs[self.db].get(key, now) {
            None => {
                stats.keyspace_misses += 1;
                Ok(None)
            }
            Some(e) => {
                stats.keyspace_hits += 1;
                T::of_mut(&mut e.val)
                    .map(Some)
                    .ok_or_else(|| Reply::err(errors::WRONGTYPE))
            }
        }
    }

    /// A write lookup (lookupKeyWrite): no hit/miss statistics; WRONGTYPE
    /// when the key holds another type.
    pub fn write<T: Kind>(&mut self, key: &[u8]) -> Result<Option<&mut T>, Reply> {
        let now = self.now;
        match self.db().get(key, now) {
            None => Ok(None),
            Some(e) => T::of_mut(&mut e.val)
                .map(Some)
                .ok_or_else(|| Reply::err(errors::WRONGTYPE)),
        }
    }

    /// The value at `key`, created by `make` when missing (HSET, LPUSH, SADD,
    /// ZADD ...); WRONGTYPE when the key holds another type.
    pub fn write_or_create<T: Kind>(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> T,
    ) -> Result<&mut T, Reply> {
        let now = self.now;
        let (e, _) = self.db().get_or_insert_with(key, now, || make().wrap());
        T::of_mut(&mut e.val).ok_or_else(|| Reply::err(errors::WRONGTYPE))
    }

    /// Deletes `key` when it holds an empty aggregate (Redis never keeps an
    /// empty hash, list, set or sorted set) and raises the generic `del`
    /// event. Returns whether it deleted.
    pub fn delete_if_empty(&mut self, key: &[u8]) -> bool {
        let now = self.now;
        let empty = match self.db().peek(key, now).map(|e| &e.val) {
            Some(Value::Hash(h)) => h.is_empty(),
            Some(Value::List(l)) => l.is_empty(),
            Some(Value::Set(s)) => s.is_empty(),
            Some(Value::ZSet(z)) => z.is_empty(),
            _ => false,
        };
        if empty {
            self.db().remove(key, now);
            self.notify(keyspace_events::GENERIC, "del", key);
        }
        empty
    }

    /// Records a change of `key` the way Redis's commands do
    /// (signalModifiedKey + notifyKeyspaceEvent + server.dirty++): WATCHers
    /// of the key are invalidated, the change counts for `save` points, and
    /// the keyspace event `event` of class `class` (config::keyspace_events)
    /// is published if notify-keyspace-events asks for it.
    pub fn changed(&mut self, class: u32, event: &'static str, key: &[u8]) {
        self.changed_in(self.db, class, event, key);
    }

    /// `changed` for a key of another db (COPY ... DB n, MOVE). A key that
    /// now holds a list or sorted set wakes the clients blocked on it.
    pub fn changed_in(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        self.shard.dirty += 1;
        self.shard.touch_watched(db, key);
        if !self.shard.blocking.is_empty() {
            let now = self.now;
            let ready = self
                .shard
                .dbs
                .get_mut(db)
                .and_then(|d| d.peek(key, now))
                .is_some_and(|e| matches!(e.val, Value::List(_) | Value::ZSet(_)));
            if ready {
                self.shard.signal_ready(db, key);
            }
        }
        self.notify_in(db, class, event, key);
    }

    /// Raises a keyspace event only (no change recorded): for events that
    /// accompany another one, like `del` after a pop emptied a list.
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        self.notify_in(self.db, class, event, key);
    }

    fn notify_in(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        let flags = self.node.notify_flags();
        if flags & class != 0
            && flags & (keyspace_events::KEYSPACE | keyspace_events::KEYEVENT) != 0
        {
            self.shard.events.push(KeyEvent {
                class,
                event,
                db,
                key: Bytes::copy_from_slice(key),
            });
        }
    }

    /// `key` (a list or sorted set) has elements now: clients blocked on it
    /// are served once the command is done (Redis's signalKeyAsReady).
    pub fn signal_ready(&mut self, key: &[u8]) {
        self.shard.signal_ready(self.db, key);
    }

    /// Called by a blocking command (BLPOP, BZPOPMIN, BLMOVE ...) that found
    /// none of its keys ready: parks the client on `keys` for `timeout_ms`
    /// (0 = forever; see `parse_timeout`). When one of the keys gets
    /// elements the same command runs again from the start on the owning
    /// core; when the time passes the client gets `timeout_reply`. Inside
    /// MULTI nothing blocks and `timeout_reply` is the answer at once.
    /// The handler returns what this returns.
    pub fn block(&mut self, keys: Vec<Bytes>, timeout_ms: u64, timeout_reply: Reply) -> CmdResult {
        if self.shard.no_block {
            return Ok(timeout_reply);
        }
        self.shard.block = Some(crate::runtime::BlockRequest {
            timeout_ms,
            keys,
            timeout_reply,
        });
        // Placeholder; the dispatcher answers the client later.
        Ok(Reply::NilArray)
    }

    pub fn hit(&mut self, hit: bool) {
        if hit {
            self.shard.stats.keyspace_hits += 1;
        } else {
            self.shard.stats.keyspace_misses += 1;
        }
    }
}

/// Shorthand for boxing a connection command's future.
#[macro_export]
macro_rules! conn_fn {
    ($name:ident, $body:expr) => {
        fn $name(
            c: &mut $crate::server::client::Client,
            a: $crate::command::Args,
        ) -> futures::future::LocalBoxFuture<'_, $crate::command::CmdResult> {
            Box::pin($body(c, a))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions() {
        let k = KeySpec {
            first: 1,
            last: -1,
            step: 2,
        };
        assert_eq!(k.positions(5).collect::<Vec<_>>(), vec![1, 3]);
        let k = KeySpec {
            first: 1,
            last: 1,
            step: 1,
        };
        assert_eq!(k.positions(3).collect::<Vec<_>>(), vec![1]);
        let k = KeySpec {
            first: 1,
            last: -1,
            step: 1,
        };
        assert_eq!(k.positions(4).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(KeySpec::NONE.positions(4).count(), 0);
        let k = KeySpec {
            first: 2,
            last: 2,
            step: 1,
        };
        assert_eq!(k.positions(3).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn table_has_unique_names_and_sane_rows() {
        let t = &*TABLE;
        assert!(t.get("get").is_some());
        for (spec, full) in &t.all {
            assert_eq!(spec.name, spec.name.to_ascii_lowercase(), "{full}");
            assert!(spec.arity != 0, "{full}");
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
    }
}
