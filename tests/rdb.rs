//! RDB snapshots through the binary: SAVE/BGSAVE, loading at start-up with
//! another thread count, interchange with redis-server and redis-check-rdb
//! in both directions, point-in-time snapshots under writes, save points,
//! failures, SHUTDOWN/SIGTERM, damaged files.

mod common;

use common::{info_field, query, run_bounded, which, Server};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn persistence(c: &mut redis::Connection, field: &str) -> String {
    let info: String = query(c, &["INFO", "persistence"]);
    info_field(&info, field).unwrap_or_default()
}

fn digest(c: &mut redis::Connection) -> String {
    query(c, &["DEBUG", "DIGEST"])
}

fn wait_bgsave_done(c: &mut redis::Connection) {
    for _ in 0..1000 {
        if persistence(c, "rdb_bgsave_in_progress") == "0" {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("BGSAVE did not finish");
}

/// Every type, small and large encodings, TTLs, three dbs.
fn fill(c: &mut redis::Connection) {
    let _: () = query(c, &["DEBUG", "POPULATE", "3000", "key", "10"]);
    let lines = [
        "SET int 12345",
        "SET emb short",
        "SET raw xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "SET ttl v PX 900000",
        "RPUSH list a b c 1 2 3",
        "HSET h1 f1 v1 f2 2",
        "SADD si 1 2 3 4",
        "SADD ss a b c",
        "ZADD z1 1 a 2.5 b -3 c",
        "PFADD hll a b c d",
        "SETBIT bits 100 1",
        "SELECT 3",
        "SET in3 three",
        "HSET h3 a 1",
        "SELECT 15",
        "RPUSH l15 x",
        "SELECT 0",
    ];
    for l in lines {
        let w: Vec<&str> = l.split(' ').collect();
        let _: redis::Value = query(c, &w);
    }
    let mut big = redis::cmd("HSET");
    big.arg("bighash");
    let mut zs = redis::cmd("ZADD");
    zs.arg("bigzset");
    let mut st = redis::cmd("SADD");
    st.arg("bigset");
    let mut ls = redis::cmd("RPUSH");
    ls.arg("biglist");
    for i in 0..1000 {
        big.arg(format!("f{i}")).arg(format!("v{i}"));
        zs.arg(i).arg(format!("m{i}"));
        st.arg(format!("s{i}"));
        ls.arg(format!("{i:0>40}"));
    }
    for cmd in [big, zs, st, ls] {
        let _: redis::Value = cmd.query(c).unwrap();
    }
    let _: () = query(c, &["SADD", "intbig", "1", "2"]);
    let mut ints = redis::cmd("SADD");
    ints.arg("intbig");
    for i in 0..1000 {
        ints.arg(i);
    }
    let _: redis::Value = ints.query(c).unwrap();
}

fn start(args: &[&str]) -> Server {
    let mut v = vec!["--enable-debug-command", "yes", "--save", ""];
    v.extend_from_slice(args);
    Server::start(&v)
}

fn restart(s: Server, args: &[&str]) -> Server {
    let dir = s.stop();
    let mut v = vec!["--enable-debug-command", "yes", "--save", ""];
    v.extend_from_slice(args);
    Server::start_in(dir, &v)
}

#[test]
fn save_and_bgsave_restore_everything_with_any_thread_count_and_in_redis() {
    let s = start(&["--threads", "2"]);
    let mut c = s.conn();
    fill(&mut c);
    let want = digest(&mut c);
    let before: i64 = query(&mut c, &["LASTSAVE"]);
    std::thread::sleep(Duration::from_millis(1100));
    let r: String = query(&mut c, &["SAVE"]);
    assert_eq!(r, "OK");
    let after: i64 = query(&mut c, &["LASTSAVE"]);
    assert!(after > before, "LASTSAVE {before} -> {after}");
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), "0");
    let _: () = query(&mut c, &["SET", "later", "1"]);
    assert_eq!(persistence(&mut c, "rdb_changes_since_last_save"), "1");
    let _: () = query(&mut c, &["DEL", "later"]);
    let r: String = query(&mut c, &["BGSAVE"]);
    assert_eq!(r, "Background saving started");
    wait_bgsave_done(&mut c);
    assert_eq!(persistence(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(persistence(&mut c, "rdb_saves"), "2");
    drop(c);
    let path = s.path().join("dump.rdb");
    if let Some(check) = which("redis-check-rdb") {
        let ran = run_bounded(Command::new(check).arg(&path), b"", Duration::from_secs(60));
        assert!(ran.ok(), "{}{}", ran.stdout, ran.stderr);
        assert!(ran.stdout.contains("RDB looks OK"), "{}", ran.stdout);
    } else {
        println!("skipped redis-check-rdb: not installed");
    }
    let mut s = s;
    for threads in ["1", "3", "2"] {
        s = restart(s, &["--threads", threads]);
        let mut c = s.conn();
        assert_eq!(digest(&mut c), want, "--threads {threads}");
        let ttl: i64 = query(&mut c, &["TTL", "ttl"]);
        assert!((800..=900).contains(&ttl), "ttl {ttl}");
        let enc: String = query(&mut c, &["OBJECT", "ENCODING", "bighash"]);
        assert_eq!(enc, "hashtable");
        let enc: String = query(&mut c, &["OBJECT", "ENCODING", "si"]);
        assert_eq!(enc, "intset");
        assert!(
            persistence(&mut c, "rdb_last_load_keys_loaded")
                .parse::<u64>()
                .unwrap()
                > 3000
        );
    }
    // redis-server loads our file with the same data, and its own SAVE
    // loads in shardis with the same data.
    let Some(r) = Server::redis(&[
        "--dir",
        s.path().to_str().unwrap(),
        "--enable-debug-command",
        "yes",
    ]) else {
        println!("skipped redis-server interchange: not installed");
        return;
    };
    let mut rc = r.conn();
    assert_eq!(digest(&mut rc), want, "redis-server loading our dump.rdb");
    let _: () = query(&mut rc, &["SET", "from-redis", "1"]);
    let want2 = digest(&mut rc);
    let _: String = query(&mut rc, &["SAVE"]);
    drop(rc);
    drop(r);
    let s = restart(s, &["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(
        digest(&mut c),
        want2,
        "shardis loading redis-server's dump.rdb"
    );
}

/// Overwrites a third of the populated keys, deletes a seventh, adds 500.
fn churn(c: &mut redis::Connection) {
    let mut p = redis::pipe();
    for i in (0..20000).step_by(3) {
        p.cmd("SET").arg(format!("k:{i}")).arg("changed").ignore();
    }
    for i in (1..20000).step_by(7) {
        p.cmd("DEL").arg(format!("k:{i}")).ignore();
    }
    for i in 0..500 {
        p.cmd("SET").arg(format!("new{i}")).arg("x").ignore();
    }
    let _: () = p.query(c).unwrap();
}

#[test]
fn bgsave_is_point_in_time_under_writes_and_flushall() {
    let mut s = start(&["--threads", "2"]);
    for round in ["writes", "flushall"] {
        let mut c = s.conn();
        let _: () = query(&mut c, &["FLUSHALL"]);
        let _: () = query(&mut c, &["DEBUG", "POPULATE", "20000", "k", "8"]);
        let want = digest(&mut c);
        // 100 µs per key: about 2 s for 20000 keys.
        let _: () = query(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "100"]);
        let saves: u64 = persistence(&mut c, "rdb_saves").parse().unwrap();
        let r: String = query(&mut c, &["BGSAVE"]);
        assert_eq!(r, "Background saving started");
        assert_eq!(persistence(&mut c, "rdb_bgsave_in_progress"), "1");
        let e = common::err_text(redis::cmd("BGSAVE").query::<String>(&mut c));
        assert!(e.contains("Background save already in progress"), "{e}");
        let e = common::err_text(redis::cmd("SAVE").query::<String>(&mut c));
        assert!(e.contains("Background save already in progress"), "{e}");
        // Redis schedules only behind an AOF rewrite (tests/aof.rs).
        let e = common::err_text(redis::cmd("BGSAVE").arg("SCHEDULE").query::<String>(&mut c));
        assert!(e.contains("Background save already in progress"), "{e}");
        churn(&mut c);
        assert_eq!(
            persistence(&mut c, "rdb_bgsave_in_progress"),
            "1",
            "{round}: the writes outlasted the save: nothing was tested"
        );
        let changed = digest(&mut c);
        assert_ne!(changed, want);
        if round == "flushall" {
            // The slots not written yet stay with the snapshot; the file
            // keeps the start.
            let _: () = query(&mut c, &["FLUSHALL"]);
        }
        wait_bgsave_done(&mut c);
        assert_eq!(persistence(&mut c, "rdb_last_bgsave_status"), "ok");
        assert_eq!(persistence(&mut c, "rdb_saves"), (saves + 1).to_string());
        drop(c);
        s = restart(s, &["--threads", if round == "writes" { "1" } else { "2" }]);
        let mut c = s.conn();
        assert_eq!(digest(&mut c), want, "{round} (changed {changed})");
    }
}

#[test]
fn save_points_fire_and_a_failed_save_refuses_writes_until_one_succeeds() {
    let s = start(&["--threads", "2"]);
    let mut c = s.conn();
    let _: () = query(&mut c, &["CONFIG", "SET", "save", "1 1"]);
    let _: () = query(&mut c, &["SET", "a", "1"]);
    let mut saved = false;
    for _ in 0..200 {
        if persistence(&mut c, "rdb_saves") != "0" {
            saved = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(saved, "the save point did not fire");
    wait_bgsave_done(&mut c);
    assert!(s.path().join("dump.rdb").exists());
    assert!(s.log_text().contains("1 changes in 1 seconds. Saving..."));
    // A directory where the file should go: the rename fails.
    let target = s.path().join("dump.rdb");
    std::fs::remove_file(&target).unwrap();
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("x"), b"x").unwrap();
    let _: String = query(&mut c, &["BGSAVE"]);
    wait_bgsave_done(&mut c);
    assert_eq!(persistence(&mut c, "rdb_last_bgsave_status"), "err");
    let e = common::err_text(redis::cmd("SET").arg("b").arg("1").query::<()>(&mut c));
    assert!(
        e.starts_with("MISCONF Redis is configured to save RDB snapshots"),
        "{e}"
    );
    let v: Option<String> = query(&mut c, &["GET", "a"]);
    assert_eq!(v.as_deref(), Some("1"), "reads still work");
    let e = common::err_text(redis::cmd("SAVE").query::<String>(&mut c));
    assert!(e.starts_with("ERR"), "{e}");
    std::fs::remove_dir_all(&target).unwrap();
    let _: String = query(&mut c, &["BGSAVE"]);
    wait_bgsave_done(&mut c);
    assert_eq!(persistence(&mut c, "rdb_last_bgsave_status"), "ok");
    let _: () = query(&mut c, &["SET", "b", "1"]);
    assert!(target.is_file());
}

#[test]
fn shutdown_and_sigterm_save_when_save_points_are_set() {
    let s = start(&["--threads", "2", "--save", "3600 1"]);
    let mut c = s.conn();
    let _: () = query(&mut c, &["SET", "k1", "v1"]);
    drop(c);
    let mut s = s;
    s.signal(libc::SIGTERM);
    assert!(s.wait_exit(Duration::from_secs(20)).is_some());
    assert!(
        s.log_text().contains("DB saved on disk"),
        "{}",
        s.log_text()
    );
    let s = restart(s, &["--threads", "1", "--save", "3600 1"]);
    let mut c = s.conn();
    let v: Option<String> = query(&mut c, &["GET", "k1"]);
    assert_eq!(v.as_deref(), Some("v1"));
    // SHUTDOWN NOSAVE does not save.
    let _: () = query(&mut c, &["SET", "k2", "v2"]);
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
    drop(c);
    let s = restart(s, &["--threads", "1"]);
    let mut c = s.conn();
    let v: Option<String> = query(&mut c, &["GET", "k2"]);
    assert_eq!(v, None);
    // SHUTDOWN SAVE does, even without save points.
    let _: () = query(&mut c, &["SET", "k3", "v3"]);
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut c);
    drop(c);
    let s = restart(s, &["--threads", "2"]);
    let mut c = s.conn();
    let v: Option<String> = query(&mut c, &["GET", "k3"]);
    assert_eq!(v.as_deref(), Some("v3"));
}

/// SET a, SET b, SAVE, FLUSHALL with a save point set: the INFO fields
/// Redis moves (FLUSHALL saves the emptied dataset, uncounted).
fn flushall_with_save_points(s: &Server) -> (String, String) {
    let mut c = s.conn();
    for k in ["a", "b"] {
        let _: () = query(&mut c, &["SET", k, "1"]);
    }
    let _: String = query(&mut c, &["SAVE"]);
    let _: String = query(&mut c, &["FLUSHALL"]);
    (
        persistence(&mut c, "rdb_saves"),
        persistence(&mut c, "rdb_changes_since_last_save"),
    )
}

#[test]
fn flushall_saves_the_empty_dataset_when_save_points_are_set() {
    let s = start(&["--threads", "2", "--save", "3600 1"]);
    let got = flushall_with_save_points(&s);
    assert_eq!(got, ("1".to_string(), "0".to_string()));
    match Server::redis(&["--save", "3600 1"]) {
        Some(r) => assert_eq!(flushall_with_save_points(&r), got),
        None => eprintln!("skipped the redis-server comparison: redis-server not found"),
    }
    // Killed without a chance to save: the keys do not come back.
    let mut s = s;
    s.signal(libc::SIGKILL);
    assert!(s.wait_exit(Duration::from_secs(20)).is_some());
    let s = restart(s, &["--threads", "1"]);
    let mut c = s.conn();
    let n: i64 = query(&mut c, &["DBSIZE"]);
    assert_eq!(n, 0);
}

/// Starts shardis on `dir` expecting it to stop; its output.
fn start_failing(dir: &Path) -> (bool, String) {
    let port = common::free_port();
    let ran = run_bounded(
        Command::new(common::BIN)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(dir),
        b"",
        Duration::from_secs(20),
    );
    (
        ran.status.is_some_and(|s| !s.success()),
        ran.stdout + &ran.stderr,
    )
}

#[test]
fn a_damaged_dump_stops_start_up_naming_file_and_offset() {
    let s = start(&["--threads", "2"]);
    let mut c = s.conn();
    let _: () = query(&mut c, &["DEBUG", "POPULATE", "2000"]);
    let _: String = query(&mut c, &["SAVE"]);
    drop(c);
    let dir = s.stop();
    let path = dir.path().join("dump.rdb");
    let good = std::fs::read(&path).unwrap();
    // A flipped byte in the middle (checksum or structure), then a cut.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x5a;
    let cut = good[..good.len() * 2 / 3].to_vec();
    for (what, bytes) in [("flipped", bad), ("truncated", cut)] {
        std::fs::write(&path, &bytes).unwrap();
        let (failed, out) = start_failing(dir.path());
        assert!(failed, "{what}: started anyway\n{out}");
        assert!(out.contains("dump.rdb"), "{what}: {out}");
        assert!(out.contains("offset"), "{what}: {out}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}: file changed");
    }
}
