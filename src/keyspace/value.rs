//! Values stored under keys. Strings only for now; the data-types issue adds
//! hashes, lists, sets and sorted sets as further variants (boxed, so a `Value`
//! stays 24 bytes).

use super::CBytes;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(CBytes),
}

const _: () = assert!(std::mem::size_of::<Value>() == 24);

/// Redis keeps strings that look like integers as `int`, short ones as
/// `embstr` (up to 44 bytes) and the rest as `raw`.
pub const EMBSTR_MAX: usize = 44;

impl Value {
    pub fn str(b: &[u8]) -> Value {
        Value::Str(CBytes::new(b))
    }

    /// TYPE's answer.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
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
        }
    }

    /// Bytes owned by the value outside its 24 inline bytes (for MEMORY USAGE-like figures).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(b) => b.heap_size(),
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
