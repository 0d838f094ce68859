//! apk-tools' version order (src/version.c, `apk_version_compare_blob`):
//! Gentoo-style versions `{digit}{.digit}…{letter}{_suffix{#}}…{-r#}`.
//! Written here, token by token as apk-tools does it, because no maintained
//! crate implements it; it reads the strings in place, without allocating.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    Invalid = -1,
    DigitOrZero = 0,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

const PRE_SUFFIXES: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST_SUFFIXES: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];

/// `next_token`: what kind of token starts at `s`, consuming its separator.
fn next_token(kind: Token, s: &mut &[u8]) -> Token {
    let mut n = Token::Invalid;
    match s.first() {
        None | Some(0) => n = Token::End,
        Some(c) if matches!(kind, Token::Digit | Token::DigitOrZero) && c.is_ascii_lowercase() => {
            n = Token::Letter
        }
        Some(c) if kind == Token::Letter && c.is_ascii_digit() => n = Token::Digit,
        Some(c) if kind == Token::Suffix && c.is_ascii_digit() => n = Token::SuffixNo,
        Some(&c) => {
            match c {
                b'.' => n = Token::DigitOrZero,
                b'_' => n = Token::Suffix,
                b'-' if s.get(1) == Some(&b'r') => {
                    n = Token::RevisionNo;
                    *s = &s[1..];
                }
                _ => {}
            }
            *s = &s[1..];
        }
    }
    if n < kind
        && !((n == Token::DigitOrZero && kind == Token::Digit)
            || (n == Token::Suffix && kind == Token::SuffixNo)
            || (n == Token::Digit && kind == Token::Letter))
    {
        n = Token::Invalid;
    }
    n
}

/// `get_token`: the value of the token of kind `*kind` at `s`; advances `s`
/// and sets `*kind` to the next token's kind.
fn get_token(kind: &mut Token, s: &mut &[u8]) -> i64 {
    if s.is_empty() {
        *kind = Token::End;
        return 0;
    }
    let mut i = 0;
    let mut v: i64 = 0;
    let mut next = Token::Invalid;
    let digits = |s: &[u8], i: &mut usize, v: &mut i64| {
        while *i < s.len() && s[*i].is_ascii_digit() {
            *v = v.wrapping_mul(10).wrapping_add(i64::from(s[*i] - b'0'));
            *i += 1;
        }
    };
    match *kind {
        Token::DigitOrZero if s[0] == b'0' => {
            // Leading zeros get a special treatment.
            while i < s.len() && s[i] == b'0' {
                i += 1;
            }
            next = Token::Digit;
            v = -(i as i64);
        }
        Token::DigitOrZero | Token::Digit | Token::SuffixNo | Token::RevisionNo => {
            digits(s, &mut i, &mut v);
            if i >= 18 {
                *kind = Token::Invalid;
                return -1;
            }
        }
        Token::Letter => {
            v = i64::from(s[0]);
            i = 1;
        }
        Token::Suffix => {
            if let Some(k) = PRE_SUFFIXES.iter().position(|p| s.starts_with(p)) {
                i = PRE_SUFFIXES[k].len();
                v = k as i64 - PRE_SUFFIXES.len() as i64;
            } else if let Some(k) = POST_SUFFIXES.iter().position(|p| s.starts_with(p)) {
                i = POST_SUFFIXES[k].len();
                v = k as i64;
            } else {
                *kind = Token::Invalid;
                return -1;
            }
        }
        Token::Invalid | Token::End => {
            *kind = Token::Invalid;
            return -1;
        }
    }
    *s = &s[i..];
    if s.is_empty() {
        *kind = Token::End;
    } else if next != Token::Invalid {
        *kind = next;
    } else {
        *kind = next_token(*kind, s);
    }
    v
}

/// apk-tools' order of two versions. apk-tools orders any two strings
/// (token by token, up to the first one it cannot read); Berth refuses only
/// strings that do not start with a digit, which are not versions at all.
pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    if !a.starts_with(|c: char| c.is_ascii_digit()) || !b.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let (mut at, mut bt) = (Token::Digit, Token::Digit);
    let (mut av, mut bv) = (0i64, 0i64);
    while at == bt && at != Token::End && at != Token::Invalid && av == bv {
        av = get_token(&mut at, &mut a);
        bv = get_token(&mut bt, &mut b);
    }
    if av != bv {
        return Some(av.cmp(&bv));
    }
    if at == bt {
        return Some(Ordering::Equal);
    }
    // Equal so far: the longer one is newer, unless what it has more of is a
    // pre-release suffix.
    let mut tt = at;
    if at == Token::Suffix && get_token(&mut tt, &mut a) < 0 {
        return Some(Ordering::Less);
    }
    let mut tt = bt;
    if bt == Token::Suffix && get_token(&mut tt, &mut b) < 0 {
        return Some(Ordering::Greater);
    }
    Some(bt.cmp(&at))
}

#[cfg(test)]
mod tests {
    use super::compare;
    use std::cmp::Ordering;

    /// apk-tools' own test cases, `test/version.data` of alpinelinux/apk-tools
    /// (commit 50ab589e9a5a84592ee4c0ac5a49506bb6c552fc), copied verbatim.
    const VERSION_DATA: &str = include_str!("testdata/apk-version.data");

    #[test]
    fn apk_tools_test_suite() {
        let mut checked = 0;
        for line in VERSION_DATA.lines().filter(|l| !l.trim().is_empty()) {
            let case = line.split('#').next().unwrap_or_default();
            let parts: Vec<&str> = case.split_whitespace().collect();
            let [a, op, b] = parts[..] else {
                panic!("unreadable line {line:?}");
            };
            let want = match op {
                "<" => Ordering::Less,
                "=" => Ordering::Equal,
                ">" => Ordering::Greater,
                _ => panic!("unknown operator in {line:?}"),
            };
            assert_eq!(compare(a, b), Some(want), "{line}");
            assert_eq!(compare(b, a), Some(want.reverse()), "{line} (reversed)");
            checked += 1;
        }
        assert!(checked > 500, "the whole suite ran ({checked} cases)");
    }

    #[test]
    fn alpine_package_versions() {
        for (a, b, want) in [
            ("3.1.4-r5", "3.1.4-r6", Ordering::Less),
            ("1.36.1-r15", "1.36.1-r20", Ordering::Less),
            ("3.0.12-r0", "3.0.12_rc1-r0", Ordering::Greater),
            ("1.2.4_git20230717-r4", "1.2.4-r4", Ordering::Greater),
        ] {
            assert_eq!(compare(a, b), Some(want), "{a} vs {b}");
        }
        assert_eq!(compare("", "1"), None);
        assert_eq!(compare("r1", "1"), None);
    }
}
