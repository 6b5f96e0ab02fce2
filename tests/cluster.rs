//! Single-node cluster mode through the real binary: identity and nodes.conf,
//! slot assignment and cluster_state, the CLUSTER subcommands, the cluster
//! errors, moving per-slot tables between cores when slots are added, and
//! Redis's tools (`redis-cli -c`, `redis-cli --cluster check`). Where
//! redis-server is installed, replies are compared with its own.

mod common;

use common::*;
use redis::Value;
use std::time::Duration;

const CLUSTER: &[&str] = &["--cluster-enabled", "yes", "--threads", "2"];
const OK_WAIT: Duration = Duration::from_secs(15);

/// Sends one command on a raw connection; the reply as text.
fn call(r: &mut Raw, args: &[&str]) -> String {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    String::from_utf8_lossy(&r.call(&a)).into_owned()
}

fn myid(c: &mut redis::Connection) -> String {
    query(c, &["CLUSTER", "MYID"])
}

fn own_all_slots(s: &Server) -> redis::Connection {
    let mut c = s.conn();
    let r: String = query(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    assert_eq!(r, "OK");
    assert!(
        wait_cluster_state(&mut c, "ok", OK_WAIT),
        "cluster_state never became ok\n{}",
        s.log_text()
    );
    c
}

/// Checks one nodes.conf line of the form
/// `<id> <ip>:<port>@<cport>[,<hostname>] <flags> <master> <ping> <pong> <epoch> <link> <slot>...`
/// and returns its fields.
fn check_node_line(line: &str, id: &str, port: u16) -> Vec<String> {
    let f: Vec<String> = line.split(' ').map(str::to_string).collect();
    assert!(f.len() >= 8, "short node line: {line:?}");
    assert_eq!(f[0], id, "{line:?}");
    let addr = f[1].split(',').next().unwrap_or("");
    let (ip_port, cport) = addr.split_once('@').expect("@cport");
    let (_ip, p) = ip_port.rsplit_once(':').expect("ip:port");
    assert_eq!(p, port.to_string(), "{line:?}");
    assert_eq!(cport, (port + 10000).to_string(), "{line:?}");
    assert_eq!(f[2], "myself,master", "{line:?}");
    assert_eq!(f[3], "-", "{line:?}");
    assert!(f[4..7].iter().all(|n| n.parse::<u64>().is_ok()), "{line:?}");
    assert_eq!(f[7], "connected", "{line:?}");
    f
}

fn nodes_conf(s: &Server) -> String {
    std::fs::read_to_string(s.path().join("nodes.conf")).expect("nodes.conf exists")
}

#[test]
fn identity_and_slots_survive_a_restart_in_nodes_conf() {
    let s = Server::start(CLUSTER);
    let mut c = s.conn();
    let id = myid(&mut c);
    assert_eq!(id.len(), 40);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

    // Redis's format: one line per node, then the vars line.
    let text = nodes_conf(&s);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let f = check_node_line(lines[0], &id, s.port);
    assert_eq!(f.len(), 8, "no slots yet: {text}");
    assert_eq!(lines[1], "vars currentEpoch 0 lastVoteEpoch 0");
    assert!(text.ends_with('\n'));

    let _ = own_all_slots(&s);
    let text = nodes_conf(&s);
    let lines: Vec<&str> = text.lines().collect();
    let f = check_node_line(lines[0], &id, s.port);
    assert_eq!(&f[8..], ["0-16383"], "{text}");

    let dir = s.stop();
    let s = Server::start_in(dir, CLUSTER);
    let mut c = s.conn();
    assert_eq!(myid(&mut c), id, "the id is kept across restarts");
    let nodes: String = query(&mut c, &["CLUSTER", "NODES"]);
    let f = check_node_line(nodes.trim_end(), &id, s.port);
    assert_eq!(&f[8..], ["0-16383"], "slots are kept: {nodes}");
    assert!(wait_cluster_state(&mut c, "ok", OK_WAIT));
    // The file now names the new port.
    let text = nodes_conf(&s);
    check_node_line(text.lines().next().unwrap_or(""), &id, s.port);
    assert_eq!(query::<String>(&mut c, &["SET", "foo", "bar"]), "OK");
}

#[test]
fn unserved_slots_then_full_coverage_and_the_cluster_errors() {
    let s = Server::start(CLUSTER);
    let mut r = s.raw();
    assert_eq!(
        call(&mut r, &["SET", "foo", "bar"]),
        "-CLUSTERDOWN Hash slot not served\r\n"
    );
    assert_eq!(
        call(&mut r, &["GET", "foo"]),
        "-CLUSTERDOWN Hash slot not served\r\n"
    );
    // Keyless commands still work.
    assert_eq!(call(&mut r, &["PING"]), "+PONG\r\n");
    let mut c = s.conn();
    let info: String = query(&mut c, &["CLUSTER", "INFO"]);
    assert_eq!(info_field(&info, "cluster_state").as_deref(), Some("fail"));
    assert_eq!(
        info_field(&info, "cluster_slots_assigned").as_deref(),
        Some("0")
    );
    assert_eq!(
        call(&mut r, &["SELECT", "1"]),
        "-ERR SELECT is not allowed in cluster mode\r\n"
    );
    assert_eq!(call(&mut r, &["SELECT", "0"]), "+OK\r\n");

    let mut c = own_all_slots(&s);
    let info: String = query(&mut c, &["CLUSTER", "INFO"]);
    for (k, v) in [
        ("cluster_state", "ok"),
        ("cluster_slots_assigned", "16384"),
        ("cluster_slots_ok", "16384"),
        ("cluster_slots_pfail", "0"),
        ("cluster_slots_fail", "0"),
        ("cluster_known_nodes", "1"),
        ("cluster_size", "1"),
    ] {
        assert_eq!(info_field(&info, k).as_deref(), Some(v), "{k}: {info}");
    }

    assert_eq!(call(&mut r, &["SET", "foo", "bar"]), "+OK\r\n");
    assert_eq!(call(&mut r, &["GET", "foo"]), "$3\r\nbar\r\n");
    let id = myid(&mut c);
    assert_eq!(
        call(&mut r, &["CLUSTER", "MYID"]),
        format!("$40\r\n{id}\r\n")
    );

    // KEYSLOT: Redis's documented examples and our independent CRC.
    assert_eq!(call(&mut r, &["CLUSTER", "KEYSLOT", "foo"]), ":12182\r\n");
    assert_eq!(
        call(&mut r, &["CLUSTER", "KEYSLOT", "somekey"]),
        ":11058\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLUSTER", "KEYSLOT", "foo{hash_tag}"]),
        call(&mut r, &["CLUSTER", "KEYSLOT", "bar{hash_tag}"])
    );
    for k in ["", "{}", "{}a", "a{b}c", "{a}{b}", "x{"] {
        assert_eq!(
            call(&mut r, &["CLUSTER", "KEYSLOT", k]),
            format!(":{}\r\n", slot_of(k.as_bytes())),
            "key {k:?}"
        );
    }

    // COUNTKEYSINSLOT / GETKEYSINSLOT.
    let tag_slot = slot_of(b"{user1}").to_string();
    for i in 0..5 {
        assert_eq!(
            call(&mut r, &["SET", &format!("{{user1}}:{i}"), "v"]),
            "+OK\r\n"
        );
    }
    assert_eq!(
        call(&mut r, &["CLUSTER", "COUNTKEYSINSLOT", &tag_slot]),
        ":5\r\n"
    );
    let mut keys: Vec<String> = query(&mut c, &["CLUSTER", "GETKEYSINSLOT", &tag_slot, "10"]);
    keys.sort();
    let want: Vec<String> = (0..5).map(|i| format!("{{user1}}:{i}")).collect();
    assert_eq!(keys, want);
    let two: Vec<String> = query(&mut c, &["CLUSTER", "GETKEYSINSLOT", &tag_slot, "2"]);
    assert_eq!(two.len(), 2);
    assert_eq!(
        call(&mut r, &["CLUSTER", "COUNTKEYSINSLOT", "16384"]),
        "-ERR Invalid slot\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLUSTER", "GETKEYSINSLOT", "1", "-1"]),
        "-ERR Invalid slot or number of keys\r\n"
    );

    // Keys of different slots in one command, and the same hash tag.
    assert_eq!(
        call(&mut r, &["MSET", "a", "1", "b", "2"]),
        "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert_eq!(
        call(&mut r, &["MGET", "a", "b"]),
        "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert_eq!(
        call(&mut r, &["DEL", "foo", "a"]),
        "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert_eq!(
        call(&mut r, &["RENAME", "foo", "a"]),
        "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert_eq!(call(&mut r, &["MSET", "{t}a", "1", "{t}b", "2"]), "+OK\r\n");
    assert_eq!(
        call(&mut r, &["MGET", "{t}a", "{t}b", "{t}c"]),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"
    );
    assert_eq!(call(&mut r, &["RENAME", "{t}a", "{t}z"]), "+OK\r\n");
    assert_eq!(call(&mut r, &["DEL", "{t}z", "{t}b"]), ":2\r\n");

    // SLOTS and SHARDS name this node.
    let slots: Value = query(&mut c, &["CLUSTER", "SLOTS"]);
    let want = Value::Array(vec![Value::Array(vec![
        Value::Int(0),
        Value::Int(16383),
        Value::Array(vec![
            // Redis learns its own IP from a peer; alone, it shows "".
            Value::BulkString(b"".to_vec()),
            Value::Int(s.port as i64),
            Value::BulkString(id.clone().into_bytes()),
            Value::Array(vec![]),
        ]),
    ])]);
    assert_eq!(slots, want);
    let shards = call(&mut r, &["CLUSTER", "SHARDS"]);
    assert!(
        shards
            .starts_with("*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n"),
        "{shards:?}"
    );
    assert!(shards.contains(&id), "{shards:?}");
    assert!(
        shards.contains(&format!("$4\r\nport\r\n:{}\r\n", s.port)),
        "{shards:?}"
    );
}

