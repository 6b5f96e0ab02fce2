//! Node-wide state shared by every core: configuration, identity, counters
//! that are not on the data path, and the cluster state core 0 maintains.
//! Everything here is behind atomics or locks that the command path touches
//! rarely (connect, CONFIG, INFO, CLUSTER), never per command.

use crate::cluster::ClusterState;
use crate::config::Config;
use crate::keyspace::EncLimits;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

pub struct Node {
    pub threads: usize,
    /// Microseconds an idle executor spins before it parks (mesh latency vs CPU).
    pub spin_before_park_us: u64,
    pub config: RwLock<Config>,
    /// Absolute path of the config file, for CONFIG REWRITE and INFO.
    pub config_file: Option<PathBuf>,
    pub executable: String,
    pub started: Instant,
    pub start_unix_ms: u64,
    pub run_id: String,
    pub tcp_port: u16,
    pub cpus: Vec<usize>,
    pub next_client_id: AtomicU64,
    pub connected_clients: AtomicUsize,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// Clients in MONITOR mode and where to send them each command.
    pub monitors: Mutex<Vec<futures::channel::mpsc::UnboundedSender<bytes::Bytes>>>,
    pub monitor_count: AtomicUsize,
    /// The node's cluster identity and slots (cluster mode only).
    pub cluster: Mutex<Option<ClusterState>>,
    pub shutting_down: AtomicBool,
    /// Options the data path reads per command, copied out of the config.
    pub tun: Tunables,
    pub cluster_enabled: bool,
    /// Subscriptions held by each core's clients, so publishers skip cores
    /// without any.
    pub pubsub_counts: Box<[AtomicUsize]>,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: AtomicBool,
    /// The append-only file's node-wide state.
    pub aof: crate::server::aof::AofShared,
    pub snapshot: crate::server::snapshot::SnapShared,
}

