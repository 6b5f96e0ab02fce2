//! Prometheus metrics: `GET /metrics` on `metrics-port` (core 0 only).
//!
//! Each scrape gathers every core's report over the mesh (`run_on_all`, the
//! same figures INFO uses: one job per core, no lock on the data path),
//! builds a fresh `prometheus_client` registry from them and encodes it in
//! the OpenMetrics text format, which Prometheus scrapes natively (it is the
//! text exposition format plus `# EOF` and unit metadata).
//!
//! Families (prefix `shardis_`; counters end in `_total`):
//!
//! - commands: `commands_total{cmd}`, `command_failed_calls_total{cmd}`,
//!   `command_rejected_calls_total{cmd}`, `command_duration_seconds_total{cmd}`
//!   (time spent, as INFO commandstats' usec), `errors_total{error}`
//!   (errorstats), `commands_processed_total`;
//! - keyspace: `keys{db}`, `keys_expiring{db}`, `keyspace_hits_total`,
//!   `keyspace_misses_total`, `expired_keys_total`;
//! - memory: `memory_used_bytes`, `memory_rss_bytes`, `memory_peak_bytes`,
//!   `memory_startup_bytes`, `memory_overhead_bytes`, `memory_dataset_bytes`,
//!   `memory_max_bytes`, `allocator_{allocated,active,resident}_bytes`,
//!   `memory_fragmentation_ratio`, `allocator_fragmentation_ratio`;
//! - clients: `connected_clients`, `connections_received_total`,
//!   `rejected_connections_total`;
//! - per core (`core` label): `core_keys`, `core_slots`, `core_commands_total`,
//!   `core_connections`, `core_forwarded_{out,in}_total`,
//!   `core_net_{input,output}_bytes_total`, `core_ops_per_second`,
//!   `core_keyspace_overhead_bytes`;
//! - node: `build_info{version,redis_version,mode}`, `uptime_seconds`,
//!   `cluster_enabled`, and in cluster mode `cluster_state_ok` (1 ok, 0 fail).
//!
//! Persistence has no figures yet, so it has no metrics.
//!
//! The HTTP side is deliberately small: read one request head (at most
//! `MAX_REQUEST` bytes, `READ_TIMEOUT`), answer `GET /metrics` with 200,
//! other paths 404, other methods 405, and close. At most `MAX_CONNS`
//! scrapes are served at once.

use super::info::{self, CoreReport};
use super::memory::Figures;
use crate::command::TABLE;
use crate::runtime::{self, CmdStat, Core, TcpListener, TcpStream};
use futures::{AsyncReadExt, AsyncWriteExt};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest request head read; longer ones get 431.
pub const MAX_REQUEST: usize = 8192;
/// Scrapes served at once; further connections are closed at once.
pub const MAX_CONNS: usize = 16;
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

fn counter(v: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(v);
    c
}

fn gauge(v: u64) -> Gauge {
    let g = Gauge::default();
    g.set(v.min(i64::MAX as u64) as i64);
    g
}

fn fgauge(v: f64) -> Gauge<f64, AtomicU64> {
    let g = Gauge::<f64, AtomicU64>::default();
    g.set(v);
    g
}

/// Node-wide facts the scrape needs besides the cores' reports.
pub struct NodeFacts {
    pub version: &'static str,
    pub cluster_enabled: bool,
    /// Some(ok) in cluster mode.
    pub cluster_ok: Option<bool>,
    pub uptime_secs: u64,
    pub connected_clients: u64,
    pub total_connections: u64,
    pub rejected_connections: u64,
}

