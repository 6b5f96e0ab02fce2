//! INFO: Redis's sections and field names (tools parse them), merged from
//! every core's figures, plus a `shards` section with one line per core.

use super::memory;
use crate::command::TABLE;
use crate::runtime::topology::SlotOwner;
use crate::runtime::{current_cpu, now_us, CmdStat, Core};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;
use std::sync::atomic::Ordering;

/// What one core reports for INFO.
#[derive(Debug, Default, Clone)]
pub struct CoreReport {
    pub id: usize,
    pub cpu: Option<usize>,
    pub slots: usize,
    /// (keys, expires) per db.
    pub dbs: Vec<(usize, usize)>,
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    pub expired_time_cap: u64,
    pub cmd: Vec<CmdStat>,
    pub errors: BTreeMap<String, u64>,
    pub commands: u64,
    pub connections: usize,
    pub forwarded_out: u64,
    pub forwarded_in: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub reads: u64,
    pub writes: u64,
    pub ops_per_sec: u64,
    pub mem: memory::CoreMemory,
    /// Latency histograms by command id; gathered only for latencystats.
    pub latency: Vec<(usize, super::latency::Hist)>,
    /// The core's append-only file.
    pub aof: crate::server::aof::CoreFigures,
    /// Changes made on this core since start (save points).
    pub dirty: u64,
}

pub fn report(core: &Rc<Core>) -> CoreReport {
    let shard = core.shard.borrow();
    let stats = core.stats.borrow();
    // The slots this core serves: the node's own slots the table gives it
    // (a slot the node does not serve may still have a core for its keys).
    let slots = core.with_topology(|t| {
        t.slot_core
            .iter()
            .zip(&t.slot_owner)
            .filter(|&(&c, &o)| c as usize == core.id && o == SlotOwner::Myself)
            .count()
    });
    CoreReport {
        id: core.id,
        cpu: current_cpu(),
        slots,
        dbs: shard
            .dbs
            .iter()
            .map(|d| (d.len(), d.volatile_len()))
            .collect(),
        hits: shard.stats.keyspace_hits,
        dirty: shard.dirty,
        misses: shard.stats.keyspace_misses,
        expired: shard.dbs.iter().map(|d| d.stats.expired_keys).sum(),
        expired_time_cap: shard
            .dbs
            .iter()
            .map(|d| d.stats.expired_time_cap_reached)
            .sum(),
        cmd: shard.stats.cmd.clone(),
        errors: shard.stats.errors.clone(),
        commands: shard.stats.total_commands,
        connections: core.clients.borrow().clients.len(),
        forwarded_out: stats.forwarded_out,
        forwarded_in: stats.forwarded_in,
        net_input_bytes: stats.net_input_bytes,
        net_output_bytes: stats.net_output_bytes,
        reads: stats.reads,
        writes: stats.writes,
        ops_per_sec: stats.ops.per_sec(),
        mem: memory::CoreMemory::of_core(core),
        latency: Vec::new(),
        aof: crate::server::aof::figures(core),
    }
}

/// Every core's report for `sections` (in core order); the latency
/// histograms are copied only when latencystats is asked for.
pub async fn gather(core: &Rc<Core>, sections: &[&str]) -> Vec<CoreReport> {
    let latency = sections.contains(&"latencystats");
    core.run_on_all(move |c| {
        let mut r = report(c);
        if latency {
            r.latency = c.shard.borrow().stats.latency.snapshot();
        }
        r
    })
    .await
}

/// Resets what CONFIG RESETSTAT resets on one core.
pub fn reset_stats(core: &Rc<Core>) {
    let mut shard = core.shard.borrow_mut();
    shard.stats = Default::default();
    for d in shard.dbs.iter_mut() {
        d.stats = Default::default();
    }
    let mut s = core.stats.borrow_mut();
    s.forwarded_in = 0;
    s.forwarded_out = 0;
    s.net_input_bytes = 0;
    s.net_output_bytes = 0;
    s.reads = 0;
    s.writes = 0;
}

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
    "shards",
];
const ALL: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
    "shards",
];