#[test]
fn delslots_flushslots_and_reset() {
    let s = Server::start(CLUSTER);
    let mut c = own_all_slots(&s);
    let mut r = s.raw();
    assert_eq!(call(&mut r, &["SET", "foo", "bar"]), "+OK\r\n");
    assert_eq!(call(&mut r, &["SET", "somekey", "x"]), "+OK\r\n");

    // FLUSHSLOTS and RESET refuse while keys exist.
    assert_eq!(
        call(&mut r, &["CLUSTER", "FLUSHSLOTS"]),
        "-ERR DB must be empty to perform CLUSTER FLUSHSLOTS.\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLUSTER", "RESET", "HARD"]),
        "-ERR CLUSTER RESET can't be called with master nodes containing keys\r\n"
    );

    // DELSLOTS of a slot holding a key: its keys are not served.
    assert_eq!(call(&mut r, &["CLUSTER", "DELSLOTS", "12182"]), "+OK\r\n");
    assert_eq!(
        call(&mut r, &["GET", "foo"]),
        "-CLUSTERDOWN Hash slot not served\r\n"
    );
    assert!(
        wait_cluster_state(&mut c, "fail", OK_WAIT),
        "state must turn fail without full coverage"
    );
    assert_eq!(
        call(&mut r, &["CLUSTER", "COUNTKEYSINSLOT", "12182"]),
        ":1\r\n",
        "the key is still held, as in Redis"
    );
    let nodes: String = query(&mut c, &["CLUSTER", "NODES"]);
    assert!(
        nodes.trim_end().ends_with(" 0-12181 12183-16383"),
        "{nodes}"
    );
    assert_eq!(
        call(&mut r, &["CLUSTER", "DELSLOTS", "12182"]),
        "-ERR Slot 12182 is already unassigned\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLUSTER", "ADDSLOTS", "0"]),
        "-ERR Slot 0 is already busy\r\n"
    );
    assert_eq!(call(&mut r, &["CLUSTER", "ADDSLOTS", "12182"]), "+OK\r\n");
    assert!(wait_cluster_state(&mut c, "ok", OK_WAIT));
    assert_eq!(call(&mut r, &["GET", "foo"]), "$3\r\nbar\r\n");

    // Emptied, the node may flush its slots and reset to a new identity.
    assert_eq!(call(&mut r, &["FLUSHALL"]), "+OK\r\n");
    let id = myid(&mut c);
    assert_eq!(call(&mut r, &["CLUSTER", "RESET", "SOFT"]), "+OK\r\n");
    assert_eq!(myid(&mut c), id, "a soft reset keeps the id");
    assert_eq!(
        call(&mut r, &["GET", "foo"]),
        "-CLUSTERDOWN Hash slot not served\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLUSTER", "ADDSLOTSRANGE", "0", "100"]),
        "+OK\r\n"
    );
    assert_eq!(call(&mut r, &["CLUSTER", "FLUSHSLOTS"]), "+OK\r\n");
    let info: String = query(&mut c, &["CLUSTER", "INFO"]);
    assert_eq!(
        info_field(&info, "cluster_slots_assigned").as_deref(),
        Some("0")
    );
    assert_eq!(call(&mut r, &["CLUSTER", "RESET", "HARD"]), "+OK\r\n");
    let new_id = myid(&mut c);
    assert_ne!(new_id, id, "a hard reset makes a new id");
    assert_eq!(new_id.len(), 40);
    let text = nodes_conf(&s);
    check_node_line(text.lines().next().unwrap_or(""), &new_id, s.port);
}

