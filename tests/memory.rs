//! MEMORY and INFO memory: replies compared with redis-server 7.0.15 where
//! they are deterministic (see tests/compat.rs for the line syntax), MEMORY
//! STATS' keys compared with redis-server's, and the figures checked for
//! consistency through the `redis` crate on a `--threads 2` server.

mod common;

use common::compat::*;
use common::{info_field, info_shards, keys_on_cores, query, Server};

const CASES: &[Case] = &[
    (
        "memory help and errors",
        &[
            "MEMORY HELP",
            "memory help",
            "MEMORY",
            "MEMORY foo",
            "MEMORY HELP extra",
            "MEMORY STATS extra",
            "MEMORY DOCTOR extra",
            "MEMORY PURGE extra",
            "MEMORY MALLOC-STATS extra",
            "MEMORY USAGE",
        ],
    ),
    (
        "memory usage",
        &[
            "MEMORY USAGE nokey",
            "MEMORY USAGE a",
            "MEMORY USAGE b",
            "MEMORY USAGE nokey SAMPLES 5",
            "MEMORY USAGE nokey samples 0",
            "MEMORY USAGE nokey SAMPLES",
            "MEMORY USAGE nokey SAMPLES -1",
            "MEMORY USAGE nokey SAMPLES x",
            "MEMORY USAGE nokey foo",
            "MEMORY USAGE nokey SAMPLES 1 foo",
            "SET a hello",
            "SET b world",
            "~type MEMORY USAGE a",
            "~type MEMORY USAGE b SAMPLES 0",
            "RPUSH c 1 2 3",
            "~type MEMORY USAGE c",
            "MEMORY USAGE a SAMPLES x",
            "MEMORY USAGE a SAMPLES -5",
            "MEMORY USAGE a b",
        ],
    ),
    (
        "memory stats doctor purge",
        &[
            "~type MEMORY STATS",
            "MEMORY DOCTOR",
            "MEMORY PURGE",
            "~type MEMORY MALLOC-STATS",
        ],
    ),
    (
        "memory command info",
        &["~info6 COMMAND INFO memory memory|usage memory|stats memory|doctor memory|help memory|purge memory|malloc-stats"],
    ),
];

#[test]
fn memory_replies_match_redis() {
    run_cases(CASES);
}

/// Redis 7.0.15's `# Memory` fields, in order.
const INFO_MEMORY_FIELDS: &[&str] = &[
    "used_memory",
    "used_memory_human",
    "used_memory_rss",
    "used_memory_rss_human",
    "used_memory_peak",
    "used_memory_peak_human",
    "used_memory_peak_perc",
    "used_memory_overhead",
    "used_memory_startup",
    "used_memory_dataset",
    "used_memory_dataset_perc",
    "allocator_allocated",
    "allocator_active",
    "allocator_resident",
    "total_system_memory",
    "total_system_memory_human",
    "used_memory_lua",
    "used_memory_vm_eval",
    "used_memory_lua_human",
    "used_memory_scripts_eval",
    "number_of_cached_scripts",
    "number_of_functions",
    "number_of_libraries",
    "used_memory_vm_functions",
    "used_memory_vm_total",
    "used_memory_vm_total_human",
    "used_memory_functions",
    "used_memory_scripts",
    "used_memory_scripts_human",
    "maxmemory",
    "maxmemory_human",
    "maxmemory_policy",
    "allocator_frag_ratio",
    "allocator_frag_bytes",
    "allocator_rss_ratio",
    "allocator_rss_bytes",
    "rss_overhead_ratio",
    "rss_overhead_bytes",
    "mem_fragmentation_ratio",
    "mem_fragmentation_bytes",
    "mem_not_counted_for_evict",
    "mem_replication_backlog",
    "mem_total_replication_buffers",
    "mem_clients_slaves",
    "mem_clients_normal",
    "mem_cluster_links",
    "mem_aof_buffer",
    "mem_allocator",
    "active_defrag_running",
    "lazyfree_pending_objects",
    "lazyfreed_objects",
];

fn field_names(info: &str) -> Vec<String> {
    info.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
        .collect()
}

fn num(info: &str, f: &str) -> f64 {
    info_field(info, f)
        .unwrap_or_else(|| panic!("no {f} in\n{info}"))
        .trim_end_matches('%')
        .parse()
        .unwrap_or_else(|_| panic!("{f} is not a number in\n{info}"))
}

#[test]
fn info_memory_has_redis_fields_in_order() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let info: String = query(&mut c, &["INFO", "memory"]);
    assert_eq!(field_names(&info), INFO_MEMORY_FIELDS, "{info}");
    if let Some(r) = Server::redis(&[]) {
        let mut rc = r.conn();
        let theirs: String = query(&mut rc, &["INFO", "memory"]);
        assert_eq!(field_names(&info), field_names(&theirs));
    } else {
        eprintln!("redis-server not installed: compared with the built-in list only");
    }
    assert!(info_field(&info, "mem_allocator")
        .unwrap_or_default()
        .starts_with("mimalloc-"));
    assert_eq!(
        info_field(&info, "maxmemory_policy").as_deref(),
        Some("noeviction")
    );
}

