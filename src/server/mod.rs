//! Listeners, the per-core main task, connections and dispatch.

pub mod aof;
pub mod client;
pub mod conn;
pub mod dispatch;
pub mod pubsub;
pub mod services;
pub mod snapshot;
pub mod transaction;

use crate::runtime::{self, Core, TcpListener};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// Redis's protected-mode refusal, sent to non-loopback clients while no
/// password is set and protected mode is on.
pub const PROTECTED_MODE_MSG: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a bind address or an authentication password. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// One `bind` entry: an address, and whether failing to bind it is allowed
/// (Redis's `-` prefix).
pub fn parse_bind(entry: &str) -> Option<(IpAddr, bool)> {
    let (optional, addr) = match entry.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, entry),
    };
    let ip = match addr {
        "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        a => a.parse().ok()?,
    };
    Some((ip, optional))
}

/// Binds this core's listeners (SO_REUSEPORT: every core binds the same port).
/// Refuses a client port another process listens on already. The cores bind
/// with SO_REUSEPORT, which would quietly share the port with another
/// shardis; a plain bind (SO_REUSEADDR only, as std does) fails then, as
/// Redis's does. Called once before the cores start.
pub fn check_port_free(cfg: &crate::config::Config) -> Result<(), String> {
    check_free(cfg, cfg.port())?;
    if cfg.cluster_enabled() {
        check_free(cfg, services::bus_port(cfg))?;
    }
    Ok(())
}

fn check_free(cfg: &crate::config::Config, port: u16) -> Result<(), String> {
    if port == 0 {
        return Ok(());
    }
    for b in cfg.bind() {
        let Some((ip, optional)) = parse_bind(&b) else {
            continue;
        };
        let addr = SocketAddr::new(ip, port);
        if let Err(e) = std::net::TcpListener::bind(addr) {
            if e.kind() == std::io::ErrorKind::AddrInUse && !optional {
                return Err(format!(
                    "Could not create server TCP listening socket {addr}: bind: Address already in use"
                ));
            }
        }
    }
    Ok(())
}

fn bind_all(core: &Core) -> Result<Vec<TcpListener>, String> {
    bind_port(core, |c| c.port())
}

/// Binds the `bind` addresses on the port `port_of` reads from the config.
pub(crate) fn bind_port(
    core: &Core,
    port_of: impl Fn(&crate::config::Config) -> u16,
) -> Result<Vec<TcpListener>, String> {
    let (binds, port, backlog) = {
        let c = core
            .node
            .config
            .read()
            .map_err(|_| "config lock poisoned".to_string())?;
        (c.bind(), port_of(&c), c.tcp_backlog())
    };
    let mut out = Vec::new();
    for b in &binds {
        let Some((ip, optional)) = parse_bind(b) else {
            return Err(format!("Invalid bind address '{b}'"));
        };
        let addr = SocketAddr::new(ip, port);
        match runtime::bind_listener(addr, backlog.min(i32::MAX as u32) as i32) {
            Ok(l) => out.push(l),
            Err(e) if optional => {
                tracing::debug!("Skipping optional bind {}: {}", addr, e);
            }
            Err(e) => {
                return Err(format!(
                    "Could not create server TCP listening socket {addr}: bind: {e}"
                ))
            }
        }
    }
    if out.is_empty() {
        return Err("Failed listening on port: no address could be bound".into());
    }
    Ok(out)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

async fn accept_loop(core: Rc<Core>, listener: TcpListener) {
    let node = core.node.clone();
    loop {
        let stream = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                if node.shutting_down.load(Ordering::Relaxed) {
                    return;
                }
                tracing::warn!("Accepting client connection: {}", e);
                runtime::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            continue;
        };
        node.total_connections.fetch_add(1, Ordering::Relaxed);
        let (maxclients, protected, has_pass) = match node.config.read() {
            Ok(c) => (
                c.maxclients(),
                c.protected_mode(),
                c.requirepass().is_some(),
            ),
            Err(_) => continue,
        };
        let n = node.connected_clients.fetch_add(1, Ordering::Relaxed) + 1;
        if n > maxclients {
            node.connected_clients.fetch_sub(1, Ordering::Relaxed);
            node.rejected_connections.fetch_add(1, Ordering::Relaxed);
            refuse(stream, "-ERR max number of clients reached\r\n").await;
            continue;
        }
        if protected && !has_pass && !is_loopback(peer.ip()) {
            node.connected_clients.fetch_sub(1, Ordering::Relaxed);
            node.rejected_connections.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("Denied connection from {} (protected mode)", peer);
            refuse(stream, PROTECTED_MODE_MSG).await;
            continue;
        }
        runtime::spawn(conn::serve(core.clone(), stream, peer, local));
    }
}

async fn refuse(mut stream: runtime::TcpStream, msg: &str) {
    use futures::AsyncWriteExt;
    let _ = stream.write_all(msg.as_bytes()).await;
    let _ = stream.close().await;
}