/// Per-shard `keys=` and `slots=` from INFO shards.
fn shard_figures(c: &mut redis::Connection) -> Vec<(usize, usize)> {
    let info: String = query(c, &["INFO", "shards"]);
    info_shards(&info)
        .iter()
        .map(|m| {
            let n = |k: &str| m.get(k).and_then(|v| v.parse().ok()).unwrap_or(usize::MAX);
            (n("slots"), n("keys"))
        })
        .collect()
}

#[test]
fn adding_slots_moves_per_slot_tables_between_cores() {
    let mut args = CLUSTER.to_vec();
    args.extend(["--cluster-require-full-coverage", "no"]);
    let s = Server::start(&args);
    let mut c = s.conn();
    let _: String = query(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]);
    assert!(
        wait_cluster_state(&mut c, "ok", OK_WAIT),
        "with cluster-require-full-coverage no, half the slots are enough\n{}",
        s.log_text()
    );
    // The owned half is split over both cores.
    let figs = shard_figures(&mut c);
    assert_eq!(figs.len(), 2);
    assert_eq!((figs[0].0, figs[1].0), (4096, 4096), "{figs:?}");

    // Keys over the owned slots; the first quarter on core 0, the second on core 1.
    let keys: Vec<String> = (0..)
        .map(|i| format!("k:{i}"))
        .filter(|k| slot_of(k.as_bytes()) < 8192)
        .take(400)
        .collect();
    let mut r = s.raw();
    for k in &keys {
        assert_eq!(call(&mut r, &["SET", k, k]), "+OK\r\n");
    }
    let on_core1 = keys
        .iter()
        .filter(|k| slot_of(k.as_bytes()) >= 4096)
        .count();
    let figs = shard_figures(&mut c);
    assert_eq!(
        (figs[0].1, figs[1].1),
        (keys.len() - on_core1, on_core1),
        "{figs:?}"
    );
    // A key of an unowned slot is refused.
    let outside = (0..)
        .map(|i| format!("k:{i}"))
        .find(|k| slot_of(k.as_bytes()) >= 8192)
        .unwrap_or_default();
    assert_eq!(
        call(&mut r, &["SET", &outside, "x"]),
        "-CLUSTERDOWN Hash slot not served\r\n"
    );

    // Gaining the other half: core 0 now takes 0-8191, core 1 8192-16383,
    // so the tables of slots 4096-8191 move to core 0.
    let _: String = query(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "8192", "16383"]);
    let figs = shard_figures(&mut c);
    assert_eq!((figs[0].0, figs[1].0), (8192, 8192), "{figs:?}");
    assert_eq!((figs[0].1, figs[1].1), (keys.len(), 0), "{figs:?}");
    assert!(wait_cluster_state(&mut c, "ok", OK_WAIT));
    for k in &keys {
        assert_eq!(
            call(&mut r, &["GET", k]),
            format!("${}\r\n{k}\r\n", k.len())
        );
    }
    // COUNTKEYSINSLOT still right for moved and unmoved slots.
    let mut per_slot = std::collections::BTreeMap::new();
    for k in &keys {
        *per_slot.entry(slot_of(k.as_bytes())).or_insert(0usize) += 1;
    }
    for (slot, n) in per_slot.iter().step_by(7) {
        assert_eq!(
            call(&mut r, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]),
            format!(":{n}\r\n"),
            "slot {slot}"
        );
    }
    assert_eq!(call(&mut r, &["DBSIZE"]), format!(":{}\r\n", keys.len()));

    // Losing the low half moves nothing back, but the keys are unserved.
    let _: String = query(&mut c, &["CLUSTER", "DELSLOTSRANGE", "0", "8191"]);
    assert_eq!(
        call(&mut r, &["GET", &keys[0]]),
        "-CLUSTERDOWN Hash slot not served\r\n"
    );
    assert_eq!(call(&mut r, &["DBSIZE"]), format!(":{}\r\n", keys.len()));
    // And back again: everything readable.
    let _: String = query(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]);
    assert!(wait_cluster_state(&mut c, "ok", OK_WAIT));
    for k in keys.iter().step_by(13) {
        assert_eq!(
            call(&mut r, &["GET", k]),
            format!("${}\r\n{k}\r\n", k.len())
        );
    }
}

