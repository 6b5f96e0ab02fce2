//! Memory accounting: a global allocator wrapper that counts live bytes per
//! thread (one cache line each, so cores never contend), summed for INFO's
//! `used_memory`; RSS from /proc; mimalloc's own figures; and the figures
//! INFO memory, MEMORY STATS and MEMORY DOCTOR report, computed as Redis
//! 7.0 computes them (object.c `getMemoryOverheadData`).
//!
//! Where each figure comes from:
//!
//! | figure                   | source                                             |
//! |--------------------------|----------------------------------------------------|
//! | used_memory              | the counting allocator: bytes handed out, live     |
//! | used_memory_peak         | its maximum, sampled by INFO/MEMORY and every 100 ms |
//! | used_memory_startup      | used_memory when every core was ready              |
//! | used_memory_rss          | /proc/self/statm (resident pages)                  |
//! | allocator_allocated      | = used_memory (mimalloc, built without `MI_STAT`,  |
//! |                          | keeps no binned total of its own)                  |
//! | allocator_active         | mimalloc's committed bytes (`mi_process_info`)     |
//! | allocator_resident       | the same: mimalloc has no active/resident split;   |
//! |                          | freed pages stay committed until purged            |
//! | overhead.hashtable.*     | per-slot table capacities on every core (below)    |
//! | clients.normal           | per connection: its buffers plus unread query bytes |
//!
//! Ratios follow Redis's definitions: allocator_frag = active / allocated,
//! allocator_rss = resident / active, rss_overhead = rss / resident,
//! mem_fragmentation = rss / used_memory; each `_bytes` is the difference.
//! Like Redis they are computed in single precision (`float`).
//!
//! Per-core bytes are not attributed: the counter of a thread is charged
//! with what it frees, and buffers cross cores (a forwarded command's
//! arguments are freed by the core that ran it), so per-thread nets drift.

use crate::keyspace::{CBytes, Db, Entry};
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

const SLOTS: usize = 128;

#[repr(align(64))]
struct Padded(AtomicI64);

static COUNTERS: [Padded; SLOTS] = [const { Padded(AtomicI64::new(0)) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn my_slot() -> usize {
    SLOT.try_with(|s| {
        let v = s.get();
        if v != usize::MAX {
            return v;
        }
        let n = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS;
        s.set(n);
        n
    })
    // During thread teardown the thread-local is gone: use a shared slot.
    .unwrap_or(SLOTS - 1)
}

/// Wraps an allocator and counts the bytes it has handed out and not taken back.
pub struct Counting<A>(pub A);

unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = self.0.alloc(l);
        if !p.is_null() {
            COUNTERS[my_slot()]
                .0
                .fetch_add(l.size() as i64, Ordering::Relaxed);
        }
        p
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = self.0.alloc_zeroed(l);
        if !p.is_null() {
            COUNTERS[my_slot()]
                .0
                .fetch_add(l.size() as i64, Ordering::Relaxed);
        }
        p
    }
    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        self.0.dealloc(p, l);
        COUNTERS[my_slot()]
            .0
            .fetch_sub(l.size() as i64, Ordering::Relaxed);
    }
    #[inline]
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = self.0.realloc(p, l, new);
        if !q.is_null() {
            COUNTERS[my_slot()]
                .0
                .fetch_add(new as i64 - l.size() as i64, Ordering::Relaxed);
        }
        q
    }
}

/// Bytes currently allocated through the counting allocator (0 when it is not
/// the global allocator, as in unit tests).
pub fn used_memory() -> u64 {
    let total: i64 = COUNTERS.iter().map(|c| c.0.load(Ordering::Relaxed)).sum();
    let total = total.max(0);
    PEAK.fetch_max(total, Ordering::Relaxed);
    total as u64
}

pub fn peak_memory() -> u64 {
    used_memory();
    PEAK.load(Ordering::Relaxed).max(0) as u64
}

static STARTUP: AtomicU64 = AtomicU64::new(0);

/// Records `used_memory` as the start-up figure (Redis's
/// `initial_memory_usage`): called once every core is ready.
pub fn mark_startup() {
    STARTUP.store(used_memory(), Ordering::Relaxed);
}