/// Which sections `INFO [section ...]` asks for (lowercased), in output order.
pub fn wanted(args: &[String]) -> Vec<&'static str> {
    if args.is_empty() {
        return DEFAULT.to_vec();
    }
    ALL.iter()
        .copied()
        .filter(|s| {
            args.iter().any(|a| {
                a == "all" || a == "everything" || a == s || (a == "default" && DEFAULT.contains(s))
            })
        })
        .collect()
}

fn cpu_usage() -> (f64, f64) {
    // SAFETY: getrusage fills a local struct.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        (t(ru.ru_stime), t(ru.ru_utime))
    }
}

fn uname() -> String {
    // SAFETY: uname fills a local struct of C strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "Linux".into();
        }
        let s = |a: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(a.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("{} {} {}", s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

/// Builds the INFO text for `sections` from every core's report.
pub fn render(core: &Rc<Core>, sections: &[&str], reports: &[CoreReport]) -> String {
    let node = &core.node;
    let cfg = node.config.read().ok();
    let get = |k: &str| cfg.as_ref().and_then(|c| c.get(k)).unwrap_or_default();
    let mut o = String::new();
    let total_cmds: u64 = reports.iter().map(|r| r.commands).sum();
    for (i, sec) in sections.iter().enumerate() {
        if i > 0 {
            o.push_str("\r\n");
        }
        match *sec {
            "server" => {
                let uptime = node.uptime_secs();
                let _ = write!(
                    o,
                    "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:{}\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:io_uring\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\nshardis_version:{}\r\nshardis_threads:{}\r\n",
                    crate::REDIS_COMPAT_VERSION,
                    if node.cluster_enabled() { "cluster" } else { "standalone" },
                    uname(),
                    std::process::id(),
                    node.run_id,
                    node.tcp_port,
                    now_us(),
                    uptime,
                    uptime / 86400,
                    get("hz"),
                    get("hz"),
                    crate::keyspace::lru_clock(crate::runtime::now_ms()),
                    node.executable,
                    node.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                    crate::VERSION,
                    node.threads,
                );
            }
            "clients" => {
                let _ = write!(
                    o,
                    "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:0\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                    node.connected_clients.load(Ordering::Relaxed),
                    get("maxclients"),
                );
            }
            "memory" => {
                let maxmem: u64 = get("maxmemory").parse().unwrap_or(0);
                let f = memory::Figures::gather(
                    reports.iter().map(|r| &r.mem),
                    maxmem,
                    &get("maxmemory-policy"),
                );
                o.push_str(&f.info_section());
            }
            "persistence" => {
                let _ = write!(
                    o,
                    "# Persistence\r\nloading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n",
                    node.aof.loading() as u8,
                );
                let dirty: u64 = reports.iter().map(|r| r.dirty).sum();
                crate::server::snapshot::info_lines(node, dirty, &mut o);
                let figs: Vec<_> = reports.iter().map(|r| r.aof).collect();
                crate::server::aof::info_lines(node, &figs, &mut o);
            }
            "stats" => {
                let hits: u64 = reports.iter().map(|r| r.hits).sum();
                let misses: u64 = reports.iter().map(|r| r.misses).sum();
                let expired: u64 = reports.iter().map(|r| r.expired).sum();
                let cap: u64 = reports.iter().map(|r| r.expired_time_cap).sum();
                let errors: u64 = reports.iter().flat_map(|r| r.errors.values()).sum();
                let reads: u64 = reports.iter().map(|r| r.reads).sum();
                let ops: u64 = reports.iter().map(|r| r.ops_per_sec).sum();
                let writes: u64 = reports.iter().map(|r| r.writes).sum();
                let _ = write!(
                    o,
                    "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{ops}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{expired}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:{cap}\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\npubsub_channels:0\r\npubsub_patterns:0\r\npubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{errors}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{reads}\r\ntotal_writes_processed:{writes}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                    node.total_connections.load(Ordering::Relaxed),
                    total_cmds,
                    reports.iter().map(|r| r.net_input_bytes).sum::<u64>(),
                    reports.iter().map(|r| r.net_output_bytes).sum::<u64>(),
                    node.rejected_connections.load(Ordering::Relaxed),
                );
            }
            "replication" => {
                let _ = write!(
                    o,
                    "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                    node.run_id
                );
            }
            "cpu" => {
                let (sys, user) = cpu_usage();
                let _ = write!(
                    o,
                    "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n"
                );
            }
            "modules" => o.push_str("# Modules\r\n"),
            "errorstats" => {
                o.push_str("# Errorstats\r\n");
                let mut merged: BTreeMap<&str, u64> = BTreeMap::new();
                for r in reports {
                    for (k, v) in &r.errors {
                        *merged.entry(k.as_str()).or_insert(0) += v;
                    }
                }
                for (k, v) in merged {
                    let _ = write!(o, "errorstat_{k}:count={v}\r\n");
                }
            }
            "commandstats" => {
                o.push_str("# Commandstats\r\n");
                let n = TABLE.all.len();
                for id in 0..n {
                    let mut s = CmdStat::default();
                    for r in reports {
                        if let Some(c) = r.cmd.get(id) {
                            s.calls += c.calls;
                            s.ticks += c.ticks;
                            s.rejected_calls += c.rejected_calls;
                            s.failed_calls += c.failed_calls;
                        }
                    }
                    if s.calls == 0 && s.rejected_calls == 0 && s.failed_calls == 0 {
                        continue;
                    }
                    let usec = crate::runtime::clock::ticks_to_us(s.ticks);
                    let per = if s.calls > 0 {
                        usec as f64 / s.calls as f64
                    } else {
                        0.0
                    };
                    let _ = write!(
                        o,
                        "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
                        TABLE.fullname(id),
                        s.calls,
                        usec,
                        per,
                        s.rejected_calls,
                        s.failed_calls
                    );
                }
            }
            "latencystats" => {
                o.push_str("# Latencystats\r\n");
                if node.tun.latency_tracking.load(Ordering::Relaxed) {
                    let merged =
                        super::latency::merge(reports.iter().map(|r| r.latency.clone()).collect());
                    let pct = cfg
                        .as_ref()
                        .map(|c| c.latency_tracking_info_percentiles().to_vec())
                        .unwrap_or_default();
                    o.push_str(&super::latency::info_section(&merged, &pct));
                }
            }
            "cluster" => {
                let _ = write!(
                    o,
                    "# Cluster\r\ncluster_enabled:{}\r\n",
                    node.cluster_enabled() as u8
                );
            }
            "keyspace" => {
                o.push_str("# Keyspace\r\n");
                let ndb = reports.iter().map(|r| r.dbs.len()).max().unwrap_or(0);
                for db in 0..ndb {
                    let keys: usize = reports
                        .iter()
                        .map(|r| r.dbs.get(db).map_or(0, |d| d.0))
                        .sum();
                    let expires: usize = reports
                        .iter()
                        .map(|r| r.dbs.get(db).map_or(0, |d| d.1))
                        .sum();
                    if keys > 0 {
                        let _ = write!(o, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                    }
                }
            }
            "shards" => {
                o.push_str("# Shards\r\n");
                for r in reports {
                    let keys: usize = r.dbs.iter().map(|d| d.0).sum();
                    let cpu = r.cpu.map_or("-1".to_string(), |c| c.to_string());
                    let _ = write!(
                        o,
                        "shard{}:cpu={},slots={},keys={},commands={},connections={},forwarded_out={},forwarded_in={},keyspace_overhead={},aof_size={},aof_writes={},aof_fsyncs={}\r\n",
                        r.id, cpu, r.slots, keys, r.commands, r.connections, r.forwarded_out, r.forwarded_in,
                        r.mem.keyspace_overhead(), r.aof.size, r.aof.writes, r.aof.fsyncs
                    );
                }
            }
            _ => {}
        }
    }
    o
}
