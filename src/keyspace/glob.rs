//! Glob-style matching with exactly the semantics of Redis 7.0's
//! `stringmatchlen` (used by KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET...).
//!
//! Pattern syntax:
//! - `*` any sequence (see the empty-subject rule below), `?` any one byte;
//! - `[abc]` one of the set, `[^abc]` none of it, `[a-z]` a range (a
//!   reversed range `[z-a]` is the same range), `\x` inside a set is `x`;
//! - `\x` outside a set is the literal `x`; a trailing lone `\` is literal.
//!
//! Redis's quirks, kept on purpose because clients observe them:
//! - the empty subject matches only the empty pattern (`*` does not match
//!   `""`);
//! - an unterminated set (`[abc`) is a set that runs to the end of the
//!   pattern; `[^` alone matches any byte; `[]` never matches;
//! - a range needs three pattern bytes, so in `[a-]` the `-` range runs from
//!   `a` to `]` (and the set is then unterminated);
//! - range bounds and the subject byte compare as C `char`, which is signed
//!   on x86-64 (the reference build), so in ranges bytes >= 0x80 sort below
//!   ASCII;
//! - `nocase` folds ASCII letters only (the C locale), and never applies to a
//!   `\`-escaped byte inside a set.
//!
//! Redis matches recursively, one frame per `*`, with a "skip longer
//! matches" cut-off that keeps it polynomial; Redis 7.2.6 and later also give
//! up (no match) beyond 1000 nested `*`. This implementation is iterative
//! (the classic single-backtrack-point algorithm, O(pattern × subject) in the
//! worst case, no recursion), so it cannot exhaust the stack and gives the
//! results of 7.0.15 for every pattern, including ones with more than 1000
//! stars.

/// A byte as C's (signed) `char` promoted to `int`.
#[inline]
fn as_c_char(b: u8) -> i32 {
    i32::from(b as i8)
}

/// Matches the single non-`*` token that starts at `p[i]` against the subject
/// byte `c`. Returns whether it matched and the index just past the token.
/// The token's extent depends only on the pattern, never on `c`.
fn match_token(p: &[u8], i: usize, c: u8, nocase: bool) -> (bool, usize) {
    match p[i] {
        b'?' => (true, i + 1),
        b'[' => {
            let mut j = i + 1;
            let not = p.get(j) == Some(&b'^');
            if not {
                j += 1;
            }
            let mut matched = false;
            loop {
                let rem = p.len() - j;
                match p.get(j) {
                    Some(b'\\') if rem >= 2 => {
                        j += 1;
                        // Case-sensitive even with nocase, as in Redis.
                        if p[j] == c {
                            matched = true;
                        }
                    }
                    Some(b']') => break,
                    None => {
                        // Unterminated set: step back so the common
                        // `j + 1` below lands on the end of the pattern.
                        j -= 1;
                        break;
                    }
                    Some(&first) if rem >= 3 && p[j + 1] == b'-' => {
                        let mut start = as_c_char(first);
                        let mut end = as_c_char(p[j + 2]);
                        let mut ch = as_c_char(c);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = c_tolower(start);
                            end = c_tolower(end);
                            ch = c_tolower(ch);
                        }
                        j += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    }
                    Some(&b) => {
                        let hit = if nocase {
                            b.eq_ignore_ascii_case(&c)
                        } else {
                            b == c
                        };
                        if hit {
                            matched = true;
                        }
                    }
                }
                j += 1;
            }
            (matched != not, j + 1)
        }
        b'\\' if p.len() - i >= 2 => {
            let b = p[i + 1];
            let hit = if nocase {
                b.eq_ignore_ascii_case(&c)
            } else {
                b == c
            };
            (hit, i + 2)
        }
        b => {
            let hit = if nocase {
                b.eq_ignore_ascii_case(&c)
            } else {
                b == c
            };
            (hit, i + 1)
        }
    }
}

/// `tolower` on a promoted C `char` in the C locale: only `A`..=`Z` change.
#[inline]
fn c_tolower(v: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&v) {
        v + 32
    } else {
        v
    }
}

