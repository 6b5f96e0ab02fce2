//! Multi-node clusters through the real binary: the bus (MEET, gossip,
//! failure detection), redis-cli --cluster (create, check, info, reshard,
//! rebalance, add-node, del-node, fix), redirections, MIGRATE, cluster-wide
//! PUBLISH, and a mixed cluster with redis-server.

mod common;

use common::cluster::{cli_c, cluster_cli, have_redis_cli, Cluster};
use common::{info_field, query, Server};
use redis::Commands;
use std::time::{Duration, Instant};

const OK_WAIT: Duration = Duration::from_secs(30);

fn started(n: usize, replicas: usize) -> Cluster {
    let c = Cluster::start(n, 2000, &[]);
    c.create(replicas);
    assert!(c.wait_ok(OK_WAIT), "cluster never got ok\n{}", c.logs());
    c
}

fn assert_check_ok(c: &Cluster, i: usize) {
    let ck = c.check(i);
    assert!(
        ck.ok()
            && ck
                .stdout
                .contains("[OK] All nodes agree about slots configuration.")
            && ck.stdout.contains("[OK] All 16384 slots covered."),
        "check failed\n{}\n{}",
        ck.stdout,
        ck.stderr
    );
}

/// The slot ranges on node `i`'s own CLUSTER NODES line.
fn myself_slots(c: &Cluster, i: usize) -> String {
    let nodes: String = query(&mut c.nodes[i].conn(), &["CLUSTER", "NODES"]);
    let line = nodes
        .lines()
        .find(|l| l.contains("myself"))
        .expect("myself");
    line.split(' ').skip(8).collect::<Vec<_>>().join(" ")
}

#[test]
fn three_masters_created_by_redis_cli_serve_a_cluster_client() {
    if !have_redis_cli() {
        return;
    }
    let c = started(3, 0);
    for i in 0..3 {
        assert_check_ok(&c, i);
    }
    let client = c.client();
    let mut conn = client.get_connection().expect("cluster conn");
    for i in 0..2000 {
        let _: () = conn.set(format!("key:{i}"), i).expect("set");
    }
    for i in 0..2000 {
        let v: i64 = conn.get(format!("key:{i}")).expect("get");
        assert_eq!(v, i);
    }
    // Every node holds a share, and -MOVED points at the owner.
    let mut total = 0;
    for s in &c.nodes {
        let n: i64 = query(&mut s.conn(), &["DBSIZE"]);
        assert!(n > 400, "unbalanced: {n}");
        total += n;
    }
    assert_eq!(total, 2000);
    let mut direct = c.nodes[0].conn();
    let mut moved = 0;
    for i in 0..50 {
        let r: redis::RedisResult<Option<String>> = direct.get(format!("key:{i}"));
        if let Err(e) = r {
            assert_eq!(e.code(), Some("MOVED"), "{e:?}");
            moved += 1;
        }
    }
    assert!(moved > 0);
    // redis-cli -c follows redirections.
    let got = cli_c(c.nodes[1].port, &["get", "key:7"]).expect("cli");
    assert_eq!(got.stdout, "7\n");
    let info = cluster_cli(&["info", &c.addr(0)]);
    assert!(info.ok(), "{}", info.stderr);
    assert!(
        info.stdout.contains("[OK] 2000 keys in 3 masters."),
        "{}",
        info.stdout
    );
}

