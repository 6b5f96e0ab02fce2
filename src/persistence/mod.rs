//! Persistence: formats and files that outlive the process.
//!
//! - `rdb`: Redis's RDB format (version 10, Redis 7.0) as plain code: one
//!   value's encoding (DUMP/RESTORE payloads) and whole files (a streaming
//!   writer and reader). No runtime, no sockets: tested on bytes.
//!
//! The AOF, its manifest and the snapshot scheduling come later (see
//! DESIGN.md "Persistence").

pub mod rdb;
