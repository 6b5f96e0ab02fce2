//! Pub/Sub: channels, patterns, shard channels, keyspace notifications.

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
