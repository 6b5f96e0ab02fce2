//! The request parser: RESP multibulk (`*N` then `$len` arguments) and inline
//! commands, with Redis 7.0's limits and error texts (`networking.c`,
//! `processMultibulkBuffer` / `processInlineBuffer`).
//!
//! Byte layout of a request:
//!
//! ```text
//! multibulk: *<count>\r\n  then count times  $<len>\r\n<len bytes>\r\n
//! inline:    <words separated by blanks, with "..." and '...' quoting>\n   (a \r before the \n is dropped)
//! ```
//!
//! A request whose first byte is `*` is a multibulk, anything else is inline.
//! Like Redis, a header line ends at its first `\r` and the byte after it is
//! skipped without being checked, and the two bytes after a bulk's data are
//! skipped without being checked either (`*1\rx$4\r\nPINGxy` is `PING`).
//!
//! The parser is resumable: it consumes every complete element from the front
//! of the buffer as soon as it has arrived and keeps the arguments read so
//! far, so a command split over many reads is parsed once, in linear time.
//! Arguments are `Bytes` split off the read buffer, without a copy. Nothing is
//! allocated from a length field before the data has arrived: the only
//! allocation is the argument vector, whose initial capacity is capped at 1024.
//!
//! Deliberate difference from Redis: Redis searches lines with `strchr`, which
//! stops at a NUL byte, so a NUL before a line's end makes it wait (until the
//! 64 KiB limit) for an end it never sees. Here NUL is an ordinary byte: an
//! inline line may contain it, and a header line containing it is invalid.

use bytes::{Buf, Bytes, BytesMut};
use std::fmt;

use super::reply::Reply;
use super::splitargs::split_args;

/// Redis's `PROTO_INLINE_MAX_SIZE`: the most bytes an inline request or a
/// header line may hold before its end arrives.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Default `proto-max-bulk-len` (512 MiB).
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Largest multibulk count Redis 7.0 accepts (`INT_MAX`).
const MAX_MULTIBULK_LEN: i64 = i32::MAX as i64;
/// Largest multibulk count an unauthenticated client may send.
const UNAUTH_MAX_MULTIBULK_LEN: i64 = 10;
/// Largest bulk length an unauthenticated client may send.
const UNAUTH_MAX_BULK_LEN: i64 = 16384;
/// Cap on the argument vector's initial capacity (Redis uses the same).
const MAX_INITIAL_ARGS: usize = 1024;

/// What the connection tells the parser about its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`; a replica's link to its primary uses `usize::MAX`
    /// (Redis does not check it for the master client).
    pub max_bulk_len: usize,
    /// False while the server requires a password and the client has not
    /// authenticated: multibulk counts above 10 and bulks above 16384 bytes are
    /// then refused.
    pub authenticated: bool,
}

impl Default for ParseLimits {
    /// Redis's defaults with no `requirepass`: 512 MiB bulks, no auth limits.
    fn default() -> Self {
        ParseLimits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            authenticated: true,
        }
    }
}

/// A malformed request. Redis replies with the error text and closes the
/// connection after the reply; commands parsed before the error still run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// No `\n` within 64 KiB of an inline request.
    TooBigInline,
    /// An inline request with an unterminated quote, or a closing quote not
    /// followed by a blank.
    UnbalancedQuotes,
    /// No `\r` within 64 KiB of a `*count` line.
    TooBigMultibulkCount,
    /// A `*count` that is not a number or is above `INT_MAX`.
    InvalidMultibulkLength,
    /// A `*count` above 10 before authentication.
    UnauthenticatedMultibulkLength,
    /// No `\r` within 64 KiB of a `$len` line.
    TooBigBulkCount,
    /// A line inside a multibulk that does not start with `$`; carries that byte.
    ExpectedDollar(u8),
    /// A `$len` that is not a number, is negative or is above `proto-max-bulk-len`.
    InvalidBulkLength,
    /// A `$len` above 16384 before authentication.
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// The short reason Redis logs for this error ("Protocol error (reason)
    /// from client: ..."), for the connection's log line.
    pub fn reason(&self) -> &'static str {
        match self {
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in inline request",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "invalid mbulk count",
            ProtocolError::UnauthenticatedMultibulkLength => "unauth mbulk count",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::ExpectedDollar(_) => "expected $ but got something else",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauth bulk length",
        }
    }

    /// The error reply exactly as Redis sends it, including a non-ASCII byte of
    /// `ExpectedDollar` as the raw byte (which `Display` cannot carry).
    pub fn to_reply(&self) -> Reply {
        match self {
            ProtocolError::ExpectedDollar(b) => {
                let byte = if matches!(b, b'\r' | b'\n') { b' ' } else { *b };
                let mut v = Vec::with_capacity(48);
                v.extend_from_slice(b"-ERR Protocol error: expected '$', got '");
                v.push(byte);
                v.extend_from_slice(b"'\r\n");
                Reply::Raw(Bytes::from(v))
            }
            other => Reply::Raw(Bytes::from(format!("-{other}\r\n"))),
        }
    }
}

