//! LATENCY, SLOWLOG, INFO latencystats and the latency dumps.
//!
//! The differential cases compare replies with redis-server 7.0.15 (see
//! tests/compat.rs for the line syntax); timings differ between the two
//! servers, so replies that carry them are compared by shape. The `redis`
//! crate tests check what shapes cannot: histogram counts across both cores,
//! slowlog contents, order and trimming, INFO fields, and the files written
//! when latency-log-dir is set (read back with the hdrhistogram crate's
//! interval-log reader) and scripts/latency-report.sh's table and plot.

mod common;

use common::compat::*;
use common::*;
use redis::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CASES: &[Case] = &[
    (
        "latency help and errors",
        &[
            "LATENCY HELP",
            "latency help",
            "LATENCY",
            "LATENCY NOPE",
            "LATENCY HELP extra",
            "LATENCY HISTORY",
            "LATENCY HISTORY a b",
            "LATENCY GRAPH",
            "LATENCY LATEST x",
            "LATENCY DOCTOR x",
            "LATENCY GRAPH nosuchevent",
            "LATENCY HISTORY nosuchevent",
        ],
    ),
    (
        "slowlog help and errors",
        &[
            "SLOWLOG HELP",
            "SLOWLOG",
            "SLOWLOG NOPE",
            "SLOWLOG HELP x",
            "SLOWLOG LEN x",
            "SLOWLOG RESET x",
            "SLOWLOG GET 1 2",
            "slowlog get 1 2",
            "SLOWLOG GET -2",
            "SLOWLOG GET abc",
            "SLOWLOG GET 1.5",
            "SLOWLOG GET 99999999999999999999",
        ],
    ),
    (
        "command info of latency and slowlog",
        &[
            "~info6 COMMAND INFO latency slowlog",
            "~info6 COMMAND INFO latency|doctor latency|graph latency|help latency|histogram",
            "~info6 COMMAND INFO latency|history latency|latest latency|reset",
            "~info6 COMMAND INFO slowlog|get slowlog|help slowlog|len slowlog|reset",
        ],
    ),
    (
        "latency histogram",
        &[
            "CONFIG SET latency-tracking yes",
            "CONFIG RESETSTAT",
            "LATENCY HISTOGRAM nosuchcommand set get config|nope get|nope",
            "~sort ~shape LATENCY HISTOGRAM",
            "SET a 1",
            "GET b",
            "~shape LATENCY HISTOGRAM set",
            "~shape LATENCY HISTOGRAM GET",
            "~shape LATENCY HISTOGRAM get get",
            "~shape LATENCY HISTOGRAM config",
            "~shape LATENCY HISTOGRAM CONFIG|RESETSTAT",
            "CONFIG RESETSTAT",
            "CONFIG SET latency-tracking no",
            "SET a 2",
            "LATENCY HISTOGRAM set",
            "CONFIG SET latency-tracking yes",
        ],
    ),
    (
        "info latencystats",
        &[
            "CONFIG RESETSTAT",
            "~shape INFO latencystats",
            "CONFIG SET latency-tracking no",
            "INFO latencystats",
            "CONFIG SET latency-tracking yes",
        ],
    ),
    (
        "latency monitor",
        &[
            "CONFIG SET latency-monitor-threshold 0",
            "~skip LATENCY RESET",
            "LATENCY LATEST",
            "LATENCY HISTORY command",
            "LATENCY GRAPH command",
            "LATENCY RESET",
            "LATENCY RESET command fast-command",
            "~shape LATENCY DOCTOR",
            "CONFIG SET latency-monitor-threshold 50",
            "DEBUG SLEEP 0.1",
            "~shape LATENCY LATEST",
            "~shape LATENCY HISTORY command",
            "LATENCY HISTORY COMMAND",
            "~shape LATENCY GRAPH command",
            "~shape LATENCY DOCTOR",
            "LATENCY RESET command command nope",
            "LATENCY LATEST",
            "LATENCY RESET",
            "CONFIG SET latency-monitor-threshold 0",
        ],
    ),
    (
        "slowlog",
        &[
            "CONFIG SET slowlog-log-slower-than -1",
            "SLOWLOG RESET",
            "SLOWLOG LEN",
            "SLOWLOG GET",
            "CONFIG SET slowlog-log-slower-than 0",
            "SET a 1",
            "SET b 2",
            "GET c",
            "SLOWLOG LEN",
            "~shape SLOWLOG GET",
            "~shape SLOWLOG GET 2",
            "SLOWLOG GET 0",
            "~shape SLOWLOG GET -1",
            "CLIENT SETNAME someone",
            "~shape SLOWLOG GET 1",
            "CONFIG SET slowlog-max-len 2",
            "SLOWLOG LEN",
            "~shape SLOWLOG GET -1",
            "CONFIG SET slowlog-max-len 128",
            "SLOWLOG LEN",
            "SLOWLOG RESET",
            "CONFIG SET slowlog-log-slower-than 10000",
            "SLOWLOG LEN",
        ],
    ),
];