#[test]
fn six_nodes_with_replicas_and_nodes_conf_survives_restart() {
    if !have_redis_cli() {
        return;
    }
    let mut c = started(6, 1);
    assert_check_ok(&c, 0);
    // The replicas' new role reaches node 0 by gossip.
    let deadline = Instant::now() + OK_WAIT;
    let mut nodes = String::new();
    while Instant::now() < deadline {
        nodes = query(&mut c.nodes[0].conn(), &["CLUSTER", "NODES"]);
        if nodes.matches("slave").count() == 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let views: Vec<String> = (3..6)
        .map(|i| query::<String>(&mut c.nodes[i].conn(), &["CLUSTER", "NODES"]))
        .collect();
    assert_eq!(nodes.matches("slave").count(), 3, "{nodes}\n{views:?}");
    assert_eq!(nodes.matches("master").count(), 3, "{nodes}");

    // A restarted master comes back with its id and slots.
    let id = c.id(1);
    let slots_before = myself_slots(&c, 1);
    let port = c.nodes[1].port;
    let old = c.nodes.remove(1);
    let dir = old.stop();
    let args = common::cluster::node_args(2000, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let back = Server::restart_in(dir, port, &args);
    c.nodes.insert(1, back);
    assert_eq!(c.id(1), id);
    assert!(c.wait_ok(OK_WAIT), "no ok after restart\n{}", c.logs());
    assert_eq!(myself_slots(&c, 1), slots_before);
    assert_check_ok(&c, 1);
}

#[test]
fn reshard_under_write_load_loses_no_key() {
    if !have_redis_cli() {
        return;
    }
    let c = started(3, 0);
    let client = c.client();
    let mut conn = client.get_connection().expect("conn");
    for i in 0..5000 {
        let _: () = conn.set(format!("k{i}"), i).expect("set");
    }
    let from = c.id(0);
    let to = c.id(1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let client = c.client();
        std::thread::spawn(move || {
            let mut conn = client.get_connection().expect("conn");
            let (mut written, mut errors) = (0u64, Vec::new());
            for i in 0..200_000u64 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                match conn.set::<_, _, ()>(format!("w{i}"), i) {
                    Ok(()) => written = i + 1,
                    Err(e) => {
                        errors.push(format!("{e:?}"));
                        if errors.len() > 100 {
                            break;
                        }
                    }
                }
            }
            (written, errors)
        })
    };
    let ran = cluster_cli(&[
        "reshard",
        &c.addr(0),
        "--cluster-from",
        &from,
        "--cluster-to",
        &to,
        "--cluster-slots",
        "1000",
        "--cluster-yes",
    ]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (written, errors) = writer.join().expect("writer");
    assert!(
        ran.ok(),
        "reshard failed\n{}\n{}\n{}",
        ran.stdout,
        ran.stderr,
        c.logs()
    );
    assert!(errors.is_empty(), "client saw errors: {errors:?}");
    assert!(written > 0);
    for i in 0..5000 {
        let v: Option<i64> = conn.get(format!("k{i}")).expect("get");
        assert_eq!(v, Some(i), "k{i} lost");
    }
    for i in 0..written {
        let v: Option<u64> = conn.get(format!("w{i}")).expect("get");
        assert_eq!(v, Some(i), "w{i} lost");
    }
    assert_check_ok(&c, 2);
    let nodes: String = query(&mut c.nodes[0].conn(), &["CLUSTER", "NODES"]);
    let line = nodes.lines().find(|l| l.starts_with(&to)).expect("to line");
    assert!(line.split(' ').count() > 9, "{line}");
}

#[test]
fn add_node_rebalance_del_node_and_fix() {
    if !have_redis_cli() {
        return;
    }
    let mut c = started(3, 0);
    let client = c.client();
    let mut conn = client.get_connection().expect("conn");
    for i in 0..3000 {
        let _: () = conn.set(format!("r{i}"), i).expect("set");
    }
    let extra = Cluster::start(1, 2000, &[]).nodes.remove(0);
    let new_addr = format!("127.0.0.1:{}", extra.port);
    let add = cluster_cli(&["add-node", &new_addr, &c.addr(0)]);
    assert!(add.ok(), "add-node\n{}\n{}", add.stdout, add.stderr);
    c.nodes.push(extra);
    assert!(c.wait_ok(OK_WAIT), "{}", c.logs());
    let rb = cluster_cli(&[
        "rebalance",
        &c.addr(0),
        "--cluster-use-empty-masters",
        "--cluster-yes",
    ]);
    assert!(rb.ok(), "rebalance\n{}\n{}", rb.stdout, rb.stderr);
    let n: i64 = query(&mut c.nodes[3].conn(), &["DBSIZE"]);
    assert!(n > 300, "the new master got {n} keys");
    for i in 0..3000 {
        let v: Option<i64> = conn.get(format!("r{i}")).expect("get");
        assert_eq!(v, Some(i));
    }
    assert_check_ok(&c, 3);

    // Empty the new master again, then remove it.
    let new_id = c.id(3);
    let back = cluster_cli(&[
        "rebalance",
        &c.addr(0),
        "--cluster-weight",
        &format!("{new_id}=0"),
        "--cluster-yes",
    ]);
    assert!(
        back.ok(),
        "rebalance to 0\n{}\n{}",
        back.stdout,
        back.stderr
    );
    let del = cluster_cli(&["del-node", &c.addr(0), &new_id]);
    assert!(del.ok(), "del-node\n{}\n{}", del.stdout, del.stderr);
    c.nodes.remove(3);
    assert!(c.wait_ok(OK_WAIT), "{}", c.logs());
    // A fresh client: the old one may still hold the removed node.
    let client = c.client();
    let mut conn = client.get_connection().expect("conn");
    for i in 0..3000 {
        let v: Option<i64> = conn.get(format!("r{i}")).expect("get");
        assert_eq!(v, Some(i));
    }

    // An open slot left by a half-done migration is closed by fix.
    let slot = common::slot_of(b"r1");
    let owner = (0..3)
        .find(|&i| {
            let n: i64 = query(
                &mut c.nodes[i].conn(),
                &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()],
            );
            n > 0
        })
        .expect("owner");
    let other = (owner + 1) % 3;
    let _: () = query(
        &mut c.nodes[owner].conn(),
        &[
            "CLUSTER",
            "SETSLOT",
            &slot.to_string(),
            "MIGRATING",
            &c.id(other),
        ],
    );
    let fix = cluster_cli(&["fix", &c.addr(0), "--cluster-yes"]);
    assert!(fix.ok(), "fix\n{}\n{}", fix.stdout, fix.stderr);
    assert_check_ok(&c, 0);
    let v: Option<i64> = conn.get("r1").expect("get");
    assert_eq!(v, Some(1));
}

#[test]
fn ask_and_tryagain_during_a_manual_migration() {
    if !have_redis_cli() {
        return;
    }
    let c = started(3, 0);
    let slot = common::slot_of(b"{t}a");
    let s = slot.to_string();
    let owner = (0..3)
        .find(|&i| {
            let nodes: String = query(&mut c.nodes[i].conn(), &["CLUSTER", "NODES"]);
            nodes.lines().any(|l| {
                l.contains("myself")
                    && l.split(' ').skip(8).any(|r| match r.split_once('-') {
                        Some((a, b)) => {
                            a.parse::<u16>().is_ok_and(|a| a <= slot)
                                && b.parse::<u16>().is_ok_and(|b| b >= slot)
                        }
                        None => r.parse::<u16>() == Ok(slot),
                    })
            })
        })
        .expect("owner");
    let target = (owner + 1) % 3;
    let (src, dst) = (&c.nodes[owner], &c.nodes[target]);
    let mut sc = src.conn();
    let mut dc = dst.conn();
    let _: () = query(&mut sc, &["MSET", "{t}a", "1", "{t}b", "2"]);
    let _: () = query(
        &mut dc,
        &["CLUSTER", "SETSLOT", &s, "IMPORTING", &c.id(owner)],
    );
    let _: () = query(
        &mut sc,
        &["CLUSTER", "SETSLOT", &s, "MIGRATING", &c.id(target)],
    );
    // Keys still here are served here; a missing one is asked for.
    let v: String = query(&mut sc, &["GET", "{t}a"]);
    assert_eq!(v, "1");
    let e = common::err_text(
        redis::cmd("GET")
            .arg("{t}zz")
            .query::<Option<String>>(&mut sc),
    );
    assert_eq!(e, format!("ASK {slot} 127.0.0.1:{}", dst.port));
    // Move one key: a request naming both is now split.
    let moved: String = query(
        &mut sc,
        &[
            "MIGRATE",
            "127.0.0.1",
            &dst.port.to_string(),
            "{t}a",
            "0",
            "5000",
        ],
    );
    assert_eq!(moved, "OK");
    let e = common::err_text(
        redis::cmd("MGET")
            .arg("{t}a")
            .arg("{t}b")
            .query::<Vec<Option<String>>>(&mut sc),
    );
    assert_eq!(e, "TRYAGAIN Multiple keys request during rehashing of slot");
    // The target serves the slot only after ASKING.
    let e = common::err_text(
        redis::cmd("GET")
            .arg("{t}a")
            .query::<Option<String>>(&mut dc),
    );
    assert!(e.starts_with(&format!("MOVED {slot} ")), "{e}");
    let mut raw = dst.raw();
    let out = raw.call(&[b"ASKING"]);
    assert_eq!(out, b"+OK\r\n");
    let out = raw.call(&[b"GET", b"{t}a"]);
    assert_eq!(out, b"$1\r\n1\r\n");
    // ASKING lasts one command.
    let out = raw.call(&[b"GET", b"{t}a"]);
    assert!(
        out.starts_with(b"-MOVED"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    // Finish: move the rest, give the slot to the target everywhere.
    let moved: String = query(
        &mut sc,
        &[
            "MIGRATE",
            "127.0.0.1",
            &dst.port.to_string(),
            "",
            "0",
            "5000",
            "KEYS",
            "{t}b",
        ],
    );
    assert_eq!(moved, "OK");
    for n in &c.nodes {
        let _: () = query(
            &mut n.conn(),
            &["CLUSTER", "SETSLOT", &s, "NODE", &c.id(target)],
        );
    }
    let v: String = query(&mut dc, &["GET", "{t}b"]);
    assert_eq!(v, "2");
    let e = common::err_text(
        redis::cmd("GET")
            .arg("{t}b")
            .query::<Option<String>>(&mut sc),
    );
    assert_eq!(e, format!("MOVED {slot} 127.0.0.1:{}", dst.port));
    assert!(c.wait_ok(OK_WAIT));
    assert_check_ok(&c, 0);
}

#[test]
fn publish_reaches_subscribers_on_every_node() {
    if !have_redis_cli() {
        return;
    }
    let c = started(3, 0);
    let mut subs: Vec<redis::Connection> = c.nodes.iter().map(|s| s.conn()).collect();
    for s in subs.iter_mut() {
        let _: redis::Value = redis::cmd("SUBSCRIBE").arg("news").query(s).expect("sub");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
    }
    let n: i64 = query(&mut c.nodes[0].conn(), &["PUBLISH", "news", "hello"]);
    assert_eq!(n, 1, "PUBLISH counts this node's receivers");
    for (i, s) in subs.iter_mut().enumerate() {
        let msg = s
            .recv_response()
            .unwrap_or_else(|e| panic!("node {i}: {e:?}"));
        let text = format!("{msg:?}");
        assert!(text.contains("hello"), "node {i}: {text}");
    }
}

#[test]
fn a_stopped_master_is_failed_by_the_others_and_rejoins() {
    if !have_redis_cli() {
        return;
    }
    let mut c = Cluster::start(3, 1000, &[]);
    c.create(0);
    assert!(c.wait_ok(OK_WAIT), "{}", c.logs());
    let dead_id = c.id(2);
    let port = c.nodes[2].port;
    let dir = c.nodes.remove(2).stop();
    // PFAIL after the node timeout, FAIL once both others agree.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failed = false;
    while Instant::now() < deadline && !failed {
        failed = (0..2).all(|i| {
            let nodes: String = query(&mut c.nodes[i].conn(), &["CLUSTER", "NODES"]);
            nodes
                .lines()
                .any(|l| l.starts_with(&dead_id) && l.contains(",fail") && !l.contains("fail?"))
        });
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(failed, "never FAIL\n{}", c.logs());
    for i in 0..2 {
        let info: String = query(&mut c.nodes[i].conn(), &["CLUSTER", "INFO"]);
        assert_eq!(info_field(&info, "cluster_state").as_deref(), Some("fail"));
    }
    // A key node 0 serves: refused while down, readable with
    // cluster-allow-reads-when-down, writes still refused.
    let range = myself_slots(&c, 0);
    let (lo, hi) = range
        .split_whitespace()
        .next()
        .and_then(|r| r.split_once('-'))
        .map(|(a, b)| (a.parse::<u16>().unwrap_or(0), b.parse::<u16>().unwrap_or(0)))
        .expect("a slot range");
    let key = (0..100_000)
        .map(|i| format!("down{i}"))
        .find(|k| (lo..=hi).contains(&common::slot_of(k.as_bytes())))
        .expect("a key of node 0");
    let mut n0 = c.nodes[0].conn();
    let e = common::err_text(redis::cmd("GET").arg(&key).query::<Option<String>>(&mut n0));
    assert_eq!(e, "CLUSTERDOWN The cluster is down");
    let _: () = query(
        &mut n0,
        &["CONFIG", "SET", "cluster-allow-reads-when-down", "yes"],
    );
    let v: Option<String> = query(&mut n0, &["GET", &key]);
    assert_eq!(v, None);
    let e = common::err_text(redis::cmd("SET").arg(&key).arg("1").query::<()>(&mut n0));
    assert_eq!(
        e,
        "CLUSTERDOWN The cluster is down and only accepts read commands"
    );
    let _: () = query(
        &mut n0,
        &["CONFIG", "SET", "cluster-allow-reads-when-down", "no"],
    );
    let args = common::cluster::node_args(1000, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    c.nodes.push(Server::restart_in(dir, port, &args));
    assert!(c.wait_ok(OK_WAIT), "no rejoin\n{}", c.logs());
}

#[test]
fn garbage_on_the_bus_port_closes_only_that_link() {
    use std::io::{Read, Write};
    let c = Cluster::start(1, 2000, &[]);
    let s = &c.nodes[0];
    let bus = s.port + 10000;
    let inputs: [&[u8]; 4] = [
        b"hello world, not a bus message at all\r\n",
        b"RCmb\xff\xff\xff\xff",
        b"RCmb\x00\x00\x00\x10\x00\x01",
        b"XXXX\x00\x00\x08\x00",
    ];
    for input in inputs {
        let mut t = std::net::TcpStream::connect(("127.0.0.1", bus)).expect("bus");
        t.write_all(input).expect("write");
        t.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 16];
        // A truncated message waits for more bytes; the others are refused.
        let _ = t.read(&mut buf);
        let pong: String = query(&mut s.conn(), &["PING"]);
        assert_eq!(pong, "PONG");
    }
    let log = s.log_text();
    assert!(log.contains("bad message"), "{log}");
}

#[test]
fn a_shardis_node_and_a_redis_server_node_form_one_cluster() {
    if !have_redis_cli() {
        return;
    }
    let Some(mut r) = Cluster::start_redis(1, 2000) else {
        println!("skipped: redis-server is not installed");
        return;
    };
    let mut c = Cluster::start(2, 2000, &[]);
    c.nodes.push(r.nodes.remove(0));
    // Node 2 is redis-server: create the cluster over all three.
    c.create(0);
    assert!(c.wait_ok(OK_WAIT), "mixed cluster never ok\n{}", c.logs());
    for i in 0..3 {
        assert_check_ok(&c, i);
    }
    let client = c.client();
    let mut conn = client.get_connection().expect("conn");
    for i in 0..1000 {
        let _: () = conn.set(format!("m{i}"), i).expect("set");
    }
    for i in 0..1000 {
        let v: i64 = conn.get(format!("m{i}")).expect("get");
        assert_eq!(v, i);
    }
    // Move slots from the redis-server node to a shardis node, and back.
    let (rid, sid) = (c.id(2), c.id(0));
    for (from, to) in [(&rid, &sid), (&sid, &rid)] {
        let ran = cluster_cli(&[
            "reshard",
            &c.addr(0),
            "--cluster-from",
            from,
            "--cluster-to",
            to,
            "--cluster-slots",
            "200",
            "--cluster-yes",
        ]);
        assert!(
            ran.ok(),
            "reshard\n{}\n{}\n{}",
            ran.stdout,
            ran.stderr,
            c.logs()
        );
    }
    for i in 0..1000 {
        let v: i64 = conn.get(format!("m{i}")).expect("get");
        assert_eq!(v, i);
    }
    assert_check_ok(&c, 2);
}

#[test]
fn redis_benchmark_cluster_mode_runs_clean() {
    if !have_redis_cli() || common::which("redis-benchmark").is_none() {
        println!("skipped: redis-benchmark is not installed");
        return;
    }
    let c = started(3, 0);
    let ran = common::run_bounded(
        std::process::Command::new("redis-benchmark").args([
            "-h",
            "127.0.0.1",
            "-p",
            &c.nodes[0].port.to_string(),
            "--cluster",
            "-n",
            "2000",
            "-c",
            "4",
            "-q",
        ]),
        b"",
        Duration::from_secs(300),
    );
    assert!(ran.ok(), "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        !ran.stdout.contains("ERR") && !ran.stderr.contains("Error"),
        "{}\n{}",
        ran.stdout,
        ran.stderr
    );
    assert!(
        ran.stdout.contains("SET:") && ran.stdout.contains("GET:"),
        "{}",
        ran.stdout
    );
}