/// A ratio as INFO prints it ("%.2f") against the one computed from its parts.
fn check_ratio(info: &str, ratio: &str, bytes: &str, num_f: &str, den_f: &str) {
    let (a, b) = (num(info, num_f), num(info, den_f));
    let r = num(info, ratio);
    assert!(b > 0.0, "{den_f} is 0\n{info}");
    assert!(
        (r - a / b).abs() <= 0.0051,
        "{ratio}={r} but {num_f}/{den_f}={}\n{info}",
        a / b
    );
    assert_eq!(num(info, bytes), a - b, "{bytes}\n{info}");
}

#[test]
fn info_memory_figures_are_consistent() {
    let s = Server::start(&["--threads", "2", "--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let _: () = query(&mut c, &["DEBUG", "POPULATE", "20000", "k", "50"]);
    let info: String = query(&mut c, &["INFO", "memory"]);
    let used = num(&info, "used_memory");
    let rss = num(&info, "used_memory_rss");
    assert!(used > 20000.0 * 50.0, "{info}");
    assert!(rss > 0.0, "{info}");
    assert!(num(&info, "used_memory_peak") >= used, "{info}");
    assert!(num(&info, "used_memory_startup") > 0.0, "{info}");
    assert!(num(&info, "total_system_memory") > 0.0, "{info}");
    assert!(num(&info, "mem_clients_normal") > 0.0, "one client: {info}");
    assert_eq!(
        num(&info, "used_memory_dataset"),
        used - num(&info, "used_memory_overhead"),
        "{info}"
    );
    assert!(num(&info, "used_memory_overhead") >= num(&info, "used_memory_startup"));
    check_ratio(
        &info,
        "allocator_frag_ratio",
        "allocator_frag_bytes",
        "allocator_active",
        "allocator_allocated",
    );
    check_ratio(
        &info,
        "allocator_rss_ratio",
        "allocator_rss_bytes",
        "allocator_resident",
        "allocator_active",
    );
    check_ratio(
        &info,
        "rss_overhead_ratio",
        "rss_overhead_bytes",
        "used_memory_rss",
        "allocator_resident",
    );
    check_ratio(
        &info,
        "mem_fragmentation_ratio",
        "mem_fragmentation_bytes",
        "used_memory_rss",
        "used_memory",
    );
    let peak_perc = num(&info, "used_memory_peak_perc");
    let want = used * 100.0 / num(&info, "used_memory_peak");
    assert!((peak_perc - want).abs() <= 0.0051, "{info}");
    assert_eq!(
        info_field(&info, "used_memory_lua_human").as_deref(),
        Some("0B")
    );

    // Deleting the keys gives memory back to used_memory.
    let _: () = query(&mut c, &["FLUSHALL"]);
    let after: String = query(&mut c, &["INFO", "memory"]);
    assert!(
        num(&after, "used_memory") < used - 20000.0 * 50.0,
        "{after}"
    );
    // Per-core keyspace overhead in INFO shards.
    let _: () = query(&mut c, &["DEBUG", "POPULATE", "1000"]);
    let shards: String = query(&mut c, &["INFO", "shards"]);
    let sh = info_shards(&shards);
    assert_eq!(sh.len(), 2, "{shards}");
    for s in &sh {
        let o: u64 = s["keyspace_overhead"].parse().expect("keyspace_overhead");
        assert!(o > 0, "{shards}");
    }
}

#[test]
fn memory_usage_grows_with_the_value() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let per_core = keys_on_cores(2, 1);
    for keys in &per_core {
        let k = &keys[0];
        let _: () = query(&mut c, &["SET", k, "short"]);
        let small: i64 = query(&mut c, &["MEMORY", "USAGE", k]);
        assert!(small > 0);
        let big = "x".repeat(10_000);
        let _: () = query(&mut c, &["SET", k, &big]);
        let large: i64 = query(&mut c, &["MEMORY", "USAGE", k, "SAMPLES", "0"]);
        assert!(large >= small + 10_000 - 32, "{small} -> {large}");
        // Longer keys cost their bytes too.
        let long_key = format!("{k}:{}", "k".repeat(200));
        let _: () = query(&mut c, &["SET", &long_key, "short"]);
        let lk: i64 = query(&mut c, &["MEMORY", "USAGE", &long_key]);
        assert!(lk >= small + 200, "{small} vs {lk}");
    }
    let list = "memlist";
    let _: () = query(&mut c, &["RPUSH", list, "a"]);
    let one: i64 = query(&mut c, &["MEMORY", "USAGE", list]);
    for _ in 0..10 {
        let mut cmd = redis::cmd("RPUSH");
        cmd.arg(list);
        for i in 0..100 {
            cmd.arg(format!("{i:0100}"));
        }
        let _: i64 = cmd.query(&mut c).expect("rpush");
    }
    let many: i64 = query(&mut c, &["MEMORY", "USAGE", list]);
    assert!(many >= one + 1000 * 100, "{one} -> {many}");
    let missing: Option<i64> = query(&mut c, &["MEMORY", "USAGE", "nosuchkey"]);
    assert_eq!(missing, None);
}

/// MEMORY STATS as (key, value) pairs, nested maps flattened as `db.0/field`.
fn stats_pairs(c: &mut redis::Connection) -> Vec<(String, redis::Value)> {
    let v: redis::Value = query(c, &["MEMORY", "STATS"]);
    fn pairs(v: &redis::Value) -> Vec<(String, redis::Value)> {
        let items: Vec<redis::Value> = match v {
            redis::Value::Array(a) => a.clone(),
            redis::Value::Map(m) => m.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect(),
            o => panic!("MEMORY STATS: {o:?}"),
        };
        items
            .chunks(2)
            .map(|p| {
                let k: String = redis::from_redis_value(&p[0]).expect("key");
                (k, p[1].clone())
            })
            .collect()
    }
    let mut out = Vec::new();
    for (k, v) in pairs(&v) {
        if k.starts_with("db.") {
            for (f, fv) in pairs(&v) {
                out.push((format!("{k}/{f}"), fv));
            }
        } else {
            out.push((k, v));
        }
    }
    out
}

fn stat(p: &[(String, redis::Value)], k: &str) -> f64 {
    let v = &p
        .iter()
        .find(|(n, _)| n == k)
        .unwrap_or_else(|| panic!("no {k} in {p:?}"))
        .1;
    match v {
        redis::Value::Int(i) => *i as f64,
        o => {
            let s: String = redis::from_redis_value(o).expect("number");
            s.parse().expect("float")
        }
    }
}

#[test]
fn memory_stats_keys_match_redis_and_add_up() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    // Keys on both cores, some with a TTL.
    let per_core = keys_on_cores(2, 50);
    for (i, k) in per_core.iter().flatten().enumerate() {
        let _: () = query(&mut c, &["SET", k, "value"]);
        if i % 10 == 0 {
            let _: i64 = query(&mut c, &["EXPIRE", k, "1000"]);
        }
    }
    let ours = stats_pairs(&mut c);
    if let Some(r) = Server::redis(&[]) {
        let mut rc = r.conn();
        for k in per_core.iter().flatten() {
            let _: () = query(&mut rc, &["SET", k, "value"]);
        }
        let theirs = stats_pairs(&mut rc);
        let names =
            |p: &[(String, redis::Value)]| p.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ours), names(&theirs));
    } else {
        eprintln!("redis-server not installed: MEMORY STATS keys not compared");
    }
    assert_eq!(stat(&ours, "keys.count"), 100.0);
    let total = stat(&ours, "total.allocated");
    let overhead = stat(&ours, "overhead.total");
    let startup = stat(&ours, "startup.allocated");
    let dbs = stat(&ours, "db.0/overhead.hashtable.main")
        + stat(&ours, "db.0/overhead.hashtable.expires")
        + stat(&ours, "db.0/overhead.hashtable.slot-to-keys");
    assert!(stat(&ours, "db.0/overhead.hashtable.expires") > 0.0);
    assert_eq!(overhead, startup + stat(&ours, "clients.normal") + dbs);
    assert_eq!(stat(&ours, "dataset.bytes"), total - overhead);
    assert_eq!(
        stat(&ours, "keys.bytes-per-key"),
        ((total - startup) / 100.0).floor()
    );
    assert!(stat(&ours, "peak.allocated") >= total);
    let frag = stat(&ours, "fragmentation");
    let want = (stat(&ours, "fragmentation.bytes") + total) / total;
    assert!((frag - want).abs() < 1e-4, "{frag} vs {want}");
}

