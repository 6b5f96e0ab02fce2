//! The hash type. Placeholder until its family lands (data-types issue):
//! only the interface `Value` needs.

use super::digest::Sum;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hash {
    len: usize,
}

impl Hash {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// OBJECT ENCODING's name.
    pub fn encoding(&self) -> &'static str {
        ""
    }

    /// Heap bytes owned (estimate).
    pub fn heap_size(&self) -> usize {
        0
    }

    /// DEBUG DIGEST contents, as Redis's xorObjectDigest.
    pub fn digest(&self, _d: &mut Sum) {}
}