impl fmt::Display for ProtocolError {
    /// The error text as Redis sends it after `-`. For `ExpectedDollar` a `\r`
    /// or `\n` shows as a space (as Redis maps it) and a byte above 0x7f as the
    /// Latin-1 character; `to_reply` has the exact bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::ExpectedDollar(b) => {
                let c = if matches!(b, b'\r' | b'\n') {
                    ' '
                } else {
                    char::from(*b)
                };
                return write!(f, "ERR Protocol error: expected '$', got '{c}'");
            }
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length",
        };
        write!(f, "ERR Protocol error: {text}")
    }
}

impl std::error::Error for ProtocolError {}

/// Resumable RESP request parser; one per connection.
///
/// Contract: between calls the caller only appends bytes to the end of the
/// buffer (what `parse` left at the front is still unparsed input). After an
/// error the parser's state is unspecified: reply with the error and close.
#[derive(Debug, Default)]
pub struct RespParser {
    /// Arguments of the multibulk being read.
    args: Vec<Bytes>,
    /// Arguments still to read in the current multibulk; 0 between commands.
    pending: usize,
    /// Length of the bulk whose `$len` line has been consumed, waiting for its data.
    bulk_len: Option<usize>,
    /// Bytes missing for that bulk (data and its CRLF) at the end of the last `parse`.
    bulk_missing: usize,
    /// Bytes at the front of the buffer already searched, without success, for
    /// the end of the current line (keeps a slowly arriving line linear).
    scanned: usize,
    /// Memory held by `args`: their lengths plus one `Bytes` handle each.
    args_bytes: usize,
}