#[test]
fn compat_with_redis() {
    run_cases(CASES);
}

// ------------------------------------------------------------- helpers

fn server(extra: &[&str]) -> Server {
    let mut args = vec!["--threads", "2", "--enable-debug-command", "yes"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Connections until both cores have one (the kernel spreads them).
fn conns_on_both_cores(s: &Server) -> Vec<redis::Connection> {
    let mut out = Vec::new();
    for _ in 0..64 {
        out.push(s.conn());
        let info: String = query(out.last_mut().expect("conn"), &["INFO", "shards"]);
        let shards = info_shards(&info);
        if shards.len() == 2
            && shards
                .iter()
                .all(|m| m.get("connections").is_some_and(|c| c != "0"))
        {
            break;
        }
    }
    out
}

fn pairs(v: Value) -> Vec<(Value, Value)> {
    match v {
        Value::Map(m) => m,
        Value::Array(a) => {
            let mut it = a.into_iter();
            let mut out = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((k, v));
            }
            out
        }
        other => panic!("not a map: {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::VerbatimString { text, .. } => text.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

/// LATENCY HISTOGRAM ... as command -> (calls, [(bucket µs, cumulative)]).
fn histograms(
    c: &mut redis::Connection,
    names: &[&str],
) -> BTreeMap<String, (i64, Vec<(i64, i64)>)> {
    let mut cmd = redis::cmd("LATENCY");
    cmd.arg("HISTOGRAM");
    for n in names {
        cmd.arg(*n);
    }
    let v: Value = cmd.query(c).expect("LATENCY HISTOGRAM");
    pairs(v)
        .into_iter()
        .map(|(k, v)| {
            let mut calls = -1;
            let mut buckets = Vec::new();
            for (f, x) in pairs(v) {
                match text(&f).as_str() {
                    "calls" => calls = int(&x),
                    "histogram_usec" => {
                        buckets = pairs(x).iter().map(|(b, n)| (int(b), int(n))).collect()
                    }
                    other => panic!("unexpected field {other}"),
                }
            }
            (text(&k), (calls, buckets))
        })
        .collect()
}

fn check_cdf(name: &str, calls: i64, buckets: &[(i64, i64)]) {
    assert!(!buckets.is_empty(), "{name}: no buckets");
    let mut prev = (0, 0);
    for &(us, n) in buckets {
        assert!(us >= prev.0 && n > prev.1, "{name}: {buckets:?}");
        prev = (us, n);
    }
    assert_eq!(prev.1, calls, "{name}: the last bucket holds every call");
}

struct Slow {
    id: i64,
    duration: i64,
    argv: Vec<String>,
    peer: String,
    name: String,
}

fn slowlog(c: &mut redis::Connection, count: &str) -> Vec<Slow> {
    let v: Value = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(count)
        .query(c)
        .expect("SLOWLOG GET");
    let Value::Array(entries) = v else {
        panic!("SLOWLOG GET: {v:?}")
    };
    entries
        .into_iter()
        .map(|e| {
            let Value::Array(f) = e else {
                panic!("entry {e:?}")
            };
            assert_eq!(f.len(), 6, "{f:?}");
            let Value::Array(argv) = &f[3] else {
                panic!("argv {f:?}")
            };
            assert!(int(&f[1]) > 1_600_000_000, "unix time {f:?}");
            Slow {
                id: int(&f[0]),
                duration: int(&f[2]),
                argv: argv.iter().map(text).collect(),
                peer: text(&f[4]),
                name: text(&f[5]),
            }
        })
        .collect()
}

fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

// ------------------------------------------------------------- histograms

#[test]
fn histogram_counts_every_call_on_both_cores() {
    let s = server(&[]);
    let mut conns = conns_on_both_cores(&s);
    let keys = keys_on_cores(2, 3);
    query::<()>(&mut conns[0], &["CONFIG", "RESETSTAT"]);
    let (mut sets, mut gets) = (0, 0);
    for (i, c) in conns.iter_mut().enumerate() {
        for k in keys.iter().flatten() {
            query::<()>(c, &["SET", k, "v"]);
            sets += 1;
            if i % 2 == 0 {
                let _: Option<String> = query(c, &["GET", k]);
                gets += 1;
            }
        }
    }
    let h = histograms(&mut conns[0], &["set", "get", "nosuch", "config"]);
    assert_eq!(h["set"].0, sets);
    assert_eq!(h["get"].0, gets);
    assert_eq!(h["config|resetstat"].0, 1);
    assert!(!h.contains_key("nosuch"));
    for (name, (calls, buckets)) in &h {
        check_cdf(name, *calls, buckets);
    }
    // Everything (no names): the same figures, plus the LATENCY call above.
    let all = histograms(&mut conns[0], &[]);
    assert_eq!(all["set"], h["set"]);
    assert_eq!(all["latency|histogram"].0, 1);
    // commandstats counts the same calls.
    let info: String = query(&mut conns[0], &["INFO", "commandstats"]);
    let line = info_field(&info, "cmdstat_set").expect("cmdstat_set");
    assert!(line.starts_with(&format!("calls={sets},")), "{line}");

    // latency-tracking no: nothing more is recorded; RESETSTAT empties.
    query::<()>(&mut conns[0], &["CONFIG", "SET", "latency-tracking", "no"]);
    for c in conns.iter_mut() {
        query::<()>(c, &["SET", "x", "y"]);
    }
    assert_eq!(histograms(&mut conns[0], &["set"])["set"].0, sets);
    query::<()>(&mut conns[0], &["CONFIG", "RESETSTAT"]);
    assert!(histograms(&mut conns[0], &[]).is_empty());
    query::<()>(&mut conns[0], &["CONFIG", "SET", "latency-tracking", "yes"]);
}

/// `latency_percentiles_usec_<cmd>` fields as command -> [(label, µs)].
fn latencystats(info: &str) -> BTreeMap<String, Vec<(String, f64)>> {
    info.lines()
        .filter_map(|l| l.strip_prefix("latency_percentiles_usec_"))
        .map(|l| {
            let (name, vals) = l.split_once(':').expect("name:values");
            let vals = vals
                .trim()
                .split(',')
                .map(|kv| {
                    let (k, v) = kv.split_once('=').expect("pN=value");
                    let (_, frac) = v.split_once('.').expect("%.3f");
                    assert_eq!(frac.len(), 3, "{kv}");
                    (k.to_string(), v.parse::<f64>().expect("float"))
                })
                .collect();
            (name.to_string(), vals)
        })
        .collect()
}

#[test]
fn info_latencystats() {
    let s = server(&[]);
    let mut c = s.conn();
    query::<()>(&mut c, &["CONFIG", "RESETSTAT"]);
    for i in 0..50 {
        query::<()>(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let _: Option<String> = query(&mut c, &["GET", "k1"]);
    // Not a default section, as in Redis 7.0; in `all`, `everything` and by name.
    let default: String = query(&mut c, &["INFO"]);
    assert!(!default.contains("# Latencystats"));
    for args in [
        vec!["INFO", "latencystats"],
        vec!["INFO", "everything"],
        vec!["INFO", "all"],
    ] {
        let info: String = query(&mut c, &args);
        assert!(info.contains("# Latencystats\r\n"), "{args:?}");
        let stats = latencystats(&info);
        let set = &stats["set"];
        let labels: Vec<&str> = set.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(labels, ["p50", "p99", "p99.9"]);
        assert!(
            set[0].1 > 0.0 && set[0].1 <= set[1].1 && set[1].1 <= set[2].1,
            "{set:?}"
        );
        assert!(stats.contains_key("get") && stats.contains_key("config|resetstat"));
    }
    query::<()>(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "0 50 99.99 100",
        ],
    );
    let info: String = query(&mut c, &["INFO", "latencystats"]);
    let labels: Vec<String> = latencystats(&info)["set"]
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(labels, ["p0", "p50", "p99.99", "p100"]);
    query::<()>(&mut c, &["CONFIG", "SET", "latency-tracking", "no"]);
    let info: String = query(&mut c, &["INFO", "latencystats"]);
    assert!(info.contains("# Latencystats\r\n") && latencystats(&info).is_empty());
}

// ---------------------------------------------------------------- slowlog

#[test]
fn slowlog_entries_order_and_trimming() {
    let s = server(&[]);
    let mut conns = conns_on_both_cores(&s);
    let keys = keys_on_cores(2, 1);
    let c = &mut conns[0];
    query::<()>(c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    query::<()>(c, &["SLOWLOG", "RESET"]);
    query::<()>(c, &["CLIENT", "SETNAME", "worker"]);
    let info: String = query(c, &["CLIENT", "INFO"]);
    let addr = info
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .expect("addr")
        .to_string();
    // Keys on both cores: one command runs here, the other is forwarded,
    // and both are logged with this client's address and name.
    query::<()>(c, &["SET", &keys[0][0], "zero"]);
    query::<()>(c, &["SET", &keys[1][0], "one"]);
    let long = "x".repeat(200);
    query::<()>(c, &["SET", "long", &long]);
    let mut many = vec!["RPUSH", "list"];
    let items: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    many.extend(items.iter().map(String::as_str));
    let _: i64 = query(c, &many);
    let got = slowlog(c, "-1");
    // Newest first; SLOWLOG RESET is logged once it has reset.
    let names: Vec<&str> = got.iter().map(|e| e.argv[0].as_str()).collect();
    assert_eq!(
        names,
        ["RPUSH", "SET", "SET", "SET", "CLIENT", "CLIENT", "SLOWLOG"],
        "{names:?}"
    );
    for w in got.windows(2) {
        assert!(w[0].id > w[1].id, "ids grow");
    }
    for e in &got[..5] {
        assert_eq!(e.peer, addr);
        assert!(e.duration >= 0);
    }
    assert_eq!(got[0].name, "worker");
    assert_eq!(got[3].argv, ["SET", keys[0][0].as_str(), "zero"]);
    assert_eq!(got[2].argv, ["SET", keys[1][0].as_str(), "one"]);
    assert_eq!(
        got[1].argv[2],
        format!("{}... (72 more bytes)", "x".repeat(128))
    );
    assert_eq!(got[0].argv.len(), 32);
    assert_eq!(got[0].argv[30], "28");
    assert_eq!(got[0].argv[31], "... (11 more arguments)");
    assert_eq!(got[4].argv, ["CLIENT", "INFO"]);
    assert_eq!(got[5].argv, ["CLIENT", "SETNAME", "worker"]);
    assert_eq!(got[5].name, "worker");
    assert_eq!(got[6].argv, ["SLOWLOG", "RESET"]);
    assert_eq!(got[6].name, "");
    // SLOWLOG GET's own call is logged after its reply.
    let again = slowlog(c, "1");
    assert_eq!(again[0].argv, ["SLOWLOG", "GET", "-1"]);
    assert_eq!(slowlog(c, "0").len(), 0);
    assert_eq!(slowlog(c, "3").len(), 3);

    // Every connection's commands, merged node-wide by id.
    let mut expected = Vec::new();
    for (i, c) in conns.iter_mut().enumerate() {
        let v = format!("c{i}");
        query::<()>(c, &["SET", "shared", &v]);
        expected.push(v);
    }
    let c = &mut conns[0];
    let got = slowlog(c, "-1");
    let sets: Vec<String> = got
        .iter()
        .filter(|e| e.argv.len() == 3 && e.argv[1] == "shared")
        .map(|e| e.argv[2].clone())
        .collect();
    expected.reverse();
    assert_eq!(sets, expected);

    // Trimming: slowlog-max-len holds node-wide.
    query::<()>(c, &["CONFIG", "SET", "slowlog-max-len", "3"]);
    assert_eq!(query::<i64>(c, &["SLOWLOG", "LEN"]), 3);
    for k in keys.iter().flatten() {
        query::<()>(c, &["SET", k, "again"]);
    }
    let got = slowlog(c, "-1");
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].argv[..2], ["SET".to_string(), keys[1][0].clone()]);
    assert_eq!(got[1].argv[..2], ["SET".to_string(), keys[0][0].clone()]);
    query::<()>(c, &["SLOWLOG", "RESET"]);
    // SLOWLOG RESET is logged after it ran.
    assert_eq!(query::<i64>(c, &["SLOWLOG", "LEN"]), 1);

    // A threshold: only what took longer is logged; negative turns it off.
    query::<()>(c, &["CONFIG", "SET", "slowlog-log-slower-than", "20000"]);
    query::<()>(c, &["SLOWLOG", "RESET"]);
    query::<()>(c, &["SET", "fast", "1"]);
    query::<()>(c, &["DEBUG", "SLEEP", "0.03"]);
    let got = slowlog(c, "-1");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].argv, ["DEBUG", "SLEEP", "0.03"]);
    assert!(got[0].duration >= 25_000, "{}", got[0].duration);
    query::<()>(c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    query::<()>(c, &["SLOWLOG", "RESET"]);
    query::<()>(c, &["DEBUG", "SLEEP", "0.03"]);
    assert_eq!(query::<i64>(c, &["SLOWLOG", "LEN"]), 0);
}

// -------------------------------------------------------- latency monitor

fn anon_huge_pages(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum()
}

#[test]
fn latency_monitor_events_and_doctor() {
    let s = server(&[]);
    let mut c = s.conn();
    let doctor: String = query(&mut c, &["LATENCY", "DOCTOR"]);
    assert!(
        doctor.starts_with("I'm sorry, Dave, I can't do that."),
        "{doctor}"
    );
    query::<()>(
        &mut c,
        &["CONFIG", "SET", "latency-monitor-threshold", "20"],
    );
    let doctor: String = query(&mut c, &["LATENCY", "DOCTOR"]);
    let calm = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
    if anon_huge_pages(s.pid()) == 0 {
        assert_eq!(doctor, calm);
    } else {
        // Redis's advice about transparent huge pages, as it gives it.
        assert!(
            doctor.contains("I detected a non zero amount of anonymous huge pages"),
            "{doctor}"
        );
    }
    query::<()>(&mut c, &["DEBUG", "SLEEP", "0.05"]);
    let latest: Value = query(&mut c, &["LATENCY", "LATEST"]);
    let Value::Array(events) = latest else {
        panic!("{latest:?}")
    };
    assert_eq!(events.len(), 1);
    let Value::Array(e) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(text(&e[0]), "command");
    assert!(int(&e[2]) >= 45 && int(&e[3]) >= int(&e[2]), "{e:?}");
    let history: Vec<(i64, i64)> = query(&mut c, &["LATENCY", "HISTORY", "command"]);
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].1, int(&e[2]));
    let graph: String = query(&mut c, &["LATENCY", "GRAPH", "command"]);
    assert!(graph.starts_with("command - high "), "{graph}");
    assert!(graph.contains(&format!("\n{}\n", "-".repeat(80))));
    let doctor: String = query(&mut c, &["LATENCY", "DOCTOR"]);
    assert!(
        doctor.starts_with("Dave, I have observed latency spikes in this Redis instance."),
        "{doctor}"
    );
    assert!(
        doctor.contains("\n1. command: 1 latency spikes (average "),
        "{doctor}"
    );
    assert_eq!(query::<i64>(&mut c, &["LATENCY", "RESET"]), 1);
    assert_eq!(query::<i64>(&mut c, &["LATENCY", "RESET"]), 0);
}

// ------------------------------------------------------------------ dumps

/// Standard base64 (the interval log's histograms).
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::new();
    for chunk in s.trim_end_matches('=').as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// The histograms of one .hlog file: tag ("" for the untagged total) -> count.
fn read_hlog(path: &Path) -> BTreeMap<String, u64> {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;
    let data = std::fs::read(path).expect("read hlog");
    let mut de = Deserializer::new();
    let mut out = BTreeMap::new();
    let mut starts = 0;
    for e in IntervalLogIterator::new(&data) {
        match e.unwrap_or_else(|e| panic!("{}: {e:?}", path.display())) {
            LogEntry::Interval(ilh) => {
                let raw = base64_decode(ilh.encoded_histogram());
                let h: hdrhistogram::Histogram<u64> =
                    de.deserialize(&mut &raw[..]).expect("histogram");
                assert!(ilh.duration() >= Duration::from_millis(900));
                let tag = ilh
                    .tag()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default();
                out.insert(tag, h.len());
            }
            LogEntry::StartTime(_) | LogEntry::BaseTime(_) => starts += 1,
        }
    }
    assert_eq!(starts, 2, "StartTime and BaseTime in {}", path.display());
    out
}

fn dumps(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "hlog"));
    v.sort();
    v
}

