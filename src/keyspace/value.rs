//! Values stored under keys: strings inline, aggregates boxed so a `Value`
//! stays 24 bytes. Each aggregate type lives in its own file with its compact
//! and its large encoding (hash.rs, list.rs, set.rs, zset.rs) and answers the
//! same questions: length, OBJECT ENCODING name, heap size, DEBUG DIGEST.

use super::digest::Sum;
use super::{CBytes, Hash, List, Set, ZSet};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(CBytes),
    Hash(Box<Hash>),
    List(Box<List>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

const _: () = assert!(std::mem::size_of::<Value>() == 24);

/// Redis keeps strings that look like integers as `int`, short ones as
/// `embstr` (up to 44 bytes) and the rest as `raw`.
pub const EMBSTR_MAX: usize = 44;

/// The encoding thresholds of redis.conf (`hash-max-listpack-entries` ...),
/// read once per command from the node's tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncLimits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset_entries: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
    /// list-max-listpack-size: positive = entries per node, -1..-5 = 4..64 KiB.
    pub list_size: i64,
    pub list_compress_depth: usize,
}

impl Default for EncLimits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        EncLimits {
            hash_entries: 512,
            hash_value: 64,
            set_intset_entries: 512,
            zset_entries: 128,
            zset_value: 64,
            list_size: -2,
            list_compress_depth: 0,
        }
    }
}

/// A variant of `Value` that commands ask for by type: `ctx.read::<Hash>(key)`.
pub trait Kind: Sized {
    fn of(v: &Value) -> Option<&Self>;
    fn of_mut(v: &mut Value) -> Option<&mut Self>;
    fn wrap(self) -> Value;
    fn is_empty(&self) -> bool;
}

macro_rules! kind {
    ($t:ident) => {
        impl Kind for $t {
            fn of(v: &Value) -> Option<&Self> {
                match v {
                    Value::$t(x) => Some(x),
                    _ => None,
                }
            }
            fn of_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$t(x) => Some(x),
                    _ => None,
                }
            }
            fn wrap(self) -> Value {
                Value::$t(Box::new(self))
            }
            fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }
    };
}
kind!(Hash);
kind!(List);
kind!(Set);
kind!(ZSet);

impl Kind for CBytes {
    fn of(v: &Value) -> Option<&Self> {
        match v {
            Value::Str(x) => Some(x),
            _ => None,
        }
    }
    fn of_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Str(x) => Some(x),
            _ => None,
        }
    }
    fn wrap(self) -> Value {
        Value::Str(self)
    }
    fn is_empty(&self) -> bool {
        false
    }
}

/// Redis's type codes (OBJ_STRING ...), as DEBUG DIGEST mixes them.
pub const TYPE_STRING: u32 = 0;
pub const TYPE_LIST: u32 = 1;
pub const TYPE_SET: u32 = 2;
pub const TYPE_ZSET: u32 = 3;
pub const TYPE_HASH: u32 = 4;

impl Value {
    pub fn str(b: &[u8]) -> Value {
        Value::Str(CBytes::new(b))
    }

    /// TYPE's answer.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// Redis's type code (OBJ_STRING = 0 ...).
    pub fn type_code(&self) -> u32 {
        match self {
            Value::Str(_) => TYPE_STRING,
            Value::List(_) => TYPE_LIST,
            Value::Set(_) => TYPE_SET,
            Value::ZSet(_) => TYPE_ZSET,
            Value::Hash(_) => TYPE_HASH,
        }
    }

    /// OBJECT ENCODING's answer, as Redis would give it for the same value.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(b) => {
                if b.len() <= 20 && parse_i64(b).is_some() {
                    "int"
                } else if b.len() <= EMBSTR_MAX {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::Hash(h) => h.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// Bytes owned by the value outside its 24 inline bytes (for MEMORY USAGE-like figures).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(b) => b.heap_size(),
            Value::Hash(h) => std::mem::size_of::<Hash>() + h.heap_size(),
            Value::List(l) => std::mem::size_of::<List>() + l.heap_size(),
            Value::Set(s) => std::mem::size_of::<Set>() + s.heap_size(),
            Value::ZSet(z) => std::mem::size_of::<ZSet>() + z.heap_size(),
        }
    }

    /// Continues a DEBUG DIGEST with the value's contents (after its type
    /// code, which the caller mixes in).
    pub fn digest_contents(&self, d: &mut Sum) {
        match self {
            Value::Str(s) => super::digest::mix_digest(d, s),
            Value::Hash(h) => h.digest(d),
            Value::List(l) => l.digest(d),
            Value::Set(s) => s.digest(d),
            Value::ZSet(z) => z.digest(d),
        }
    }
}

/// Parses a decimal i64 exactly as Redis's string2ll: no spaces, no leading
/// '+', no leading zeros (except "0"), no "-0".
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    crate::protocol::string2ll(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"9223372036854775808"[..],
            b"01",
            b"-0",
            b"+1",
            b" 1",
            b"1 ",
            b"",
            b"-",
            b"1a",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn encodings() {
        assert_eq!(Value::str(b"123").encoding(), "int");
        assert_eq!(Value::str(b"0123").encoding(), "embstr");
        assert_eq!(Value::str(&[b'x'; 44]).encoding(), "embstr");
        assert_eq!(Value::str(&[b'x'; 45]).encoding(), "raw");
    }
}
