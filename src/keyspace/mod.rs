//! The keyspace a core owns: per-database, per-slot tables of entries, with
//! expiry (lazy on access plus an incremental active cycle). Plain
//! single-threaded code: no runtime, no sockets.
//!
//! A `Db` holds one `SlotTable` per hash slot that has ever held a key on this
//! core (allocated lazily), so counting, listing, flushing or handing a slot to
//! another core costs what that slot holds.

pub mod cbytes;
pub mod digest;
pub mod glob;
pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod value;
pub mod zset;

pub use cbytes::CBytes;
pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use value::{EncLimits, Kind, Value};
pub use zset::ZSet;

use crate::cluster::slot::{key_hash_slot, SLOTS};
use indexmap::IndexMap;

pub type Hasher = foldhash::fast::RandomState;
pub type Map<K, V> = IndexMap<K, V, Hasher>;

/// A key's value and its access metadata.
#[derive(Debug, Clone)]
pub struct Entry {
    pub val: Value,
    /// Seconds clock (`lru_clock`) of the last access, for OBJECT IDLETIME.
    pub lru: u32,
    /// Logarithmic access counter, for OBJECT FREQ.
    pub lfu: u8,
    /// How Redis would have encoded the string (it depends on the command
    /// that wrote it, not only on the bytes). Fits in the entry's padding.
    pub enc: StrEnc,
}

/// A string's encoding as OBJECT ENCODING reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrEnc {
    /// From the bytes, as SET leaves it: int, embstr or raw.
    #[default]
    Auto,
    /// A string modified in place (APPEND to an existing key, SETRANGE).
    Raw,
    /// A value Redis creates as a string object, never int (INCRBYFLOAT).
    Embstr,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 32);

impl Entry {
    pub fn new(val: Value, lru: u32) -> Entry {
        Entry {
            val,
            lru,
            lfu: LFU_INIT,
            enc: StrEnc::Auto,
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match (self.enc, &self.val) {
            (StrEnc::Auto, v) => v.encoding(),
            (StrEnc::Raw, _) => "raw",
            (StrEnc::Embstr, Value::Str(s)) if s.len() <= value::EMBSTR_MAX => "embstr",
            (StrEnc::Embstr, _) => "raw",
        }
    }
}

pub const LFU_INIT: u8 = 5;

/// Redis's LRU clock: seconds, 24 bits.
pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) & 0xff_ffff) as u32
}

/// The keys of one hash slot in one database.
#[derive(Debug, Default)]
pub struct SlotTable {
    pub keys: Map<CBytes, Entry>,
    /// Absolute expiry times (unix ms) of the keys that have one.
    pub expires: Map<CBytes, u64>,
}

impl SlotTable {
    fn is_expired(&self, key: &[u8], now: u64) -> bool {
        !self.expires.is_empty() && matches!(self.expires.get(key), Some(&at) if at <= now)
    }
}

/// Where a snapshot's slots go (persistence implements it; the keyspace
/// only calls it).
pub trait SlotSink {
    /// Called once per slot with its table as it was when the snapshot
    /// started: by the snapshot's own walk, or just before the slot's
    /// first change.
    fn save_slot(&mut self, slot: usize, table: &SlotTable);
}

/// A snapshot in progress on one database: the slots not written out yet
/// and where they go. While a db carries one, every path that changes a
/// slot table first hands the untouched table to the sink
/// (`Db::before_change`), so the snapshot is point-in-time without copying
/// anything up front.
pub struct Capture {
    pending: Vec<u64>,
    left: usize,
    /// Pending tables a FLUSHDB/FLUSHALL took out of the db: written out
    /// by the walk like the rest, then freed.
    detached: Vec<(usize, Box<SlotTable>)>,
    sink: Box<dyn SlotSink>,
}

