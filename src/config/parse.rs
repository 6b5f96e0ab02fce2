//! The number and string conversions Redis's config code relies on, with
//! their C quirks: `string2ll`, `strtoll`, `memtoull`, `string2d`,
//! `sdscatrepr` and the memory formatting of CONFIG REWRITE.

/// C `isspace` in the C locale.
fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

pub(crate) use crate::protocol::string2ll;

/// The result of C `strtoll`: the value (clamped on overflow), how many bytes
/// were consumed (0 when no digits were found, as `endptr == nptr`), and
/// whether it overflowed (`errno == ERANGE`).
pub(crate) struct StrToLl {
    pub value: i64,
    pub end: usize,
    pub overflow: bool,
}

/// C `strtoll(s, &end, base)` for base 8 or 10.
pub(crate) fn strtoll(s: &[u8], base: u32) -> StrToLl {
    let mut i = 0;
    while i < s.len() && c_isspace(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            negative = c == b'-';
            i += 1;
        }
    }
    let start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&c| char::from(c).to_digit(base)) {
        match v
            .checked_mul(u64::from(base))
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return StrToLl {
            value: 0,
            end: 0,
            overflow: false,
        };
    }
    let value = if negative {
        if overflow || v > (i64::MAX as u64) + 1 {
            overflow = true;
            i64::MIN
        } else {
            (v as i64).wrapping_neg()
        }
    } else if overflow || v > i64::MAX as u64 {
        overflow = true;
        i64::MAX
    } else {
        v as i64
    };
    StrToLl {
        value,
        end: i,
        overflow,
    }
}

/// `strtoll(s, &eptr, 10)` followed by Redis's usual `*eptr != '\0'` check:
/// the whole string must be consumed. Overflow is not an error (the value is
/// clamped), and the empty string is 0, exactly like the C code.
pub(crate) fn strtoll_whole(s: &[u8]) -> Option<i64> {
    let r = strtoll(s, 10);
    if r.end == s.len() {
        Some(r.value)
    } else {
        None
    }
}

/// Redis's `memtoull`: digits followed by an optional unit among `b`, `k`
/// (1000), `kb` (1024), `m`, `mb`, `g`, `gb`, case-insensitively. No sign,
/// no spaces. Missing digits mean 0 and overflow wraps, as in Redis.
pub(crate) fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let ndigits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let (digits, unit) = s.split_at(ndigits);
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    // strtoull saturates on overflow and Redis does not check ERANGE.
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|x| x.checked_add(u64::from(d - b'0')))
            .unwrap_or(u64::MAX);
    }
    Some(v.wrapping_mul(mul))
}

/// Redis's `string2d` (strtod that must consume everything, no leading
/// space, no NaN, no overflow or underflow to zero).
pub(crate) fn string2d(s: &[u8]) -> Option<f64> {
    let first = *s.first()?;
    if c_isspace(first) {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    let unsigned = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if v.is_infinite() && unsigned != "inf" && unsigned != "infinity" {
        return None; // ERANGE overflow
    }
    if v == 0.0 {
        let mantissa = unsigned.split('e').next().unwrap_or("");
        if mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            return None; // ERANGE underflow
        }
    }
    Some(v)
}

/// `printf("%f")` followed by Redis's `trimDoubleString`.
pub(crate) fn format_double_trimmed(v: f64) -> String {
    let mut s = format!("{v:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// Redis's `sdscatrepr`: a double-quoted string that `sdssplitargs` reads
/// back as the same bytes.
pub(crate) fn repr(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// CONFIG REWRITE's memory notation (`rewriteConfigFormatMemory`): `gb`,
/// `mb` or `kb` when the value is an exact multiple, plain bytes otherwise.
pub(crate) fn format_memory(bytes: i64) -> String {
    const GB: i64 = 1024 * 1024 * 1024;
    const MB: i64 = 1024 * 1024;
    const KB: i64 = 1024;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// `yesnotoi`: `yes`/`no`, case-insensitively.
pub(crate) fn yes_no(s: &[u8]) -> Option<bool> {
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

/// The `strerror` text of an I/O error, without Rust's " (os error N)".
pub(crate) fn strerror(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(pos) if err.raw_os_error().is_some() => text[..pos].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775808"), None);
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"1k",
            b"abc",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn strtoll_like_c() {
        assert_eq!(strtoll_whole(b""), Some(0));
        assert_eq!(strtoll_whole(b" +12"), Some(12));
        assert_eq!(strtoll_whole(b"-7"), Some(-7));
        assert_eq!(strtoll_whole(b"12a"), None);
        assert_eq!(strtoll_whole(b"-"), None);
        assert_eq!(strtoll_whole(b" "), None);
        assert_eq!(strtoll_whole(b"99999999999999999999"), Some(i64::MAX));
        let r = strtoll(b"0777", 8);
        assert_eq!((r.value, r.end, r.overflow), (0o777, 4, false));
        assert_eq!(strtoll(b"8", 8).end, 0);
    }

    #[test]
    fn memtoull_units() {
        assert_eq!(memtoull(b"1"), Some(1));
        assert_eq!(memtoull(b"1b"), Some(1));
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1K"), Some(1000));
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"1KB"), Some(1024));
        assert_eq!(memtoull(b"1m"), Some(1_000_000));
        assert_eq!(memtoull(b"1mB"), Some(1 << 20));
        assert_eq!(memtoull(b"1g"), Some(1_000_000_000));
        assert_eq!(memtoull(b"2gb"), Some(2 << 30));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"gb"), Some(0));
        for bad in [&b"-1"[..], b"1.5gb", b"1 kb", b" 1", b"+1", b"1xb", b"1tb"] {
            assert_eq!(memtoull(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn repr_round_trips_through_split_args() {
        let raw: Vec<u8> = (0u8..=255).collect();
        let quoted = repr(&raw);
        let back = crate::protocol::split_args(quoted.as_bytes());
        assert_eq!(back, Some(vec![raw]));
        assert_eq!(repr(b"a \"b\"\n"), r#""a \"b\"\n""#);
    }

    #[test]
    fn memory_format() {
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_memory(1024), "1kb");
        assert_eq!(format_memory(512 << 20), "512mb");
        assert_eq!(format_memory(3 << 30), "3gb");
        assert_eq!(format_memory(1000), "1000");
    }

    #[test]
    fn doubles() {
        assert_eq!(string2d(b"99.9"), Some(99.9));
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"nan"), None);
        assert_eq!(string2d(b"1e999"), None);
        assert_eq!(string2d(b"1e-999"), None);
        assert_eq!(string2d(b"0.0"), Some(0.0));
        assert_eq!(format_double_trimmed(99.9), "99.9");
        assert_eq!(format_double_trimmed(50.0), "50");
    }
}
