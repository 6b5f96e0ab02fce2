//! Config tests. Expected texts were taken from redis-server 7.0.15 (the
//! version is replaced by shardis's in the fatal messages).

use super::*;
use std::collections::HashMap;

fn cfg(text: &str) -> Config {
    match Config::from_text(text.as_bytes()) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn cfg_err(text: &str) -> String {
    match Config::from_text(text.as_bytes()) {
        Ok(_) => panic!("expected an error for {text:?}"),
        Err(e) => e.to_string(),
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Loads like `redis-server [file] args...`, without filesystem checks.
fn load_test(file: Option<&Path>, cli: &[&str]) -> Result<Config, ConfigError> {
    let mut loader = Loader::new(false);
    let mut c = Config::default();
    let mut text = match file {
        Some(p) => read_config_source(p)?,
        None => Vec::new(),
    };
    let (options, _) = cli_options(&args(cli), file.is_some());
    text.push(b'\n');
    text.extend_from_slice(&options);
    loader.load_text(&mut c, &text, 0)?;
    loader.after_load(&c)?;
    Ok(c)
}

fn fatal(line: usize, text: &str, msg: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR ({SERVER_NAME}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{msg}"
    )
}

fn get(c: &Config, name: &str) -> String {
    c.get(name).unwrap_or_else(|| panic!("no option {name}"))
}

fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
    let p: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(a, b)| (a.as_bytes(), b.as_bytes()))
        .collect();
    c.config_set(&p)
}

fn set_err(c: &mut Config, pairs: &[(&str, &str)]) -> String {
    match set(c, pairs) {
        Ok(_) => panic!("expected CONFIG SET {pairs:?} to fail"),
        Err(e) => e,
    }
}

fn config_get(c: &Config, pats: &[&str]) -> Vec<(String, String)> {
    let p: Vec<&[u8]> = pats.iter().map(|s| s.as_bytes()).collect();
    c.config_get(&p)
}

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

fn write(path: &Path, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        panic!("write {}: {e}", path.display());
    }
}

fn read(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => panic!("read {}: {e}", path.display()),
    }
}

// ---------------------------------------------------------------- defaults

#[test]
fn defaults_match_redis_config_get_star() {
    // `CONFIG GET *` of a default redis-server 7.0.15 (port and dir removed).
    let expected = include_str!("redis-7.0.15-defaults.tsv");
    let c = Config::default();
    let ours: HashMap<String, String> = config_get(&c, &["*"]).into_iter().collect();
    let mut n = 0;
    for line in expected.lines() {
        let (name, value) = line.split_once('\t').unwrap_or((line, ""));
        assert_eq!(
            ours.get(name).map(String::as_str),
            Some(value),
            "option {name}"
        );
        n += 1;
    }
    assert_eq!(n, 190);
    // Ours has these on top: port, dir and the new threads, metrics-port,
    // latency-log-dir and latency-log-interval.
    assert_eq!(ours.len(), n + 6);
    assert_eq!(ours["port"], "6379");
    assert_eq!(ours["threads"], "0");
    assert_eq!(ours["metrics-port"], "0");
    assert_eq!(ours["latency-log-dir"], "");
    assert_eq!(ours["latency-log-interval"], "60");
    assert!(Path::new(&ours["dir"]).is_absolute());
}

