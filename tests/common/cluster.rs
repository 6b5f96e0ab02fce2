//! Multi-node clusters for tests: N servers (shardis, or redis-server for
//! side-by-side runs) in cluster mode on free ports, joined with
//! `redis-cli --cluster create`.

use super::{info_field, redis_cli, run_bounded, which, Ran, Server};
use std::process::Command;
use std::time::{Duration, Instant};

/// redis-cli --cluster commands get this long.
pub const CLI_LIMIT: Duration = Duration::from_secs(120);

pub struct Cluster {
    pub nodes: Vec<Server>,
}

/// Whether redis-cli is there; prints the skip reason when it is not.
pub fn have_redis_cli() -> bool {
    if which("redis-cli").is_none() {
        println!("skipped: redis-cli is not installed (scripts/test.sh installs redis-tools)");
        return false;
    }
    true
}

/// The arguments a cluster node starts with.
pub fn node_args(node_timeout_ms: u64, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--cluster-enabled",
        "yes",
        "--cluster-node-timeout",
        &node_timeout_ms.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Runs `redis-cli --cluster <args>` (bounded).
pub fn cluster_cli(args: &[&str]) -> Ran {
    run_bounded(
        Command::new("redis-cli").arg("--cluster").args(args),
        b"",
        CLI_LIMIT,
    )
}

impl Cluster {
    /// Starts `n` shardis nodes (not yet joined).
    pub fn start(n: usize, node_timeout_ms: u64, extra: &[&str]) -> Cluster {
        let args = node_args(node_timeout_ms, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Cluster {
            nodes: (0..n).map(|_| Server::start(&args)).collect(),
        }
    }

    /// Starts `n` redis-server nodes, or None without redis-server.
    pub fn start_redis(n: usize, node_timeout_ms: u64) -> Option<Cluster> {
        let args = node_args(node_timeout_ms, &[]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut nodes = Vec::new();
        for _ in 0..n {
            nodes.push(Server::redis(&args)?);
        }
        Some(Cluster { nodes })
    }

    pub fn addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[i].port)
    }

    /// `redis-cli --cluster create` over every node; panics with its output
    /// when it fails.
    pub fn create(&self, replicas: usize) -> Ran {
        let addrs: Vec<String> = (0..self.nodes.len()).map(|i| self.addr(i)).collect();
        let mut args: Vec<&str> = vec!["create"];
        args.extend(addrs.iter().map(String::as_str));
        let r = replicas.to_string();
        args.extend(["--cluster-replicas", &r, "--cluster-yes"]);
        let ran = cluster_cli(&args);
        assert!(
            ran.ok(),
            "cluster create failed\n{}\n{}\n{}",
            ran.stdout,
            ran.stderr,
            self.logs()
        );
        ran
    }

    /// Waits (bounded) until every node says cluster_state:ok and knows
    /// every node as connected.
    pub fn wait_ok(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if (0..self.nodes.len()).all(|i| self.node_ok(i)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn node_ok(&self, i: usize) -> bool {
        let Ok(mut c) = self.nodes[i].client().get_connection() else {
            return false;
        };
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query(&mut c)
            .unwrap_or_default();
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut c)
            .unwrap_or_default();
        info_field(&info, "cluster_state").as_deref() == Some("ok")
            && info_field(&info, "cluster_known_nodes") == Some(self.nodes.len().to_string())
            && nodes.lines().all(|l| l.contains(" connected"))
    }

    /// `redis-cli --cluster check` from node `i` succeeds with every check OK.
    pub fn check(&self, i: usize) -> Ran {
        cluster_cli(&["check", &self.addr(i)])
    }

    /// A `redis` crate cluster client over every node.
    pub fn client(&self) -> redis::cluster::ClusterClient {
        let urls: Vec<String> = self.nodes.iter().map(|s| s.url()).collect();
        redis::cluster::ClusterClientBuilder::new(urls)
            .retries(20)
            .build()
            .expect("cluster client")
    }

    /// CLUSTER MYID of node `i`.
    pub fn id(&self, i: usize) -> String {
        let mut c = self.nodes[i].conn();
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut c)
            .expect("myid")
    }

    /// Every node's log, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, s)| format!("--- node {i} (port {}) ---\n{}", s.port, s.log_text()))
            .collect()
    }
}

/// `redis-cli -c` one-shot against `port`.
pub fn cli_c(port: u16, args: &[&str]) -> Option<Ran> {
    let mut v = vec!["-c"];
    v.extend_from_slice(args);
    redis_cli(port, &v, b"", Duration::from_secs(20))
}
