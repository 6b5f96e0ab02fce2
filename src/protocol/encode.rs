//! The reply encoder: a `Reply` as RESP2 or RESP3 bytes, as Redis 7.0 writes
//! them (`networking.c`, `addReply*`).
//!
//! Byte layout per variant (RESP2 | RESP3):
//!
//! ```text
//! Simple      +text\r\n
//! Error       -text\r\n                     (\r and \n never reach the wire)
//! Int         :n\r\n
//! Bulk        $len\r\nbytes\r\n
//! Nil         $-1\r\n        | _\r\n
//! NilArray    *-1\r\n        | _\r\n
//! Array       *n\r\n items
//! Map         *2n\r\n k v..  | %n\r\n k v ...
//! Pairs       *2n\r\n a b..  | *n\r\n *2\r\n a b ...
//! Set         *n\r\n items   | ~n\r\n items
//! Double      $len\r\ntext\r\n | ,text\r\n  (text from format_double)
//! Bool        :1 / :0        | #t / #f
//! Verbatim    $len\r\ntext\r\n | =len+4\r\nfmt:text\r\n
//! BigNumber   $len\r\ndigits\r\n | (digits\r\n
//! Push        *n\r\n items   | >n\r\n items
//! Raw         the bytes as they are
//! ```

use std::fmt::Write as _;

use super::reply::Reply;
use super::Proto;

const CRLF: &[u8] = b"\r\n";

