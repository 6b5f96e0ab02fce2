//! The reply value every command returns. It is independent of the protocol
//! version: the connection encodes it as RESP2 or RESP3 (`encode.rs`), so a reply
//! computed on another core travels back as this value.

use bytes::Bytes;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+text` (status reply).
    Simple(Cow<'static, str>),
    /// `-text`; the text carries its prefix (`ERR ...`, `WRONGTYPE ...`, `MOVED ...`).
    Error(Cow<'static, str>),
    /// `:n`
    Int(i64),
    /// `$len bytes`
    Bulk(Bytes),
    /// A bulk string of at most 22 bytes held inline (no allocation): what GET
    /// of a short value answers.
    SmallBulk {
        len: u8,
        data: [u8; 22],
    },
    /// A missing value: RESP2 `$-1`, RESP3 `_`.
    Nil,
    /// A missing aggregate: RESP2 `*-1`, RESP3 `_`.
    NilArray,
    Array(Vec<Reply>),
    /// RESP3 `%`; RESP2 a flat array of key, value, key, value...
    Map(Vec<(Reply, Reply)>),
    /// RESP3 an array of two-element arrays; RESP2 a flat array of a, b, a, b...
    /// (ZRANGE WITHSCORES, ZPOPMIN with a count, HRANDFIELD WITHVALUES ...).
    Pairs(Vec<(Reply, Reply)>),
    /// RESP3 `~`; RESP2 an array.
    Set(Vec<Reply>),
    /// RESP3 `,`; RESP2 a bulk string formatted like Redis (`%.17g`, `inf`, `-inf`).
    Double(f64),
    /// RESP3 `#t`/`#f`; RESP2 `:1`/`:0`.
    Bool(bool),
    /// RESP3 `=len fmt:text` with a three-letter format such as `txt`; RESP2 a bulk string.
    Verbatim(&'static str, Bytes),
    /// RESP3 `(digits`; RESP2 a bulk string.
    BigNumber(String),
    /// RESP3 `>` push; RESP2 an array.
    Push(Vec<Reply>),
    /// Bytes already encoded (identical in RESP2 and RESP3), written as they are.
    Raw(Bytes),
    /// Several replies to one command, one after another (SUBSCRIBE a b
    /// confirms each channel with its own message).
    Many(Vec<Reply>),
}

impl Reply {
    pub const OK: Reply = Reply::Simple(Cow::Borrowed("OK"));

    pub fn ok() -> Reply {
        Reply::OK
    }

    pub fn simple(s: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(s))
    }

    /// An error reply from a constant text (see `command::errors`).
    pub fn err(s: &'static str) -> Reply {
        Reply::Error(Cow::Borrowed(s))
    }

    pub fn err_owned(s: String) -> Reply {
        Reply::Error(Cow::Owned(s))
    }

    /// A bulk string of a constant text (`message`, `subscribe` ...).
    pub fn simple_bulk(s: &'static str) -> Reply {
        Reply::Bulk(Bytes::from_static(s.as_bytes()))
    }

    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    /// A bulk string copied from `b`: inline when short, else one allocation.
    pub fn bulk_from_slice(b: &[u8]) -> Reply {
        if b.len() <= 22 {
            let mut data = [0u8; 22];
            data[..b.len()].copy_from_slice(b);
            Reply::SmallBulk {
                len: b.len() as u8,
                data,
            }
        } else {
            Reply::Bulk(Bytes::copy_from_slice(b))
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}
