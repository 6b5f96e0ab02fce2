//! `CBytes`: a 24-byte byte string that stores up to 22 bytes inline (no heap
//! allocation) and longer ones in one boxed slice. Keys and small string values
//! use it, so a typical key+value costs no allocation beyond the table slot.
//!
//! Layout: `Inline { len: u8, data: [u8; 22] }` or `Heap(Box<[u8]>)`, plus the
//! enum tag; 24 bytes either way (checked below).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};

pub const INLINE_CAP: usize = 22;

#[derive(Clone)]
pub enum CBytes {
    Inline { len: u8, data: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<CBytes>() == 24);

impl CBytes {
    pub const EMPTY: CBytes = CBytes::Inline {
        len: 0,
        data: [0; INLINE_CAP],
    };

    pub fn new(b: &[u8]) -> CBytes {
        if b.len() <= INLINE_CAP {
            let mut data = [0u8; INLINE_CAP];
            data[..b.len()].copy_from_slice(b);
            CBytes::Inline {
                len: b.len() as u8,
                data,
            }
        } else {
            CBytes::Heap(b.into())
        }
    }

    pub fn from_vec(v: Vec<u8>) -> CBytes {
        if v.len() <= INLINE_CAP {
            CBytes::new(&v)
        } else {
            CBytes::Heap(v.into_boxed_slice())
        }
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            CBytes::Inline { len, data } => &data[..*len as usize],
            CBytes::Heap(b) => b,
        }
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the bytes live in a heap allocation of their own.
    pub fn is_heap(&self) -> bool {
        matches!(self, CBytes::Heap(_))
    }

    /// Heap bytes owned beyond the 24 inline bytes.
    pub fn heap_size(&self) -> usize {
        match self {
            CBytes::Inline { .. } => 0,
            CBytes::Heap(b) => b.len(),
        }
    }
}

impl std::ops::Deref for CBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for CBytes {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for CBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for CBytes {}

impl Hash for CBytes {
    // Must hash exactly like `[u8]` so lookups by `&[u8]` work through `Borrow`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl fmt::Debug for CBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl From<&[u8]> for CBytes {
    fn from(b: &[u8]) -> Self {
        CBytes::new(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn h<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut s = DefaultHasher::new();
        t.hash(&mut s);
        s.finish()
    }

    #[test]
    fn inline_and_heap() {
        for n in [0usize, 1, 16, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            let c = CBytes::new(&v);
            assert_eq!(c.as_bytes(), &v[..]);
            assert_eq!(c.is_heap(), n > INLINE_CAP);
            assert_eq!(h(&c), h(&v[..]));
            assert_eq!(CBytes::from_vec(v.clone()), c);
        }
    }
}