/// Encodes the metrics of one scrape.
pub fn render(node: &NodeFacts, reports: &[CoreReport], mem: &Figures) -> String {
    let mut r = Registry::with_prefix("shardis");

    // An info metric: the encoder adds the `_info` suffix.
    r.register(
        "build",
        "shardis version and the Redis version it is compatible with",
        Info::new(vec![
            ("version", node.version.to_string()),
            ("redis_version", crate::REDIS_COMPAT_VERSION.to_string()),
            (
                "mode",
                if node.cluster_enabled {
                    "cluster"
                } else {
                    "standalone"
                }
                .to_string(),
            ),
        ]),
    );
    r.register(
        "uptime_seconds",
        "Seconds since the server started",
        gauge(node.uptime_secs),
    );

    // ---- commands ----
    let calls = Family::<Labels, Counter>::default();
    let failed = Family::<Labels, Counter>::default();
    let rejected = Family::<Labels, Counter>::default();
    let duration = Family::<Labels, Counter<f64, AtomicU64>>::default();
    for id in 0..TABLE.all.len() {
        let mut s = CmdStat::default();
        for rep in reports {
            if let Some(c) = rep.cmd.get(id) {
                s.calls += c.calls;
                s.ticks += c.ticks;
                s.rejected_calls += c.rejected_calls;
                s.failed_calls += c.failed_calls;
            }
        }
        if s.calls == 0 && s.rejected_calls == 0 && s.failed_calls == 0 {
            continue;
        }
        let l = vec![("cmd", TABLE.fullname(id).to_string())];
        calls.get_or_create(&l).inc_by(s.calls);
        failed.get_or_create(&l).inc_by(s.failed_calls);
        rejected.get_or_create(&l).inc_by(s.rejected_calls);
        let usec = runtime::clock::ticks_to_us(s.ticks);
        duration.get_or_create(&l).inc_by(usec as f64 / 1e6);
    }
    r.register(
        "commands",
        "Calls of each command (INFO commandstats calls)",
        calls,
    );
    r.register(
        "command_failed_calls",
        "Calls of each command that answered an error (failed_calls)",
        failed,
    );
    r.register(
        "command_rejected_calls",
        "Calls of each command refused before running (rejected_calls)",
        rejected,
    );
    r.register(
        "command_duration_seconds",
        "Time spent running each command (INFO commandstats usec)",
        duration,
    );
    let mut errs: BTreeMap<&str, u64> = BTreeMap::new();
    for rep in reports {
        for (k, v) in &rep.errors {
            *errs.entry(k.as_str()).or_insert(0) += v;
        }
    }
    let errors = Family::<Labels, Counter>::default();
    for (k, v) in errs {
        errors
            .get_or_create(&vec![("error", k.to_string())])
            .inc_by(v);
    }
    r.register(
        "errors",
        "Error replies by their first word (INFO errorstats)",
        errors,
    );
    let sum = |f: fn(&CoreReport) -> u64| reports.iter().map(f).sum::<u64>();
    r.register(
        "commands_processed",
        "Commands processed (total_commands_processed)",
        counter(sum(|r| r.commands)),
    );

    // ---- keyspace ----
    let keys = Family::<Labels, Gauge>::default();
    let expiring = Family::<Labels, Gauge>::default();
    let ndb = reports.iter().map(|r| r.dbs.len()).max().unwrap_or(0);
    for db in 0..ndb {
        let k: usize = reports
            .iter()
            .map(|r| r.dbs.get(db).map_or(0, |d| d.0))
            .sum();
        let e: usize = reports
            .iter()
            .map(|r| r.dbs.get(db).map_or(0, |d| d.1))
            .sum();
        if k > 0 {
            let l = vec![("db", format!("db{db}"))];
            keys.get_or_create(&l).set(k as i64);
            expiring.get_or_create(&l).set(e as i64);
        }
    }
    r.register("keys", "Keys in each database holding keys", keys);
    r.register(
        "keys_expiring",
        "Keys with a time to live in each database holding keys",
        expiring,
    );
    r.register(
        "keyspace_hits",
        "Successful key lookups",
        counter(sum(|r| r.hits)),
    );
    r.register(
        "keyspace_misses",
        "Failed key lookups",
        counter(sum(|r| r.misses)),
    );
    r.register(
        "expired_keys",
        "Keys deleted because their time to live passed",
        counter(sum(|r| r.expired)),
    );

    // ---- memory ----
    r.register(
        "memory_used_bytes",
        "Bytes allocated and not freed (used_memory)",
        gauge(mem.used),
    );
    r.register(
        "memory_rss_bytes",
        "Resident set size of the process (used_memory_rss)",
        gauge(mem.rss),
    );
    r.register(
        "memory_peak_bytes",
        "Highest used_memory seen (used_memory_peak)",
        gauge(mem.peak),
    );
    r.register(
        "memory_startup_bytes",
        "used_memory once every core was ready (used_memory_startup)",
        gauge(mem.startup),
    );
    r.register(
        "memory_overhead_bytes",
        "Start-up memory, client buffers and key tables (used_memory_overhead)",
        gauge(mem.overhead_total()),
    );
    r.register(
        "memory_dataset_bytes",
        "used_memory less the overhead (used_memory_dataset)",
        gauge(mem.dataset()),
    );
    r.register(
        "memory_max_bytes",
        "The maxmemory setting (0: no limit)",
        gauge(mem.maxmemory),
    );
    r.register(
        "allocator_allocated_bytes",
        "Bytes allocated through the allocator (allocator_allocated)",
        gauge(mem.allocator_allocated()),
    );
    r.register(
        "allocator_active_bytes",
        "Bytes mimalloc holds committed (allocator_active)",
        gauge(mem.allocator_active()),
    );
    r.register(
        "allocator_resident_bytes",
        "Bytes mimalloc holds resident (allocator_resident)",
        gauge(mem.allocator_resident()),
    );
    r.register(
        "memory_fragmentation_ratio",
        "used_memory_rss / used_memory (mem_fragmentation_ratio)",
        fgauge(mem.fragmentation().0),
    );
    r.register(
        "allocator_fragmentation_ratio",
        "allocator_active / allocator_allocated (allocator_frag_ratio)",
        fgauge(mem.allocator_frag().0),
    );

    // ---- clients ----
    r.register(
        "connected_clients",
        "Client connections open now",
        gauge(node.connected_clients),
    );
    r.register(
        "connections_received",
        "Client connections accepted (total_connections_received)",
        counter(node.total_connections),
    );
    r.register(
        "rejected_connections",
        "Client connections refused (maxclients, protected mode)",
        counter(node.rejected_connections),
    );

    // ---- per core ----
    let core_keys = Family::<Labels, Gauge>::default();
    let core_slots = Family::<Labels, Gauge>::default();
    let core_cmds = Family::<Labels, Counter>::default();
    let core_conns = Family::<Labels, Gauge>::default();
    let core_fwd_out = Family::<Labels, Counter>::default();
    let core_fwd_in = Family::<Labels, Counter>::default();
    let core_in = Family::<Labels, Counter>::default();
    let core_out = Family::<Labels, Counter>::default();
    let core_ops = Family::<Labels, Gauge>::default();
    let core_overhead = Family::<Labels, Gauge>::default();
    for rep in reports {
        let l = vec![("core", rep.id.to_string())];
        let k: usize = rep.dbs.iter().map(|d| d.0).sum();
        core_keys.get_or_create(&l).set(k as i64);
        core_slots.get_or_create(&l).set(rep.slots as i64);
        core_cmds.get_or_create(&l).inc_by(rep.commands);
        core_conns.get_or_create(&l).set(rep.connections as i64);
        core_fwd_out.get_or_create(&l).inc_by(rep.forwarded_out);
        core_fwd_in.get_or_create(&l).inc_by(rep.forwarded_in);
        core_in.get_or_create(&l).inc_by(rep.net_input_bytes);
        core_out.get_or_create(&l).inc_by(rep.net_output_bytes);
        core_ops
            .get_or_create(&l)
            .set(rep.ops_per_sec.min(i64::MAX as u64) as i64);
        core_overhead
            .get_or_create(&l)
            .set(rep.mem.keyspace_overhead().min(i64::MAX as u64) as i64);
    }
    r.register("core_keys", "Keys held by each core", core_keys);
    r.register("core_slots", "Hash slots each core serves", core_slots);
    r.register("core_commands", "Commands each core ran", core_cmds);
    r.register(
        "core_connections",
        "Client connections each core serves",
        core_conns,
    );
    r.register(
        "core_forwarded_out",
        "Command batches each core sent to other cores",
        core_fwd_out,
    );
    r.register(
        "core_forwarded_in",
        "Command batches each core ran for other cores",
        core_fwd_in,
    );
    r.register(
        "core_net_input_bytes",
        "Bytes read from clients by each core",
        core_in,
    );
    r.register(
        "core_net_output_bytes",
        "Bytes written to clients by each core",
        core_out,
    );
    r.register(
        "core_ops_per_second",
        "Commands per second on each core (instantaneous_ops_per_sec)",
        core_ops,
    );
    r.register(
        "core_keyspace_overhead_bytes",
        "Bytes of each core's key tables (hash, entry slots, indexes)",
        core_overhead,
    );

    // ---- cluster ----
    r.register(
        "cluster_enabled",
        "1 when running in cluster mode",
        gauge(node.cluster_enabled as u64),
    );
    if let Some(ok) = node.cluster_ok {
        r.register(
            "cluster_state_ok",
            "1 when cluster_state is ok, 0 when it is fail",
            gauge(ok as u64),
        );
    }

    let mut out = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &r);
    out
}