#[test]
fn typed_getters_on_defaults() {
    let c = Config::default();
    assert_eq!(c.port(), 6379);
    assert_eq!(c.bind(), vec!["*".to_string(), "-::*".to_string()]);
    assert!(c.protected_mode());
    assert_eq!(c.threads(), 0);
    assert!(c.resolved_threads() >= 1);
    assert!(Path::new(c.dir()).is_absolute());
    assert_eq!(c.logfile(), "");
    assert_eq!(c.loglevel(), "notice");
    assert_eq!(c.databases(), 16);
    assert_eq!(c.maxclients(), 10000);
    assert_eq!(c.timeout(), 0);
    assert_eq!(c.tcp_keepalive(), 300);
    assert_eq!(c.tcp_backlog(), 511);
    assert_eq!(c.proto_max_bulk_len(), 512 << 20);
    assert_eq!(c.client_query_buffer_limit(), 1 << 30);
    assert_eq!(c.requirepass(), None);
    assert!(!c.cluster_enabled());
    assert_eq!(c.cluster_config_file(), "nodes.conf");
    assert_eq!(c.cluster_node_timeout(), 15000);
    assert_eq!(c.cluster_port(), 0);
    assert_eq!(c.cluster_announce_ip(), None);
    assert_eq!(c.cluster_announce_port(), 0);
    assert_eq!(c.cluster_announce_bus_port(), 0);
    assert_eq!(c.cluster_announce_hostname(), None);
    assert!(c.cluster_require_full_coverage());
    assert!(!c.cluster_allow_reads_when_down());
    assert!(!c.cluster_replica_no_failover());
    assert_eq!(c.cluster_replica_validity_factor(), 10);
    assert_eq!(c.cluster_migration_barrier(), 1);
    assert!(c.cluster_allow_replica_migration());
    assert_eq!(c.enable_debug_command(), ProtectedAction::No);
    assert_eq!(c.enable_protected_configs(), ProtectedAction::No);
    assert!(!c.daemonize());
    assert_eq!(c.pidfile(), None);
    assert_eq!(c.hz(), 10);
    assert_eq!(c.active_expire_effort(), 1);
    assert!(c.activerehashing());
    assert_eq!(c.maxmemory(), 0);
    assert_eq!(c.maxmemory_policy(), MaxmemoryPolicy::Noeviction);
    assert_eq!(c.maxmemory_samples(), 5);
    assert_eq!(c.lfu_log_factor(), 10);
    assert_eq!(c.lfu_decay_time(), 1);
    assert_eq!(c.save_params(), &SAVE_DEFAULTS[..]);
    assert!(c.stop_writes_on_bgsave_error());
    assert!(c.rdbcompression());
    assert!(c.rdbchecksum());
    assert_eq!(c.dbfilename(), "dump.rdb");
    assert!(!c.appendonly());
    assert_eq!(c.appendfsync(), AppendFsync::Everysec);
    assert_eq!(c.appendfilename(), "appendonly.aof");
    assert_eq!(c.appenddirname(), "appendonlydir");
    assert_eq!(c.auto_aof_rewrite_percentage(), 100);
    assert_eq!(c.auto_aof_rewrite_min_size(), 64 << 20);
    assert!(c.aof_load_truncated());
    assert!(c.aof_use_rdb_preamble());
    assert!(!c.no_appendfsync_on_rewrite());
    assert!(c.latency_tracking());
    assert_eq!(c.latency_tracking_info_percentiles(), &[50.0, 99.0, 99.9]);
    assert_eq!(c.latency_monitor_threshold(), 0);
    assert_eq!(c.slowlog_log_slower_than(), 10000);
    assert_eq!(c.slowlog_max_len(), 128);
    assert_eq!(
        c.client_output_buffer_limit(ClientClass::Normal),
        OBUF_DEFAULTS[0]
    );
    assert_eq!(
        c.client_output_buffer_limit(ClientClass::Replica)
            .hard_bytes,
        256 << 20
    );
    assert_eq!(
        c.client_output_buffer_limit(ClientClass::Pubsub)
            .soft_seconds,
        60
    );
    assert_eq!(c.notify_keyspace_events(), 0);
    assert!(!c.lazyfree_lazy_eviction());
    assert!(!c.lazyfree_lazy_expire());
    assert!(!c.lazyfree_lazy_server_del());
    assert!(!c.lazyfree_lazy_user_del());
    assert!(!c.lazyfree_lazy_user_flush());
    assert_eq!(c.hash_max_listpack_entries(), 512);
    assert_eq!(c.hash_max_listpack_value(), 64);
    assert_eq!(c.set_max_intset_entries(), 512);
    assert_eq!(c.zset_max_listpack_entries(), 128);
    assert_eq!(c.zset_max_listpack_value(), 64);
    assert_eq!(c.list_max_listpack_size(), -2);
    assert_eq!(c.list_compress_depth(), 0);
    assert_eq!(c.stream_node_max_bytes(), 4096);
    assert_eq!(c.stream_node_max_entries(), 100);
    assert_eq!(c.hll_sparse_max_bytes(), 3000);
    assert_eq!(c.replicaof(), None);
    assert_eq!(c.masterauth(), None);
    assert_eq!(c.masteruser(), None);
    assert_eq!(c.repl_backlog_size(), 1 << 20);
    assert_eq!(c.repl_backlog_ttl(), 3600);
    assert_eq!(c.repl_timeout(), 60);
    assert_eq!(c.repl_ping_replica_period(), 10);
    assert!(c.replica_read_only());
    assert!(c.replica_serve_stale_data());
    assert_eq!(c.min_replicas_to_write(), 0);
    assert_eq!(c.min_replicas_max_lag(), 10);
    assert_eq!(c.busy_reply_threshold(), 5000);
    assert_eq!(c.unixsocket(), None);
    assert_eq!(c.unixsocketperm(), 0);
    assert_eq!(c.tracking_table_max_keys(), 1_000_000);
    assert_eq!(c.acllog_max_len(), 128);
    assert_eq!(c.shutdown_timeout(), 10);
    assert_eq!(c.io_threads(), 1);
    assert_eq!(c.config_file(), None);
    assert!(c.renamed_commands().is_empty());
    assert!(c.users().is_empty());
}

// ------------------------------------------------------------ file parsing

#[test]
fn parses_quoting_comments_and_blank_lines() {
    let c = cfg("# a comment\n\
         \n\
         \t  port 7000  \r\n\
         PORT 7001\n\
         requirepass \"a b\\x41\\n\"\n\
         masterauth 'it\\'s'\n\
         logfile \"\"\n\
         dbfilename \"my dump.rdb\"\n\
         \x0b\n\
         #port 1\n\
         loglevel WARNING\n");
    assert_eq!(
        c.port(),
        7001,
        "option names are case-insensitive, last wins"
    );
    assert_eq!(c.requirepass(), Some(&b"a bA\n"[..]));
    assert_eq!(c.masterauth(), Some(&b"it's"[..]));
    assert_eq!(c.logfile(), "");
    assert_eq!(c.dbfilename(), "my dump.rdb");
    assert_eq!(c.loglevel(), "warning");
}

#[test]
fn aliases_set_the_primary_option() {
    let c = cfg(
        "slave-priority 5\nslaveof 10.0.0.1 6380\nhash-max-ziplist-entries 7\nlua-time-limit 100\n",
    );
    assert_eq!(get(&c, "replica-priority"), "5");
    assert_eq!(get(&c, "slave-priority"), "5");
    assert_eq!(c.replicaof(), Some((&b"10.0.0.1"[..], 6380)));
    assert_eq!(get(&c, "replicaof"), "10.0.0.1 6380");
    assert_eq!(c.hash_max_listpack_entries(), 7);
    assert_eq!(c.busy_reply_threshold(), 100);
    // `replicaof no one` unsets.
    assert_eq!(cfg("replicaof a 1\nreplicaof no one\n").replicaof(), None);
}

#[test]
fn save_lines_accumulate_and_replace_the_defaults() {
    let c = cfg("save 900 1\nsave 300 10\n");
    assert_eq!(get(&c, "save"), "900 1 300 10");
    let c = cfg("save \"900 1 300 10\"\n");
    assert_eq!(get(&c, "save"), "900 1 300 10");
    let c = cfg("save 900 1\nsave \"\"\n");
    assert_eq!(get(&c, "save"), "");
    assert!(c.save_params().is_empty());
    let c = cfg("save \"\"\nsave 60 5\n");
    assert_eq!(get(&c, "save"), "60 5");
    assert_eq!(get(&cfg(""), "save"), "3600 1 300 100 60 10000");
    assert_eq!(
        c.save_params(),
        &[SaveParam {
            seconds: 60,
            changes: 5
        }]
    );
}

