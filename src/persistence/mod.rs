//! Persistence: the append-only files (AOF) and their manifest.

pub mod aof;
pub mod manifest;
