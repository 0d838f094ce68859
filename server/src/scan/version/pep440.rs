//! PEP 440's version order (PyPI), with `pep440_rs` (the parser uv uses).

use pep440_rs::Version;
use std::cmp::Ordering;
use std::str::FromStr;

/// PEP 440 order of two versions; `None` when either is not a PEP 440
/// version.
pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let a = Version::from_str(a.trim()).ok()?;
    let b = Version::from_str(b.trim()).ok()?;
    Some(a.cmp(&b))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_reference, RandomPairs};
    use super::compare;
    use rand::Rng;
    use std::cmp::Ordering;
    use std::process::Command;

    /// The Python with `packaging` that the tests compare against: the tools
    /// venv that `.ci/python.sh` makes.
    fn python() -> String {
        let tools = std::env::var("BERTH_TOOLS").unwrap_or_else(|_| {
            format!(
                "{}/.cache/berth-tools",
                std::env::var("HOME").expect("HOME")
            )
        });
        format!("{tools}/venv/bin/python")
    }

    /// A random version made of PEP 440's parts, in its spellings (`rc`,
    /// `c`, `-post`, `.dev`, `+local`) and sometimes not a version at all.
    fn random_version(rng: &mut impl Rng) -> String {
        let mut v = String::new();
        if rng.gen_bool(0.1) {
            v.push_str(&format!("{}!", rng.gen_range(0..3)));
        }
        let n = rng.gen_range(1..5);
        let release: Vec<String> = (0..n).map(|_| rng.gen_range(0..4).to_string()).collect();
        v.push_str(&release.join("."));
        if rng.gen_bool(0.3) {
            let pre = [
                "a", "b", "rc", "c", "alpha", "beta", "pre", "preview", ".a", "-rc",
            ][rng.gen_range(0..10)];
            v.push_str(pre);
            if rng.gen_bool(0.8) {
                v.push_str(&rng.gen_range(0..3).to_string());
            }
        }
        if rng.gen_bool(0.2) {
            v.push_str([".post", "-post", "post", "-", ".rev", "r"][rng.gen_range(0..6)]);
            v.push_str(&rng.gen_range(0..3).to_string());
        }
        if rng.gen_bool(0.2) {
            v.push_str([".dev", "dev", "-dev"][rng.gen_range(0..3)]);
            if rng.gen_bool(0.8) {
                v.push_str(&rng.gen_range(0..3).to_string());
            }
        }
        if rng.gen_bool(0.15) {
            v.push('+');
            v.push_str(["ubuntu", "1", "abc.5", "1.x", "cpu", "2"][rng.gen_range(0..6)]);
        }
        if rng.gen_bool(0.1) {
            v.insert(0, 'v');
        }
        if rng.gen_bool(0.03) {
            v.push_str(["~", "..", "!"][rng.gen_range(0..3)]);
        }
        v
    }

    /// Random pairs against Python's `packaging.version`, in one process.
    #[test]
    fn random_pairs_agree_with_packaging() {
        let python = python();
        let pairs = RandomPairs::new(3000, 0.2, &[""], random_version);
        let input: String = pairs
            .pairs
            .iter()
            .map(|(a, b)| format!("{a} {b}\n"))
            .collect();
        let script = "import sys\n\
            from packaging.version import Version, InvalidVersion\n\
            def v(s):\n    try:\n        return Version(s)\n    except InvalidVersion:\n        return None\n\
            for line in sys.stdin.read().splitlines():\n    a, b = (v(x) for x in line.split(' '))\n    \
            print('none' if a is None or b is None else (a > b) - (a < b))\n";
        let out = run_reference(
            Command::new(&python).args(["-c", script]),
            input,
            &format!("{python} with `packaging` (the tools venv made by .ci/python.sh)"),
        );
        let answers = out
            .lines()
            .map(|answer| {
                let order = match answer {
                    "none" => None,
                    n => Some(n.parse::<i32>().expect("packaging's answer").cmp(&0)),
                };
                (order, answer)
            })
            .collect();
        pairs.assert_agree(compare, "packaging", answers);
    }

    #[test]
    fn known_orders() {
        assert_eq!(compare("2.25.1", "2.31.0"), Some(Ordering::Less));
        assert_eq!(compare("1.0rc1", "1.0"), Some(Ordering::Less));
        assert_eq!(compare("1.0.post1", "1.0"), Some(Ordering::Greater));
        assert_eq!(compare("1!0.1", "2.0"), Some(Ordering::Greater));
        assert_eq!(compare("not a version", "1.0"), None);
    }
}
