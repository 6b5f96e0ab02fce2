//! Where decoding reads from: a byte slice (DUMP payloads) or a stream with
//! a running CRC64 (files). Both report the offset of every error and never
//! allocate more than the input actually delivers.

use super::{Error, ErrorKind, CRC64};
use crc::{Digest, Table};
use std::io::Read;

pub(crate) trait Input {
    /// Bytes consumed so far (plus the base offset the input started at).
    fn offset(&self) -> u64;

    /// Fills `buf` or fails with `Truncated`.
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Error>;

    /// The next `n` bytes. The buffer grows with the bytes that arrive, so a
    /// huge `n` in a short input costs nothing before the error.
    fn read_vec(&mut self, n: u64) -> Result<Vec<u8>, Error>;

    /// Bytes left, when known: bounds capacity hints from length fields.
    fn left(&self) -> Option<u64>;

    fn u8(&mut self) -> Result<u8, Error> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn err(&self, kind: ErrorKind) -> Error {
        Error::new(self.offset(), kind)
    }

    fn corrupt(&self, what: &'static str) -> Error {
        Error::corrupt(self.offset(), what)
    }

    /// A capacity for `n` announced elements of at least `min_size` bytes each.
    fn capacity_for(&self, n: u64, min_size: u64) -> usize {
        let bound = match self.left() {
            Some(left) => left / min_size.max(1),
            None => 1024,
        };
        n.min(bound).min(1 << 20) as usize
    }
}

/// A byte slice.
pub(crate) struct SliceInput<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> SliceInput<'a> {
    pub fn new(buf: &'a [u8]) -> SliceInput<'a> {
        SliceInput { buf, pos: 0 }
    }

    /// The next `n` bytes, borrowed.
    pub fn take(&mut self, n: u64) -> Result<&'a [u8], Error> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.err(ErrorKind::Truncated))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

impl Input for SliceInput<'_> {
    fn offset(&self) -> u64 {
        self.pos as u64
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        let s = self.take(buf.len() as u64)?;
        buf.copy_from_slice(s);
        Ok(())
    }

    fn read_vec(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        self.take(n).map(<[u8]>::to_vec)
    }

    fn left(&self) -> Option<u64> {
        Some((self.buf.len() - self.pos) as u64)
    }
}

/// A reader, with the CRC64 of every byte read so far.
pub(crate) struct StreamInput<R: Read> {
    r: R,
    pos: u64,
    crc: Digest<'static, u64, Table<16>>,
}

impl<R: Read> StreamInput<R> {
    pub fn new(r: R) -> StreamInput<R> {
        StreamInput {
            r,
            pos: 0,
            crc: CRC64.digest(),
        }
    }

    /// The CRC64 of the bytes read so far.
    pub fn checksum(&self) -> u64 {
        self.crc.clone().finalize()
    }

    pub fn into_inner(self) -> R {
        self.r
    }

    fn io(&self, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            self.err(ErrorKind::Truncated)
        } else {
            self.err(ErrorKind::Io(e))
        }
    }
}

impl<R: Read> Input for StreamInput<R> {
    fn offset(&self) -> u64 {
        self.pos
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        if let Err(e) = self.r.read_exact(buf) {
            return Err(self.io(e));
        }
        self.crc.update(buf);
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn read_vec(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        let mut v = Vec::with_capacity(n.min(64 * 1024) as usize);
        let got = (&mut self.r).take(n).read_to_end(&mut v);
        if let Err(e) = got {
            return Err(self.io(e));
        }
        self.crc.update(&v);
        self.pos += v.len() as u64;
        if (v.len() as u64) < n {
            return Err(self.err(ErrorKind::Truncated));
        }
        Ok(v)
    }

    fn left(&self) -> Option<u64> {
        None
    }
}