#[test]
fn multi_arg_options() {
    let c = cfg("bind 127.0.0.1 -::1\n");
    assert_eq!(c.bind(), vec!["127.0.0.1".to_string(), "-::1".to_string()]);
    assert_eq!(cfg("bind \"10.0.0.1 10.0.0.2\"\n").bind().len(), 2);
    assert!(cfg("bind \"\"\n").bind().is_empty());
    let c = cfg("client-output-buffer-limit replica 1gb 2mb 30\nclient-output-buffer-limit Normal 1k 2kb 3\n");
    assert_eq!(
        get(&c, "client-output-buffer-limit"),
        "normal 1000 2048 3 slave 1073741824 2097152 30 pubsub 33554432 8388608 60"
    );
    let c = cfg("oom-score-adj-values 0 100 200\nshutdown-on-sigterm now SAVE\nlatency-tracking-info-percentiles 1 2.5\n");
    assert_eq!(get(&c, "oom-score-adj-values"), "0 100 200");
    assert_eq!(get(&c, "shutdown-on-sigterm"), "save now");
    assert_eq!(c.latency_tracking_info_percentiles(), &[1.0, 2.5]);
    assert_eq!(
        get(
            &cfg("latency-tracking-info-percentiles \"\"\n"),
            "latency-tracking-info-percentiles"
        ),
        ""
    );
}

#[test]
fn memory_units() {
    for (text, bytes) in [
        ("1", 1u64),
        ("1b", 1),
        ("1k", 1000),
        ("1K", 1000),
        ("1kb", 1024),
        ("1KB", 1024),
        ("1m", 1_000_000),
        ("1mb", 1 << 20),
        ("1Mb", 1 << 20),
        ("1g", 1_000_000_000),
        ("1gb", 1 << 30),
        ("1GB", 1 << 30),
        ("18446744073709551615", u64::MAX),
    ] {
        let c = cfg(&format!("maxmemory {text}\n"));
        assert_eq!(c.maxmemory(), bytes, "{text}");
        assert_eq!(
            get(&c, "maxmemory"),
            bytes.to_string(),
            "CONFIG GET shows bytes"
        );
    }
    assert_eq!(
        cfg("proto-max-bulk-len 1gb\n").proto_max_bulk_len(),
        1 << 30
    );
    assert_eq!(
        cfg("hash-max-listpack-value 1kb\n").hash_max_listpack_value(),
        1024
    );
    let c = cfg("maxmemory-clients 10%\n");
    assert_eq!(get(&c, "maxmemory-clients"), "10%");
    assert_eq!(
        get(&cfg("maxmemory-clients 1mb\n"), "maxmemory-clients"),
        "1048576"
    );
}

#[test]
fn enums_and_bools() {
    let c = cfg("maxmemory-policy ALLKEYS-LRU\nappendonly YES\nappendfsync Always\nenable-debug-command local\n");
    assert_eq!(c.maxmemory_policy(), MaxmemoryPolicy::AllkeysLru);
    assert!(c.maxmemory_policy().is_lru() && c.maxmemory_policy().is_allkeys());
    assert_eq!(get(&c, "maxmemory-policy"), "allkeys-lru");
    assert!(c.appendonly());
    assert_eq!(get(&c, "appendonly"), "yes");
    assert_eq!(c.appendfsync(), AppendFsync::Always);
    assert_eq!(c.enable_debug_command(), ProtectedAction::Local);
    assert!(c.enable_debug_command().allows(true));
    assert!(!c.enable_debug_command().allows(false));
    // Two names for one value: CONFIG GET shows the first.
    assert_eq!(
        get(&cfg("oom-score-adj relative\n"), "oom-score-adj"),
        "yes"
    );
    assert_eq!(
        get(&cfg("syslog-facility local3\n"), "syslog-facility"),
        "local3"
    );
}

#[test]
fn runtime_only_adjustments_like_redis() {
    // repl-backlog-size: CONFIG SET raises it to 16kb, the file does not.
    assert_eq!(cfg("repl-backlog-size 1\n").repl_backlog_size(), 1);
    let mut c = Config::default();
    assert!(set(&mut c, &[("repl-backlog-size", "1k")]).is_ok());
    assert_eq!(get(&c, "repl-backlog-size"), "16384");
    // activedefrag: no allocator support, as a Redis without its jemalloc.
    assert_eq!(
        set_err(&mut c, &[("activedefrag", "yes")]),
        "ERR CONFIG SET failed (possibly related to argument 'activedefrag') - Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"
    );
    assert!(set(&mut c, &[("activedefrag", "no")]).is_ok());
}

#[test]
fn hz_is_clamped_like_redis() {
    assert_eq!(get(&cfg("hz 0\n"), "hz"), "1");
    assert_eq!(get(&cfg("hz 100000\n"), "hz"), "500");
    assert_eq!(cfg("hz 100\n").hz(), 100);
}

#[test]
fn deprecated_and_other_directives() {
    let c = cfg("list-max-ziplist-entries 5\nlua-replicate-commands yes\nrename-command FLUSHALL \"\"\nuser alice on >pw ~*\n");
    assert_eq!(c.renamed_commands(), &[(b"FLUSHALL".to_vec(), Vec::new())]);
    assert_eq!(c.users().len(), 1);
    assert_eq!(c.users()[0][0], b"alice".to_vec());
}

#[test]
fn notify_keyspace_events_flags() {
    let c = cfg("notify-keyspace-events KEA\n");
    assert_eq!(get(&c, "notify-keyspace-events"), "AKE");
    assert_eq!(
        c.notify_keyspace_events(),
        keyspace_events::ALL | keyspace_events::KEYSPACE | keyspace_events::KEYEVENT
    );
    assert_eq!(
        get(
            &cfg("notify-keyspace-events Exg$m\n"),
            "notify-keyspace-events"
        ),
        "g$xEm"
    );
    assert_eq!(
        get(
            &cfg("notify-keyspace-events \"\"\n"),
            "notify-keyspace-events"
        ),
        ""
    );
}

// --------------------------------------------------------- error messages

