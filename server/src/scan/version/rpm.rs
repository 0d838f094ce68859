//! rpm's version order: `rpmvercmp` (rpmio/rpmvercmp.c) over epoch, version
//! and release, as `rpmverCmp` (lib/rpmver.c) and `rpm.vercmp` apply it.
//! Written here because no maintained crate implements it exactly; it
//! compares the strings in place, without allocating.

use std::cmp::Ordering;

/// `[epoch:]version[-release]`: the release only when a `-` follows the
/// epoch, split at the last one.
fn parse(evr: &str) -> (Option<&str>, &str, Option<&str>) {
    let digits = evr.bytes().take_while(u8::is_ascii_digit).count();
    let (epoch, rest) = if evr.as_bytes().get(digits) == Some(&b':') {
        (Some(&evr[..digits]), &evr[digits + 1..])
    } else {
        (None, evr)
    };
    match rest.rfind('-') {
        Some(i) => (epoch, &rest[..i], Some(&rest[i + 1..])),
        None => (epoch, rest, None),
    }
}

/// `rpmvercmp`: alphabetic and numeric segments, anything else separates;
/// `~` sorts before everything, `^` after the base version but before any
/// further segment.
pub(super) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && separator(a[i]) {
            i += 1;
        }
        while j < b.len() && separator(b[j]) {
            j += 1;
        }
        let (ac, bc) = (a.get(i).copied(), b.get(j).copied());
        if ac.is_none() && bc.is_none() {
            return Ordering::Equal;
        }
        if ac == Some(b'~') || bc == Some(b'~') {
            if ac != Some(b'~') {
                return Ordering::Greater;
            }
            if bc != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ac == Some(b'^') || bc == Some(b'^') {
            if ac.is_none() {
                return Ordering::Less;
            }
            if bc.is_none() {
                return Ordering::Greater;
            }
            if ac != Some(b'^') {
                return Ordering::Greater;
            }
            if bc != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ac), Some(_)) = (ac, bc) else {
            break;
        };
        let numeric = ac.is_ascii_digit();
        let segment = |s: &[u8], from: usize| -> usize {
            let mut end = from;
            while end < s.len()
                && if numeric {
                    s[end].is_ascii_digit()
                } else {
                    s[end].is_ascii_alphabetic()
                }
            {
                end += 1;
            }
            end
        };
        let (ae, be) = (segment(a, i), segment(b, j));
        if be == j {
            // One numeric, the other alphabetic: numbers are newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut one, mut two) = (&a[i..ae], &b[j..be]);
        if numeric {
            while one.first() == Some(&b'0') {
                one = &one[1..];
            }
            while two.first() == Some(&b'0') {
                two = &two[1..];
            }
            match one.len().cmp(&two.len()) {
                Ordering::Equal => {}
                longer => return longer,
            }
        }
        match one.cmp(two) {
            Ordering::Equal => {}
            other => return other,
        }
        i = ae;
        j = be;
    }
    // Everything compared equal: whichever has characters left is newer.
    if i >= a.len() && j >= b.len() {
        Ordering::Equal
    } else if i >= a.len() {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// rpm's order of two `[epoch:]version[-release]` strings, as rpm 4.18's
/// `rpm.vercmp` answers: epochs (missing is 0), then versions, then
/// releases, a missing release before any. `None` only for an empty string.
pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (ae, av, ar) = parse(a);
    let (be, bv, br) = parse(b);
    fn epoch(e: Option<&str>) -> &str {
        match e {
            Some("") | None => "0",
            Some(e) => e,
        }
    }
    Some(
        rpmvercmp(epoch(ae), epoch(be))
            .then_with(|| rpmvercmp(av, bv))
            .then_with(|| match (ar, br) {
                (Some(ar), Some(br)) => rpmvercmp(ar, br),
                // As rpm.vercmp answers: a version with a release (even an
                // empty one) is newer than the same version without.
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (None, None) => Ordering::Equal,
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_orders, RandomPairs};
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
                ("1.0", "1.0~rc1", Ordering::Greater),
                ("1.0^git1", "1.0", Ordering::Greater),
                ("1.0^git1", "1.0.1", Ordering::Less),
                ("1:1.0-1", "2.0-1", Ordering::Greater),
                ("3.0.7-27.el9", "3.0.7-28.el9", Ordering::Less),
                ("3.0.7-27.el9", "3.0.7", Ordering::Greater),
                ("0:1.0", "1.0", Ordering::Equal),
                ("1.0a", "1.0", Ordering::Greater),
                ("1.010", "1.9", Ordering::Greater),
                ("1.a", "1.1", Ordering::Less),
            ],
        );
        assert_eq!(compare("", "1"), None);
    }

    fn random_evr(rng: &mut impl Rng) -> String {
        const CHARS: &[u8] = b"0123456789abZ.._~^+";
        let part = |rng: &mut dyn rand::RngCore, n: usize| -> String {
            (0..n)
                .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
                .collect()
        };
        let mut v = String::new();
        if rng.gen_bool(0.2) {
            v.push_str(&rng.gen_range(0..3).to_string());
            v.push(':');
        }
        v.push_str(&rng.gen_range(0..3).to_string());
        let n = rng.gen_range(0..6);
        v.push_str(&part(rng, n));
        if rng.gen_bool(0.5) {
            v.push('-');
            let n = rng.gen_range(1..5);
            v.push_str(&part(rng, n));
        }
        v
    }

    /// Random pairs against rpm's own `rpm.vercmp`, all in one `rpm --eval`.
    #[test]
    fn random_pairs_agree_with_rpm() {
        let pairs = RandomPairs::new(2000, 0.3, &["0", "~", "^", "a", ".", "1"], random_evr);
        let mut lua = String::from("%{lua:\nlocal p = {\n");
        for (a, b) in &pairs.pairs {
            lua.push_str(&format!("{{[[{a}]],[[{b}]]}},\n"));
        }
        lua.push_str(
            "}\nfor _, x in ipairs(p) do print(rpm.vercmp(x[1], x[2])) print('\\n') end\n}",
        );
        let out = Command::new("rpm")
            .arg("--eval")
            .arg(&lua)
            .output()
            .expect("running rpm (the Debian package `rpm` must be installed: .ci/deps.sh)");
        assert!(
            out.status.success(),
            "rpm: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answers = std::str::from_utf8(&out.stdout)
            .expect("utf-8")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|answer| {
                let order = answer.trim().parse::<i32>().expect("rpm's answer").cmp(&0);
                (Some(order), answer)
            })
            .collect();
        pairs.assert_agree(compare, "rpm.vercmp", answers);
    }
}
