//! SORT and SORT_RO.

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