#[test]
fn error_formats_match_redis() {
    // redis-server --port abc
    let e = load_test(None, &["--port", "abc"])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        e,
        Err(fatal(
            2,
            "port \"abc\"",
            "argument couldn't be parsed into an integer"
        ))
    );
    assert_eq!(
        cfg_err("port 7392\nport \"abc\"\n"),
        fatal(
            2,
            "port \"abc\"",
            "argument couldn't be parsed into an integer"
        )
    );
    assert_eq!(
        cfg_err("# c\nfoo bar baz\n"),
        fatal(
            2,
            "foo bar baz",
            "Bad directive or wrong number of arguments"
        )
    );
    assert_eq!(
        cfg_err("port"),
        fatal(1, "port", "wrong number of arguments")
    );
    assert_eq!(
        cfg_err("hz 1 2"),
        fatal(1, "hz 1 2", "wrong number of arguments")
    );
    assert_eq!(
        cfg_err("port \"abc"),
        fatal(1, "port \"abc", "Unbalanced quotes in configuration line")
    );
    assert_eq!(
        cfg_err("  save 1 2 3  "),
        fatal(1, "save 1 2 3", "Invalid save parameters")
    );
    assert_eq!(
        cfg_err("maxmemory 1xb"),
        fatal(1, "maxmemory 1xb", "argument must be a memory value")
    );
    assert_eq!(
        cfg_err("loglevel foo"),
        fatal(
            1,
            "loglevel foo",
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        )
    );
    assert_eq!(
        cfg_err("appendonly maybe"),
        fatal(1, "appendonly maybe", "argument must be 'yes' or 'no'")
    );
    assert_eq!(
        cfg_err("maxmemory-clients 101%"),
        fatal(
            1,
            "maxmemory-clients 101%",
            "percentage argument must be less or equal to 100"
        )
    );
    assert_eq!(
        cfg_err("unixsocketperm 999"),
        fatal(
            1,
            "unixsocketperm 999",
            "argument couldn't be parsed as an octal number"
        )
    );
    assert_eq!(
        cfg_err("unixsocketperm 1000"),
        fatal(
            1,
            "unixsocketperm 1000",
            "argument must be between 0 and 777 inclusive"
        )
    );
    assert_eq!(
        cfg_err("timeout -1"),
        fatal(
            1,
            "timeout -1",
            "argument must be between 0 and 2147483647 inclusive"
        )
    );
    assert_eq!(
        cfg_err("maxclients 0"),
        fatal(
            1,
            "maxclients 0",
            "argument must be between 1 and 4294967295 inclusive"
        )
    );
    assert_eq!(
        cfg_err("slowlog-max-len -1"),
        fatal(
            1,
            "slowlog-max-len -1",
            "argument must be between 0 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        cfg_err("foo.bar"),
        fatal(1, "foo.bar", "Module config specified without value")
    );
    let bind17: Vec<String> = (1..=17).map(|i| i.to_string()).collect();
    assert_eq!(
        cfg_err(&format!("bind {}", bind17.join(" "))),
        fatal(
            1,
            &format!("bind {}", bind17.join(" ")),
            "Too many bind addresses specified."
        )
    );
    assert_eq!(
        cfg_err("notify-keyspace-events q"),
        fatal(
            1,
            "notify-keyspace-events q",
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
        )
    );
    assert_eq!(
        cfg_err("replicaof h 70000"),
        fatal(1, "replicaof h 70000", "Invalid master port")
    );
    assert_eq!(
        cfg_err("dbfilename a/b"),
        fatal(
            1,
            "dbfilename a/b",
            "dbfilename can't be a path, just a filename"
        )
    );
    assert_eq!(
        cfg_err("shutdown-on-sigint save nosave"),
        fatal(
            1,
            "shutdown-on-sigint save nosave",
            "shutdown options SAVE and NOSAVE can't be used simultaneously"
        )
    );
    assert_eq!(
        cfg_err("cluster-announce-hostname a_b"),
        fatal(
            1,
            "cluster-announce-hostname a_b",
            "Hostnames may only contain alphanumeric characters, hyphens or dots"
        )
    );
}

#[test]
fn errors_after_reading() {
    let e = load_test(
        None,
        &["--cluster-enabled", "yes", "--replicaof", "1.2.3.4", "5"],
    );
    assert_eq!(
        e.map(|_| ()).map_err(|e| e.to_string()),
        Err(format!(
            "\n*** FATAL CONFIG FILE ERROR ({SERVER_NAME}) ***\nreplicaof directive not allowed in cluster mode"
        ))
    );
    // The log file is opened, relative to `dir`, as Redis does.
    let e = load(
        None,
        &args(&["--logfile", "/nonexistent-shardis-dir/x.log"]),
    );
    assert_eq!(
        e.map(|_| ()).map_err(|e| e.to_string()),
        Err(format!(
            "\n*** FATAL CONFIG FILE ERROR ({SERVER_NAME}) ***\nCan't open the log file: No such file or directory"
        ))
    );
    let e = load(Some(Path::new("/nonexistent-shardis.conf")), &[]);
    assert_eq!(
        e.map(|_| ()).map_err(|e| e.to_string()),
        Err("Fatal error, can't open config file '/nonexistent-shardis.conf': No such file or directory".into())
    );
}

#[test]
fn dir_is_checked_when_loading() {
    let e = load(None, &args(&["--dir", "/nonexistent-shardis-dir"]));
    assert_eq!(
        e.map(|_| ()).map_err(|e| e.to_string()),
        Err(fatal(
            2,
            "dir \"/nonexistent-shardis-dir\"",
            "No such file or directory"
        ))
    );
    let tmp = tempdir();
    let file = tmp.path().join("f");
    write(&file, "");
    let e = load(None, &args(&["--dir", &file.to_string_lossy()]));
    assert_eq!(
        e.map(|_| ()).map_err(|e| e.to_string()),
        Err(fatal(
            2,
            &format!("dir {}", repr(file.to_string_lossy().as_bytes())),
            "Not a directory"
        ))
    );
    // Relative values resolve against the previous dir, like chdir.
    let sub = tmp.path().join("sub");
    if let Err(e) = std::fs::create_dir(&sub) {
        panic!("{e}");
    }
    let c = load(
        None,
        &args(&["--dir", &tmp.path().to_string_lossy(), "--dir", "sub"]),
    );
    let canon = std::fs::canonicalize(&sub).map(|p| p.to_string_lossy().into_owned());
    assert_eq!(c.map(|c| c.dir().to_string()).ok(), canon.ok());
}

// -------------------------------------------------------------- command line

