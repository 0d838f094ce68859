//! SemVer 2.0 precedence, read leniently as OSV's npm, Go and crates.io
//! records and installed packages need: a leading `v` (Go modules), a missing
//! minor or patch (`1.2` is `1.2.0`), leading zeros, numbers of any size.
//! The `semver` crate parses strictly and refuses all of these, so the order
//! is written here; it compares the strings in place, without allocating.

use std::cmp::Ordering;

/// `major.minor.patch`, the pre-release, borrowed.
struct Version<'a> {
    core: [&'a str; 3],
    pre: Option<&'a str>,
}

fn parse(s: &str) -> Option<Version<'_>> {
    let s = s.trim();
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    // Build metadata never affects precedence.
    let s = s.split_once('+').map_or(s, |(v, _)| v);
    let (core, pre) = match s.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (s, None),
    };
    let mut parts = ["0"; 3];
    for (n, part) in core.split('.').enumerate() {
        if n == 3 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parts[n] = part;
    }
    if let Some(pre) = pre {
        if pre.is_empty()
            || pre.split('.').any(|id| {
                id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        {
            return None;
        }
    }
    Some(Version { core: parts, pre })
}

/// Two decimal numbers of any length.
fn numeric(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// SemVer's pre-release precedence: identifier by identifier, numbers
/// numerically and below alphanumerics, a shorter list first.
fn prerelease(a: &str, b: &str) -> Ordering {
    let mut a = a.split('.');
    let mut b = b.split('.');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let xn = x.bytes().all(|c| c.is_ascii_digit());
                let yn = y.bytes().all(|c| c.is_ascii_digit());
                let order = match (xn, yn) {
                    (true, true) => numeric(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// SemVer precedence of two versions; `None` when either does not parse.
pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    let core = (0..3).fold(Ordering::Equal, |order, i| {
        order.then_with(|| numeric(a.core[i], b.core[i]))
    });
    Some(core.then_with(|| match (a.pre, b.pre) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => prerelease(x, y),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::testing::assert_orders;
    use super::compare;
    use std::cmp::Ordering;

    /// The precedence example of semver.org (§11), in order.
    #[test]
    fn semver_org_precedence_example() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(compare(a, b), Some(i.cmp(&j)), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn lenient_forms() {
        assert_orders(
            compare,
            &[
                ("v1.2.3", "1.2.3", Ordering::Equal),
                ("1.2", "1.2.0", Ordering::Equal),
                ("1", "1.0.0", Ordering::Equal),
                ("1.0.0+build.5", "1.0.0", Ordering::Equal),
                ("01.2.3", "1.2.3", Ordering::Equal),
                ("1.19.8", "1.20", Ordering::Less),
                (
                    "0.0.0-20210101000000-abcdef123456",
                    "0.0.0-20220101000000-000000000000",
                    Ordering::Less,
                ),
                ("0.0.0-20210101000000-abcdef123456", "0.1.0", Ordering::Less),
                (
                    "18446744073709551616.0.0",
                    "18446744073709551615.0.0",
                    Ordering::Greater,
                ),
                ("4.17.20", "4.17.21", Ordering::Less),
            ],
        );
        for bad in [
            "",
            "1.2.3.4",
            "a.b.c",
            "1..2",
            "1.0.0-",
            "1.0.0-a..b",
            "go1.19",
        ] {
            assert_eq!(compare(bad, "1.0.0"), None, "{bad:?}");
        }
    }
}