impl Capture {
    /// A capture of every slot that holds keys in `db` now.
    pub fn new(db: &Db, sink: Box<dyn SlotSink>) -> Capture {
        let mut pending = vec![0u64; SLOTS / 64];
        let mut left = 0;
        for (slot, t) in db.tables() {
            if !t.keys.is_empty() {
                pending[slot / 64] |= 1 << (slot % 64);
                left += 1;
            }
        }
        Capture {
            pending,
            left,
            detached: Vec::new(),
            sink,
        }
    }

    fn take(&mut self, slot: usize) -> bool {
        let (w, b) = (slot / 64, 1u64 << (slot % 64));
        if self.pending[w] & b == 0 {
            return false;
        }
        self.pending[w] &= !b;
        self.left -= 1;
        true
    }

    /// The next slot still pending, from `from` on.
    fn next_pending(&self, from: usize) -> Option<usize> {
        let mut w = from / 64;
        let mut word = self.pending.get(w)? & (!0u64 << (from % 64));
        loop {
            if word != 0 {
                return Some(w * 64 + word.trailing_zeros() as usize);
            }
            w += 1;
            word = *self.pending.get(w)?;
        }
    }
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Capture {{ left: {} }}", self.left)
    }
}

/// Counters a database keeps as it works; the shard sums them for INFO.
#[derive(Debug, Default, Clone, Copy)]
pub struct DbStats {
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached: u64,
}

/// One logical database (SELECT n) on one core.
#[derive(Debug)]
pub struct Db {
    slots: Vec<Option<Box<SlotTable>>>,
    keys: usize,
    volatile: usize,
    /// Where the active expire cycle continues: (slot, index in its expires map).
    expire_cursor: (usize, usize),
    /// (address, length, slot) of the key the running command was routed by,
    /// so its slot is not hashed a second time; see `set_slot_hint`.
    hint: std::cell::Cell<(usize, usize, u16)>,
    pub stats: DbStats,
    /// Keys deleted because their TTL passed, since the shard last looked
    /// (WATCH invalidation and `expired` keyspace events).
    pub expired_log: Vec<CBytes>,
    /// How many keys of `expired_log` were propagated (as DEL) already.
    pub expired_propagated: usize,
    /// A snapshot in progress (see `Capture`).
    capture: Option<Box<Capture>>,
}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

/// What SET-like writes do with an existing TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// Remove any TTL (plain SET).
    Clear,
    /// Keep the key's TTL (KEEPTTL, and in-place modifications like APPEND).
    Keep,
    /// Set this absolute unix-ms expiry.
    At(u64),
}

impl Db {
    pub fn new() -> Db {
        Db {
            slots: Vec::new(),
            keys: 0,
            volatile: 0,
            expire_cursor: (0, 0),
            hint: std::cell::Cell::new((0, 0, 0)),
            stats: DbStats::default(),
            expired_log: Vec::new(),
            expired_propagated: 0,
            capture: None,
        }
    }

    /// Starts a snapshot of this db: every slot holding keys now goes to
    /// `sink`, before its first change or when `capture_step` reaches it.
    pub fn start_capture(&mut self, sink: Box<dyn SlotSink>) {
        self.capture = Some(Box::new(Capture::new(self, sink)));
    }

    /// Writes out one slot still owed to the capture: a detached table, or
    /// the next pending slot at or after `from`. Returns where the next
    /// step starts, or None when every slot is out (the capture then
    /// ends).
    pub fn capture_step(&mut self, from: usize) -> Option<usize> {
        let c = self.capture.as_mut()?;
        if let Some((slot, table)) = c.detached.pop() {
            c.sink.save_slot(slot, &table);
            return Some(from);
        }
        match c.next_pending(from) {
            Some(slot) => {
                self.before_change(slot);
                Some(slot + 1)
            }
            None => {
                self.capture = None;
                None
            }
        }
    }

    /// Drops a snapshot in progress without writing the rest.
    pub fn abort_capture(&mut self) {
        self.capture = None;
    }

