//! shardis: a Redis-compatible, Redis-Cluster-compatible key-value server,
//! thread-per-core. See DESIGN.md in the shared folder for the house plan.
//!
//! Module map:
//! - `protocol`: RESP2/RESP3 parser (with Redis's limits and errors), reply value, encoder.
//! - `command`: the command table (name, arity, flags, key positions) and one file per family.
//! - `server`: listeners, the connection loop, dispatch (cluster checks, routing by slot).
//! - `runtime`: executors and placement, the channel mesh, core locks, the slot table, topology.
//! - `keyspace`: per-slot tables of keys and values, expiry.
//! - `cluster`: key slots, the node's cluster state, nodes.conf.
//! - `config`: the typed option table, redis.conf parsing, CONFIG GET/SET/REWRITE.
//! - `observability`: INFO sections and logging set-up.
//! - `persistence`: Redis's RDB format (DUMP/RESTORE payloads, whole files),
//!   AOF contents and manifest.
//! - `node`: node-wide shared state (config, identity, counters).

pub mod cluster;
pub mod command;
pub mod config;
pub mod keyspace;
pub mod node;
pub mod observability;
pub mod persistence;
pub mod protocol;
pub mod runtime;
pub mod server;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version shardis reports where tools check it (INFO redis_version, HELLO).
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";