/// `used_memory_startup`.
pub fn startup_memory() -> u64 {
    STARTUP.load(Ordering::Relaxed)
}

/// What mimalloc reports about itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllocatorStats {
    /// Bytes mimalloc holds committed (read/write) for its pages and metadata.
    pub committed: u64,
    pub peak_committed: u64,
}

/// mimalloc's committed memory (process-wide, atomics: any thread may ask).
pub fn allocator_stats() -> AllocatorStats {
    let (mut elapsed, mut user, mut sys, mut rss, mut peak_rss) = (0usize, 0, 0, 0, 0);
    let (mut commit, mut peak_commit, mut faults) = (0usize, 0usize, 0usize);
    // SAFETY: every pointer is to a live local usize; mimalloc only writes them.
    unsafe {
        libmimalloc_sys::mi_process_info(
            &mut elapsed,
            &mut user,
            &mut sys,
            &mut rss,
            &mut peak_rss,
            &mut commit,
            &mut peak_commit,
            &mut faults,
        );
    }
    AllocatorStats {
        committed: commit as u64,
        peak_committed: peak_commit as u64,
    }
}

/// `mem_allocator`: "mimalloc-3.3.2".
pub fn allocator_name() -> String {
    // SAFETY: no arguments, returns a number.
    let v = unsafe { libmimalloc_sys::mi_version() }.max(0) as u32;
    // v3 encodes major*10000 + minor*100 + patch; v1/v2 major*100 + minor*10 + patch.
    let (major, minor, patch) = if v >= 10_000 {
        (v / 10_000, v / 100 % 100, v % 100)
    } else {
        (v / 100, v / 10 % 10, v % 10)
    };
    format!("mimalloc-{major}.{minor}.{patch}")
}

/// Where `mi_stats_print_out` writes: a buffer allocated beforehand and never
/// grown inside the callback, so printing never re-enters the allocator.
struct StatsBuf {
    buf: Vec<u8>,
    truncated: bool,
}

unsafe extern "C" fn stats_out(msg: *const std::ffi::c_char, arg: *mut std::ffi::c_void) {
    if msg.is_null() || arg.is_null() {
        return;
    }
    // SAFETY: `arg` is the `StatsBuf` passed to mi_stats_print_out below,
    // alive for the whole call; `msg` is a NUL-terminated string.
    let (out, bytes) = unsafe { (&mut *(arg as *mut StatsBuf), std::ffi::CStr::from_ptr(msg)) };
    let bytes = bytes.to_bytes();
    let room = out.buf.capacity() - out.buf.len();
    if bytes.len() <= room {
        out.buf.extend_from_slice(bytes);
    } else {
        out.buf.extend_from_slice(&bytes[..room]);
        out.truncated = true;
    }
}

/// MEMORY MALLOC-STATS: mimalloc's statistics report (at most 256 KiB).
pub fn malloc_stats_text() -> String {
    let mut out = StatsBuf {
        buf: Vec::with_capacity(256 * 1024),
        truncated: false,
    };
    // SAFETY: the callback only appends within `out.buf`'s capacity; `out`
    // outlives the call.
    unsafe {
        libmimalloc_sys::mi_stats_print_out(
            Some(stats_out),
            &mut out as *mut StatsBuf as *mut std::ffi::c_void,
        );
    }
    let mut s = format!("___ Begin {} statistics ___\n", allocator_name());
    s.push_str(&String::from_utf8_lossy(&out.buf));
    if out.truncated {
        s.push_str("\n(truncated)\n");
    }
    s.push_str("--- End mimalloc statistics ---\n");
    s
}