/// Returns whether `s` matches the glob `pattern` (Redis `stringmatchlen`).
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    // Redis's loop runs only while both pattern and subject are non-empty, so
    // an empty subject matches nothing but the empty pattern.
    if s.is_empty() {
        return pattern.is_empty();
    }
    let p = pattern;
    let (mut pi, mut si) = (0usize, 0usize);
    // The most recent `*`: where the pattern resumes after it and the
    // subject position the rest is currently being tried at.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if p.get(pi) == Some(&b'*') {
            while p.get(pi + 1) == Some(&b'*') {
                pi += 1;
            }
            if pi + 1 == p.len() {
                return true; // a trailing `*` swallows the non-empty rest
            }
            pi += 1;
            star = Some((pi, si));
            continue;
        }
        if pi < p.len() {
            let (ok, next) = match_token(p, pi, s[si], nocase);
            if ok {
                pi = next;
                si += 1;
                continue;
            }
        }
        // Mismatch (or pattern exhausted with subject left): let the last
        // `*` swallow one more byte. Earlier stars need not be revisited:
        // every token after the last star takes exactly one byte, so a
        // longer match for an earlier star can only start the tail later.
        match star {
            Some((sp, ss)) if ss + 1 < s.len() => {
                star = Some((sp, ss + 1));
                pi = sp;
                si = ss + 1;
            }
            _ => return false,
        }
    }
    // Subject consumed (after at least one byte): trailing stars match empty.
    while p.get(pi) == Some(&b'*') {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    /// A direct port of Redis 7.0.15 `stringmatchlen_impl` (recursive, with
    /// `skipLongerMatches`), used as the oracle in the differential test.
    /// Out-of-range reads stand for C's NUL terminator.
    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        fn at(p: &[u8], i: usize) -> u8 {
            p.get(i).copied().unwrap_or(0)
        }
        fn lower(v: i32) -> i32 {
            if (65..=90).contains(&v) {
                v + 32
            } else {
                v
            }
        }
        fn imp(
            p: &[u8],
            mut pi: usize,
            s: &[u8],
            mut si: usize,
            nocase: bool,
            skip: &mut bool,
        ) -> bool {
            let plen = |pi: usize| p.len() - pi;
            while plen(pi) > 0 && si < s.len() {
                match p[pi] {
                    b'*' => {
                        while plen(pi) > 0 && at(p, pi + 1) == b'*' {
                            pi += 1;
                        }
                        if plen(pi) == 1 {
                            return true;
                        }
                        while si < s.len() {
                            if imp(p, pi + 1, s, si, nocase, skip) {
                                return true;
                            }
                            if *skip {
                                return false;
                            }
                            si += 1;
                        }
                        *skip = true;
                        return false;
                    }
                    b'?' => si += 1,
                    b'[' => {
                        pi += 1;
                        let not = at(p, pi) == b'^';
                        if not {
                            pi += 1;
                        }
                        let mut matched = false;
                        loop {
                            if at(p, pi) == b'\\' && plen(pi) >= 2 {
                                pi += 1;
                                if p[pi] == s[si] {
                                    matched = true;
                                }
                            } else if at(p, pi) == b']' {
                                break;
                            } else if plen(pi) == 0 {
                                pi -= 1;
                                break;
                            } else if plen(pi) >= 3 && p[pi + 1] == b'-' {
                                let (mut a, mut b) = (p[pi] as i8 as i32, p[pi + 2] as i8 as i32);
                                let mut c = s[si] as i8 as i32;
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                if nocase {
                                    a = lower(a);
                                    b = lower(b);
                                    c = lower(c);
                                }
                                pi += 2;
                                if c >= a && c <= b {
                                    matched = true;
                                }
                            } else if nocase {
                                if p[pi].eq_ignore_ascii_case(&s[si]) {
                                    matched = true;
                                }
                            } else if p[pi] == s[si] {
                                matched = true;
                            }
                            pi += 1;
                        }
                        if not {
                            matched = !matched;
                        }
                        if !matched {
                            return false;
                        }
                        si += 1;
                    }
                    c => {
                        let c = if c == b'\\' && plen(pi) >= 2 {
                            pi += 1;
                            p[pi]
                        } else {
                            c
                        };
                        let eq = if nocase {
                            c.eq_ignore_ascii_case(&s[si])
                        } else {
                            c == s[si]
                        };
                        if !eq {
                            return false;
                        }
                        si += 1;
                    }
                }
                pi += 1;
                if si == s.len() {
                    while at(p, pi) == b'*' {
                        pi += 1;
                    }
                    break;
                }
            }
            plen(pi) == 0 && si == s.len()
        }
        let mut skip = false;
        imp(p, 0, s, 0, nocase, &mut skip)
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("*", "anything"));
        assert!(m("**", "x"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(m("*a*", "a"));
        assert!(m("*a*b", "xxaxxb"));
        assert!(!m("*a*b", "xxaxxbx"));
        assert!(m("a*b*c", "abc"));
        assert!(!m("a*b*c", "acb"));
    }

    #[test]
    fn empty_subject_matches_only_empty_pattern() {
        assert!(m("", ""));
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("?", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn sets_and_ranges() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed range");
        assert!(m("[0-9][0-9]", "42"));
        assert!(!m("[]", "]"), "empty set never matches");
        assert!(!m("[]a]", "a"));
        assert!(m("[^]", "x"), "negated empty set matches anything");
        assert!(m("[^]x", "ax"));
    }

    #[test]
    fn unterminated_sets() {
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "d"));
        assert!(!m("[abc", "bb"));
        assert!(!m("[", "a"));
        assert!(m("[^", "a"));
        assert!(!m("a[", "a"), "the subject ends before the set is read");
        // `[a-]`: the range runs from 'a' down to ']' (0x5d..=0x61).
        assert!(m("[a-]", "_"));
        assert!(m("[a-]", "]"));
        assert!(!m("[a-]", "-"));
        assert!(!m("[a-]", "b"));
        assert!(m("[a-]x", "x"), "'x' is one more member of the open set");
    }

    #[test]
    fn escapes() {
        assert!(m(r"\*", "*"));
        assert!(!m(r"\*", "a"));
        assert!(m(r"a\?", "a?"));
        assert!(!m(r"a\?", "ab"));
        assert!(m(r"[\]]", "]"));
        assert!(m(r"[\-]", "-"));
        assert!(m("\\", "\\"), "a trailing backslash is literal");
        assert!(m("a\\", "a\\"));
        assert!(m(r"\\", "\\"));
    }

    #[test]
    fn nocase() {
        assert!(mi("HeLLo", "hello"));
        assert!(mi("h[A-Z]llo", "hello"));
        assert!(mi("[a-z]", "Q"));
        assert!(!m("[a-z]", "Q"));
        assert!(mi("[Q]", "q"));
        assert!(!mi(r"[\Q]", "q"), "escaped set members compare exactly");
        assert!(mi("maxmemory*", "MAXMEMORY-policy"));
    }

    #[test]
    fn high_bytes_compare_as_signed_char() {
        // [a-\xe9] is the signed range -23..=97, which holds 'A' and 0xff.
        assert!(glob_match(b"[a-\xe9]", b"A", false));
        assert!(glob_match(b"[a-\xe9]", b"\xff", false));
        assert!(!glob_match(b"[a-\xe9]", b"z", false));
        assert!(glob_match(b"\xc3\xa9*", b"\xc3\xa9t\xc3\xa9", false));
    }

    #[test]
    fn pathological_patterns_are_fast_and_shallow() {
        let s = vec![b'a'; 100_000];
        assert!(!glob_match(b"*a*a*a*a*a*a*a*a*a*a*a*b", &s, false));
        let mut p = Vec::new();
        for _ in 0..50_000 {
            p.extend_from_slice(b"*a");
        }
        p.push(b'b');
        assert!(!glob_match(&p, &s, false));
        p.pop();
        assert!(glob_match(&p, &s, false));
    }

    #[test]
    fn agrees_with_redis_recursive_algorithm() {
        // Deterministic xorshift: random short patterns over a small alphabet
        // with every special byte, against random subjects.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let palpha = b"ab*?[]^-\\Az\xe9";
        let salpha = b"abAz-]^\\\xe9";
        for _ in 0..200_000 {
            let plen = (next() % 8) as usize;
            let slen = (next() % 7) as usize;
            let p: Vec<u8> = (0..plen)
                .map(|_| palpha[(next() % palpha.len() as u64) as usize])
                .collect();
            let s: Vec<u8> = (0..slen)
                .map(|_| salpha[(next() % salpha.len() as u64) as usize])
                .collect();
            for nocase in [false, true] {
                assert_eq!(
                    glob_match(&p, &s, nocase),
                    reference(&p, &s, nocase),
                    "pattern {:?} subject {:?} nocase {nocase}",
                    String::from_utf8_lossy(&p),
                    String::from_utf8_lossy(&s)
                );
            }
        }
    }
}