#[test]
fn command_line_becomes_config_lines() {
    let opts = |a: &[&str], file: bool| {
        let (o, stdin) = cli_options(&args(a), file);
        (String::from_utf8_lossy(&o).into_owned(), stdin)
    };
    assert_eq!(opts(&["--port", "7000"], false).0, "port \"7000\" ");
    assert_eq!(
        opts(
            &["--save", "900", "1", "300", "10", "--appendonly", "yes"],
            false
        )
        .0,
        "save \"900\" \"1\" \"300\" \"10\" \nappendonly \"yes\" "
    );
    assert_eq!(opts(&["--port 7000"], false).0, "port 7000 ");
    assert_eq!(opts(&["--save"], false).0, "save \"\"");
    assert_eq!(
        opts(&["--save", "--port", "1"], false).0,
        "save \"\"\nport \"1\" "
    );
    // A value that starts with "--" right after a bare option name is a value.
    assert_eq!(
        opts(&["--requirepass", "--x"], false).0,
        "requirepass \"--x\" "
    );
    assert_eq!(
        opts(&["--logfile", "a b\"c"], false).0,
        "logfile \"a b\\\"c\" "
    );
    // A lone "-": stdin when first (no config file) or last.
    assert!(opts(&["-"], false).1);
    assert!(opts(&["--port", "1", "-"], true).1);
    assert!(!opts(&["-", "--port", "1"], true).1);
    assert_eq!(
        opts(&["--port", "-", "1"], false),
        ("port \"-\" \"1\" ".into(), false)
    );
}

#[test]
fn command_line_wins_over_the_file() {
    let tmp = tempdir();
    let conf = tmp.path().join("s.conf");
    write(&conf, "port 6000\nsave 900 1\nloglevel debug\n");
    let c = match load_test(
        Some(&conf),
        &["--port", "7000", "--save", "--maxmemory", "1mb"],
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(c.port(), 7000);
    assert_eq!(get(&c, "save"), "");
    assert_eq!(c.loglevel(), "debug");
    assert_eq!(c.maxmemory(), 1 << 20);
    // The CLI lines are numbered after the file's (its last newline counts).
    let e = load_test(Some(&conf), &["--port", "x"])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        e,
        Err(fatal(
            5,
            "port \"x\"",
            "argument couldn't be parsed into an integer"
        ))
    );
    let e = load_test(Some(&conf), &["--port"])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(e, Err(fatal(5, "port", "wrong number of arguments")));
    let e = load_test(None, &["--port", "1", "2", "--save"])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        e,
        Err(fatal(2, "port \"1\" \"2\"", "wrong number of arguments"))
    );
}

#[test]
fn load_records_the_absolute_config_file() {
    let tmp = tempdir();
    let conf = tmp.path().join("s.conf");
    write(&conf, &format!("port 6001\ndir {}\n", tmp.path().display()));
    let c = match load(Some(&conf), &[]) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(c.port(), 6001);
    assert_eq!(c.config_file(), Some(conf.as_path()));
    let c = match load_from_args(&args(&[&conf.to_string_lossy(), "--port", "6002"])) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(c.port(), 6002);
    assert!(c.config_file().is_some());
}

// ------------------------------------------------------------------ include

#[test]
fn include_files_and_globs() {
    let tmp = tempdir();
    let d = tmp.path();
    let confd = d.join("conf.d");
    if let Err(e) = std::fs::create_dir(&confd) {
        panic!("{e}");
    }
    write(&confd.join("b.conf"), "hz 20\n");
    write(&confd.join("a.conf"), "hz 30\ntimeout 5\n");
    write(&confd.join(".hidden.conf"), "timeout 99\n");
    write(&d.join("inc.conf"), "maxclients 7\n");
    let main = d.join("main.conf");
    write(
        &main,
        &format!(
            "include {}\ninclude {}/*.conf\ninclude {}/nothing-*.conf\n",
            d.join("inc.conf").display(),
            confd.display(),
            confd.display()
        ),
    );
    let c = match load_test(Some(&main), &[]) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(c.maxclients(), 7);
    assert_eq!(c.hz(), 20, "glob matches are read in sorted order");
    assert_eq!(c.timeout(), 5, "hidden files are not matched by *");

    // An error in an included file names its own line.
    write(&d.join("bad.conf"), "a\nhz x\n");
    write(
        &main,
        &format!(
            "port 1\n\n# c\n  \t include {}\n",
            d.join("bad.conf").display()
        ),
    );
    let e = load_test(Some(&main), &[])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        e,
        Err(fatal(1, "a", "Bad directive or wrong number of arguments"))
    );

    let missing = d.join("missing.conf");
    write(&main, &format!("include {}\n", missing.display()));
    let e = load_test(Some(&main), &[])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        e,
        Err(format!(
            "Fatal error, can't open config file '{}': No such file or directory",
            missing.display()
        ))
    );

    // A file including itself stops at the depth limit.
    write(&main, &format!("include {}\n", main.display()));
    let e = load_test(Some(&main), &[])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert!(matches!(e, Err(m) if m.contains("Too many nested include directives")));
}

// --------------------------------------------------------------- CONFIG GET

#[test]
fn config_get_patterns() {
    let c = Config::default();
    // An exact name answers under the name as typed.
    assert_eq!(
        config_get(&c, &["PORT"]),
        vec![("PORT".into(), "6379".into())]
    );
    assert_eq!(config_get(&c, &["PORT", "port"]).len(), 1);
    assert_eq!(
        config_get(&c, &["PORT", "po*"]),
        vec![("PORT".into(), "6379".into())]
    );
    assert_eq!(
        config_get(&c, &["po*", "PORT"]),
        vec![("port".into(), "6379".into())]
    );
    assert_eq!(config_get(&c, &["nosuch"]), vec![]);
    // Aliases are names of their own.
    assert_eq!(
        config_get(&c, &["slave-read*", "replica-read*"]),
        vec![
            ("slave-read-only".into(), "yes".into()),
            ("replica-read-only".into(), "yes".into())
        ]
    );
    assert_eq!(config_get(&c, &["slaveof", "replicaof"]).len(), 2);
    // Hidden options answer only their exact name.
    assert_eq!(config_get(&c, &["use-exit-on-panic"]).len(), 1);
    assert_eq!(config_get(&c, &["use-exit*"]), vec![]);
    // Several patterns, case-insensitive.
    let names: Vec<String> = config_get(&c, &["MAXMEMORY*", "hz"])
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        names,
        vec![
            "maxmemory",
            "maxmemory-policy",
            "maxmemory-samples",
            "maxmemory-eviction-tenacity",
            "maxmemory-clients",
            "hz"
        ]
    );
    assert_eq!(
        config_get(&c, &["save", "appendonly", "cluster-enabled"]).len(),
        3
    );
    assert_eq!(get(&c, "save"), "3600 1 300 100 60 10000");
    assert_eq!(get(&c, "bind"), "* -::*");
    assert_eq!(get(&c, "proto-max-bulk-len"), "536870912");
    assert_eq!(get(&c, "unixsocketperm"), "0");
    assert_eq!(get(&cfg("unixsocketperm 700\n"), "unixsocketperm"), "700");
}