    /// The slots a snapshot in progress has not written out yet.
    pub fn capture_left(&self) -> Option<usize> {
        self.capture.as_ref().map(|c| c.left)
    }

    /// Before `slot`'s table changes: a snapshot that still needs it gets
    /// it as it is.
    #[inline]
    fn before_change(&mut self, slot: usize) {
        if let Some(c) = self.capture.as_mut() {
            if c.take(slot) {
                if let Some(Some(t)) = self.slots.get(slot) {
                    c.sink.save_slot(slot, t);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.keys
    }

    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }

    pub fn volatile_len(&self) -> usize {
        self.volatile
    }

    /// Tells the db the slot of `key` for the duration of one command (the
    /// dispatcher hashed it to route the command). Only the very slice given
    /// (same address and length) uses the hint; while the command runs that
    /// memory holds that key, so any slice there is the same bytes.
    pub fn set_slot_hint(&self, key: &[u8], slot: u16) {
        self.hint.set((key.as_ptr() as usize, key.len(), slot));
    }

    pub fn clear_slot_hint(&self) {
        self.hint.set((0, 0, 0));
    }

    #[inline]
    fn slot_of(&self, key: &[u8]) -> usize {
        let (p, l, s) = self.hint.get();
        if p != 0 && p == key.as_ptr() as usize && l == key.len() {
            s as usize
        } else {
            key_hash_slot(key) as usize
        }
    }

    /// Asks the CPU to start loading `slot`'s table header, ahead of a lookup
    /// in it (a pipeline's commands are prefetched before they run).
    #[inline]
    pub fn prefetch_slot(&self, slot: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(Some(t)) = self.slots.get(slot) {
            let p: *const SlotTable = &**t;
            // SAFETY: a prefetch is a hint; the pointer is to a live table.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                    p as *const i8,
                )
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// Looks `key` up without using the result, to bring its index and entry
    /// into the cache: done for a whole pipeline first, the lookups'
    /// cache misses overlap instead of coming one after another.
    #[inline]
    pub fn touch(&self, slot: usize, key: &[u8]) {
        if let Some(t) = self.table(slot) {
            if let Some((_, k, e)) = t.keys.get_full(key) {
                std::hint::black_box((k.len(), e.lru));
            }
        }
    }

    fn table(&self, slot: usize) -> Option<&SlotTable> {
        self.slots.get(slot).and_then(|t| t.as_deref())
    }

    fn table_mut(&mut self, slot: usize) -> Option<&mut SlotTable> {
        self.before_change(slot);
        self.slots.get_mut(slot).and_then(|t| t.as_deref_mut())
    }

    fn table_or_create(&mut self, slot: usize) -> &mut SlotTable {
        self.before_change(slot);
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        self.slots[slot].get_or_insert_with(Default::default)
    }

    /// Deletes `key` if its TTL has passed. Returns true when it was deleted.
    fn expire_if_needed(&mut self, slot: usize, key: &[u8], now: u64) -> bool {
        let expired = match self.table(slot) {
            Some(t) => t.is_expired(key, now),
            None => return false,
        };
        if expired {
            self.remove_in(slot, key);
            self.stats.expired_keys += 1;
            self.expired_log.push(CBytes::new(key));
        }
        expired
    }

    /// Looks a key up for reading; expired keys are deleted and not returned.
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let slot = self.slot_of(key);
        self.expire_if_needed(slot, key, now);
        let e = self.table_mut(slot)?.keys.get_mut(key)?;
        e.lru = lru_clock(now);
        Some(e)
    }

    /// Like `get` but without touching the access time (OBJECT, TYPE of tools, DEBUG).
    pub fn peek(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        let slot = self.slot_of(key);
        self.expire_if_needed(slot, key, now);
        self.table(slot)?.keys.get(key)
    }

    /// The entry of `key` even if its TTL has passed (DEBUG looks at logically
    /// expired keys too, as Redis's does).
    pub fn entry_raw(&self, key: &[u8]) -> Option<&Entry> {
        self.table(self.slot_of(key))?.keys.get(key)
    }

    /// Whether `key` exists and has not expired, without deleting or
    /// touching anything (Redis's cluster key check).
    pub fn is_live(&self, key: &[u8], now: u64) -> bool {
        let slot = self.slot_of(key);
        let Some(t) = self.table(slot) else {
            return false;
        };
        t.keys.contains_key(key) && !t.is_expired(key, now)
    }

    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.peek(key, now).is_some()
    }

    /// The entry of `key`, inserted with `make()` (no TTL) when missing; the
    /// bool says whether it was created. One probe either way.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        now: u64,
        make: impl FnOnce() -> Value,
    ) -> (&mut Entry, bool) {
        let slot = self.slot_of(key);
        self.expire_if_needed(slot, key, now);
        let t = self.table_or_create(slot);
        let lru = lru_clock(now);
        let (i, created) = match t.keys.get_index_of(key) {
            Some(i) => (i, false),
            None => {
                let (i, _) = t
                    .keys
                    .insert_full(CBytes::new(key), Entry::new(make(), lru));
                (i, true)
            }
        };
        if created {
            self.keys += 1;
        }
        let t = self.table_or_create(slot);
        let (_, e) = t
            .keys
            .get_index_mut(i)
            .expect("index just found or inserted");
        e.lru = lru;
        (e, created)
    }

