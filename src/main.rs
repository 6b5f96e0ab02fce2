//! shardis-server: allocator, command line and config, logging, start the cores.

use shardis::config::{self, Config};
use shardis::node::Node;
use shardis::runtime;
use shardis::server::services;
use std::path::{Path, PathBuf};

use std::sync::{Arc, Barrier, Mutex};

#[global_allocator]
static GLOBAL: shardis::observability::memory::Counting<mimalloc::MiMalloc> =
    shardis::observability::memory::Counting(mimalloc::MiMalloc);

fn usage() {
    eprintln!(
        "Usage: ./shardis-server [/path/to/shardis.conf] [options] [-]
       ./shardis-server - (read config from stdin)
       ./shardis-server -v or --version
       ./shardis-server -h or --help

Examples:
       ./shardis-server (run the server with default conf)
       ./shardis-server /etc/shardis/6379.conf
       ./shardis-server --port 7777
       ./shardis-server --port 7777 --threads 2
       ./shardis-server /etc/myshardis.conf --loglevel verbose

Every redis.conf option is accepted as --name value; see README.md."
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-v") | Some("--version") => {
            println!(
                "shardis server v={} (Redis {} compatible) bits=64 malloc=mimalloc",
                shardis::VERSION,
                shardis::REDIS_COMPAT_VERSION
            );
            return;
        }
        Some("-h") | Some("--help") => {
            usage();
            return;
        }
        _ => {}
    }
    let (file, rest): (Option<PathBuf>, &[String]) = match args.first() {
        Some(a) if !a.starts_with("--") => (Some(PathBuf::from(a)), &args[1..]),
        _ => (None, &args[..]),
    };
    let cfg = match config::load(file.as_deref(), rest) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = shardis::observability::init_logging(&cfg) {
        eprintln!("Can't open the log file: {e}");
        std::process::exit(1);
    }
    if let Err(e) = start(cfg, file.as_deref()) {
        tracing::error!("{}", e);
        std::process::exit(1);
    }
}

fn start(cfg: Config, file: Option<&Path>) -> Result<(), String> {
    let cpus = runtime::affinity_cpus();
    let threads = match cfg.threads() {
        0 => cpus.len().max(1),
        n => n,
    };
    tracing::info!("oO0OoO0OoO0Oo shardis is starting oO0OoO0OoO0Oo");
    tracing::info!(
        "shardis version={}, bits=64, pid={}, just started",
        shardis::VERSION,
        std::process::id()
    );
    match file {
        Some(f) => tracing::info!("Configuration loaded from {}", f.display()),
        None => tracing::warn!(
            "Warning: no config file specified, using the default config. In order to specify a config file use shardis-server /path/to/shardis.conf"
        ),
    }
    let dir = cfg.dir().to_string();
    if let Err(e) = std::env::set_current_dir(&dir) {
        return Err(format!("Can't chdir to '{dir}': {e}"));
    }
    shardis::observability::startup_warnings(cfg.tcp_backlog());

    let cluster = if cfg.cluster_enabled() {
        let path = PathBuf::from(cfg.cluster_config_file());
        let state = services::load_cluster_state(&path, &cfg)
            .map_err(|e| format!("Unrecoverable error: {e}"))?;
        tracing::info!("Node configuration loaded, I'm {}", state.my_id().as_str());
        Some(state)
    } else {
        None
    };
    let topology = services::initial_topology(cluster.as_ref(), threads);
    let placement: Vec<String> = (0..threads)
        .map(|i| match cpus.get(i) {
            Some(c) if threads <= cpus.len() => format!("shard {i} on CPU {c}"),
            _ => format!("shard {i} unpinned"),
        })
        .collect();
    tracing::info!(
        "Running mode={}, port={}, threads={} ({})",
        if cluster.is_some() {
            "cluster"
        } else {
            "standalone"
        },
        cfg.port(),
        threads,
        placement.join(", ")
    );
    let (tcp_port, cluster_enabled) = (cfg.port(), cfg.cluster_enabled());
    let node = Arc::new(Node {
        spin_before_park_us: std::env::var("SHARDIS_SPIN_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        tcp_port,
        cluster_enabled,
        config_file: file.and_then(|f| std::fs::canonicalize(f).ok()),
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        start_unix_ms: runtime::now_ms(),
        run_id: shardis::cluster::NodeId::random().as_str().to_string(),
        cpus: cpus.clone(),
        cluster: Mutex::new(cluster),
        ..Node::new(cfg, threads)
    });
    // Clients get -LOADING until the AOF or dump.rdb is loaded
    // (server::aof::startup).
    node.aof.set_loading(true);
    runtime::clock::calibrate(std::time::Duration::from_millis(10));
    if node
        .config
        .read()
        .is_ok_and(|c| c.get("disable-thp").is_some_and(|v| v == "yes"))
    {
        // disable-thp, as Redis: no transparent huge pages for this process
        // (huge-page compaction stalls show up as latency). Best effort.
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
    shardis::observability::install_signal_handlers();
    // A write past RLIMIT_FSIZE fails with EFBIG (reported as an AOF write
    // error) instead of killing the process.
    // SAFETY: setting a signal's disposition to SIG_IGN.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let cfg_snapshot = node
        .config
        .read()
        .map_err(|_| "config lock poisoned".to_string())?
        .clone();
    shardis::server::check_port_free(&cfg_snapshot)?;
    let ready = Arc::new(Barrier::new(threads));
    runtime::run(
        node.clone(),
        &cfg_snapshot,
        Arc::new(topology),
        shardis::server::core_main(ready),
    )
    .map_err(|e| format!("Failed to start the shards: {e}"))
}