// --------------------------------------------------------------- CONFIG SET

#[test]
fn config_set_changes_values_and_reports_them() {
    let mut c = Config::default();
    assert_eq!(
        set(
            &mut c,
            &[("maxmemory", "1kb"), ("MAXMEMORY-POLICY", "allkeys-lfu")]
        ),
        Ok(vec!["maxmemory", "maxmemory-policy"])
    );
    assert_eq!(c.maxmemory(), 1024);
    assert_eq!(get(&c, "maxmemory"), "1024");
    assert!(c.maxmemory_policy().is_lfu());
    assert_eq!(
        set(&mut c, &[("maxmemory", "1024")]),
        Ok(vec![]),
        "no change"
    );
    assert_eq!(set(&mut c, &[("maxmemory", "")]), Ok(vec!["maxmemory"]));
    assert_eq!(c.maxmemory(), 0);
    assert_eq!(set(&mut c, &[("hz", "0")]), Ok(vec!["hz"]));
    assert_eq!(get(&c, "hz"), "1");
    assert_eq!(set(&mut c, &[("hz", "100000")]), Ok(vec!["hz"]));
    assert_eq!(get(&c, "hz"), "500");
    // Name and alias of one option in one call: the last one wins (as Redis).
    assert!(set(
        &mut c,
        &[("replica-priority", "5"), ("slave-priority", "6")]
    )
    .is_ok());
    assert_eq!(get(&c, "replica-priority"), "6");
    // Multi-argument values are split at every space.
    assert!(set(&mut c, &[("save", "100 5 60 1")]).is_ok());
    assert_eq!(get(&c, "save"), "100 5 60 1");
    assert!(set(&mut c, &[("save", "")]).is_ok());
    assert!(c.save_params().is_empty());
    assert!(set(&mut c, &[("client-output-buffer-limit", "normal 1mb 2k 3")]).is_ok());
    assert_eq!(
        get(&c, "client-output-buffer-limit"),
        "normal 1048576 2000 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert!(set(&mut c, &[("notify-keyspace-events", "KEA")]).is_ok());
    assert_eq!(get(&c, "notify-keyspace-events"), "AKE");
    assert!(set(&mut c, &[("shutdown-on-sigint", "now save")]).is_ok());
    assert_eq!(get(&c, "shutdown-on-sigint"), "save now");
    assert!(set(&mut c, &[("maxmemory-clients", "10%")]).is_ok());
    assert_eq!(get(&c, "maxmemory-clients"), "10%");
    assert!(set(&mut c, &[("requirepass", "secret")]).is_ok());
    assert_eq!(c.requirepass(), Some(&b"secret"[..]));
    assert!(set(&mut c, &[("requirepass", "")]).is_ok());
    assert_eq!(c.requirepass(), None);
    assert_eq!(get(&c, "requirepass"), "");
    assert!(set(&mut c, &[("latency-tracking-info-percentiles", "50 99.99")]).is_ok());
    assert_eq!(get(&c, "latency-tracking-info-percentiles"), "50 99.99");
}

#[test]
fn config_set_errors_match_redis() {
    let mut c = Config::default();
    assert_eq!(
        set_err(&mut c, &[("foo", "bar")]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        set_err(&mut c, &[("port", "abc")]),
        "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
    );
    for name in [
        "DATABASES",
        "bind",
        "threads",
        "cluster-enabled",
        "daemonize",
        "appendfilename",
        "unixsocketperm",
        "replicaof",
    ] {
        assert_eq!(
            set_err(&mut c, &[(name, "1")]),
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")
        );
    }
    for name in ["dir", "dbfilename"] {
        assert_eq!(
            set_err(&mut c, &[(name, "x")]),
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config")
        );
    }
    assert_eq!(
        set_err(&mut c, &[("maxmemory", "1xb")]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    );
    assert_eq!(
        set_err(&mut c, &[("MAXMEMORY", "x")]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
        "the option's own name is shown for bad values"
    );
    assert_eq!(
        set_err(&mut c, &[("slave-priority", "x")]),
        "ERR CONFIG SET failed (possibly related to argument 'slave-priority') - argument couldn't be parsed into an integer"
    );
    assert_eq!(
        set_err(&mut c, &[("HZ", "1"), ("hz", "2")]),
        "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"
    );
    assert_eq!(
        set_err(&mut c, &[("hz", "1"), ("maxmemory", "10mb"), ("foo", "1")]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        set_err(&mut c, &[("databases", "1"), ("foo", "1")]),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
        "the first error wins"
    );
    assert_eq!(
        set_err(&mut c, &[("loglevel", "foo")]),
        "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"
    );
    assert_eq!(
        set_err(&mut c, &[("save", "1 2 3")]),
        "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"
    );
    assert_eq!(
        set_err(&mut c, &[("timeout", "99999999999")]),
        "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"
    );
    assert_eq!(
        set_err(&mut c, &[("maxmemory-clients", "200%")]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"
    );
    assert_eq!(
        set_err(&mut c, &[("maxmemory-clients", "-5")]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value"
    );
    assert_eq!(
        set_err(&mut c, &[("client-output-buffer-limit", "normal 1 2")]),
        "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."
    );
    assert_eq!(
        set_err(&mut c, &[("client-output-buffer-limit", "master 1 2 3")]),
        "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration."
    );
    assert_eq!(
        set_err(&mut c, &[("client-output-buffer-limit", "normal 1 2 -3")]),
        "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration."
    );
    assert_eq!(
        set_err(&mut c, &[("oom-score-adj-values", "1 2")]),
        "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - wrong number of arguments"
    );
    assert_eq!(
        set_err(&mut c, &[("oom-score-adj-values", "1 2 3000")]),
        "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - Invalid oom-score-adj-values, elements must be between -2000 and 2000."
    );
    assert_eq!(
        set_err(&mut c, &[("shutdown-on-sigint", "save nosave")]),
        "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - shutdown options SAVE and NOSAVE can't be used simultaneously"
    );
    assert_eq!(
        set_err(&mut c, &[("latency-tracking-info-percentiles", "50 abc")]),
        "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters"
    );
    assert_eq!(
        set_err(&mut c, &[("latency-tracking-info-percentiles", "50 101")]),
        "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
    );
    assert_eq!(
        set_err(&mut c, &[("proto-max-bulk-len", "1")]),
        "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"
    );
    assert_eq!(
        set_err(&mut c, &[("repl-backlog-size", "0")]),
        "ERR CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be between 1 and 9223372036854775807 inclusive"
    );
    assert_eq!(
        set_err(&mut c, &[("cluster-announce-hostname", "a_b")]),
        "ERR CONFIG SET failed (possibly related to argument 'cluster-announce-hostname') - Hostnames may only contain alphanumeric characters, hyphens or dots"
    );
    assert_eq!(
        set_err(&mut c, &[("notify-keyspace-events", "q")]),
        "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    );
    assert_eq!(
        set_err(&mut c, &[("appendonly", "maybe")]),
        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"
    );
}

#[test]
fn config_set_is_all_or_nothing() {
    let mut c = Config::default();
    let err = set_err(&mut c, &[("hz", "11"), ("save", "1 1"), ("maxmemory", "x")]);
    assert!(err.contains("'maxmemory'"), "{err}");
    assert_eq!(get(&c, "hz"), "10");
    assert_eq!(get(&c, "save"), "3600 1 300 100 60 10000");
    // Loading-time and protected checks.
    let ctx = SetContext {
        client_is_local: false,
        loading: true,
    };
    assert_eq!(
        c.config_set_with(&[(b"appendonly", b"yes")], ctx),
        Err(ERR_LOADING.to_string())
    );
    assert!(!c.appendonly());
    assert!(c.config_set_with(&[(b"hz", b"20")], ctx).is_ok());
}

#[test]
fn protected_configs_need_enable_protected_configs() {
    let tmp = tempdir();
    let d = tmp.path().to_string_lossy().into_owned();
    let mut c = cfg("enable-protected-configs local\n");
    let local = SetContext {
        client_is_local: true,
        loading: false,
    };
    let pairs = [(&b"dir"[..], d.as_bytes())];
    assert!(c.config_set(&pairs).is_err(), "remote clients may not");
    assert_eq!(c.config_set_with(&pairs, local), Ok(vec!["dir"]));
    let canon = std::fs::canonicalize(tmp.path()).map(|p| p.to_string_lossy().into_owned());
    assert_eq!(Some(c.dir().to_string()), canon.ok());
    assert_eq!(
        c.config_set_with(&[(b"dir", b"/nonexistent-shardis-dir")], local),
        Err("ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory".into())
    );
    assert_eq!(
        c.config_set_with(&[(b"dbfilename", b"a/b")], local),
        Err("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename".into())
    );
    let mut c = cfg("enable-protected-configs yes\n");
    assert!(set(&mut c, &[("dbfilename", "x.rdb")]).is_ok());
    assert_eq!(c.dbfilename(), "x.rdb");
}

#[test]
fn sensitive_options() {
    assert!(Config::is_sensitive(b"requirepass"));
    assert!(Config::is_sensitive(b"MASTERAUTH"));
    assert!(Config::is_sensitive(b"masteruser"));
    assert!(!Config::is_sensitive(b"port"));
}

// ----------------------------------------------------------- CONFIG REWRITE

#[test]
fn rewrite_matches_redis() {
    let tmp = tempdir();
    let d = match std::fs::canonicalize(tmp.path()) {
        Ok(d) => d.to_string_lossy().into_owned(),
        Err(e) => panic!("{e}"),
    };
    let path = Path::new(&d).join("r.conf");
    write(&Path::new(&d).join("inc.conf"), "timeout 5\n");
    let original = format!(
        "# Redis config for rewrite test\n\
         bind 127.0.0.1\n\
         port 7397\n\
         \n   # indented comment\n\
         dir {d}\n\
         save 900 1\nsave 300 10\nsave 60 10000\n\
         hz 20\nhz 30\n\
         slave-priority 50\n\
         maxmemory 100mb\n\
         unixsocket \"\"\n\
         include {d}/inc.conf\n\
         rename-command FLUSHALL \"\"\n\
         user default on nopass ~* &* +@all\n\
         latency-tracking-info-percentiles 50 99 99.9\n\
         client-output-buffer-limit normal 0 0 0\n\
         client-output-buffer-limit replica 256mb 64mb 60\n\
         client-output-buffer-limit pubsub 32mb 8mb 60\n\
         notify-keyspace-events \"\"\n\
         requirepass foo\n\
         loglevel notice\n\
         \tlist-max-ziplist-entries 5\n\
         \n\n# tail\n"
    );
    let mut c = cfg(&original);
    // Lines added to the file after the server read it.
    write(
        &path,
        &original.replace("hz 30\n", "hz 30\nbogus-directive 1\nport \"unterminated\n"),
    );
    assert!(set(
        &mut c,
        &[
            ("maxmemory", "3000"),
            ("notify-keyspace-events", "Kx"),
            ("save", "100 5"),
            ("hz", "15"),
            ("appendfsync", "always"),
            ("client-output-buffer-limit", "pubsub 1mb 1kb 5"),
        ]
    )
    .is_ok());
    assert!(set(&mut c, &[("requirepass", "")]).is_ok());
    if let Err(e) = c.rewrite(&path) {
        panic!("{e}");
    }
    // What redis-server 7.0.15 wrote in the same situation, but for its
    // `user` line, which shardis leaves as it was.
    let expected = format!(
        "# Redis config for rewrite test\n\
         bind 127.0.0.1\n\
         port 7397\n\
         \n\
         # indented comment\n\
         dir \"{d}\"\n\
         save 100 5\n\
         \n\
         hz 15\n\
         \n\
         # ??? bogus-directive 1\n\
         # ??? port \"unterminated\n\
         replica-priority 50\n\
         maxmemory 3000\n\
         \n\
         include {d}/inc.conf\n\
         rename-command FLUSHALL \"\"\n\
         user default on nopass ~* &* +@all\n\
         latency-tracking-info-percentiles 50 99 99.9\n\
         client-output-buffer-limit normal 0 0 0\n\
         client-output-buffer-limit replica 256mb 64mb 60\n\
         client-output-buffer-limit pubsub 1mb 1kb 5\n\
         notify-keyspace-events \"xK\"\n\
         \n\
         loglevel notice\n\
         # ??? list-max-ziplist-entries 5\n\
         \n\
         # tail\n\
         \n\
         # Generated by CONFIG REWRITE\n\
         appendfsync always\n\
         timeout 5\n"
    );
    // Redis appends in hash order; shardis in table order.
    let got = read(&path);
    let sort_tail = |s: &str| {
        let (head, tail) = s
            .split_once("# Generated by CONFIG REWRITE\n")
            .unwrap_or((s, ""));
        let mut t: Vec<&str> = tail.lines().collect();
        t.sort_unstable();
        (head.to_string(), t.join("\n"))
    };
    assert_eq!(sort_tail(&got), sort_tail(&expected));
    // Like Redis, a second rewrite keeps the old file's last newline as one
    // blank line, and from then on nothing changes. No temp file is left.
    if let Err(e) = c.rewrite(&path) {
        panic!("{e}");
    }
    assert_eq!(read(&path), format!("{got}\n"));
    if let Err(e) = c.rewrite(&path) {
        panic!("{e}");
    }
    assert_eq!(read(&path), format!("{got}\n"));
    let entries: Vec<String> = match std::fs::read_dir(&d) {
        Ok(it) => it
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(entries.len(), 2, "{entries:?}");
}

#[test]
fn rewrite_of_a_new_file_and_round_trip() {
    let tmp = tempdir();
    let path = tmp.path().join("new.conf");
    let mut c = cfg(&format!("dir {}\n", tmp.path().display()));
    assert!(set(
        &mut c,
        &[
            ("maxmemory", "2gb"),
            ("requirepass", "p \"q\"\n"),
            ("save", ""),
            ("appendonly", "yes"),
            ("maxmemory-clients", "5%"),
            ("proto-max-bulk-len", "1000000000"),
        ]
    )
    .is_ok());
    if let Err(e) = c.rewrite(&path) {
        panic!("{e}");
    }
    let text = read(&path);
    assert!(
        text.starts_with("# Generated by CONFIG REWRITE\n"),
        "{text}"
    );
    for line in [
        "maxmemory 2gb",
        "requirepass \"p \\\"q\\\"\\n\"",
        "save \"\"",
        "appendonly yes",
        "maxmemory-clients 5%",
        "proto-max-bulk-len 1000000000",
        "latency-tracking-info-percentiles 50 99 99.9",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(!text.contains("port "), "defaults are not written: {text}");
    assert!(
        !text.contains("bind"),
        "default bind is not written: {text}"
    );
    // Reading it back gives the same values.
    let back = cfg(&text);
    let all = |c: &Config| config_get(c, &["*"]);
    assert_eq!(all(&back), all(&c));
}

#[test]
fn rewrite_removes_options_back_at_default_only_when_unset() {
    let tmp = tempdir();
    let path = tmp.path().join("r.conf");
    let text = "bind 10.0.0.1\nmaxmemory 1mb\npidfile /tmp/x.pid\n";
    write(&path, text);
    let mut c = cfg(text);
    assert!(set(&mut c, &[("maxmemory", "0")]).is_ok());
    c.values[Id::Bind as usize] =
        Value::Bind(BIND_DEFAULT.iter().map(|s| s.as_bytes().to_vec()).collect());
    c.values[Id::Pidfile as usize] = Value::Str(None);
    if let Err(e) = c.rewrite(&path) {
        panic!("{e}");
    }
    let got = read(&path);
    // A default bind and an unset pidfile are removed; maxmemory keeps its
    // line with the default value. dir, save and percentiles are forced.
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "");
    assert_eq!(lines[1], "maxmemory 0");
    assert_eq!(lines[2], "");
    assert_eq!(lines[3], "# Generated by CONFIG REWRITE");
    assert!(
        got.contains("\nsave 3600 1\nsave 300 100\nsave 60 10000\n"),
        "{got}"
    );
}

#[test]
fn rewrite_config_file_errors() {
    let c = Config::default();
    assert_eq!(c.rewrite_config_file(), Err(ERR_NO_CONFIG_FILE.to_string()));
    let mut c = Config::default();
    c.set_config_file(Some(PathBuf::from("/nonexistent-shardis-dir/x.conf")));
    assert_eq!(
        c.rewrite_config_file(),
        Err("ERR Rewriting config file: No such file or directory".to_string())
    );
}

// ------------------------------------------------------------- redis.conf

#[test]
fn loads_debian_redis_conf() {
    let path = Path::new("/etc/redis/redis.conf");
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) => {
            println!("skipped: cannot read {}: {e}", path.display());
            return;
        }
    };
    let c = match Config::from_text(&text) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(c.bind(), vec!["127.0.0.1".to_string(), "-::1".to_string()]);
    assert_eq!(c.port(), 6379);
    assert!(c.daemonize());
    assert_eq!(c.pidfile(), Some("/run/redis/redis-server.pid"));
    assert_eq!(c.logfile(), "/var/log/redis/redis-server.log");
    assert_eq!(c.dir(), "/var/lib/redis");
    assert_eq!(
        get(&c, "client-output-buffer-limit"),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert_eq!(
        get(&c, "proc-title-template"),
        "{title} {listen-addr} {server-mode}"
    );
    // Rewriting it keeps every comment.
    let out = rewrite::rewrite_content(&c, Some(&text));
    let comments = |b: &[u8]| {
        b.split(|&x| x == b'\n')
            .filter(|l| trim_line(l).first() == Some(&b'#'))
            .count()
    };
    assert_eq!(
        comments(&out),
        comments(&text) + 1,
        "one more: the signature"
    );
}

#[test]
fn loads_the_project_shardis_conf() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("shardis.conf");
    let Ok(text) = std::fs::read(&path) else {
        println!("skipped: no {}", path.display());
        return;
    };
    if let Err(e) = Config::from_text(&text) {
        panic!("{e}");
    }
}