    /// Inserts or overwrites `key`, handling the TTL as told. Returns the old entry.
    pub fn set(&mut self, key: &[u8], val: Value, ttl: Ttl, now: u64) -> Option<Entry> {
        self.set_enc(key, val, ttl, now, StrEnc::Auto)
    }

    /// `set` with the encoding OBJECT ENCODING should report.
    pub fn set_enc(
        &mut self,
        key: &[u8],
        val: Value,
        ttl: Ttl,
        now: u64,
        enc: StrEnc,
    ) -> Option<Entry> {
        let slot = self.slot_of(key);
        self.expire_if_needed(slot, key, now);
        let t = self.table_or_create(slot);
        let mut entry = Entry::new(val, lru_clock(now));
        entry.enc = enc;
        let old = match t.keys.get_mut(key) {
            Some(e) => Some(std::mem::replace(e, entry)),
            None => {
                t.keys.insert(CBytes::new(key), entry);
                None
            }
        };
        if old.is_none() {
            self.keys += 1;
        }
        match ttl {
            Ttl::Keep => {}
            Ttl::Clear => {
                if self
                    .table_or_create(slot)
                    .expires
                    .swap_remove(key)
                    .is_some()
                {
                    self.volatile -= 1;
                }
            }
            Ttl::At(at) => self.set_expire_in(slot, key, at),
        }
        old
    }

    fn set_expire_in(&mut self, slot: usize, key: &[u8], at: u64) {
        let t = self.table_or_create(slot);
        match t.expires.get_mut(key) {
            Some(v) => *v = at,
            None => {
                t.expires.insert(CBytes::new(key), at);
                self.volatile += 1;
            }
        }
    }

