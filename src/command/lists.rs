//! List commands (blocking ones included).

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
