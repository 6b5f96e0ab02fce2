//! The report scripts end to end on tiny workloads: scripts/mem-report.sh
//! against a shardis and a redis-server, scripts/bench-sweep.sh with --csv,
//! --markdown and --plot. PNGs are checked when gnuplot is installed
//! (Debian's gnuplot-nox); otherwise the scripts' skip note is checked and a
//! skip is printed. Both scripts must be shellcheck-clean.

mod common;

use common::{run_bounded, which, Ran, Server, BIN};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

fn run(name: &str, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Ran {
    let mut cmd = Command::new("bash");
    cmd.arg(script(name)).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_bounded(&mut cmd, b"", limit)
}

fn is_png(p: &Path) -> bool {
    std::fs::read(p).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 1000)
}

fn csv(p: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn has_tools(tools: &[&str]) -> bool {
    let missing: Vec<&&str> = tools.iter().filter(|t| which(t).is_none()).collect();
    if !missing.is_empty() {
        println!("skipped: {missing:?} not installed");
    }
    missing.is_empty()
}

#[test]
fn mem_report_side_by_side() {
    if !has_tools(&["redis-cli", "redis-server"]) {
        return;
    }
    let a = Server::start(&["--threads", "2"]);
    let b = Server::redis(&[]).expect("redis-server");
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("report");
    let r = run(
        "mem-report.sh",
        &[
            "--a",
            &format!("127.0.0.1:{}", a.port),
            "--b",
            &format!("127.0.0.1:{}", b.port),
            "--labels",
            "shardis,redis",
            "--keys",
            "2000",
            "--value-size",
            "64",
            "--refill-size",
            "128",
            "--steps",
            "2",
            "--settle",
            "0.05",
            "--out",
            dir.to_str().expect("utf-8 path"),
        ],
        &[],
        Duration::from_secs(60),
    );
    assert!(r.ok(), "mem-report failed\n{}\n{}", r.stdout, r.stderr);

    let rows = csv(&dir.join("mem-report.csv"));
    assert_eq!(
        rows[0].join(","),
        "elapsed_s,server,phase,step,keys,used_memory,used_memory_rss,used_memory_peak,mem_fragmentation_ratio,allocator_allocated,allocator_active,allocator_resident,allocator_frag_ratio,allocator_rss_ratio"
    );
    // Per server: baseline, 2 fill, 2 delete-half, 2 refill, cleanup.
    assert_eq!(rows.len(), 1 + 2 * 8, "{rows:?}");
    for (n, server) in ["shardis", "redis"].iter().enumerate() {
        let mine: Vec<&Vec<String>> = rows[1..].iter().filter(|r| r[1] == *server).collect();
        assert_eq!(mine.len(), 8, "{server}: {rows:?}");
        let phases: Vec<String> = mine.iter().map(|r| format!("{}-{}", r[2], r[3])).collect();
        assert_eq!(
            phases,
            [
                "baseline-0",
                "fill-1",
                "fill-2",
                "delete-half-1",
                "delete-half-2",
                "refill-1",
                "refill-2",
                "cleanup-0"
            ]
        );
        let keys: Vec<&str> = mine.iter().map(|r| r[4].as_str()).collect();
        assert_eq!(
            keys,
            ["0", "1000", "2000", "1500", "1000", "1500", "2000", "0"],
            "{server}"
        );
        for r in &mine {
            assert_eq!(r.len(), 14, "{r:?}");
            for col in 5..14 {
                assert!(
                    r[col].parse::<f64>().is_ok(),
                    "{server} column {col}: {r:?}"
                );
            }
        }
        // Servers run one after the other.
        if n == 1 {
            let last_a: f64 = rows[8][0].parse().expect("time");
            let first_b: f64 = mine[0][0].parse().expect("time");
            assert!(first_b >= last_a);
        }
    }

    let summary = csv(&dir.join("summary.csv"));
    assert_eq!(
        summary[0].join(","),
        "server,keys,value_size,refill_size,bytes_per_key,rss_bytes_per_key,peak_used_memory,peak_rss,peak_frag_ratio,frag_ratio_after_delete,final_frag_ratio,final_used_memory,final_rss,used_after_cleanup,rss_after_cleanup"
    );
    assert_eq!(summary.len(), 3, "{summary:?}");
    for (row, server) in summary[1..].iter().zip(["shardis", "redis"]) {
        assert_eq!(row[0], server);
        assert_eq!(&row[1..4], ["2000", "64", "128"]);
        let bpk: f64 = row[4].parse().expect("bytes_per_key");
        assert!(bpk > 64.0, "{server} bytes per key {bpk}");
        for (i, v) in row.iter().enumerate().skip(5) {
            assert!(v.parse::<f64>().is_ok(), "{server} field {i}: {row:?}");
        }
        let peak: f64 = row[6].parse().expect("peak");
        let fin: f64 = row[11].parse().expect("final");
        assert!(peak >= fin);
    }
    let txt = std::fs::read_to_string(dir.join("summary.txt")).expect("summary.txt");
    assert!(
        txt.contains("bytes_per_key") && txt.contains("shardis") && txt.contains("redis"),
        "{txt}"
    );
    assert!(r.stdout.contains("final_frag_ratio"), "{}", r.stdout);

    // Both servers are left as they were: every key deleted.
    let mut c = a.conn();
    let n: i64 = common::query(&mut c, &["DBSIZE"]);
    assert_eq!(n, 0);

    let png = dir.join("mem-report.png");
    if which("gnuplot").is_some() {
        assert!(is_png(&png), "no PNG\n{}\n{}", r.stdout, r.stderr);
    } else {
        println!("skipped the PNG check: gnuplot not installed (apt-get install gnuplot-nox)");
        assert!(r.stdout.contains("plot skipped"), "{}", r.stdout);
    }
}

#[test]
fn mem_report_refuses_bad_input() {
    if !has_tools(&["redis-cli"]) {
        return;
    }
    let r = run("mem-report.sh", &[], &[], Duration::from_secs(10));
    assert!(
        !r.ok() && r.stderr.contains("--a HOST:PORT is required"),
        "{}",
        r.stderr
    );
    let r = run(
        "mem-report.sh",
        &["--a", "nohostport"],
        &[],
        Duration::from_secs(10),
    );
    assert!(
        !r.ok() && r.stderr.contains("not HOST:PORT"),
        "{}",
        r.stderr
    );
    let r = run(
        "mem-report.sh",
        &["--a", "127.0.0.1:1", "--keys", "0"],
        &[],
        Duration::from_secs(10),
    );
    assert!(!r.ok() && r.stderr.contains("--keys"), "{}", r.stderr);
    // A server holding the report's keys is left alone.
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = common::query(&mut c, &["SET", "memreport:0", "mine"]);
    let out = tempfile::tempdir().expect("tempdir");
    let r = run(
        "mem-report.sh",
        &[
            "--a",
            &format!("127.0.0.1:{}", s.port),
            "--keys",
            "10",
            "--no-plot",
            "--out",
            out.path().to_str().expect("path"),
        ],
        &[],
        Duration::from_secs(20),
    );
    assert!(
        !r.ok() && r.stderr.contains("exists"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    let v: String = common::query(&mut c, &["GET", "memreport:0"]);
    assert_eq!(v, "mine");
}

#[test]
fn bench_sweep_writes_csv_markdown_and_plot() {
    if !has_tools(&["redis-cli", "redis-benchmark", "redis-server", "taskset"]) {
        return;
    }
    let gnuplot = which("gnuplot").is_some();
    let out = tempfile::tempdir().expect("tempdir");
    let p = |f: &str| out.path().join(f).to_str().expect("path").to_string();
    let (csv_path, md_path, png_path) = (p("sweep.csv"), p("sweep.md"), p("sweep.png"));
    let mut args = vec![
        "-n",
        "1000",
        "-c",
        "5",
        "--rounds",
        "1",
        "--pipelines",
        "1 2",
        "--tests",
        "set,get",
        "--server-cpus",
        "0-1",
        "--client-cpus",
        "0-1",
        "--threads",
        "2",
        "--csv",
        &csv_path,
        "--markdown",
        &md_path,
    ];
    if gnuplot {
        args.extend(["--plot", png_path.as_str()]);
    } else {
        println!("skipped --plot: gnuplot not installed (apt-get install gnuplot-nox)");
    }
    let r = run(
        "bench-sweep.sh",
        &args,
        &[("SHARDIS_BIN", BIN)],
        Duration::from_secs(120),
    );
    assert!(r.ok(), "bench-sweep failed\n{}\n{}", r.stdout, r.stderr);
    for header in [
        "kernel:",
        "transparent hugepages:",
        "cpu governor:",
        "cpus:",
    ] {
        assert!(r.stdout.contains(header), "{header}\n{}", r.stdout);
    }

    let rows = csv(Path::new(&csv_path));
    assert_eq!(
        rows[0].join(","),
        "test,pipeline,shardis_rps,redis_rps,shardis_over_redis,shardis_p50_ms,redis_p50_ms,shardis_p99_ms,redis_p99_ms"
    );
    let keys: Vec<String> = rows[1..]
        .iter()
        .map(|r| format!("{}/{}", r[0], r[1]))
        .collect();
    assert_eq!(keys, ["set/1", "set/2", "get/1", "get/2"]);
    for r in &rows[1..] {
        for (i, v) in r.iter().enumerate().skip(2) {
            assert!(v.parse::<f64>().is_ok(), "column {i}: {r:?}");
        }
    }

    let md = std::fs::read_to_string(&md_path).expect("markdown");
    for want in [
        "## Machine",
        "- kernel: ",
        "- transparent hugepages: ",
        "## Results",
        "| test | P | shardis rps | redis rps |",
        "| SET | 1 | ",
        "| GET | 2 | ",
    ] {
        assert!(md.contains(want), "{want}\n{md}");
    }
    if gnuplot {
        assert!(is_png(Path::new(&png_path)), "no PNG\n{}", r.stderr);
        assert!(md.contains("![sweep]("), "{md}");
    }
}

#[test]
fn report_scripts_are_shellcheck_clean() {
    if !has_tools(&["shellcheck"]) {
        return;
    }
    let o = Command::new("shellcheck")
        .arg(script("mem-report.sh"))
        .arg(script("bench-sweep.sh"))
        .output()
        .expect("shellcheck");
    assert!(
        o.status.success(),
        "shellcheck:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
