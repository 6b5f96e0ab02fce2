//! HyperLogLog commands, on Redis's sparse/dense string representation.

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