#[test]
fn multi_key_commands_stay_on_one_core_without_redirections() {
    let s = Server::start(CLUSTER);
    let _ = own_all_slots(&s);
    // Hash tags whose slots are on core 0 and on core 1.
    let tag_on = |core: u16| {
        (0..)
            .map(|i| format!("{{tag{i}}}"))
            .find(|t| (slot_of(t.as_bytes()) >= 8192) == (core == 1))
            .unwrap_or_default()
    };
    let tags = [tag_on(0), tag_on(1)];
    // Several connections, so the kernel spreads them over both cores.
    let mut conns: Vec<Raw> = (0..8).map(|_| s.raw()).collect();
    for (i, r) in conns.iter_mut().enumerate() {
        for t in &tags {
            let (a, b, d) = (format!("{t}a{i}"), format!("{t}b{i}"), format!("{t}d{i}"));
            assert_eq!(call(r, &["MSET", &a, "1", &b, "2"]), "+OK\r\n");
            assert_eq!(
                call(r, &["MGET", &a, &b, &d]),
                "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"
            );
            assert_eq!(call(r, &["MSETNX", &a, "9", &d, "9"]), ":0\r\n");
            assert_eq!(call(r, &["RENAME", &a, &d]), "+OK\r\n");
            assert_eq!(call(r, &["COPY", &d, &a]), ":1\r\n");
            assert_eq!(call(r, &["EXISTS", &a, &b, &d]), ":3\r\n");
            assert_eq!(call(r, &["DEL", &a, &b, &d]), ":3\r\n");
        }
    }
    // Pipelined over both tags' slots on one connection: no MOVED/ASK ever.
    let r = &mut conns[0];
    let mut batch = Vec::new();
    for i in 0..200 {
        let t = &tags[i % 2];
        let (a, b) = (format!("{t}x{i}"), format!("{t}y{i}"));
        batch.extend(resp(&[b"MSET", a.as_bytes(), b"v", b.as_bytes(), b"w"]));
        batch.extend(resp(&[b"MGET", a.as_bytes(), b.as_bytes()]));
    }
    r.send(&batch);
    let out = String::from_utf8_lossy(&r.read_replies(400)).into_owned();
    assert_eq!(count_replies(out.as_bytes()), 400);
    assert!(!out.contains("-MOVED") && !out.contains("-ASK") && !out.contains("-ERR"));
    assert_eq!(out.matches("+OK\r\n").count(), 200);
    assert_eq!(
        out.matches("*2\r\n$1\r\nv\r\n$1\r\nw\r\n").count(),
        200,
        "{out}"
    );
}

