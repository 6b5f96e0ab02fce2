//! The Prometheus endpoint: a `--threads 2` server with `--metrics-port`,
//! commands sent to keys of both cores, `GET /metrics` parsed with a
//! Prometheus text-format parser we did not write (`prometheus-parse`), and
//! the counters checked against the calls made and against INFO.

mod common;

use common::{free_port, info_field, keys_on_cores, query, wait_cluster_state, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

struct Http {
    status: u16,
    headers: String,
    body: String,
}

/// Sends `request` as is to 127.0.0.1:`port` and reads until the server closes.
fn http(port: u16, request: &[u8]) -> Http {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect metrics port");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(request).expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read until close");
    let text = String::from_utf8(buf).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    Http {
        status,
        headers: head.to_string(),
        body: body.to_string(),
    }
}

fn scrape(port: u16) -> (String, prometheus_parse::Scrape) {
    let r = http(
        port,
        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n",
    );
    assert_eq!(r.status, 200, "{}\n{}", r.headers, r.body);
    assert!(
        r.headers
            .to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{}",
        r.headers
    );
    assert!(
        r.headers
            .contains(&format!("Content-Length: {}", r.body.len())),
        "{}",
        r.headers
    );
    assert!(r.body.ends_with("# EOF\n"), "{}", r.body);
    let lines = r.body.lines().map(|l| Ok(l.to_string()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("parse metrics");
    (r.body, parsed)
}

fn sample_value(v: &prometheus_parse::Value) -> f64 {
    match v {
        prometheus_parse::Value::Counter(x)
        | prometheus_parse::Value::Gauge(x)
        | prometheus_parse::Value::Untyped(x) => *x,
        o => panic!("unexpected sample {o:?}"),
    }
}

/// The value of `metric` with exactly `labels`, or None.
fn get(s: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| {
            x.metric == metric
                && x.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v))
        })
        .map(|x| sample_value(&x.value))
}

fn must(s: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    get(s, metric, labels).unwrap_or_else(|| panic!("no {metric}{labels:?} in the scrape"))
}