impl Node {
    /// A node with `cfg` and `threads` cores, its counters at zero; what
    /// only the process knows (ports, CPUs, run id, config file) is left
    /// empty for the caller to set.
    pub fn new(cfg: Config, threads: usize) -> Node {
        Node {
            threads,
            spin_before_park_us: 0,
            tun: Tunables::from_config(&cfg),
            tcp_port: 0,
            cluster_enabled: false,
            config: RwLock::new(cfg),
            config_file: None,
            executable: String::new(),
            started: Instant::now(),
            start_unix_ms: 0,
            run_id: String::new(),
            cpus: Vec::new(),
            next_client_id: AtomicU64::new(1),
            connected_clients: AtomicUsize::new(0),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            monitors: Mutex::new(Vec::new()),
            monitor_count: AtomicUsize::new(0),
            cluster: Mutex::new(None),
            shutting_down: AtomicBool::new(false),
            pubsub_counts: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
            active_expire: AtomicBool::new(true),
            aof: Default::default(),
            snapshot: Default::default(),
        }
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    pub fn cluster_enabled(&self) -> bool {
        self.cluster_enabled
    }

    pub fn lfu_policy(&self) -> bool {
        self.tun.lfu.load(Ordering::Relaxed)
    }

    pub fn proto_max_bulk_len(&self) -> usize {
        self.tun.max_bulk.load(Ordering::Relaxed)
    }

    /// The encoding thresholds for new and growing values.
    pub fn enc_limits(&self) -> EncLimits {
        let t = &self.tun;
        let g = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        EncLimits {
            hash_entries: g(&t.hash_entries),
            hash_value: g(&t.hash_value),
            set_intset_entries: g(&t.set_intset_entries),
            zset_entries: g(&t.zset_entries),
            zset_value: g(&t.zset_value),
            list_size: t.list_size.load(Ordering::Relaxed),
            list_compress_depth: g(&t.list_compress_depth),
        }
    }

    /// notify-keyspace-events flags (config::keyspace_events); 0 = off.
    pub fn notify_flags(&self) -> u32 {
        self.tun.notify.load(Ordering::Relaxed)
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends a MONITOR line to every monitor, dropping closed ones.
    pub fn feed_monitors(&self, line: bytes::Bytes) {
        if let Ok(mut m) = self.monitors.lock() {
            m.retain(|tx| tx.unbounded_send(line.clone()).is_ok());
            self.monitor_count.store(m.len(), Ordering::Relaxed);
        }
    }
}

/// Config values read on the data path, as atomics so no command takes the
/// config lock. Refreshed from the config at start and after CONFIG SET.
#[derive(Default)]
pub struct Tunables {
    /// proto-max-bulk-len.
    pub max_bulk: AtomicUsize,
    /// maxmemory-policy is an LFU one (OBJECT FREQ vs IDLETIME).
    pub lfu: AtomicBool,
    pub notify: AtomicU32,
    pub hash_entries: AtomicUsize,
    pub hash_value: AtomicUsize,
    pub set_intset_entries: AtomicUsize,
    pub zset_entries: AtomicUsize,
    pub zset_value: AtomicUsize,
    pub list_size: AtomicI64,
    pub list_compress_depth: AtomicUsize,
    pub hll_sparse_max: AtomicU64,
    /// latency-tracking: per-command histograms are recorded.
    pub latency_tracking: AtomicBool,
    /// slowlog-log-slower-than in nanoseconds; negative = slowlog off.
    pub slowlog_ns: AtomicI64,
    /// slowlog-max-len.
    pub slowlog_max_len: AtomicUsize,
    /// latency-monitor-threshold in nanoseconds; 0 = latency monitor off.
    pub latency_monitor_ns: AtomicU64,
    /// cluster-allow-reads-when-down.
    pub cluster_reads_when_down: AtomicBool,
    /// Not an option: the next SLOWLOG entry id, node-wide (entries are
    /// made on every core and merged by id).
    pub slowlog_next_id: AtomicU64,
}

impl Tunables {
    pub fn from_config(cfg: &Config) -> Tunables {
        let t = Tunables::default();
        t.refresh(cfg);
        t
    }

    pub fn refresh(&self, cfg: &Config) {
        let r = Ordering::Relaxed;
        let us = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        self.max_bulk.store(us(cfg.proto_max_bulk_len()), r);
        let lfu = cfg
            .get("maxmemory-policy")
            .is_some_and(|p| p.contains("lfu"));
        self.lfu.store(lfu, r);
        self.notify.store(cfg.notify_keyspace_events(), r);
        self.hash_entries
            .store(us(cfg.hash_max_listpack_entries()), r);
        self.hash_value.store(us(cfg.hash_max_listpack_value()), r);
        self.set_intset_entries
            .store(us(cfg.set_max_intset_entries()), r);
        self.zset_entries
            .store(us(cfg.zset_max_listpack_entries()), r);
        self.zset_value.store(us(cfg.zset_max_listpack_value()), r);
        self.list_size.store(cfg.list_max_listpack_size() as i64, r);
        self.list_compress_depth
            .store(cfg.list_compress_depth() as usize, r);
        self.hll_sparse_max.store(cfg.hll_sparse_max_bytes(), r);
        self.latency_tracking.store(cfg.latency_tracking(), r);
        let slow = cfg.slowlog_log_slower_than();
        let slow_ns = if slow < 0 {
            -1
        } else {
            slow.saturating_mul(1000)
        };
        self.slowlog_ns.store(slow_ns, r);
        self.slowlog_max_len.store(us(cfg.slowlog_max_len()), r);
        self.cluster_reads_when_down
            .store(cfg.cluster_allow_reads_when_down(), r);
        self.latency_monitor_ns
            .store(cfg.latency_monitor_threshold().saturating_mul(1_000_000), r);
    }
}

/// A node for unit tests: default config, one core.
#[cfg(test)]
pub fn tests_node() -> Node {
    Node::new(Config::default(), 1)
}