    /// Sets the expiry of an existing key. False when the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at: u64, now: u64) -> bool {
        let slot = self.slot_of(key);
        self.expire_if_needed(slot, key, now);
        if !self.table(slot).is_some_and(|t| t.keys.contains_key(key)) {
            return false;
        }
        self.set_expire_in(slot, key, at);
        true
    }

    /// The absolute expiry of a live key (`None`: no key or no TTL).
    pub fn expire_of(&self, key: &[u8]) -> Option<u64> {
        let slot = self.slot_of(key);
        self.table(slot)?.expires.get(key).copied()
    }

    /// Removes the TTL; true when there was one.
    pub fn persist(&mut self, key: &[u8], now: u64) -> bool {
        let slot = self.slot_of(key);
        self.expire_if_needed(slot, key, now);
        let removed = self
            .table_mut(slot)
            .is_some_and(|t| t.expires.swap_remove(key).is_some());
        if removed {
            self.volatile -= 1;
        }
        removed
    }

    fn remove_in(&mut self, slot: usize, key: &[u8]) -> Option<(Entry, Option<u64>)> {
        let t = self.table_mut(slot)?;
        let e = t.keys.swap_remove(key)?;
        let exp = t.expires.swap_remove(key);
        // Give memory back once a table is mostly empty (Redis resizes its
        // dicts below 10% fill): shrinking to twice the length when below an
        // eighth keeps the cost amortised O(1) per removal.
        if t.keys.capacity() > 16 && t.keys.len() * 8 < t.keys.capacity() {
            t.keys.shrink_to(t.keys.len() * 2);
        }
        if t.expires.capacity() > 16 && t.expires.len() * 8 < t.expires.capacity() {
            t.expires.shrink_to(t.expires.len() * 2);
        }
        self.keys -= 1;
        if exp.is_some() {
            self.volatile -= 1;
        }
        Some((e, exp))
    }

    /// Deletes a live key; returns its entry and expiry.
    pub fn remove(&mut self, key: &[u8], now: u64) -> Option<(Entry, Option<u64>)> {
        let slot = self.slot_of(key);
        if self.expire_if_needed(slot, key, now) {
            return None;
        }
        self.remove_in(slot, key)
    }

    pub fn clear(&mut self) {
        // A snapshot keeps the tables it still needs (moved, not copied);
        // its walk writes them out later.
        if let Some(c) = self.capture.as_mut() {
            let mut from = 0;
            while let Some(slot) = c.next_pending(from) {
                c.take(slot);
                if let Some(t) = self.slots.get_mut(slot).and_then(Option::take) {
                    c.detached.push((slot, t));
                }
                from = slot + 1;
            }
        }
        self.slots.clear();
        self.keys = 0;
        self.volatile = 0;
        self.expire_cursor = (0, 0);
    }

    pub fn count_in_slot(&self, slot: usize) -> usize {
        self.table(slot).map_or(0, |t| t.keys.len())
    }

    pub fn keys_in_slot(&self, slot: usize, count: usize) -> Vec<CBytes> {
        self.table(slot)
            .map(|t| t.keys.keys().take(count).cloned().collect())
            .unwrap_or_default()
    }

    /// Takes a slot's table out (to hand it to another core).
    pub fn take_slot(&mut self, slot: usize) -> Option<Box<SlotTable>> {
        self.before_change(slot);
        let t = self.slots.get_mut(slot)?.take()?;
        self.keys -= t.keys.len();
        self.volatile -= t.expires.len();
        Some(t)
    }

    /// Installs a slot's table received from another core.
    pub fn put_slot(&mut self, slot: usize, table: Box<SlotTable>) {
        if let Some(old) = self.take_slot(slot) {
            debug_assert!(old.keys.is_empty(), "slot table installed over keys");
        }
        self.keys += table.keys.len();
        self.volatile += table.expires.len();
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        self.slots[slot] = Some(table);
    }

    /// Visits keys for SCAN, KEYS and friends starting at `cursor` = (slot,
    /// n) where n is one more than the next index to visit in that slot's
    /// table (0: start at its top). Indexes go down, so the swap-removals of a
    /// deletion only ever move an already visited key into the unvisited part
    /// (seen twice, as SCAN allows) and never hide a key that existed for the
    /// whole scan; inserts land above the cursor. Calls `f` for at most about
    /// `budget` keys; returns the next cursor, `None` when every slot below
    /// `end_slot` was visited.
    pub fn scan(
        &mut self,
        mut cursor: (usize, usize),
        end_slot: usize,
        budget: usize,
        now: u64,
        mut f: impl FnMut(&CBytes, &Entry),
    ) -> Option<(usize, usize)> {
        let mut visited = 0usize;
        let end_slot = end_slot.min(SLOTS);
        while cursor.0 < end_slot {
            let slot = cursor.0;
            if let Some(t) = self.table(slot) {
                let len = t.keys.len();
                let mut next = if cursor.1 == 0 {
                    len
                } else {
                    cursor.1.min(len)
                };
                let mut expired: Vec<CBytes> = Vec::new();
                while next > 0 {
                    if let Some((k, e)) = t.keys.get_index(next - 1) {
                        if t.is_expired(k, now) {
                            expired.push(k.clone());
                        } else {
                            f(k, e);
                        }
                    }
                    next -= 1;
                    visited += 1;
                    if visited >= budget && next > 0 {
                        break;
                    }
                }
                for k in expired {
                    self.remove_in(slot, &k);
                    self.stats.expired_keys += 1;
                    self.expired_log.push(k);
                }
                if next > 0 {
                    return Some((slot, next));
                }
            }
            cursor = (slot + 1, 0);
            if visited >= budget {
                return if cursor.0 < end_slot {
                    Some(cursor)
                } else {
                    None
                };
            }
        }
        None
    }

    /// A random live key (RANDOMKEY); expired keys met on the way are deleted.
    pub fn random_key(&mut self, now: u64) -> Option<CBytes> {
        use rand::Rng;
        let mut rng = rand::rng();
        // Bounded attempts, like Redis's dbRandomKey: give up on a fully volatile,
        // fully expired keyspace rather than loop forever.
        for _ in 0..100 {
            if self.keys == 0 {
                return None;
            }
            // Pick a slot weighted by its size via a random key ordinal.
            let mut n = rng.random_range(0..self.keys);
            let mut found = None;
            for (slot, t) in self.slots.iter().enumerate() {
                if let Some(t) = t {
                    if n < t.keys.len() {
                        found = t.keys.get_index(n).map(|(k, _)| (slot, k.clone()));
                        break;
                    }
                    n -= t.keys.len();
                }
            }
            let (slot, key) = found?;
            if !self.expire_if_needed(slot, &key, now) {
                return Some(key);
            }
        }
        None
    }

    /// One step of the active expire cycle: examines up to `max_keys` keys with a
    /// TTL, continuing where the last step stopped, and deletes the expired ones.
    /// Returns (examined, expired).
    pub fn active_expire_step(&mut self, max_keys: usize, now: u64) -> (usize, usize) {
        if self.volatile == 0 || self.slots.is_empty() {
            return (0, 0);
        }
        let (mut slot, mut pos) = self.expire_cursor;
        let mut examined = 0;
        let mut expired = 0;
        let mut slots_seen = 0;
        while examined < max_keys && slots_seen <= SLOTS {
            let mut dead: Vec<CBytes> = Vec::new();
            let mut next_slot = false;
            match self.table(slot) {
                Some(t) if pos < t.expires.len() => {
                    while pos < t.expires.len() && examined < max_keys {
                        if let Some((k, &at)) = t.expires.get_index(pos) {
                            if at <= now {
                                dead.push(k.clone());
                            }
                        }
                        examined += 1;
                        pos += 1;
                    }
                    if pos >= t.expires.len() {
                        next_slot = true;
                    }
                }
                _ => next_slot = true,
            }
            for k in &dead {
                self.remove_in(slot, k);
                // A swap-removal moved a not yet examined key into an examined
                // position: step back so it is examined too.
                pos = pos.saturating_sub(1);
            }
            expired += dead.len();
            let none = dead.is_empty();
            self.expired_log.extend(dead);
            if next_slot && none {
                slot = (slot + 1) % SLOTS;
                pos = 0;
                slots_seen += 1;
            }
        }
        self.expire_cursor = (slot, pos);
        self.stats.expired_keys += expired as u64;
        (examined, expired)
    }

    /// Every (slot, table) this db holds (for DEBUG DIGEST, slot moves, persistence).
    pub fn tables(&self) -> impl Iterator<Item = (usize, &SlotTable)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(s, t)| t.as_deref().map(|t| (s, t)))
    }
}