/// `cmdstat_<cmd>:calls=N,...` of INFO commandstats.
fn info_calls(info: &str, cmd: &str) -> f64 {
    info_field(info, &format!("cmdstat_{cmd}"))
        .and_then(|v| {
            v.split(',')
                .find_map(|kv| kv.strip_prefix("calls="))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0.0)
}

#[test]
fn metrics_count_the_calls_of_both_cores() {
    let mport = free_port();
    let s = Server::start(&["--threads", "2", "--metrics-port", &mport.to_string()]);
    let mut c = s.conn();
    let cfg: Vec<String> = query(&mut c, &["CONFIG", "GET", "metrics-port"]);
    assert_eq!(cfg, vec!["metrics-port".to_string(), mport.to_string()]);

    let per_core = keys_on_cores(2, 20);
    for k in per_core.iter().flatten() {
        let _: () = query(&mut c, &["SET", k, "v"]);
    }
    for k in &per_core[1] {
        let _: Option<String> = query(&mut c, &["GET", k]);
    }
    for k in &per_core[0][..3] {
        let e = redis::cmd("INCR").arg(k).query::<i64>(&mut c);
        assert!(e.is_err());
    }
    let _: Option<String> = query(&mut c, &["GET", "nosuchkey"]);
    let _: i64 = query(&mut c, &["EXPIRE", &per_core[0][0], "1000"]);

    let (text, m) = scrape(mport);
    assert!(text.contains("# TYPE shardis_commands counter\n"), "{text}");
    assert_eq!(must(&m, "shardis_commands_total", &[("cmd", "set")]), 40.0);
    assert_eq!(must(&m, "shardis_commands_total", &[("cmd", "get")]), 21.0);
    assert_eq!(
        must(&m, "shardis_commands_total", &[("cmd", "config|get")]),
        1.0
    );
    assert_eq!(
        must(&m, "shardis_command_failed_calls_total", &[("cmd", "incr")]),
        3.0
    );
    assert_eq!(
        must(&m, "shardis_command_failed_calls_total", &[("cmd", "set")]),
        0.0
    );
    assert!(must(&m, "shardis_errors_total", &[("error", "ERR")]) >= 3.0);
    assert!(
        must(
            &m,
            "shardis_command_duration_seconds_total",
            &[("cmd", "set")]
        ) > 0.0
    );
    assert_eq!(must(&m, "shardis_keys", &[("db", "db0")]), 40.0);
    assert_eq!(must(&m, "shardis_keys_expiring", &[("db", "db0")]), 1.0);
    assert_eq!(must(&m, "shardis_core_keys", &[("core", "0")]), 20.0);
    assert_eq!(must(&m, "shardis_core_keys", &[("core", "1")]), 20.0);
    assert_eq!(must(&m, "shardis_core_slots", &[("core", "0")]), 8192.0);
    assert!(must(&m, "shardis_keyspace_hits_total", &[]) >= 20.0);
    assert!(must(&m, "shardis_keyspace_misses_total", &[]) >= 1.0);
    let per_core_cmds = must(&m, "shardis_core_commands_total", &[("core", "0")])
        + must(&m, "shardis_core_commands_total", &[("core", "1")]);
    assert_eq!(
        per_core_cmds,
        must(&m, "shardis_commands_processed_total", &[])
    );
    assert!(per_core_cmds >= 40.0 + 21.0 + 3.0 + 2.0);
    for core in ["0", "1"] {
        assert!(
            must(
                &m,
                "shardis_core_keyspace_overhead_bytes",
                &[("core", core)]
            ) > 0.0
        );
    }
    assert!(must(&m, "shardis_memory_used_bytes", &[]) > 0.0);
    assert!(must(&m, "shardis_memory_rss_bytes", &[]) > 0.0);
    assert!(must(&m, "shardis_memory_fragmentation_ratio", &[]) > 0.0);
    assert!(must(&m, "shardis_allocator_active_bytes", &[]) > 0.0);
    assert!(must(&m, "shardis_connected_clients", &[]) >= 1.0);
    assert!(must(&m, "shardis_connections_received_total", &[]) >= 1.0);
    assert_eq!(must(&m, "shardis_cluster_enabled", &[]), 0.0);
    assert_eq!(get(&m, "shardis_cluster_state_ok", &[]), None);
    assert!(
        m.samples
            .iter()
            .any(|x| x.metric == "shardis_build_info"
                && x.labels.get("redis_version") == Some("7.0.15")),
        "{text}"
    );

    // The same counts as INFO commandstats, and they grow between scrapes.
    let info: String = query(&mut c, &["INFO", "commandstats"]);
    for cmd in ["set", "get", "incr", "expire"] {
        assert_eq!(
            must(&m, "shardis_commands_total", &[("cmd", cmd)]),
            info_calls(&info, cmd),
            "{cmd}\n{info}"
        );
    }
    for k in &per_core[0] {
        let _: () = query(&mut c, &["SET", k, "w"]);
    }
    let (_, m2) = scrape(mport);
    assert_eq!(must(&m2, "shardis_commands_total", &[("cmd", "set")]), 60.0);
    assert_eq!(must(&m2, "shardis_commands_total", &[("cmd", "info")]), 1.0);
}

#[test]
fn metrics_http_answers() {
    let mport = free_port();
    let _s = Server::start(&["--threads", "2", "--metrics-port", &mport.to_string()]);
    let r = http(mport, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(r.status, 404, "{}", r.headers);
    let r = http(mport, b"GET /metricsx HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 404);
    let r = http(
        mport,
        b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(r.status, 405);
    assert!(r.headers.contains("Allow: GET"), "{}", r.headers);
    let r = http(mport, b"hello\r\n\r\n");
    assert_eq!(r.status, 400);
    let mut big = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 10_000));
    big.extend_from_slice(b"\r\n\r\n");
    let r = http(mport, &big);
    assert_eq!(r.status, 431);
    // A query string is fine, and so is a client that closes its side early.
    let r = http(mport, b"GET /metrics?name[]=x HTTP/1.1\r\n\r\n");
    assert_eq!(r.status, 200);
    let mut s = TcpStream::connect(("127.0.0.1", mport)).expect("connect");
    s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n")
        .expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut buf = String::new();
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.read_to_string(&mut buf).expect("read");
    assert!(buf.starts_with("HTTP/1.1 200 OK\r\n"), "{buf}");
}

#[test]
fn metrics_show_the_cluster_state() {
    let mport = free_port();
    let s = Server::start(&[
        "--threads",
        "2",
        "--cluster-enabled",
        "yes",
        "--metrics-port",
        &mport.to_string(),
    ]);
    let mut c = s.conn();
    let (_, m) = scrape(mport);
    assert_eq!(must(&m, "shardis_cluster_enabled", &[]), 1.0);
    assert_eq!(must(&m, "shardis_cluster_state_ok", &[]), 0.0);
    let _: () = query(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    assert!(wait_cluster_state(&mut c, "ok", Duration::from_secs(10)));
    let (_, m) = scrape(mport);
    assert_eq!(must(&m, "shardis_cluster_state_ok", &[]), 1.0);
}
