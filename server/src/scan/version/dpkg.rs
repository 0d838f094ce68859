//! dpkg's version order, as `dpkg --compare-versions` implements it
//! (lib/dpkg/version.c `dpkg_version_compare` and lib/dpkg/parsehelp.c
//! `parseversion`). Written here because no maintained crate implements
//! dpkg's order exactly; it works on the strings in place, with no
//! allocation, since matching compares versions in tight loops.

use std::cmp::Ordering;

/// `[epoch:]upstream[-revision]`, borrowed from the version string.
struct Version<'a> {
    epoch: u32,
    upstream: &'a [u8],
    revision: &'a [u8],
}

/// Parses as dpkg does, refusing what dpkg reports as an error or a warning
/// (empty parts, a non-numeric epoch, an upstream version not starting with a
/// digit, characters outside dpkg's set).
fn parse(s: &str) -> Option<Version<'_>> {
    let s = s.trim_matches(|c: char| c == ' ' || c == '\t');
    if s.is_empty() || s.bytes().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let (epoch, rest) = match s.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) || rest.is_empty() {
                return None;
            }
            let epoch: u32 = epoch.parse().ok()?;
            if epoch > i32::MAX as u32 {
                return None;
            }
            (epoch, rest)
        }
        None => (0, s),
    };
    let (upstream, revision) = match rest.rfind('-') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    if rest.ends_with('-') || upstream.is_empty() {
        return None;
    }
    let upstream = upstream.as_bytes();
    if !upstream[0].is_ascii_digit()
        || !upstream
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b".-+~:".contains(&b))
        || !revision
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+~".contains(&b))
    {
        return None;
    }
    Some(Version {
        epoch,
        upstream,
        revision: revision.as_bytes(),
    })
}

/// dpkg's weight of a non-digit character: `~` before the end, the end
/// before letters, letters before everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit and digit runs.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let at = |k: usize| a.get(k).copied();
    let bt = |k: usize| b.get(k).copied();
    while i < a.len() || j < b.len() {
        while at(i).is_some_and(|c| !c.is_ascii_digit())
            || bt(j).is_some_and(|c| !c.is_ascii_digit())
        {
            let (ac, bc) = (order(at(i)), order(bt(j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(i) == Some(b'0') {
            i += 1;
        }
        while bt(j) == Some(b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while let (Some(x), Some(y)) = (at(i), bt(j)) {
            if !(x.is_ascii_digit() && y.is_ascii_digit()) {
                break;
            }
            if first_diff == Ordering::Equal {
                first_diff = x.cmp(&y);
            }
            i += 1;
            j += 1;
        }
        if at(i).is_some_and(|c| c.is_ascii_digit()) {
            return Ordering::Greater;
        }
        if bt(j).is_some_and(|c| c.is_ascii_digit()) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

/// dpkg's order of two versions; `None` when either does not parse.
pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    Some(
        a.epoch
            .cmp(&b.epoch)
            .then_with(|| verrevcmp(a.upstream, b.upstream))
            .then_with(|| verrevcmp(a.revision, b.revision)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_orders, run_reference, RandomPairs};
    use super::compare;
    use rand::Rng;
    use std::cmp::Ordering;
    use std::process::Command;

    #[test]
    fn known_orders() {
        assert_orders(
            compare,
            &[
                ("1.0", "1.0", Ordering::Equal),
                ("1.0~rc1", "1.0", Ordering::Less),
                ("1.0", "1.0+b1", Ordering::Less),
                ("1:0.1", "2.0", Ordering::Greater),
                ("1.0-1", "1.0-1~bpo1", Ordering::Greater),
                ("0:1.0", "1.0", Ordering::Equal),
                ("1.0-0", "1.0", Ordering::Equal),
                ("3.0.11-1~deb12u2", "3.0.11-1~deb12u1", Ordering::Greater),
                ("2.36-9+deb12u4", "2.36-9+deb12u10", Ordering::Less),
                ("1.0a", "1.0", Ordering::Greater),
                ("1.0.", "1.0", Ordering::Greater),
            ],
        );
        for bad in [
            "", "a1.0", "1:", ":1", "x:1.0", "1.0-", "1 0", "1.0_1", "-1",
        ] {
            assert_eq!(compare(bad, "1.0"), None, "{bad:?}");
        }
    }

    /// A random version from the characters dpkg gives meaning to, with
    /// runs likely to tie so that the later rules decide.
    fn random_version(rng: &mut impl Rng) -> String {
        const UP: &[u8] = b"0123456789aAbz.+~";
        const REV: &[u8] = b"0123456789abz.+~";
        let mut v = String::new();
        if rng.gen_bool(0.2) {
            v.push_str(&rng.gen_range(0..3).to_string());
            v.push(':');
        }
        v.push(char::from(b'0' + rng.gen_range(0..3)));
        for _ in 0..rng.gen_range(0..6) {
            v.push(char::from(UP[rng.gen_range(0..UP.len())]));
        }
        if rng.gen_bool(0.5) {
            v.push('-');
            for _ in 0..rng.gen_range(1..5) {
                v.push(char::from(REV[rng.gen_range(0..REV.len())]));
            }
        }
        v
    }

    /// Thousands of random pairs against `dpkg --compare-versions` itself,
    /// run by one shell so the whole batch takes seconds.
    #[test]
    fn random_pairs_agree_with_dpkg() {
        let pairs = RandomPairs::new(3000, 0.3, &["0", "~", "a", ".", "+", "1"], random_version);
        let mut script = String::from("while read -r a b; do\n");
        script.push_str(
            "if dpkg --compare-versions \"$a\" lt \"$b\" 2>/dev/null; then echo '<'; \
             elif dpkg --compare-versions \"$a\" eq \"$b\" 2>/dev/null; then echo '='; \
             else echo '>'; fi\ndone\n",
        );
        let input: String = pairs
            .pairs
            .iter()
            .map(|(a, b)| format!("{a} {b}\n"))
            .collect();
        let out = run_reference(
            Command::new("sh").args(["-c", &script]),
            input,
            "dpkg --compare-versions (the Debian package `dpkg`)",
        );
        let answers = out
            .lines()
            .map(|answer| {
                let order = match answer {
                    "<" => Ordering::Less,
                    "=" => Ordering::Equal,
                    _ => Ordering::Greater,
                };
                (Some(order), answer)
            })
            .collect();
        pairs.assert_agree(compare, "dpkg", answers);
    }
}