/// Slot of a key (re-exported for command code).
pub fn slot_of(key: &[u8]) -> u16 {
    key_hash_slot(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(CBytes::new(v.as_bytes()))
    }

    /// What a capture handed over: (slot, its key=value pairs).
    type Seen = std::rc::Rc<std::cell::RefCell<Vec<(usize, Vec<String>)>>>;

    struct Recorder(Seen);

    impl SlotSink for Recorder {
        fn save_slot(&mut self, slot: usize, table: &SlotTable) {
            let mut kv: Vec<String> = table
                .keys
                .iter()
                .map(|(k, e)| {
                    let v = match &e.val {
                        Value::Str(x) => String::from_utf8_lossy(x.as_bytes()).into_owned(),
                        _ => "?".into(),
                    };
                    format!("{}={v}", String::from_utf8_lossy(k.as_bytes()))
                })
                .collect();
            kv.sort();
            self.0.borrow_mut().push((slot, kv));
        }
    }

    #[test]
    fn a_capture_sees_the_start_point_through_changes_and_clear() {
        // "a", "b", "c" hash to three different slots.
        let slots: Vec<usize> = ["a", "b", "c"]
            .iter()
            .map(|k| slot_of(k.as_bytes()) as usize)
            .collect();
        assert!(slots[0] != slots[1] && slots[1] != slots[2] && slots[0] != slots[2]);
        let mut db = Db::new();
        for k in ["a", "b", "c"] {
            db.set(k.as_bytes(), s("old"), Ttl::Clear, 0);
        }
        let seen = Seen::default();
        db.start_capture(Box::new(Recorder(seen.clone())));
        // A change hands the untouched slot over first, once.
        db.set(b"a", s("new"), Ttl::Clear, 0);
        db.set(b"a", s("newer"), Ttl::Clear, 0);
        assert_eq!(*seen.borrow(), [(slots[0], vec!["a=old".to_string()])]);
        // FLUSHALL keeps the other two aside without writing them now.
        db.clear();
        assert_eq!(seen.borrow().len(), 1);
        db.set(b"b", s("after"), Ttl::Clear, 0);
        let mut from = 0;
        for _ in 0..10 {
            match db.capture_step(from) {
                Some(next) => from = next,
                None => break,
            }
        }
        assert!(db.capture_left().is_none(), "the capture ended");
        let mut got = seen.borrow().clone();
        got.sort();
        let mut want = vec![
            (slots[0], vec!["a=old".to_string()]),
            (slots[1], vec!["b=old".to_string()]),
            (slots[2], vec!["c=old".to_string()]),
        ];
        want.sort();
        assert_eq!(got, want);
        assert_eq!(db.len(), 1);
    }

    #[test]
    fn set_get_remove_counts() {
        let mut db = Db::new();
        assert!(db.set(b"a", s("1"), Ttl::Clear, 0).is_none());
        assert!(db.set(b"a", s("2"), Ttl::Clear, 0).is_some());
        db.set(b"b", s("3"), Ttl::At(100), 0);
        assert_eq!((db.len(), db.volatile_len()), (2, 1));
        assert!(db.get(b"b", 99).is_some());
        assert!(db.get(b"b", 100).is_none(), "expired at its deadline");
        assert_eq!((db.len(), db.volatile_len()), (1, 0));
        assert!(db.remove(b"a", 0).is_some());
        assert!(db.is_empty());
    }

    #[test]
    fn ttl_modes() {
        let mut db = Db::new();
        db.set(b"k", s("v"), Ttl::At(500), 0);
        db.set(b"k", s("w"), Ttl::Keep, 0);
        assert_eq!(db.expire_of(b"k"), Some(500));
        db.set(b"k", s("x"), Ttl::Clear, 0);
        assert_eq!(db.expire_of(b"k"), None);
        assert_eq!(db.volatile_len(), 0);
        assert!(db.set_expire(b"k", 10, 0));
        assert!(db.persist(b"k", 0));
        assert!(!db.persist(b"k", 0));
        assert!(!db.set_expire(b"nokey", 10, 0));
    }

    #[test]
    fn scan_visits_every_key_once_without_changes() {
        let mut db = Db::new();
        for i in 0..1000 {
            db.set(format!("key:{i}").as_bytes(), s("v"), Ttl::Clear, 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cur = Some((0, 0));
        let mut rounds = 0;
        while let Some(c) = cur {
            cur = db.scan(c, SLOTS, 10, 0, |k, _| {
                assert!(seen.insert(k.clone()));
            });
            rounds += 1;
            assert!(rounds < 20_000);
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn scan_survives_deletions() {
        let mut db = Db::new();
        // all in one slot via a hash tag, so swap-removals happen mid-slot
        for i in 0..200 {
            db.set(format!("{{t}}{i}").as_bytes(), s("v"), Ttl::Clear, 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cur = Some((0, 0));
        let mut deleted = 0;
        while let Some(c) = cur {
            cur = db.scan(c, SLOTS, 7, 0, |k, _| {
                seen.insert(k.clone());
            });
            // delete a few keys that were already returned
            for i in (deleted * 3)..(deleted * 3 + 3) {
                let k = format!("{{t}}{i}");
                if seen.contains(&CBytes::new(k.as_bytes())) {
                    db.remove(k.as_bytes(), 0);
                }
            }
            deleted += 1;
        }
        for i in 0..200 {
            let k = CBytes::new(format!("{{t}}{i}").as_bytes());
            let still_there = db.peek(&k, 0).is_some();
            assert!(
                !still_there || seen.contains(&k),
                "key {i} present throughout but not returned"
            );
        }
    }

    #[test]
    fn active_expire_removes_expired_only() {
        let mut db = Db::new();
        for i in 0..500 {
            db.set(
                format!("k{i}").as_bytes(),
                s("v"),
                Ttl::At(if i % 2 == 0 { 10 } else { 1000 }),
                0,
            );
        }
        let mut total = 0;
        for _ in 0..100 {
            total += db.active_expire_step(20, 50).1;
        }
        assert_eq!(total, 250);
        assert_eq!(db.len(), 250);
        assert_eq!(db.volatile_len(), 250);
    }

    #[test]
    fn slot_tables_move() {
        let mut a = Db::new();
        let mut b = Db::new();
        a.set(b"{x}1", s("v"), Ttl::At(99), 0);
        a.set(b"{x}2", s("v"), Ttl::Clear, 0);
        let slot = slot_of(b"{x}") as usize;
        assert_eq!(a.count_in_slot(slot), 2);
        let t = a.take_slot(slot).unwrap();
        b.put_slot(slot, t);
        assert_eq!((a.len(), a.volatile_len()), (0, 0));
        assert_eq!((b.len(), b.volatile_len()), (2, 1));
    }

    #[test]
    fn slot_hint_applies_only_to_the_hinted_slice() {
        let mut db = Db::new();
        let k = b"{x}1".to_vec();
        db.set_slot_hint(&k, slot_of(&k));
        db.set(&k, s("v"), Ttl::Clear, 0);
        // A different key while the hint is set still goes to its own slot.
        db.set(b"{y}2", s("w"), Ttl::Clear, 0);
        db.clear_slot_hint();
        assert_eq!(db.count_in_slot(slot_of(b"{y}") as usize), 1);
        assert_eq!(db.count_in_slot(slot_of(b"{x}") as usize), 1);
        assert!(db.get(&k, 0).is_some());
    }

    #[test]
    fn random_key_finds_live_key() {
        let mut db = Db::new();
        assert!(db.random_key(0).is_none());
        db.set(b"only", s("v"), Ttl::Clear, 0);
        assert_eq!(db.random_key(0).unwrap().as_bytes(), b"only");
    }
}
