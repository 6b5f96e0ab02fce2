//! Splitting a line into arguments the way Redis does (`sdssplitargs`): used by
//! inline commands and by the config file reader.
//!
//! Rules: arguments are separated by white space; `"..."` accepts the escapes
//! `\n \r \t \b \a \\ \"` and `\xHH`; `'...'` accepts only `\'`; a closing quote
//! must be followed by white space or the end of the line; an unterminated
//! quote is an error (`None`).

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits `line` into arguments; `None` when quotes are unbalanced.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                let c = *line.get(i)?;
                if c == b'\\' && i + 3 < n && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(line[i + 2]), hex_val(line[i + 3])) {
                        cur.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must be followed by a space or nothing.
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    in_dq = false;
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else if in_sq {
                let c = *line.get(i)?;
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    in_sq = false;
                    i += 1;
                    break;
                }
                cur.push(c);
                i += 1;
            } else {
                match line.get(i) {
                    None => break,
                    // A word ends only at these (sdssplitargs), although blanks
                    // between words are skipped with isspace: "a\x0bb" is one word.
                    Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(&c) => cur.push(c),
                }
                i += 1;
            }
        }
        debug_assert!(!in_dq && !in_sq);
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::split_args;

    fn s(line: &str) -> Option<Vec<String>> {
        split_args(line.as_bytes()).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8(a).unwrap())
                .collect()
        })
    }

    #[test]
    fn plain_and_spaces() {
        assert_eq!(
            s("  set  a   b "),
            Some(vec!["set".into(), "a".into(), "b".into()])
        );
        assert_eq!(s(""), Some(vec![]));
        assert_eq!(s("   \t "), Some(vec![]));
    }

    #[test]
    fn double_quotes_and_escapes() {
        assert_eq!(
            s(r#"set "a b" "\x41\n""#),
            Some(vec!["set".into(), "a b".into(), "A\n".into()])
        );
        assert_eq!(s(r#""""#), Some(vec!["".into()]));
        assert_eq!(s(r#""\"q\"""#), Some(vec!["\"q\"".into()]));
        // an incomplete hex escape is taken literally after the backslash
        assert_eq!(s(r#""\xZZ""#), Some(vec!["xZZ".into()]));
    }

    #[test]
    fn single_quotes() {
        assert_eq!(s(r"'it\'s' x"), Some(vec!["it's".into(), "x".into()]));
        assert_eq!(s(r"'a\nb'"), Some(vec![r"a\nb".into()]));
    }

    #[test]
    fn vertical_tab_and_form_feed_only_separate_words_at_their_start() {
        // Verified with redis-server 7.0.15: inline `ECHO a\x0bb` echoes "a\x0bb".
        assert_eq!(s("ECHO a\x0bb"), Some(vec!["ECHO".into(), "a\x0bb".into()]));
        assert_eq!(s("a\x0c b"), Some(vec!["a\x0c".into(), "b".into()]));
        assert_eq!(s("\x0b a \x0c"), Some(vec!["a".into()]));
        assert_eq!(s("\"a\"\x0bb"), Some(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn unbalanced() {
        assert_eq!(s(r#"set "a"#), None);
        assert_eq!(s("set 'a"), None);
        assert_eq!(s(r#""a"b"#), None);
        assert_eq!(s("'a'b"), None);
    }
}