/// MEMORY PURGE on the calling thread: mimalloc returns the free memory of
/// this thread's heap and the arenas' delayed purges to the OS.
pub fn purge() {
    // SAFETY: plain call; `force` collects everything it can.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

// ---- keyspace overhead ------------------------------------------------------

/// Bytes of a hashbrown index table able to hold `cap` entries: one `usize`
/// and one control byte per bucket, buckets a power of two at 7/8 load.
fn index_bytes(cap: usize) -> u64 {
    if cap == 0 {
        return 0;
    }
    let buckets = if cap < 4 {
        4
    } else if cap < 8 {
        8
    } else {
        (cap * 8 / 7).next_power_of_two()
    };
    (buckets * (std::mem::size_of::<usize>() + 1) + 16) as u64
}

/// One db's structural overhead on one core, the figures of MEMORY STATS'
/// `db.N` map.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DbOverhead {
    pub keys: u64,
    /// Key tables: every entry slot (hash + key + entry, used or not) and
    /// the index (Redis: dict entries, bucket array and robj headers).
    pub main: u64,
    /// Expiry tables, the same way.
    pub expires: u64,
    /// The slot directory and the per-slot table headers (Redis: the
    /// slot-to-keys metadata of cluster mode).
    pub slot_to_keys: u64,
}

impl DbOverhead {
    pub fn of(db: &Db) -> DbOverhead {
        if db.is_empty() {
            return DbOverhead::default();
        }
        const KEY_BUCKET: usize = std::mem::size_of::<usize>()
            + std::mem::size_of::<CBytes>()
            + std::mem::size_of::<Entry>();
        const EXP_BUCKET: usize = std::mem::size_of::<usize>()
            + std::mem::size_of::<CBytes>()
            + std::mem::size_of::<u64>();
        let mut o = DbOverhead {
            keys: db.len() as u64,
            slot_to_keys: (crate::cluster::slot::SLOTS
                * std::mem::size_of::<Option<Box<crate::keyspace::SlotTable>>>())
                as u64,
            ..DbOverhead::default()
        };
        for (_, t) in db.tables() {
            let kc = t.keys.capacity();
            let ec = t.expires.capacity();
            o.main += (kc * KEY_BUCKET) as u64 + index_bytes(kc);
            o.expires += (ec * EXP_BUCKET) as u64 + index_bytes(ec);
            o.slot_to_keys += std::mem::size_of::<crate::keyspace::SlotTable>() as u64;
        }
        o
    }

    fn add(&mut self, o: &DbOverhead) {
        self.keys += o.keys;
        self.main += o.main;
        self.expires += o.expires;
        self.slot_to_keys += o.slot_to_keys;
    }

    pub fn total(&self) -> u64 {
        self.main + self.expires + self.slot_to_keys
    }
}

/// Bytes a connection holds before any traffic: its read chunk, query
/// buffer and reply buffer (16 KiB each, server/conn.rs).
pub const CONN_BUFFERS: u64 = 3 * 16 * 1024;

/// What one core contributes to the memory figures.
#[derive(Debug, Default, Clone)]
pub struct CoreMemory {
    /// Per db (index = db number).
    pub dbs: Vec<DbOverhead>,
    pub clients: u64,
    /// Buffers of this core's connections plus their unread query bytes.
    pub clients_bytes: u64,
}

impl CoreMemory {
    pub fn of(dbs: &[Db], qbufs: impl Iterator<Item = usize>) -> CoreMemory {
        let mut clients = 0;
        let mut bytes = 0;
        for q in qbufs {
            clients += 1;
            bytes += CONN_BUFFERS + q as u64;
        }
        CoreMemory {
            dbs: dbs.iter().map(DbOverhead::of).collect(),
            clients,
            clients_bytes: bytes,
        }
    }

    /// What `core` contributes (run on that core).
    pub fn of_core(core: &crate::runtime::Core) -> CoreMemory {
        let shard = core.shard.borrow();
        let clients = core.clients.borrow();
        CoreMemory::of(&shard.dbs, clients.clients.values().map(|c| c.qbuf.get()))
    }

    /// This core's keyspace overhead, all dbs.
    pub fn keyspace_overhead(&self) -> u64 {
        self.dbs.iter().map(DbOverhead::total).sum()
    }
}

// ---- node-wide figures --------------------------------------------------------

/// Redis computes its ratios in `float`.
fn ratio(a: u64, b: u64) -> f64 {
    (a as f32 / b as f32) as f64
}