impl RespParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes bytes of complete elements from the front of `buf`; returns
    /// the next complete command as its arguments, `Ok(None)` when more bytes
    /// are needed. Empty inline lines and `*0`/`*-1` headers are skipped.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.pending == 0 {
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                if first != b'*' {
                    match self.parse_inline(buf)? {
                        Some(args) if args.is_empty() => continue,
                        other => return Ok(other),
                    }
                }
                let Some(cr) = self.find_line_end(buf, ProtocolError::TooBigMultibulkCount)? else {
                    return Ok(None);
                };
                let count = match buf.get(1..cr).and_then(string2ll) {
                    Some(n) if n <= MAX_MULTIBULK_LEN => n,
                    _ => return Err(ProtocolError::InvalidMultibulkLength),
                };
                if count > UNAUTH_MAX_MULTIBULK_LEN && !limits.authenticated {
                    return Err(ProtocolError::UnauthenticatedMultibulkLength);
                }
                buf.advance(cr + 2);
                if count <= 0 {
                    continue;
                }
                // 0 < count <= i32::MAX, so the cast is lossless.
                self.pending = count as usize;
                self.args = Vec::with_capacity(self.pending.min(MAX_INITIAL_ARGS));
                self.args_bytes = 0;
            }

            while self.pending > 0 {
                let len = match self.bulk_len {
                    Some(len) => len,
                    None => {
                        let Some(len) = self.read_bulk_header(buf, limits)? else {
                            return Ok(None);
                        };
                        len
                    }
                };
                // len <= max_bulk_len <= usize::MAX; saturate rather than wrap.
                let need = len.saturating_add(2);
                if buf.len() < need {
                    self.bulk_len = Some(len);
                    self.bulk_missing = need - buf.len();
                    return Ok(None);
                }
                let arg = if len == 0 {
                    Bytes::new()
                } else {
                    buf.split_to(len).freeze()
                };
                // The two bytes after the data are not checked, as in Redis.
                buf.advance(2);
                self.args.push(arg);
                self.args_bytes = self
                    .args_bytes
                    .saturating_add(len + std::mem::size_of::<Bytes>());
                self.pending -= 1;
                self.bulk_len = None;
            }
            self.args_bytes = 0;
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    /// While inside a bulk string: how many more bytes (data plus its CRLF) the
    /// current bulk needed at the end of the last `parse`, so the reader can
    /// reserve (capped). `None` otherwise.
    pub fn bulk_remaining(&self) -> Option<usize> {
        self.bulk_len.map(|_| self.bulk_missing)
    }

    /// Memory held by the arguments of the multibulk being read so far: their
    /// bytes (split off the read buffer) plus one `Bytes` handle each, so that
    /// a stream of empty arguments counts too. With the buffer's length this is
    /// what to check against `client-query-buffer-limit` (Redis: query buffer
    /// plus `argv_len_sum`).
    pub fn pending_args_bytes(&self) -> usize {
        self.args_bytes
    }

    /// Reads a `$len` line; `Ok(None)` when it has not fully arrived.
    #[inline]
    fn read_bulk_header(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(cr) = self.find_line_end(buf, ProtocolError::TooBigBulkCount)? else {
            return Ok(None);
        };
        let first = buf.first().copied().unwrap_or(b'\r');
        if first != b'$' {
            return Err(ProtocolError::ExpectedDollar(first));
        }
        let len = match buf.get(1..cr).and_then(string2ll) {
            Some(n) if n >= 0 && (n as u64) <= limits.max_bulk_len as u64 => n,
            _ => return Err(ProtocolError::InvalidBulkLength),
        };
        if len > UNAUTH_MAX_BULK_LEN && !limits.authenticated {
            return Err(ProtocolError::UnauthenticatedBulkLength);
        }
        buf.advance(cr + 2);
        // 0 <= len <= max_bulk_len, a usize.
        Ok(Some(len as usize))
    }

    /// Finds the `\r` that ends the header line at the front of `buf` (Redis:
    /// `strchr(p, '\r')`, then at least one more byte must have arrived).
    /// `Ok(None)` when the line is incomplete; `too_big` when no `\r` is within
    /// the first 64 KiB.
    #[inline]
    fn find_line_end(
        &mut self,
        buf: &[u8],
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        let start = self.scanned.min(buf.len());
        match find_byte(b'\r', buf.get(start..).unwrap_or_default()) {
            Some(i) => {
                let cr = start + i;
                if cr + 1 < buf.len() {
                    self.scanned = 0;
                    Ok(Some(cr))
                } else {
                    self.scanned = cr;
                    Ok(None)
                }
            }
            None if buf.len() > PROTO_INLINE_MAX_SIZE => Err(too_big),
            None => {
                self.scanned = buf.len();
                Ok(None)
            }
        }
    }

    /// Reads one inline request; `Ok(Some(vec![]))` for a blank line.
    fn parse_inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let start = self.scanned.min(buf.len());
        let Some(i) = find_byte(b'\n', buf.get(start..).unwrap_or_default()) else {
            if buf.len() > PROTO_INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigInline);
            }
            self.scanned = buf.len();
            return Ok(None);
        };
        self.scanned = 0;
        let nl = start + i;
        let end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        };
        let text = buf.get(..end).unwrap_or_default();
        if text.iter().any(|&b| b == b'"' || b == b'\'') {
            let parts = split_args(text).ok_or(ProtocolError::UnbalancedQuotes)?;
            buf.advance(nl + 1);
            return Ok(Some(parts.into_iter().map(Bytes::from).collect()));
        }
        // No quotes: the words are slices of the line, without a copy. Blanks
        // are skipped with C's isspace, but a word ends only at ' ', \t, \r or
        // \n (sdssplitargs), so "a\x0bb" is one word.
        let line = buf.split_to(nl + 1).freeze();
        let text = line.get(..end).unwrap_or_default();
        let mut args = Vec::new();
        let mut i = 0;
        while i < text.len() {
            let Some(skip) = text[i..].iter().position(|&b| !is_space(b)) else {
                break;
            };
            let word_start = i + skip;
            let word_len = text[word_start..]
                .iter()
                .position(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .unwrap_or(text.len() - word_start);
            args.push(line.slice(word_start..word_start + word_len));
            i = word_start + word_len;
        }
        Ok(Some(args))
    }
}