#[test]
fn redis_cli_cluster_mode_and_cluster_check() {
    if which("redis-cli").is_none() {
        println!("skipped: redis-cli is not installed");
        return;
    }
    let s = Server::start(CLUSTER);
    let _ = own_all_slots(&s);
    let t = Duration::from_secs(20);
    let set = redis_cli(s.port, &["-c", "set", "foo", "bar"], b"", t).expect("cli");
    assert!(set.ok(), "{}", set.stderr);
    assert_eq!(set.stdout, "OK\n");
    let get = redis_cli(s.port, &["-c", "get", "foo"], b"", t).expect("cli");
    assert_eq!(get.stdout, "bar\n");
    // Keys of many slots through one cluster-mode session.
    let mut input = String::new();
    for i in 0..50 {
        input.push_str(&format!("set key:{i} {i}\n"));
    }
    for i in 0..50 {
        input.push_str(&format!("get key:{i}\n"));
    }
    let many = redis_cli(s.port, &["-c"], input.as_bytes(), t).expect("cli");
    assert!(many.ok(), "{}", many.stderr);
    let lines: Vec<&str> = many.stdout.lines().collect();
    assert_eq!(lines.len(), 100, "{}", many.stdout);
    assert!(lines[..50].iter().all(|l| *l == "OK"));
    for (i, l) in lines[50..].iter().enumerate() {
        assert_eq!(*l, i.to_string());
    }

    let ck = run_bounded(
        std::process::Command::new("redis-cli").args([
            "--cluster",
            "check",
            &format!("127.0.0.1:{}", s.port),
        ]),
        b"",
        t,
    );
    assert!(ck.ok(), "{}\n{}", ck.stdout, ck.stderr);
    assert!(
        ck.stdout
            .contains("[OK] All nodes agree about slots configuration."),
        "{}",
        ck.stdout
    );
    assert!(ck.stdout.contains("[OK] All 16384 slots covered."));
    assert!(ck.stdout.contains("51 keys in 1 masters."), "{}", ck.stdout);
    let info = run_bounded(
        std::process::Command::new("redis-cli").args([
            "--cluster",
            "info",
            &format!("127.0.0.1:{}", s.port),
        ]),
        b"",
        t,
    );
    assert!(info.ok(), "{}", info.stderr);
    assert!(info.stdout.contains("51 keys | 16384 slots | 0 slaves."));
}

