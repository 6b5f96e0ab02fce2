//! MULTI, EXEC, DISCARD, WATCH, UNWATCH.

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