/// C's `isspace` in the "C" locale.
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Position of the first `needle` in `hay`: a plain loop over the first bytes
/// (header lines such as `$3\r\n` end there), libc's vectorised `memchr` beyond.
#[inline]
fn find_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    const HEAD: usize = 32;
    let head = hay.len().min(HEAD);
    if let Some(i) = hay[..head].iter().position(|&b| b == needle) {
        return Some(i);
    }
    let rest = &hay[head..];
    if rest.is_empty() {
        return None;
    }
    // SAFETY: `rest` is a valid, initialised slice of `rest.len()` bytes; memchr
    // reads only within it and returns null or a pointer into it.
    let p = unsafe { libc::memchr(rest.as_ptr().cast(), libc::c_int::from(needle), rest.len()) };
    if p.is_null() {
        None
    } else {
        Some(head + (p as usize - rest.as_ptr() as usize))
    }
}

/// Redis's `string2ll`: an optional `-`, then `0` alone or a digit 1-9 and
/// more digits, under 21 bytes, within `i64`. No `+`, blanks or leading zeros.
#[inline]
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    fn cmd(args: &[&[u8]]) -> Vec<Bytes> {
        args.iter().map(|a| b(a)).collect()
    }

    /// Multibulk encoding of a command, as clients send it.
    fn mb(args: &[&[u8]]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            v.extend_from_slice(a);
            v.extend_from_slice(b"\r\n");
        }
        v
    }

    type Outcome = (Vec<Vec<Bytes>>, Option<ProtocolError>, Vec<u8>);

    /// Feeds `input` in the given chunks, parsing after each; returns the
    /// commands, the error if any and the bytes left unconsumed.
    fn feed_chunks(chunks: &[&[u8]], limits: &ParseLimits) -> Outcome {
        let mut p = RespParser::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            loop {
                match p.parse(&mut buf, limits) {
                    Ok(Some(args)) => out.push(args),
                    Ok(None) => break,
                    Err(e) => return (out, Some(e), buf.to_vec()),
                }
            }
        }
        (out, None, buf.to_vec())
    }

    fn feed(input: &[u8]) -> Outcome {
        feed_chunks(&[input], &ParseLimits::default())
    }

    fn feed_with(input: &[u8], limits: &ParseLimits) -> Outcome {
        feed_chunks(&[input], limits)
    }

    fn err_of(input: &[u8]) -> ProtocolError {
        match feed(input).1 {
            Some(e) => e,
            None => panic!("no error for {:?}", String::from_utf8_lossy(input)),
        }
    }

    /// Parsing must not depend on how the bytes were split into reads.
    fn assert_split_invariant(input: &[u8], limits: &ParseLimits) {
        let whole = feed_chunks(&[input], limits);
        for at in 0..=input.len() {
            let (x, y) = input.split_at(at);
            assert_eq!(feed_chunks(&[x, y], limits), whole, "split at {at}");
        }
        for (a, c) in [(1, 2), (3, 5), (2, 9)] {
            for i in 0..input.len() {
                let j = (i + a).min(input.len());
                let k = (j + c).min(input.len());
                let parts = [&input[..i], &input[i..j], &input[j..k], &input[k..]];
                assert_eq!(feed_chunks(&parts, limits), whole, "splits at {i},{j},{k}");
            }
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(feed_chunks(&bytes, limits), whole, "byte by byte");
    }

    #[test]
    fn multibulk_basic() {
        let (cmds, err, rest) = feed(&mb(&[b"SET", b"key", b"value"]));
        assert_eq!(cmds, vec![cmd(&[b"SET", b"key", b"value"])]);
        assert_eq!(err, None);
        assert!(rest.is_empty());
    }

    #[test]
    fn split_at_every_position() {
        let mut pipeline = Vec::new();
        pipeline.extend(mb(&[b"SET", b"key", b"value"]));
        pipeline.extend_from_slice(b"PING\r\n");
        pipeline.extend(mb(&[b"GET", b"key"]));
        pipeline.extend_from_slice(b"set \"a b\" 'c d'\n\r\n  \n");
        pipeline.extend_from_slice(b"*0\r\n*-1\r\n");
        pipeline.extend(mb(&[b"ECHO", b"", b"x\r\ny"]));
        pipeline.extend_from_slice(b"echo a\x0bb\tc\r\n");
        let (cmds, err, rest) = feed(&pipeline);
        assert_eq!(err, None);
        assert!(rest.is_empty());
        assert_eq!(
            cmds,
            vec![
                cmd(&[b"SET", b"key", b"value"]),
                cmd(&[b"PING"]),
                cmd(&[b"GET", b"key"]),
                cmd(&[b"set", b"a b", b"c d"]),
                cmd(&[b"ECHO", b"", b"x\r\ny"]),
                cmd(&[b"echo", b"a\x0bb", b"c"]),
            ]
        );
        let limits = ParseLimits::default();
        assert_split_invariant(&pipeline, &limits);
        assert_split_invariant(
            &mb(&[b"MSET", b"k1", b"v1", b"k2", b"0123456789abcdef"]),
            &limits,
        );
        assert_split_invariant(b"PING\nPING\r\n\r\n", &limits);
        // Errors after good commands are also independent of splitting.
        assert_split_invariant(b"PING\r\n*1\r\n$3\r\nGET\r\n*1\r\nx3\r\n", &limits);
        assert_split_invariant(b"*2\r\n$3\r\nGET\r\n$-3\r\n", &limits);
        assert_split_invariant(b"PING\r\necho \"x\r\n", &limits);
        let unauth = ParseLimits {
            authenticated: false,
            ..ParseLimits::default()
        };
        assert_split_invariant(b"*1\r\n$4\r\nAUTH\r\n*11\r\n", &unauth);
    }

    #[test]
    fn incomplete_input_consumes_only_complete_elements() {
        let mut p = RespParser::new();
        let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$3\r\nke"[..]);
        let limits = ParseLimits::default();
        assert_eq!(p.parse(&mut buf, &limits), Ok(None));
        // The header, the first argument and the second's `$3` line are consumed.
        assert_eq!(&buf[..], b"ke");
        assert_eq!(p.bulk_remaining(), Some(3));
        assert_eq!(p.pending_args_bytes(), 3 + std::mem::size_of::<Bytes>());
        buf.extend_from_slice(b"y\r\n$1\r");
        assert_eq!(p.parse(&mut buf, &limits), Ok(None));
        assert_eq!(&buf[..], b"$1\r");
        assert_eq!(p.bulk_remaining(), None);
        buf.extend_from_slice(b"\nv\r\n");
        assert_eq!(
            p.parse(&mut buf, &limits),
            Ok(Some(cmd(&[b"SET", b"key", b"v"])))
        );
        assert!(buf.is_empty());
        assert_eq!(p.pending_args_bytes(), 0);
    }

    #[test]
    fn many_arguments_are_consumed_as_they_arrive() {
        // A multibulk with many arguments fed one argument at a time: every
        // call consumes what arrived, so nothing is parsed twice.
        let n = 10_000;
        let mut p = RespParser::new();
        let mut buf = BytesMut::new();
        let limits = ParseLimits::default();
        buf.extend_from_slice(format!("*{n}\r\n").as_bytes());
        assert_eq!(p.parse(&mut buf, &limits), Ok(None));
        assert!(buf.is_empty());
        for i in 0..n {
            let a = i.to_string();
            buf.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
            let r = p.parse(&mut buf, &limits);
            assert!(buf.is_empty());
            if i + 1 < n {
                assert_eq!(r, Ok(None));
            } else {
                let args = r.ok().flatten().unwrap_or_default();
                assert_eq!(args.len(), n);
                assert_eq!(&args[1234][..], b"1234");
            }
        }
    }

    #[test]
    fn arguments_share_the_read_buffer() {
        let input = mb(&[b"SET", b"key", b"some value"]);
        let mut buf = BytesMut::from(&input[..]);
        let base = buf.as_ptr() as usize;
        let mut p = RespParser::new();
        let args = p
            .parse(&mut buf, &ParseLimits::default())
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(args.len(), 3);
        for a in &args {
            let at = a.as_ptr() as usize;
            assert!(at >= base && at < base + input.len(), "argument was copied");
        }
        // Unquoted inline words are slices too.
        let mut buf = BytesMut::from(&b"SET key value\r\n"[..]);
        let base = buf.as_ptr() as usize;
        let args = p
            .parse(&mut buf, &ParseLimits::default())
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(args, cmd(&[b"SET", b"key", b"value"]));
        assert_eq!(args[2].as_ptr() as usize, base + 8);
    }

    #[test]
    fn zero_length_and_binary_bulks() {
        let data: Vec<u8> = (0..=255u8).chain(*b"\r\n\r\n*3\r\n$").collect();
        let input = mb(&[b"SET", b"", &data]);
        let (cmds, err, _) = feed(&input);
        assert_eq!(err, None);
        assert_eq!(cmds, vec![cmd(&[b"SET", b"", &data])]);
        assert_split_invariant(&input, &ParseLimits::default());
        // A bulk whose data is exactly "\r\n".
        assert_eq!(
            feed(b"*2\r\n$4\r\nECHO\r\n$2\r\n\r\n\r\n").0,
            vec![cmd(&[b"ECHO", b"\r\n"])]
        );
    }

    #[test]
    fn skipped_headers_and_blank_lines() {
        let (cmds, err, rest) = feed(b"*0\r\n*-1\r\n*-5\r\n\r\n\n   \t\r\nPING\r\n");
        assert_eq!(err, None);
        assert!(rest.is_empty());
        assert_eq!(cmds, vec![cmd(&[b"PING"])]);
    }

    #[test]
    fn unchecked_line_and_bulk_terminators_like_redis() {
        // Verified against redis-server 7.0.15: "+PONG" then an ECHO arity error.
        let (cmds, err, _) = feed(b"*1\rx$4\r\nPINGxyECHO\r\n");
        assert_eq!(err, None);
        assert_eq!(cmds, vec![cmd(&[b"PING"]), cmd(&[b"ECHO"])]);
    }

    #[test]
    fn multibulk_count_limits() {
        use ProtocolError::*;
        assert_eq!(err_of(b"*abc\r\n"), InvalidMultibulkLength);
        assert_eq!(err_of(b"*\r\n"), InvalidMultibulkLength);
        assert_eq!(err_of(b"*-0\r\n"), InvalidMultibulkLength);
        assert_eq!(err_of(b"*01\r\n"), InvalidMultibulkLength);
        assert_eq!(err_of(b"*+1\r\n"), InvalidMultibulkLength);
        assert_eq!(err_of(b"* 1\r\n"), InvalidMultibulkLength);
        assert_eq!(err_of(b"*1 \r\n"), InvalidMultibulkLength);
        assert_eq!(err_of(b"*2147483648\r\n"), InvalidMultibulkLength);
        assert_eq!(err_of(b"*99999999999999999999\r\n"), InvalidMultibulkLength);
        assert_eq!(err_of(b"*1\x00\r\n"), InvalidMultibulkLength);
        // INT_MAX itself is accepted and waits for its arguments, with a capped Vec.
        let mut p = RespParser::new();
        let mut buf = BytesMut::from(&b"*2147483647\r\n"[..]);
        assert_eq!(p.parse(&mut buf, &ParseLimits::default()), Ok(None));
        assert!(buf.is_empty());
        assert!(p.args.capacity() <= MAX_INITIAL_ARGS);
        assert_eq!(p.pending, 2147483647);
        // Negative counts are skipped.
        assert_eq!(
            feed(b"*-9223372036854775808\r\nPING\r\n").0,
            vec![cmd(&[b"PING"])]
        );
    }

    #[test]
    fn bulk_length_limits() {
        use ProtocolError::*;
        assert_eq!(err_of(b"*1\r\n$-1\r\n"), InvalidBulkLength);
        assert_eq!(err_of(b"*1\r\n$abc\r\n"), InvalidBulkLength);
        assert_eq!(err_of(b"*1\r\n$\r\n"), InvalidBulkLength);
        assert_eq!(err_of(b"*1\r\n$01\r\n"), InvalidBulkLength);
        assert_eq!(err_of(b"*1\r\n$536870913\r\n"), InvalidBulkLength);
        assert_eq!(err_of(b"*1\r\n$9223372036854775808\r\n"), InvalidBulkLength);
        // The default maximum itself is accepted; nothing is reserved for it.
        let mut p = RespParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$536870912\r\nabc"[..]);
        assert_eq!(p.parse(&mut buf, &ParseLimits::default()), Ok(None));
        assert!(buf.capacity() < 1024);
        assert_eq!(p.bulk_remaining(), Some(536870912 + 2 - 3));
        // A configured maximum.
        let small = ParseLimits {
            max_bulk_len: 5,
            authenticated: true,
        };
        assert_eq!(
            feed_with(b"*1\r\n$6\r\n", &small).1,
            Some(InvalidBulkLength)
        );
        assert_eq!(
            feed_with(b"*1\r\n$5\r\nhello\r\n", &small).0,
            vec![cmd(&[b"hello"])]
        );
        let unlimited = ParseLimits {
            max_bulk_len: usize::MAX,
            authenticated: true,
        };
        assert_eq!(
            feed_with(b"*1\r\n$9223372036854775807\r\n", &unlimited).1,
            None
        );
    }

    #[test]
    fn expected_dollar() {
        assert_eq!(
            err_of(b"*1\r\nx4\r\nPING\r\n"),
            ProtocolError::ExpectedDollar(b'x')
        );
        assert_eq!(err_of(b"*1\r\n\r\n"), ProtocolError::ExpectedDollar(b'\r'));
        assert_eq!(
            err_of(b"*1\r\n\xff\r\n"),
            ProtocolError::ExpectedDollar(0xff)
        );
        assert_eq!(
            err_of(b"*2\r\n$1\r\na\r\n*1\r\n"),
            ProtocolError::ExpectedDollar(b'*')
        );
        // The error waits for the line's end, like Redis.
        assert_eq!(feed(b"*1\r\nx4").1, None);
    }

    #[test]
    fn unauthenticated_limits() {
        use ProtocolError::*;
        let unauth = ParseLimits {
            authenticated: false,
            ..ParseLimits::default()
        };
        assert_eq!(
            feed_with(b"*11\r\n", &unauth).1,
            Some(UnauthenticatedMultibulkLength)
        );
        assert_eq!(feed_with(b"*10\r\n", &unauth).1, None);
        assert_eq!(
            feed_with(b"*1\r\n$16385\r\n", &unauth).1,
            Some(UnauthenticatedBulkLength)
        );
        assert_eq!(feed_with(b"*1\r\n$16384\r\n", &unauth).1, None);
        // Invalid is checked before unauthenticated.
        assert_eq!(
            feed_with(b"*2147483648\r\n", &unauth).1,
            Some(InvalidMultibulkLength)
        );
        assert_eq!(
            feed_with(b"*1\r\n$-1\r\n", &unauth).1,
            Some(InvalidBulkLength)
        );
        assert_eq!(
            feed_with(b"*-20\r\nPING\r\n", &unauth).0,
            vec![cmd(&[b"PING"])]
        );
        // After AUTH the connection parses with the other limits.
        assert_eq!(feed(b"*11\r\n").1, None);
    }

    #[test]
    fn too_big_lines() {
        use ProtocolError::*;
        let max = PROTO_INLINE_MAX_SIZE;
        // Waiting at exactly 64 KiB, an error one byte later (as Redis 7.0.15).
        let mut v = vec![b'*'];
        v.resize(max, b'1');
        assert_eq!(feed(&v).1, None);
        v.push(b'1');
        assert_eq!(feed(&v).1, Some(TooBigMultibulkCount));

        let mut v = b"*1\r\n$".to_vec();
        v.resize(max + 4, b'1');
        assert_eq!(feed(&v).1, None);
        v.push(b'1');
        assert_eq!(feed(&v).1, Some(TooBigBulkCount));

        let mut v = vec![b'x'; max];
        assert_eq!(feed(&v).1, None);
        v.push(b'x');
        assert_eq!(feed(&v).1, Some(TooBigInline));

        // A line whose \r came late is invalid rather than too big.
        let mut v = vec![b'*'];
        v.resize(max + 10, b'1');
        v.extend_from_slice(b"\r\n");
        assert_eq!(feed(&v).1, Some(InvalidMultibulkLength));
        // A \r as the last byte: still waiting for one more byte.
        let mut v = vec![b'*'];
        v.resize(max + 10, b'1');
        v.push(b'\r');
        assert_eq!(feed(&v).1, None);

        // The limit is on what is buffered for the line, checked when it grows:
        // the line arriving in pieces gives the same answer.
        let mut v = b"PING\r\n".to_vec();
        v.extend(std::iter::repeat_n(b'y', max + 1));
        let chunks: Vec<&[u8]> = v.chunks(1000).collect();
        let (cmds, err, _) = feed_chunks(&chunks, &ParseLimits::default());
        assert_eq!(cmds, vec![cmd(&[b"PING"])]);
        assert_eq!(err, Some(TooBigInline));
    }

    #[test]
    fn inline_quoting() {
        use ProtocolError::*;
        assert_eq!(
            feed(b"SET \"a b\" '\\'x\\'' \"\\x41\\n\\x4\"\r\n").0,
            vec![cmd(&[b"SET", b"a b", b"'x'", b"A\nx4"])]
        );
        assert_eq!(feed(b"ECHO \"\"\n").0, vec![cmd(&[b"ECHO", b""])]);
        assert_eq!(err_of(b"ECHO \"a\r\n"), UnbalancedQuotes);
        assert_eq!(err_of(b"ECHO 'a'b\r\n"), UnbalancedQuotes);
        assert_eq!(err_of(b"ECHO \"a\"b\r\n"), UnbalancedQuotes);
        // Only one \r before the \n is dropped; others are blanks.
        assert_eq!(
            feed(b"ECHO a\rb\r\r\n").0,
            vec![cmd(&[b"ECHO", b"a", b"b"])]
        );
        assert_eq!(feed(b"ECHO \x0b a\r\n").0, vec![cmd(&[b"ECHO", b"a"])]);
        assert_eq!(feed(b"ECHO a\x00b\n").0, vec![cmd(&[b"ECHO", b"a\x00b"])]);
        // A quoted line keeps \r inside quotes.
        assert_eq!(feed(b"ECHO \"a\rb\"\r\n").0, vec![cmd(&[b"ECHO", b"a\rb"])]);
    }

    #[test]
    fn unquoted_fast_path_agrees_with_split_args() {
        let alphabet = [b'a', b' ', b'\t', b'\r', 0x0b, 0x0c, b'\\', b'x', 0];
        // Every line of up to 5 bytes over the alphabet.
        let mut lines: Vec<Vec<u8>> = vec![vec![]];
        let mut last: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..5 {
            let mut next = Vec::new();
            for l in &last {
                for &c in &alphabet {
                    let mut l = l.clone();
                    l.push(c);
                    next.push(l);
                }
            }
            lines.extend(next.iter().cloned());
            last = next;
        }
        for line in lines {
            let mut input = line.clone();
            input.push(b'\n');
            let (cmds, err, _) = feed(&input);
            assert_eq!(err, None);
            let expected: Vec<Bytes> = split_args(&line)
                .unwrap_or_default()
                .into_iter()
                .map(Bytes::from)
                .collect();
            if expected.is_empty() {
                assert!(cmds.is_empty(), "{line:?}");
            } else {
                assert_eq!(cmds, vec![expected], "{line:?}");
            }
        }
    }

    #[test]
    fn error_texts() {
        use ProtocolError::*;
        // Each verified byte for byte against redis-server 7.0.15.
        let cases: [(ProtocolError, &[u8]); 11] = [
            (
                InvalidMultibulkLength,
                b"-ERR Protocol error: invalid multibulk length\r\n",
            ),
            (
                InvalidBulkLength,
                b"-ERR Protocol error: invalid bulk length\r\n",
            ),
            (
                ExpectedDollar(b'x'),
                b"-ERR Protocol error: expected '$', got 'x'\r\n",
            ),
            (
                ExpectedDollar(b'\r'),
                b"-ERR Protocol error: expected '$', got ' '\r\n",
            ),
            (
                ExpectedDollar(0xff),
                b"-ERR Protocol error: expected '$', got '\xff'\r\n",
            ),
            (
                TooBigMultibulkCount,
                b"-ERR Protocol error: too big mbulk count string\r\n",
            ),
            (
                TooBigBulkCount,
                b"-ERR Protocol error: too big bulk count string\r\n",
            ),
            (
                UnauthenticatedMultibulkLength,
                b"-ERR Protocol error: unauthenticated multibulk length\r\n",
            ),
            (
                UnauthenticatedBulkLength,
                b"-ERR Protocol error: unauthenticated bulk length\r\n",
            ),
            (
                UnbalancedQuotes,
                b"-ERR Protocol error: unbalanced quotes in request\r\n",
            ),
            (
                TooBigInline,
                b"-ERR Protocol error: too big inline request\r\n",
            ),
        ];
        for (e, wire) in cases {
            assert_eq!(e.to_reply(), Reply::Raw(Bytes::from_static(wire)), "{e:?}");
            if e != ExpectedDollar(0xff) {
                assert_eq!(format!("-{e}\r\n").as_bytes(), wire);
            }
            assert!(!e.reason().is_empty());
        }
        assert_eq!(
            ExpectedDollar(0xff).to_string(),
            "ERR Protocol error: expected '$', got 'ÿ'"
        );
    }

    #[test]
    fn string2ll_matches_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"000000000000000000001",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn find_byte_long_and_short() {
        let mut v = vec![b'a'; 100];
        assert_eq!(find_byte(b'\r', &v), None);
        v[77] = b'\r';
        assert_eq!(find_byte(b'\r', &v), Some(77));
        v[3] = b'\r';
        assert_eq!(find_byte(b'\r', &v), Some(3));
        assert_eq!(find_byte(b'\r', &[]), None);
        assert_eq!(find_byte(b'\r', &v[32..]), Some(45));
    }
}