/// Active expiry: every 1000/hz ms, each db gets a slice of the cycle, and a
/// cycle stops when its time budget (25% of the period, scaled by
/// active-expire-effort) is used or few sampled keys were expired.
async fn expire_loop(core: Rc<Core>) {
    loop {
        let (hz, effort) = match core.node.config.read() {
            Ok(c) => (c.hz().clamp(1, 500), c.active_expire_effort().clamp(1, 10)),
            Err(_) => (10, 1),
        };
        let period = Duration::from_millis(1000 / hz as u64);
        runtime::sleep(period).await;
        {
            let total = core.shard.borrow().stats.total_commands;
            core.stats.borrow_mut().ops.sample(total, runtime::now_ms());
        }
        if core.id == 0 {
            // Samples used_memory_peak between INFO/MEMORY calls.
            crate::observability::memory::used_memory();
        }
        if core.is_locked()
            || !core.node.active_expire.load(Ordering::Relaxed)
            || core.node.aof.loading()
        {
            continue;
        }
        let per_loop = 20 + 20 / 4 * (effort as usize - 1);
        let acceptable_stale = 10usize.saturating_sub(effort as usize - 1);
        let budget = period.mul_f64((25 + 2 * (effort - 1) as u64) as f64 / 100.0);
        let start = std::time::Instant::now();
        let mut shard = core.shard.borrow_mut();
        let now = runtime::now_ms();
        'dbs: for db in shard.dbs.iter_mut() {
            loop {
                let (examined, expired) = db.active_expire_step(per_loop, now);
                if examined == 0 || expired * 100 <= examined * acceptable_stale {
                    break;
                }
                if start.elapsed() > budget {
                    db.stats.expired_time_cap_reached += 1;
                    break 'dbs;
                }
            }
        }
        drop(shard);
        pubsub::flush_events(&core);
    }
}

/// What every core runs: bind, then serve until shutdown.
pub fn core_main(ready: Arc<Barrier>) -> runtime::CoreMain {
    Arc::new(move |core: Rc<Core>| {
        let ready = ready.clone();
        Box::pin(async move {
            let listeners = match bind_all(&core) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!("{}", e);
                    std::process::exit(1);
                }
            };
            tracing::debug!(
                "shard {} bound {} listener(s) on CPU {:?}",
                core.id,
                listeners.len(),
                runtime::current_cpu()
            );
            let (metrics_port, port) = core
                .node
                .config
                .read()
                .map_or((0, 0), |c| (c.metrics_port(), c.port()));
            let metrics = if core.id == 0 && metrics_port != 0 {
                // SO_REUSEPORT would let both listeners share one port.
                if metrics_port == port {
                    tracing::error!(
                        "metrics-port {} is the client port: pick another",
                        metrics_port
                    );
                    std::process::exit(1);
                }
                match bind_port(&core, |c| c.metrics_port()) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!("metrics-port {}: {}", metrics_port, e);
                        std::process::exit(1);
                    }
                }
            } else {
                Vec::new()
            };
            // The bus port has one listener, on core 0, where the bus runs.
            let bus = if core.id == 0 && core.node.cluster_enabled() {
                match bind_port(&core, services::bus_port) {
                    Ok(l) => Some(l),
                    Err(e) => {
                        tracing::error!("Cluster bus: {}", e);
                        std::process::exit(1);
                    }
                }
            } else {
                None
            };
            // Every core has bound before anyone reports ready.
            ready.wait();
            if core.id == 0 {
                crate::observability::memory::mark_startup();
                tracing::info!("Ready to accept connections tcp");
                if !metrics.is_empty() {
                    tracing::info!(
                        "Serving Prometheus metrics on port {} (GET /metrics)",
                        metrics_port
                    );
                }
            }
            for l in metrics {
                runtime::spawn(crate::observability::metrics::serve(core.clone(), l));
            }
            for l in listeners {
                runtime::spawn(accept_loop(core.clone(), l));
            }
            runtime::spawn(expire_loop(core.clone()));
            if core.id == 0 {
                runtime::spawn(crate::observability::latency::dump_loop(core.clone()));
                // The AOF loads while the cores answer -LOADING.
                let c = core.clone();
                runtime::spawn(async move {
                    if let Err(e) = aof::startup(&c).await {
                        tracing::error!("{}", e);
                        std::process::exit(1);
                    }
                    let c2 = c.clone();
                    runtime::spawn(async move { snapshot::cron(&c2).await });
                    aof::cron(&c).await;
                });
            }
            if let Some(bus) = bus {
                runtime::spawn(crate::cluster::bus_io::run(core.clone(), bus));
            }
            while !core.node.shutting_down.load(Ordering::Relaxed) {
                runtime::sleep(Duration::from_millis(100)).await;
            }
        })
    })
}