/// Appends `reply` encoded for `proto` to `out`.
pub fn encode(reply: &Reply, proto: Proto, out: &mut Vec<u8>) {
    let resp3 = proto == Proto::Resp3;
    match reply {
        Reply::Simple(text) => {
            out.push(b'+');
            push_line_text(text.as_bytes(), false, out);
            out.extend_from_slice(CRLF);
        }
        Reply::Error(text) => {
            out.push(b'-');
            push_line_text(text.as_bytes(), true, out);
            out.extend_from_slice(CRLF);
        }
        Reply::Int(n) => {
            out.push(b':');
            out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
            out.extend_from_slice(CRLF);
        }
        Reply::Bulk(data) => push_bulk(data, out),
        Reply::SmallBulk { len, data } => push_bulk(&data[..(*len as usize).min(data.len())], out),
        Reply::Nil => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        Reply::NilArray => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"*-1\r\n" }),
        Reply::Array(items) => {
            push_header(b'*', items.len(), out);
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Map(pairs) => {
            if resp3 {
                push_header(b'%', pairs.len(), out);
            } else {
                push_header(b'*', pairs.len().saturating_mul(2), out);
            }
            for (k, v) in pairs {
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
        Reply::Pairs(pairs) => {
            if resp3 {
                push_header(b'*', pairs.len(), out);
            } else {
                push_header(b'*', pairs.len().saturating_mul(2), out);
            }
            for (a, b) in pairs {
                if resp3 {
                    out.extend_from_slice(b"*2\r\n");
                }
                encode(a, proto, out);
                encode(b, proto, out);
            }
        }
        Reply::Set(items) => {
            push_header(if resp3 { b'~' } else { b'*' }, items.len(), out);
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Double(d) => {
            let mut buf = DoubleBuf::new();
            let text = buf.format(*d);
            if resp3 {
                out.push(b',');
                out.extend_from_slice(text);
                out.extend_from_slice(CRLF);
            } else {
                push_bulk(text, out);
            }
        }
        Reply::Bool(v) => {
            let wire: &[u8] = match (resp3, v) {
                (true, true) => b"#t\r\n",
                (true, false) => b"#f\r\n",
                (false, true) => b":1\r\n",
                (false, false) => b":0\r\n",
            };
            out.extend_from_slice(wire);
        }
        Reply::Verbatim(format, text) => {
            if resp3 {
                push_header(b'=', text.len().saturating_add(4), out);
                // Redis pads the format to three bytes with spaces (and cuts it there).
                let mut fmt = [b' '; 3];
                for (dst, src) in fmt.iter_mut().zip(format.bytes()) {
                    *dst = src;
                }
                out.extend_from_slice(&fmt);
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(CRLF);
            } else {
                push_bulk(text, out);
            }
        }
        Reply::BigNumber(digits) => {
            if resp3 {
                out.push(b'(');
                out.extend_from_slice(digits.as_bytes());
                out.extend_from_slice(CRLF);
            } else {
                push_bulk(digits.as_bytes(), out);
            }
        }
        Reply::Push(items) => {
            push_header(if resp3 { b'>' } else { b'*' }, items.len(), out);
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Raw(bytes) => out.extend_from_slice(bytes),
        Reply::Many(items) => {
            for item in items {
                encode(item, proto, out);
            }
        }
    }
}

/// `<prefix><n>\r\n`
#[inline]
fn push_header(prefix: u8, n: usize, out: &mut Vec<u8>) {
    out.push(prefix);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(CRLF);
}

/// `$<len>\r\n<data>\r\n`
#[inline]
fn push_bulk(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + 16);
    push_header(b'$', data.len(), out);
    out.extend_from_slice(data);
    out.extend_from_slice(CRLF);
}

/// The text of a status or error line. Redis's formatted replies
/// (`addReplyErrorFormat`, `addReplyStatusFormat`) map every `\r` and `\n` to
/// a space; errors are first trimmed of them at both ends (`sdstrim`).
fn push_line_text(text: &[u8], trim: bool, out: &mut Vec<u8>) {
    let is_nl = |b: &u8| matches!(b, b'\r' | b'\n');
    if !text.iter().any(is_nl) {
        out.extend_from_slice(text);
        return;
    }
    let mut text = text;
    if trim {
        let start = text.iter().position(|b| !is_nl(b)).unwrap_or(text.len());
        let end = text
            .iter()
            .rposition(|b| !is_nl(b))
            .map_or(start, |i| i + 1);
        text = text.get(start..end).unwrap_or_default();
    }
    out.extend(text.iter().map(|&b| if is_nl(&b) { b' ' } else { b }));
}

/// Redis's double text (7.0 `addReplyDouble`): C's `"%.17g"`, with `inf` and
/// `-inf` for the infinities (and glibc's `nan`/`-nan` for NaNs, which Redis
/// commands do not reply). Not the text of INCRBYFLOAT (`%.17Lg`, long double,
/// with trailing zeros removed), nor the shortest round-trip form of Redis 7.2.
pub fn format_double(d: f64) -> String {
    let mut buf = DoubleBuf::new();
    // The text is ASCII.
    String::from_utf8_lossy(buf.format(d)).into_owned()
}

/// A stack buffer for one formatted double. The longest `%.17g` text is 24
/// bytes ("-1.2345678901234567e-308"); Rust's `{:.16e}` is at most as long.
struct DoubleBuf {
    buf: [u8; 32],
    len: usize,
}

impl std::fmt::Write for DoubleBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl DoubleBuf {
    fn new() -> Self {
        DoubleBuf {
            buf: [0; 32],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn push_slice(&mut self, s: &[u8]) {
        for &b in s {
            self.push(b);
        }
    }

    /// `%.17g` of `d`: 17 significant digits, correctly rounded (ties to
    /// even, as glibc); scientific notation when the exponent is below -4 or
    /// at least 17, with a sign and at least two exponent digits; trailing
    /// zeros (and a trailing point) removed.
    fn format(&mut self, d: f64) -> &[u8] {
        self.len = 0;
        if d.is_nan() {
            self.push_slice(if d.is_sign_negative() {
                b"-nan"
            } else {
                b"nan"
            });
            return &self.buf[..self.len];
        }
        if d.is_infinite() {
            self.push_slice(if d > 0.0 { b"inf" } else { b"-inf" });
            return &self.buf[..self.len];
        }
        if d == 0.0 {
            self.push_slice(if d.is_sign_negative() { b"-0" } else { b"0" });
            return &self.buf[..self.len];
        }

        // Rust's exact formatting: "[-]D.DDDDDDDDDDDDDDDDe[-]X", 17 digits.
        let mut sci = DoubleBuf::new();
        if write!(sci, "{:.16e}", d.abs()).is_err() {
            // Cannot happen (the text fits); fall back to Rust's own text.
            self.len = 0;
            let _ = write!(self, "{d}");
            return &self.buf[..self.len];
        }
        let sci = &sci.buf[..sci.len];
        let e_at = sci.iter().position(|&b| b == b'e').unwrap_or(sci.len());
        let mut digits = [b'0'; 17];
        let mut n = 0;
        for &b in sci.get(..e_at).unwrap_or_default() {
            if b.is_ascii_digit() && n < digits.len() {
                digits[n] = b;
                n += 1;
            }
        }
        let exp: i32 = std::str::from_utf8(sci.get(e_at + 1..).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // Significant digits without trailing zeros (at least one).
        let sig = digits.iter().rposition(|&b| b != b'0').map_or(1, |i| i + 1);
        let digits = &digits[..sig];

        if d < 0.0 {
            self.push(b'-');
        }
        if !(-4..17).contains(&exp) {
            self.push(digits[0]);
            if digits.len() > 1 {
                self.push(b'.');
                self.push_slice(&digits[1..]);
            }
            self.push(b'e');
            self.push(if exp < 0 { b'-' } else { b'+' });
            let abs = exp.unsigned_abs();
            if abs < 10 {
                self.push(b'0');
            }
            let mut itoa = itoa::Buffer::new();
            self.push_slice(itoa.format(abs).as_bytes());
        } else if exp >= 0 {
            // 0 <= exp < 17: exp + 1 integer digits, padded with zeros.
            let int_digits = exp as usize + 1;
            for i in 0..int_digits {
                self.push(digits.get(i).copied().unwrap_or(b'0'));
            }
            if digits.len() > int_digits {
                self.push(b'.');
                self.push_slice(&digits[int_digits..]);
            }
        } else {
            // -4 <= exp < 0: "0.", then -exp-1 zeros, then the digits.
            self.push_slice(b"0.");
            for _ in 0..(-exp - 1) {
                self.push(b'0');
            }
            self.push_slice(digits);
        }
        &self.buf[..self.len]
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn small_bulk_encodes_like_bulk() {
        for v in [
            &b""[..],
            b"x",
            b"0123456789012345678901",
            b"0123456789012345678901234",
        ] {
            let small = crate::protocol::Reply::bulk_from_slice(v);
            let big = crate::protocol::Reply::Bulk(bytes::Bytes::copy_from_slice(v));
            for proto in [crate::protocol::Proto::Resp2, crate::protocol::Proto::Resp3] {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                super::encode(&small, proto, &mut a);
                super::encode(&big, proto, &mut b);
                assert_eq!(a, b);
            }
        }
    }

    use super::*;
    use bytes::Bytes;
    use std::borrow::Cow;

    fn enc(r: &Reply, proto: Proto) -> Vec<u8> {
        let mut out = Vec::new();
        encode(r, proto, &mut out);
        out
    }

    /// Asserts the RESP2 and RESP3 bytes of `r`.
    fn check(r: Reply, resp2: &[u8], resp3: &[u8]) {
        assert_eq!(
            enc(&r, Proto::Resp2),
            resp2,
            "RESP2 {r:?}: {:?}",
            String::from_utf8_lossy(&enc(&r, Proto::Resp2))
        );
        assert_eq!(
            enc(&r, Proto::Resp3),
            resp3,
            "RESP3 {r:?}: {:?}",
            String::from_utf8_lossy(&enc(&r, Proto::Resp3))
        );
    }

    fn bulk(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn scalars() {
        check(Reply::OK, b"+OK\r\n", b"+OK\r\n");
        check(Reply::simple("PONG"), b"+PONG\r\n", b"+PONG\r\n");
        check(Reply::simple(""), b"+\r\n", b"+\r\n");
        check(
            Reply::err("ERR unknown command"),
            b"-ERR unknown command\r\n",
            b"-ERR unknown command\r\n",
        );
        check(Reply::Int(0), b":0\r\n", b":0\r\n");
        check(Reply::Int(-42), b":-42\r\n", b":-42\r\n");
        check(
            Reply::Int(i64::MIN),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        );
        check(
            Reply::Int(i64::MAX),
            b":9223372036854775807\r\n",
            b":9223372036854775807\r\n",
        );
        check(bulk("hello"), b"$5\r\nhello\r\n", b"$5\r\nhello\r\n");
        check(bulk(""), b"$0\r\n\r\n", b"$0\r\n\r\n");
        check(
            Reply::Bulk(Bytes::from_static(b"a\r\nb\x00\xff")),
            b"$6\r\na\r\nb\x00\xff\r\n",
            b"$6\r\na\r\nb\x00\xff\r\n",
        );
        check(Reply::Nil, b"$-1\r\n", b"_\r\n");
        check(Reply::NilArray, b"*-1\r\n", b"_\r\n");
        check(Reply::Bool(true), b":1\r\n", b"#t\r\n");
        check(Reply::Bool(false), b":0\r\n", b"#f\r\n");
        check(
            Reply::BigNumber("1234567890123456789012345678901234567890".into()),
            b"$40\r\n1234567890123456789012345678901234567890\r\n",
            b"(1234567890123456789012345678901234567890\r\n",
        );
        check(
            Reply::Raw(Bytes::from_static(b"+already\r\n")),
            b"+already\r\n",
            b"+already\r\n",
        );
    }

    #[test]
    fn doubles() {
        // ZADD z 1.1 m / ZSCORE z m on redis-server 7.0.15, HELLO 2 and HELLO 3.
        check(
            Reply::Double(1.1),
            b"$18\r\n1.1000000000000001\r\n",
            b",1.1000000000000001\r\n",
        );
        check(Reply::Double(3.0), b"$1\r\n3\r\n", b",3\r\n");
        check(Reply::Double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n");
        check(
            Reply::Double(f64::NEG_INFINITY),
            b"$4\r\n-inf\r\n",
            b",-inf\r\n",
        );
        check(Reply::Double(-0.0), b"$2\r\n-0\r\n", b",-0\r\n");
    }

    #[test]
    fn verbatim() {
        let text = Bytes::from_static(b"# Server\r\nredis_version:7.0.15\r\n");
        check(
            Reply::Verbatim("txt", text.clone()),
            b"$32\r\n# Server\r\nredis_version:7.0.15\r\n\r\n",
            b"=36\r\ntxt:# Server\r\nredis_version:7.0.15\r\n\r\n",
        );
        check(
            Reply::Verbatim("md", Bytes::from_static(b"x")),
            b"$1\r\nx\r\n",
            b"=5\r\nmd :x\r\n",
        );
        check(
            Reply::Verbatim("mkdn", Bytes::new()),
            b"$0\r\n\r\n",
            b"=4\r\nmkd:\r\n",
        );
    }

    #[test]
    fn aggregates() {
        check(Reply::Array(vec![]), b"*0\r\n", b"*0\r\n");
        check(
            Reply::Array(vec![bulk("a"), Reply::Int(1), Reply::Nil]),
            b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n",
            b"*3\r\n$1\r\na\r\n:1\r\n_\r\n",
        );
        check(
            Reply::Map(vec![
                (bulk("k"), bulk("v")),
                (bulk("n"), Reply::Double(2.5)),
            ]),
            b"*4\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n$3\r\n2.5\r\n",
            b"%2\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\nn\r\n,2.5\r\n",
        );
        check(Reply::Map(vec![]), b"*0\r\n", b"%0\r\n");
        check(
            Reply::Pairs(vec![
                (bulk("a"), Reply::Double(1.5)),
                (bulk("b"), Reply::Double(2.0)),
            ]),
            b"*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n",
            b"*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n",
        );
        check(
            Reply::Set(vec![bulk("x"), bulk("y")]),
            b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n",
            b"~2\r\n$1\r\nx\r\n$1\r\ny\r\n",
        );
        check(Reply::Set(vec![]), b"*0\r\n", b"~0\r\n");
        // HRANDFIELD h 2 WITHVALUES on redis-server 7.0.15, HELLO 2 and HELLO 3.
        check(
            Reply::Pairs(vec![(bulk("a"), bulk("1")), (bulk("b"), bulk("2"))]),
            b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
            b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
        );
        check(Reply::Pairs(vec![]), b"*0\r\n", b"*0\r\n");
        check(
            Reply::Push(vec![bulk("message"), bulk("ch"), bulk("hi")]),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        );
        // Nesting, with protocol-dependent members inside.
        check(
            Reply::Array(vec![
                Reply::Map(vec![(Reply::simple("ok"), Reply::Bool(true))]),
                Reply::Set(vec![Reply::NilArray]),
                Reply::Array(vec![Reply::Array(vec![])]),
            ]),
            b"*3\r\n*2\r\n+ok\r\n:1\r\n*1\r\n*-1\r\n*1\r\n*0\r\n",
            b"*3\r\n%1\r\n+ok\r\n#t\r\n~1\r\n_\r\n*1\r\n*0\r\n",
        );
    }

    #[test]
    fn appends_to_existing_output() {
        let mut out = b"+first\r\n".to_vec();
        encode(&Reply::Int(2), Proto::Resp2, &mut out);
        assert_eq!(out, b"+first\r\n:2\r\n");
    }

    #[test]
    fn line_texts_never_carry_newlines() {
        check(
            Reply::err_owned("ERR bad\r\nthing\n".into()),
            b"-ERR bad  thing\r\n",
            b"-ERR bad  thing\r\n",
        );
        check(
            Reply::err_owned("\r\nERR x\ry\n\n".into()),
            b"-ERR x y\r\n",
            b"-ERR x y\r\n",
        );
        check(Reply::err_owned("\r\n".into()), b"-\r\n", b"-\r\n");
        check(
            Reply::Simple(Cow::Owned("a\r\nb\n".into())),
            b"+a  b \r\n",
            b"+a  b \r\n",
        );
    }

    #[test]
    fn format_double_verified_with_redis() {
        // ZADD z <v> m then ZSCORE z m against redis-server 7.0.15 (RESP2 bulk
        // and RESP3 ',' carry the same text).
        let cases: &[(f64, &str)] = &[
            (1.1, "1.1000000000000001"),
            (0.1, "0.10000000000000001"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (3.0, "3"),
            (100.0, "100"),
            (2.5, "2.5"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e308, "1e+308"),
            (5e-324, "4.9406564584124654e-324"),
            (-1.2345678901234567e-300, "-1.2345678901234568e-300"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(d, text) in cases {
            assert_eq!(format_double(d), text, "{d:e}");
        }
        assert_eq!(format_double(f64::NAN), "nan");
        assert_eq!(format_double(-f64::NAN), "-nan");
    }

    /// glibc's `snprintf("%.17g")`, what Redis 7.0 calls.
    fn c_format(d: f64) -> String {
        let mut buf = [0u8; 64];
        // SAFETY: the buffer is 64 bytes and its size is passed; the format
        // takes one double.
        let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), d) };
        let n = usize::try_from(n).unwrap_or(0).min(buf.len());
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn format_double_matches_glibc() {
        let mut values = vec![
            0.5,
            1.0,
            10.0,
            0.001,
            0.00001,
            1e-4,
            9.999_999_999_999_999e-5,
            99999999999999999.0,
            1e16 - 1.0,
            12345678901234567.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            std::f64::consts::PI,
            1.0 / 3.0,
        ];
        // Exact ties at the 18th digit: 1 + k * 2^-17 for odd k (round half to even).
        for k in (1..200).step_by(2) {
            let t = 1.0 + f64::from(k) * 2f64.powi(-17);
            values.push(t);
            values.push(t * 1024.0);
            values.push(t / 1e10);
        }
        // Powers of ten and their neighbours, across the fixed/scientific edges.
        for e in -330..=310 {
            let p = 10f64.powi(e);
            values.extend([p, p * 0.999_999_999_999_999_9, p * 1.000_000_000_000_000_2]);
        }
        // Pseudo-random bit patterns (xorshift), every exponent range.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(f64::from_bits(x));
        }
        for d in values {
            for v in [d, -d] {
                assert_eq!(format_double(v), c_format(v), "bits {:#x}", v.to_bits());
            }
        }
    }
}