/// Replaces what differs between two nodes (ids, ports) and what changes
/// between calls (timestamps, message counters) so replies compare.
fn normalize(text: &str, id: &str, port: u16) -> String {
    text.replace(id, "<ID>")
        .replace(&(port + 10000).to_string(), "<CPORT>")
        .replace(&port.to_string(), "<PORT>")
}

#[test]
fn replies_have_the_shape_of_redis_servers() {
    let Some(redis) = Server::redis(&["--cluster-enabled", "yes"]) else {
        println!("skipped: redis-server is not installed");
        return;
    };
    let ours = Server::start(CLUSTER);
    let mut script: Vec<Vec<String>> = Vec::new();
    let mut add = |a: &[&str]| script.push(a.iter().map(|s| s.to_string()).collect());
    add(&["SET", "foo", "bar"]);
    add(&["CLUSTER", "COUNTKEYSINSLOT", "12182"]);
    add(&["CLUSTER", "NODES"]);
    add(&["CLUSTER", "SLOTS"]);
    add(&["CLUSTER", "SHARDS"]);
    add(&["CLUSTER", "ADDSLOTS", "16384"]);
    add(&["CLUSTER", "ADDSLOTS", "x"]);
    add(&["CLUSTER", "ADDSLOTS", "5", "5"]);
    add(&["CLUSTER", "ADDSLOTSRANGE", "5", "1"]);
    add(&["CLUSTER", "ADDSLOTSRANGE", "1"]);
    add(&["CLUSTER", "DELSLOTS", "3"]);
    add(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    add(&["CLUSTER", "ADDSLOTS", "1"]);
    add(&["CLUSTER", "NODES"]);
    add(&["CLUSTER", "SLOTS"]);
    add(&["CLUSTER", "SHARDS"]);
    add(&["CLUSTER", "KEYSLOT", "{user1000}.following"]);
    add(&["CLUSTER", "COUNTKEYSINSLOT", "x"]);
    add(&["CLUSTER", "COUNTKEYSINSLOT", "-1"]);
    add(&["CLUSTER", "GETKEYSINSLOT", "x", "1"]);
    add(&["CLUSTER", "GETKEYSINSLOT", "1", "x"]);
    add(&["CLUSTER", "NOSUCH"]);
    add(&["CLUSTER", "SET-CONFIG-EPOCH", "0"]);
    add(&["CLUSTER", "RESET", "MEDIUM"]);
    add(&["CLUSTER", "DELSLOTSRANGE", "100", "200"]);
    add(&["CLUSTER", "DELSLOTSRANGE", "150", "160"]);
    add(&["CLUSTER", "NODES"]);
    add(&["CLUSTER", "DELSLOTSRANGE", "16000", "16383"]);
    add(&["CLUSTER", "SLOTS"]);
    add(&["READONLY"]);
    add(&["READWRITE"]);
    add(&["MSET", "a", "1", "b", "2"]);
    add(&["SELECT", "1"]);
    add(&["FLUSHALL"]);
    add(&["CLUSTER", "FLUSHSLOTS"]);
    add(&["CLUSTER", "NODES"]);

    let run = |s: &Server| -> Vec<String> {
        let mut c = s.conn();
        let id = myid(&mut c);
        let mut r = s.raw();
        script
            .iter()
            .map(|a| {
                let args: Vec<&str> = a.iter().map(String::as_str).collect();
                normalize(&call(&mut r, &args), &id, s.port)
            })
            .collect()
    };
    let want = run(&redis);
    let got = run(&ours);
    // (A lone node does not know its own IP: Redis learns it from a peer,
    // so NODES and SLOTS show an empty one, on both servers.)
    let diffs: Vec<String> = script
        .iter()
        .zip(&want)
        .zip(&got)
        .filter(|((_, w), g)| g != w)
        .map(|((cmd, w), g)| format!("{cmd:?}\n  redis:   {w:?}\n  shardis: {g:?}"))
        .collect();
    assert!(diffs.is_empty(), "replies differ:\n{}", diffs.join("\n"));

    // Once both serve every slot and report ok: the same replies again.
    let after_ok = |s: &Server| -> Vec<String> {
        let mut c = own_all_slots(s);
        let id = myid(&mut c);
        let mut r = s.raw();
        [
            &["CLUSTER", "INFO"][..],
            &["SET", "foo", "bar"],
            &["MSET", "{t}1", "a", "{t}2", "b"],
            &["MGET", "{t}1", "{t}2", "foo"],
            &["CLUSTER", "COUNTKEYSINSLOT", "12182"],
            &["CLUSTER", "GETKEYSINSLOT", "12182", "5"],
            &["CLUSTER", "DELSLOTS", "12182"],
            &["GET", "foo"],
            &["GET", "{t}1"],
            &["CLUSTER", "INFO"],
            &["CLUSTER", "NODES"],
        ]
        .iter()
        .map(|a| normalize(&call(&mut r, a), &id, s.port))
        .collect()
    };
    assert_eq!(after_ok(&ours), after_ok(&redis));

    // CLUSTER INFO: the same fields in the same order.
    let fields = |s: &Server| -> Vec<String> {
        let mut c = s.conn();
        let info: String = query(&mut c, &["CLUSTER", "INFO"]);
        info.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, _)| k.to_string())
            .collect()
    };
    assert_eq!(fields(&ours), fields(&redis));
    // INFO cluster.
    let mut a = ours.conn();
    let mut b = redis.conn();
    let ia: String = query(&mut a, &["INFO", "cluster"]);
    let ib: String = query(&mut b, &["INFO", "cluster"]);
    assert_eq!(ia, ib);
}