#[test]
fn purge_malloc_stats_and_doctor() {
    let s = Server::start(&["--threads", "2", "--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let ok: String = query(&mut c, &["MEMORY", "PURGE"]);
    assert_eq!(ok, "OK");
    let stats: String = query(&mut c, &["MEMORY", "MALLOC-STATS"]);
    assert!(stats.contains("mimalloc") && stats.len() > 200, "{stats}");
    assert!(stats.contains("committed"), "{stats}");
    let doctor: String = query(&mut c, &["MEMORY", "DOCTOR"]);
    assert!(
        doctor.starts_with("Hi Sam, this instance is empty"),
        "{doctor}"
    );
    // Tens of MB of data: the detector has something to look at.
    let _: () = query(&mut c, &["DEBUG", "POPULATE", "150000", "k", "100"]);
    let doctor: String = query(&mut c, &["MEMORY", "DOCTOR"]);
    assert!(
        doctor.starts_with("Hi Sam, I can't find any memory issue")
            || doctor.starts_with("Sam, I detected a few issues"),
        "{doctor}"
    );
    // Deleting most of it leaves a peak well above used memory.
    let _: () = query(&mut c, &["FLUSHALL"]);
    let _: () = query(&mut c, &["DEBUG", "POPULATE", "50000", "k", "100"]);
    let doctor: String = query(&mut c, &["MEMORY", "DOCTOR"]);
    assert!(doctor.contains(" * Peak memory:"), "{doctor}");
    assert!(doctor.ends_with("I'm here to keep you safe, Sam. I want to help you.\n"));
}