/// Gathers every core's report and renders the scrape (on the calling core).
pub async fn scrape(core: &Rc<Core>) -> String {
    let reports = core.run_on_all(info::report).await;
    let node = &core.node;
    let (maxmemory, policy) = match node.config.read() {
        Ok(c) => (
            c.get("maxmemory").and_then(|v| v.parse().ok()).unwrap_or(0),
            c.get("maxmemory-policy").unwrap_or_default(),
        ),
        Err(_) => (0, String::new()),
    };
    let mem = Figures::gather(reports.iter().map(|r| &r.mem), maxmemory, &policy);
    let cluster_ok = if node.cluster_enabled() {
        node.cluster
            .lock()
            .ok()
            .map(|c| c.as_ref().is_some_and(|s| s.is_ok()))
    } else {
        None
    };
    let facts = NodeFacts {
        version: crate::VERSION,
        cluster_enabled: node.cluster_enabled(),
        cluster_ok,
        uptime_secs: node.uptime_secs(),
        connected_clients: node.connected_clients.load(Ordering::Relaxed) as u64,
        total_connections: node.total_connections.load(Ordering::Relaxed),
        rejected_connections: node.rejected_connections.load(Ordering::Relaxed),
    };
    render(&facts, &reports, &mem)
}

// ---- HTTP ------------------------------------------------------------------

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    Metrics,
    NotFound,
    MethodNotAllowed,
    BadRequest,
    TooLarge,
}