/// A slot change is visible to the very next command, on any connection and
/// so on any core, even while core 0's cluster cron is installing the same
/// change (it used to take the change first and let the command reply
/// before the other core had the new topology).
#[test]
fn slot_changes_are_seen_by_the_next_command_on_every_core() {
    let mut args = CLUSTER.to_vec();
    args.extend(["--cluster-require-full-coverage", "no"]);
    let s = Server::start(&args);
    let mut c = own_all_slots(&s);
    assert_eq!(query::<String>(&mut c, &["SET", "foo", "bar"]), "OK");
    let mut admin = s.raw();
    let mut others: Vec<Raw> = (0..4).map(|_| s.raw()).collect();
    for round in 0..25 {
        for r in others.iter_mut() {
            assert_eq!(
                call(&mut admin, &["CLUSTER", "DELSLOTS", "12182"]),
                "+OK\r\n"
            );
            assert_eq!(
                call(r, &["GET", "foo"]),
                "-CLUSTERDOWN Hash slot not served\r\n",
                "round {round}"
            );
            assert_eq!(
                call(&mut admin, &["CLUSTER", "ADDSLOTS", "12182"]),
                "+OK\r\n"
            );
            assert_eq!(call(r, &["GET", "foo"]), "$3\r\nbar\r\n", "round {round}");
        }
    }
}