#[test]
fn latency_log_dir_dumps_interval_logs() {
    let s = server(&["--latency-log-dir", "dumps", "--latency-log-interval", "1"]);
    let dir = s.path().join("dumps");
    let mut conns = conns_on_both_cores(&s);
    // Commands count from the first interval on: wait for it.
    assert!(eventually(Duration::from_secs(10), || !dumps(&dir).is_empty()));
    let before = dumps(&dir);
    let keys = keys_on_cores(2, 2);
    let mut sets = 0u64;
    for c in conns.iter_mut() {
        for k in keys.iter().flatten() {
            query::<()>(c, &["SET", k, "v"]);
            sets += 1;
        }
        let _: Option<String> = query(c, &["GET", &keys[0][0]]);
    }
    let gets = conns.len() as u64;
    let total = |files: &[PathBuf]| -> BTreeMap<String, u64> {
        let mut sum = BTreeMap::new();
        for f in files.iter().filter(|f| !before.contains(f)) {
            for (tag, n) in read_hlog(f) {
                *sum.entry(tag).or_insert(0) += n;
            }
        }
        sum
    };
    let mut seen = BTreeMap::new();
    let done = eventually(Duration::from_secs(15), || {
        seen = total(&dumps(&dir));
        seen.get("set") == Some(&sets) && seen.get("get") == Some(&gets)
    });
    assert!(done, "dumps counted {seen:?}, want set={sets} get={gets}");
    assert!(
        seen[""] >= sets + gets,
        "the untagged histogram has every command"
    );

    // The CSV beside each dump, and the report script over it.
    let file = dumps(&dir)
        .into_iter()
        .find(|f| read_hlog(f).get("set").is_some_and(|&n| n > 0))
        .expect("a dump with SETs");
    let csv = std::fs::read_to_string(file.with_extension("csv")).expect("csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("tag,count,min_us,mean_us,p50_us,p90_us,p99_us,p99.9_us,p99.99_us,max_us")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][0], "all");
    for r in &rows {
        assert_eq!(r.len(), 10, "{r:?}");
        let v: Vec<f64> = r[2..].iter().map(|x| x.parse().expect("number")).collect();
        // min <= p50 <= p90 <= ... <= max
        assert!(
            v[0] <= v[2] && v[2..].windows(2).all(|w| w[0] <= w[1]),
            "{r:?}"
        );
    }
    report_script(&file);
}

fn report_script(file: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/latency-report.sh");
    let png = file.with_extension("report.png");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(file)
        .arg(&png)
        .output()
        .expect("run latency-report.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout
        .contains("| command | calls | min | mean | p50 | p90 | p99 | p99.9 | p99.99 | max |"));
    assert!(
        stdout.lines().any(|l| l.starts_with("| all | ")),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("| set | ")),
        "{stdout}"
    );
    if which("gnuplot").is_some() {
        let data =
            std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", png.display()));
        assert!(data.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    } else {
        eprintln!("gnuplot not installed: plot not checked");
        assert!(stderr.contains("gnuplot-nox"), "{stderr}");
    }
    // Given a file that is not a dump, it says so.
    let bad = std::process::Command::new("bash")
        .arg(&script)
        .arg(file.with_extension("nope.csv"))
        .output()
        .expect("run latency-report.sh");
    assert_eq!(bad.status.code(), Some(1));
}
