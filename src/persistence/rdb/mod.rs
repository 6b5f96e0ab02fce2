//! Redis's RDB format, version 10 (Redis 7.0): values (DUMP and RESTORE
//! payloads) and whole files.
//!
//! Everything here is plain code over bytes: `encode` writes a `Value` as
//! Redis 7.0.15 writes the same value (listpack for small hashes and sorted
//! sets, intset, quicklist 2, plain encodings for large ones, integers and
//! LZF for strings), `decode` reads every object type Redis 7.0 loads
//! (including the ziplist, zipmap and quicklist 1 encodings of older
//! versions), `file` streams whole RDB files both ways.
//!
//! DUMP payload layout (little endian footer):
//!
//! ```text
//! type:u8  value (as in a file)  rdb_version:u16 LE (10)  crc64:u64 LE
//!                                the CRC covers every byte before it
//! ```
//!
//! Value encodings (see `encode.rs` and `decode.rs` for each type):
//!
//! ```text
//! length  = 00LLLLLL                         6 bits
//!         | 01LLLLLL LLLLLLLL                14 bits, big end first
//!         | 0x80 u32 BE | 0x81 u64 BE
//! string  = length bytes
//!         | 0xC0 i8 | 0xC1 i16 LE | 0xC2 i32 LE  an integer, read back in decimal
//!         | 0xC3 clen:length ulen:length lzf[clen]
//! ```
//!
//! Bytes read are never trusted: every length is checked against what the
//! input holds before anything is allocated for it, every parse returns an
//! `Error` carrying the byte offset, nothing panics.

mod decode;
mod encode;
mod file;
mod input;
pub mod listpack;
pub mod lzf;
mod ziplist;

#[cfg(test)]
mod tests;

pub use decode::{decode_value, restore_payload, restore_payload_with};
pub use encode::{dump_payload, encode_value, encoded_len, value_type};
pub use file::{
    encode_entry, encode_select_db, Aux, Entry, Item, KeyMeta, RdbReader, RdbWriter, ReplAux,
    WriterOptions,
};

use crc::{Crc, Table, CRC_64_REDIS};
use std::fmt;

/// The RDB version this code writes, and the newest it reads.
pub const RDB_VERSION: u16 = 10;

/// Object type bytes (RDB_TYPE_*).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;

    /// rdbIsObjectType.
    pub fn is_object(t: u8) -> bool {
        t <= 7 || (9..=19).contains(&t)
    }
}

/// File opcodes (RDB_OPCODE_*).
pub mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// quicklist node containers (QUICKLIST_NODE_CONTAINER_*).
pub(crate) const CONTAINER_PLAIN: u64 = 1;
pub(crate) const CONTAINER_PACKED: u64 = 2;

/// Redis's packed_threshold: a list element this large gets a plain node.
pub(crate) const PLAIN_THRESHOLD: usize = 1 << 30;

/// CRC-64/Jones as Redis computes it (crc64.c), slice-by-16.
pub(crate) static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// Redis's CRC64 of `b` (initial value 0).
pub fn crc64(b: &[u8]) -> u64 {
    CRC64.checksum(b)
}

/// What went wrong, and where.
#[derive(Debug)]
pub struct Error {
    /// Byte offset in the input (file or payload) where the problem was seen.
    pub offset: u64,
    pub kind: ErrorKind,
}

#[derive(Debug)]
pub enum ErrorKind {
    /// The input ended inside a value or before the EOF opcode.
    Truncated,
    /// Malformed bytes: the text says which structure.
    Corrupt(&'static str),
    /// Valid RDB this code does not load: modules, streams, old functions.
    Unsupported(String),
    /// An aggregate with no elements (Redis skips these in files and
    /// refuses them in RESTORE).
    EmptyValue,
    /// A DUMP payload's footer: too short, version newer than 10 or bad CRC.
    PayloadFooter,
    /// A file's checksum does not match its contents.
    Checksum { expected: u64, found: u64 },
    /// A file that does not start with "REDIS" and four digits.
    Signature,
    /// A file of an RDB version newer than 10 (or 0).
    Version(u32),
    /// The underlying reader or writer failed.
    Io(std::io::Error),
}

impl Error {
    pub(crate) fn new(offset: u64, kind: ErrorKind) -> Error {
        Error { offset, kind }
    }

    pub(crate) fn corrupt(offset: u64, what: &'static str) -> Error {
        Error::new(offset, ErrorKind::Corrupt(what))
    }

    /// True for a DUMP payload whose footer is wrong (RESTORE's "DUMP
    /// payload version or checksum are wrong").
    pub fn is_footer(&self) -> bool {
        matches!(self.kind, ErrorKind::PayloadFooter)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated => write!(f, "unexpected end of input"),
            ErrorKind::Corrupt(what) => write!(f, "corrupt {what}"),
            ErrorKind::Unsupported(what) => write!(f, "unsupported: {what}"),
            ErrorKind::EmptyValue => write!(f, "empty aggregate value"),
            ErrorKind::PayloadFooter => write!(f, "DUMP payload version or checksum are wrong"),
            ErrorKind::Checksum { expected, found } => write!(
                f,
                "wrong RDB checksum: expected {expected:016x}, found {found:016x}"
            ),
            ErrorKind::Signature => write!(f, "wrong signature: not an RDB file"),
            ErrorKind::Version(v) => write!(f, "can't handle RDB format version {v}"),
            ErrorKind::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.kind, self.offset)
    }
}

impl std::error::Error for Error {}
