//! Node-wide state shared by every core: configuration, identity, counters
//! that are not on the data path, and the cluster state core 0 maintains.
//! Everything here is behind atomics or locks that the command path touches
//! rarely (connect, CONFIG, INFO, CLUSTER), never per command.

use crate::cluster::ClusterState;
use crate::config::Config;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
    /// proto-max-bulk-len, read per batch on the data path.
    pub max_bulk: AtomicUsize,
    pub cluster_enabled: bool,
    /// maxmemory-policy is an LFU one (OBJECT FREQ vs IDLETIME).
    pub lfu: AtomicBool,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: AtomicBool,
}

impl Node {
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    pub fn cluster_enabled(&self) -> bool {
        self.cluster_enabled
    }

    pub fn lfu_policy(&self) -> bool {
        self.lfu.load(Ordering::Relaxed)
    }

    pub fn proto_max_bulk_len(&self) -> usize {
        self.max_bulk.load(Ordering::Relaxed)
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