/// End of the request head (`\r\n\r\n`, or `\n\n` from lax clients).
fn head_end(b: &[u8]) -> bool {
    b.windows(4).any(|w| w == b"\r\n\r\n") || b.windows(2).any(|w| w == b"\n\n")
}

/// Reads the request line of `head`: `GET /metrics[?...] HTTP/1.x`.
pub fn parse_request(head: &[u8]) -> Request {
    if head.len() > MAX_REQUEST {
        return Request::TooLarge;
    }
    let Some(line_end) = head.iter().position(|&b| b == b'\n') else {
        return Request::BadRequest;
    };
    let line = head[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&head[..line_end]);
    let Ok(line) = std::str::from_utf8(line) else {
        return Request::BadRequest;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Request::BadRequest;
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Request::BadRequest;
    }
    let path = target.split('?').next().unwrap_or(target);
    if path != "/metrics" {
        return Request::NotFound;
    }
    if method != "GET" {
        return Request::MethodNotAllowed;
    }
    Request::Metrics
}

/// A whole response: status line, headers, body; the connection closes.
pub fn response(status: &str, content_type: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn plain(status: &str, extra: &str, text: &str) -> Vec<u8> {
    response(status, "text/plain; charset=utf-8", extra, text.as_bytes())
}

async fn handle(core: &Rc<Core>, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let req = loop {
        match stream.read(&mut chunk).await {
            Ok(0) => break parse_request(&head),
            Ok(n) => {
                head.extend_from_slice(&chunk[..n]);
                if head.len() > MAX_REQUEST {
                    break Request::TooLarge;
                }
                if head_end(&head) {
                    break parse_request(&head);
                }
            }
            Err(_) => return,
        }
    };
    let reply = match req {
        Request::Metrics => {
            let body = scrape(core).await;
            response("200 OK", CONTENT_TYPE, "", body.as_bytes())
        }
        Request::NotFound => plain("404 Not Found", "", "Not Found: try GET /metrics\n"),
        Request::MethodNotAllowed => plain(
            "405 Method Not Allowed",
            "Allow: GET\r\n",
            "Method Not Allowed\n",
        ),
        Request::BadRequest => plain("400 Bad Request", "", "Bad Request\n"),
        Request::TooLarge => plain(
            "431 Request Header Fields Too Large",
            "",
            "Request Header Fields Too Large\n",
        ),
    };
    let _ = stream.write_all(&reply).await;
    let _ = stream.close().await;
}

/// Serves scrapes from `listener` until shutdown (spawned on core 0).
pub async fn serve(core: Rc<Core>, listener: TcpListener) {
    let active = Rc::new(Cell::new(0usize));
    loop {
        let stream = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                if core.node.shutting_down.load(Ordering::Relaxed) {
                    return;
                }
                tracing::warn!("Accepting metrics connection: {}", e);
                runtime::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if active.get() >= MAX_CONNS {
            drop(stream);
            continue;
        }
        active.set(active.get() + 1);
        let (core, active) = (core.clone(), active.clone());
        runtime::spawn(async move {
            handle(&core, stream).await;
            active.set(active.get() - 1);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            parse_request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Request::Metrics
        );
        assert_eq!(
            parse_request(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Request::Metrics
        );
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\n\r\n"), Request::NotFound);
        assert_eq!(
            parse_request(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Request::MethodNotAllowed
        );
        assert_eq!(parse_request(b"GET /metrics\r\n\r\n"), Request::BadRequest);
        assert_eq!(parse_request(b"GET /metrics HTTP/1.1"), Request::BadRequest);
        assert_eq!(
            parse_request(b"GET metrics HTTP/1.1\r\n\r\n"),
            Request::BadRequest
        );
        assert_eq!(
            parse_request(b"\xff\xfe /metrics HTTP/1.1\r\n\r\n"),
            Request::BadRequest
        );
        assert_eq!(
            parse_request(&vec![b'a'; MAX_REQUEST + 1]),
            Request::TooLarge
        );
        assert!(head_end(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!head_end(b"GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn response_has_length_and_close() {
        let r = response("200 OK", CONTENT_TYPE, "", b"abc");
        let s = String::from_utf8(r).unwrap_or_default();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(s.contains("Content-Length: 3\r\n"));
        assert!(s.contains("Connection: close\r\n"));
        assert!(s.ends_with("\r\n\r\nabc"));
    }

    #[test]
    fn render_names_and_sums() {
        let mut cmd = vec![CmdStat::default(); TABLE.all.len()];
        let (get_id, _) = TABLE.get("get").expect("get");
        cmd[get_id].calls = 3;
        cmd[get_id].failed_calls = 1;
        let a = CoreReport {
            id: 0,
            cmd: cmd.clone(),
            dbs: vec![(2, 1)],
            commands: 3,
            ..Default::default()
        };
        let b = CoreReport {
            id: 1,
            cmd,
            dbs: vec![(5, 0)],
            commands: 3,
            ..Default::default()
        };
        let facts = NodeFacts {
            version: "0.0.0",
            cluster_enabled: true,
            cluster_ok: Some(false),
            uptime_secs: 1,
            connected_clients: 2,
            total_connections: 4,
            rejected_connections: 0,
        };
        let text = render(&facts, &[a, b], &Figures::default());
        assert!(text.contains("# TYPE shardis_commands counter\n"), "{text}");
        assert!(
            text.contains("shardis_commands_total{cmd=\"get\"} 6\n"),
            "{text}"
        );
        assert!(text.contains("shardis_command_failed_calls_total{cmd=\"get\"} 2\n"));
        assert!(text.contains("shardis_keys{db=\"db0\"} 7\n"));
        assert!(text.contains("shardis_keys_expiring{db=\"db0\"} 1\n"));
        assert!(text.contains("shardis_core_commands_total{core=\"1\"} 3\n"));
        assert!(text.contains("shardis_cluster_state_ok 0\n"));
        assert!(text.ends_with("# EOF\n"));
    }
}
