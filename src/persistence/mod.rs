//! Persistence: formats and files that outlive the process. Plain code: no
//! runtime, no sockets; tested on bytes.
//!
//! - `rdb`: Redis's RDB format (version 10, Redis 7.0): one value's encoding
//!   (DUMP/RESTORE payloads) and whole files (a streaming writer and reader).
//! - `aof`: the append-only files' contents (RESP commands, annotations) and
//!   a reader telling a truncated tail from corruption, with offsets.
//! - `manifest`: the AOF manifest listing every core's files.
//!
//! The AOF writers, snapshots and loading at start-up come with the
//! persistence issue (see DESIGN.md "Persistence").

pub mod aof;
pub mod manifest;
pub mod rdb;