/// Every memory figure of the node at one moment, gathered from all cores.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    pub used: u64,
    pub peak: u64,
    pub startup: u64,
    pub rss: u64,
    pub total_system: u64,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub allocator: AllocatorStats,
    pub clients: u64,
    pub clients_normal: u64,
    /// (db number, figures) for each db holding keys, in db order.
    pub dbs: Vec<(usize, DbOverhead)>,
}

impl Figures {
    /// Samples the process-wide figures and merges the cores' reports.
    pub fn gather<'a>(
        cores: impl IntoIterator<Item = &'a CoreMemory>,
        maxmemory: u64,
        maxmemory_policy: &str,
    ) -> Figures {
        let mut dbs: Vec<DbOverhead> = Vec::new();
        let mut clients = 0;
        let mut clients_normal = 0;
        for c in cores {
            if dbs.len() < c.dbs.len() {
                dbs.resize(c.dbs.len(), DbOverhead::default());
            }
            for (d, o) in dbs.iter_mut().zip(&c.dbs) {
                d.add(o);
            }
            clients += c.clients;
            clients_normal += c.clients_bytes;
        }
        let used = used_memory();
        Figures {
            used,
            peak: peak_memory().max(used),
            startup: startup_memory(),
            rss: rss(),
            total_system: total_system_memory(),
            maxmemory,
            maxmemory_policy: maxmemory_policy.to_string(),
            allocator: allocator_stats(),
            clients,
            clients_normal,
            dbs: dbs
                .into_iter()
                .enumerate()
                .filter(|(_, d)| d.keys > 0)
                .collect(),
        }
    }

    pub fn keys(&self) -> u64 {
        self.dbs.iter().map(|(_, d)| d.keys).sum()
    }

    /// startup + client buffers + every db's tables (replication, AOF and
    /// script caches are not there yet: 0).
    pub fn overhead_total(&self) -> u64 {
        self.startup + self.clients_normal + self.dbs.iter().map(|(_, d)| d.total()).sum::<u64>()
    }

    pub fn dataset(&self) -> u64 {
        self.used.saturating_sub(self.overhead_total())
    }

    /// used - startup, at least 1 (Redis's `net_usage`).
    fn net_usage(&self) -> u64 {
        if self.used > self.startup {
            self.used - self.startup
        } else {
            1
        }
    }

    pub fn dataset_perc(&self) -> f64 {
        (self.dataset() as f32 * 100.0 / self.net_usage() as f32) as f64
    }

    pub fn peak_perc(&self) -> f64 {
        (self.used as f32 * 100.0 / self.peak.max(1) as f32) as f64
    }

    pub fn bytes_per_key(&self) -> u64 {
        match self.keys() {
            0 => 0,
            k => self.net_usage() / k,
        }
    }

    pub fn allocator_allocated(&self) -> u64 {
        self.used
    }
    pub fn allocator_active(&self) -> u64 {
        self.allocator.committed
    }
    pub fn allocator_resident(&self) -> u64 {
        self.allocator.committed
    }
    pub fn allocator_frag(&self) -> (f64, i64) {
        let (a, b) = (self.allocator_active(), self.allocator_allocated());
        (ratio(a, b), a as i64 - b as i64)
    }
    pub fn allocator_rss(&self) -> (f64, i64) {
        let (a, b) = (self.allocator_resident(), self.allocator_active());
        (ratio(a, b), a as i64 - b as i64)
    }
    pub fn rss_overhead(&self) -> (f64, i64) {
        let (a, b) = (self.rss, self.allocator_resident());
        (ratio(a, b), a as i64 - b as i64)
    }
    pub fn fragmentation(&self) -> (f64, i64) {
        (
            ratio(self.rss, self.used),
            self.rss as i64 - self.used as i64,
        )
    }

    /// The `# Memory` section of INFO, fields in Redis 7.0's order (the
    /// scripting figures are 0: shardis has no scripting yet).
    pub fn info_section(&self) -> String {
        let mut o = String::with_capacity(2048);
        let h = human;
        let (af, afb) = self.allocator_frag();
        let (ar, arb) = self.allocator_rss();
        let (ro, rob) = self.rss_overhead();
        let (fr, frb) = self.fragmentation();
        let _ = write!(
            o,
            "# Memory\r\n\
             used_memory:{used}\r\nused_memory_human:{}\r\n\
             used_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\n\
             used_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\n\
             used_memory_peak_perc:{:.2}%\r\n\
             used_memory_overhead:{}\r\nused_memory_startup:{}\r\n\
             used_memory_dataset:{}\r\nused_memory_dataset_perc:{:.2}%\r\n\
             allocator_allocated:{}\r\nallocator_active:{}\r\nallocator_resident:{}\r\n\
             total_system_memory:{}\r\ntotal_system_memory_human:{}\r\n\
             used_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\n\
             used_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\n\
             number_of_functions:0\r\nnumber_of_libraries:0\r\n\
             used_memory_vm_functions:0\r\nused_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\n\
             used_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\n\
             maxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n\
             allocator_frag_ratio:{af:.2}\r\nallocator_frag_bytes:{afb}\r\n\
             allocator_rss_ratio:{ar:.2}\r\nallocator_rss_bytes:{arb}\r\n\
             rss_overhead_ratio:{ro:.2}\r\nrss_overhead_bytes:{rob}\r\n\
             mem_fragmentation_ratio:{fr:.2}\r\nmem_fragmentation_bytes:{frb}\r\n\
             mem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\n\
             mem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\n\
             mem_clients_normal:{}\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\n\
             mem_allocator:{}\r\nactive_defrag_running:0\r\n\
             lazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
            h(self.used),
            h(self.rss),
            h(self.peak),
            self.peak_perc(),
            self.overhead_total(),
            self.startup,
            self.dataset(),
            self.dataset_perc(),
            self.allocator_allocated(),
            self.allocator_active(),
            self.allocator_resident(),
            self.total_system,
            h(self.total_system),
            self.maxmemory,
            h(self.maxmemory),
            self.maxmemory_policy,
            self.clients_normal,
            allocator_name(),
            used = self.used,
            rss = self.rss,
            peak = self.peak,
        );
        o
    }

    /// MEMORY DOCTOR, with Redis's thresholds (object.c
    /// `getMemoryDoctorReport`) and its texts where they hold for shardis.
    /// One difference: "empty" means less than 5 MB above the start-up
    /// memory (Redis: 5 MB in all), as every core starts with buffers of
    /// its own.
    pub fn doctor(&self) -> String {
        const MB10: i64 = 10 << 20;
        if self.used.saturating_sub(self.startup) < 5 * 1024 * 1024 {
            return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string();
        }
        let mut findings: Vec<String> = Vec::new();
        if self.peak as f32 / self.used as f32 > 1.5 {
            findings.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the shardis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the shardis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n".to_string());
        }
        let (fr, frb) = self.fragmentation();
        if fr > 1.4 && frb > MB10 {
            findings.push(format!(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the shardis process is much larger than the sum of the logical allocations shardis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, try the MEMORY PURGE command and check MEMORY MALLOC-STATS. Note: The currently used allocator is \"{}\".\n\n", allocator_name()));
        }
        let (af, afb) = self.allocator_frag();
        if af > 1.1 && afb > MB10 {
            findings.push(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try the MEMORY PURGE command to return free pages to the system (shardis has no active defragmentation).\n\n".to_string());
        }
        let (ar, arb) = self.allocator_rss();
        if ar > 1.1 && arb > MB10 {
            findings.push(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n".to_string());
        }
        let (ro, rob) = self.rss_overhead();
        if ro > 1.1 && rob > MB10 {
            findings.push(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the shardis process is much larger than the RSS the allocator holds). This problem may be due to the I/O memory each core registers with io_uring, thread stacks, or memory mapped by libraries.\n\n".to_string());
        }
        if self.clients > 0 && self.clients_normal / self.clients > 200 * 1024 {
            findings.push(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the shardis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n".to_string());
        }
        if findings.is_empty() {
            return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string();
        }
        let mut s = String::from(
            "Sam, I detected a few issues in this shardis instance memory implants:\n\n",
        );
        for f in findings {
            s.push_str(&f);
        }
        s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
        s
    }
}

/// Resident set size of this process in bytes.
pub fn rss() -> u64 {
    let page = 4096u64;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |p| p * page)
}

pub fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Redis's bytesToHuman: "1.50M".
pub fn human(n: u64) -> String {
    let n = n as f64;
    const UNITS: [(f64, &str); 5] = [
        (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0, "P"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "T"),
        (1024.0 * 1024.0 * 1024.0, "G"),
        (1024.0 * 1024.0, "M"),
        (1024.0, "K"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            return format!("{:.2}{}", n / size, unit);
        }
    }
    format!("{}B", n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(used: u64, peak: u64, rss: u64, committed: u64) -> Figures {
        Figures {
            used,
            peak,
            startup: 1 << 20,
            rss,
            allocator: AllocatorStats {
                committed,
                peak_committed: committed,
            },
            ..Figures::default()
        }
    }

    #[test]
    fn ratios_as_redis_defines_them() {
        let f = figures(100 << 20, 100 << 20, 150 << 20, 120 << 20);
        assert_eq!(f.fragmentation(), (1.5, 50 << 20));
        assert_eq!(f.allocator_frag(), (1.2000000476837158, 20 << 20));
        assert_eq!(f.allocator_rss(), (1.0, 0));
        assert_eq!(f.rss_overhead(), (1.25, 30 << 20));
        assert_eq!(f.dataset(), (99 << 20));
        assert_eq!(f.bytes_per_key(), 0);
        let text = f.info_section();
        assert!(text
            .contains("\r\nmem_fragmentation_ratio:1.50\r\nmem_fragmentation_bytes:52428800\r\n"));
        assert!(text.contains("\r\nallocator_frag_ratio:1.20\r\n"));
        assert!(
            text.starts_with("# Memory\r\nused_memory:104857600\r\nused_memory_human:100.00M\r\n")
        );
    }

    #[test]
    fn doctor_findings() {
        // Little data: Redis's "empty" answer, whatever the ratios.
        let f = figures(3 << 20, 50 << 20, 90 << 20, 60 << 20);
        assert!(f.doctor().starts_with("Hi Sam, this instance is empty"));
        // Healthy.
        let f = figures(100 << 20, 110 << 20, 105 << 20, 102 << 20);
        assert_eq!(
            f.doctor(),
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
        );
        // A big peak and a high RSS.
        let f = figures(100 << 20, 400 << 20, 300 << 20, 290 << 20);
        let d = f.doctor();
        assert!(d.starts_with("Sam, I detected a few issues"));
        assert!(d.contains(" * Peak memory:"));
        assert!(d.contains(" * High total RSS:"));
        assert!(d.contains(" * High allocator fragmentation:"));
        assert!(!d.contains(" * High process RSS overhead:"));
    }

    #[test]
    fn db_overhead_counts_tables() {
        let mut db = Db::new();
        assert_eq!(DbOverhead::of(&db), DbOverhead::default());
        for i in 0..100 {
            db.set(
                format!("k{i}").as_bytes(),
                crate::keyspace::Value::str(b"v"),
                crate::keyspace::Ttl::Clear,
                0,
            );
        }
        db.set_expire(b"k1", u64::MAX / 2, 0);
        let o = DbOverhead::of(&db);
        assert_eq!(o.keys, 100);
        assert!(o.main >= 100 * 64, "{o:?}");
        assert!(o.expires > 0, "{o:?}");
        assert!(o.slot_to_keys > 16384 * 8, "{o:?}");
    }

    #[test]
    fn allocator_figures_are_there() {
        assert!(allocator_name().starts_with("mimalloc-"));
        let text = malloc_stats_text();
        assert!(text.starts_with("___ Begin mimalloc"), "{text}");
        purge();
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(100), "100B");
        assert_eq!(human(1536), "1.50K");
        assert_eq!(human(3 * 1024 * 1024), "3.00M");
    }
}
