//! The one wildcard matcher: IAM's `Action`/`Resource` patterns, lifecycle
//! `tagPatternList` entries, tag-mutability exclusion filters and scanning
//! filters all match a whole text against a pattern where `*` stands for any
//! run of characters (including none). IAM patterns also take `?` for exactly
//! one character; ECR's tag filters do not, so there `?` is itself.

/// Which characters are wildcards besides `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `*` only (ECR tag and repository filters).
    Star,
    /// `*` and `?` (IAM policies).
    StarAndQuestion,
}

/// Whether `pattern` matches the whole of `text`. Case-sensitive; linear in
/// practice (greedy, with one backtrack point: the last `*`).
pub fn matches(syntax: Syntax, pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let any_one = syntax == Syntax::StarAndQuestion;
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if (any_one && c == '?') || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, from)) => {
                    backtrack = Some((star, from + 1));
                    p = star + 1;
                    t = from + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_any_run_and_the_whole_text() {
        for (p, t, want) in [
            ("latest", "latest", true),
            ("latest", "latest2", false),
            ("v*", "v1.2", true),
            ("*-rc", "1.0-rc", true),
            ("*", "", true),
            ("**", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a*a", "a", false),
            ("", "x", false),
            ("Prod*", "prod", false),
            ("ünï*", "ünïcode", true),
        ] {
            assert_eq!(matches(Syntax::Star, p, t), want, "{p} vs {t}");
        }
    }

    #[test]
    fn question_mark_is_a_wildcard_only_in_iam_syntax() {
        assert!(matches(Syntax::StarAndQuestion, "v?", "v1"));
        assert!(!matches(Syntax::StarAndQuestion, "v?", "v"));
        assert!(!matches(Syntax::Star, "v?", "v1"));
        assert!(matches(Syntax::Star, "v?", "v?"));
    }
}
