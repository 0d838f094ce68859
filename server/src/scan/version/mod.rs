//! Each ecosystem's version order, as its own tools define it.
//!
//! OSV ranges are evaluated in the order of the package's ecosystem: dpkg for
//! Debian and Ubuntu, apk-tools for Alpine, rpm for the Red Hat family and
//! SUSE, PEP 440 for PyPI, SemVer for npm, Go and crates.io, and Maven's
//! `ComparableVersion` for Maven. Every comparison takes two version strings
//! and answers `None` when either is not a version in that scheme, so a
//! malformed advisory never decides a match.

mod apk;
mod dpkg;
mod maven;
mod pep440;
mod rpm;
mod semver;

use std::cmp::Ordering;

/// A version order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `dpkg --compare-versions`: epoch, upstream version with `~`, revision.
    Dpkg,
    /// apk-tools: digits, a letter, `_alpha`/`_beta`/`_pre`/`_rc` and
    /// `_cvs`/`_svn`/`_git`/`_hg`/`_p` suffixes, `-rN`.
    Apk,
    /// rpm's `rpmvercmp` over `[epoch:]version[-release]`, with `~` and `^`.
    Rpm,
    /// PEP 440 (PyPI).
    Pep440,
    /// SemVer 2.0 precedence, read leniently (a `v` prefix, missing minor or
    /// patch) as OSV's npm, Go and crates.io records need.
    Semver,
    /// Maven's `ComparableVersion`.
    Maven,
}

impl Scheme {
    /// The version order of an OSV ecosystem (`Debian:12`, `PyPI`, …), `None`
    /// for an ecosystem Berth does not match.
    pub fn for_ecosystem(osv_ecosystem: &str) -> Option<Scheme> {
        let base = osv_ecosystem.split(':').next().unwrap_or_default();
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine" => Scheme::Apk,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "openSUSE" | "SUSE" => Scheme::Rpm,
            "PyPI" => Scheme::Pep440,
            "npm" | "Go" | "crates.io" => Scheme::Semver,
            "Maven" => Scheme::Maven,
            _ => return None,
        })
    }

    /// How `a` compares with `b` in this order; `None` when either is not a
    /// version in this scheme.
    pub fn compare(&self, a: &str, b: &str) -> Option<Ordering> {
        match self {
            Scheme::Dpkg => dpkg::compare(a, b),
            Scheme::Apk => apk::compare(a, b),
            Scheme::Rpm => rpm::compare(a, b),
            Scheme::Pep440 => pep440::compare(a, b),
            Scheme::Semver => semver::compare(a, b),
            Scheme::Maven => maven::compare(a, b),
        }
    }
}

/// What the version-order tests share: known orders checked both ways round,
/// and random pairs checked against each ecosystem's own tool.
#[cfg(test)]
mod testing {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::cmp::Ordering;

    /// A version order under test.
    pub(super) type Compare = fn(&str, &str) -> Option<Ordering>;

    /// Checks each `(a, b, want)` both ways round.
    pub(super) fn assert_orders(compare: Compare, cases: &[(&str, &str, Ordering)]) {
        for &(a, b, want) in cases {
            assert_eq!(compare(a, b), Some(want), "{a} vs {b}");
            assert_eq!(compare(b, a), Some(want.reverse()), "{b} vs {a}");
        }
    }

    /// Random pairs of versions from a fresh seed, named in every failure so
    /// that a failing run can be replayed.
    pub(super) struct RandomPairs {
        /// The seed the pairs came from.
        pub(super) seed: u64,
        /// The pairs, in the order the reference tool is asked.
        pub(super) pairs: Vec<(String, String)>,
    }

    impl RandomPairs {
        /// `count` pairs `(a, b)` of `version()`s where, with probability
        /// `near`, `b` is `a` with one of `suffixes` appended: near-ties make
        /// the later rules of an order decide.
        pub(super) fn new(
            count: usize,
            near: f64,
            suffixes: &[&str],
            mut version: impl FnMut(&mut StdRng) -> String,
        ) -> Self {
            let seed: u64 = rand::random();
            let mut rng = StdRng::seed_from_u64(seed);
            let pairs = (0..count)
                .map(|_| {
                    let a = version(&mut rng);
                    let b = if rng.gen_bool(near) {
                        format!("{a}{}", suffixes[rng.gen_range(0..suffixes.len())])
                    } else {
                        version(&mut rng)
                    };
                    (a, b)
                })
                .collect();
            Self { seed, pairs }
        }

        /// Asserts that `compare` gives, pair by pair, the order `tool`
        /// answered (`None`: not versions to it), each answer with the text
        /// it was read from.
        pub(super) fn assert_agree(
            &self,
            compare: Compare,
            tool: &str,
            answers: Vec<(Option<Ordering>, &str)>,
        ) {
            assert_eq!(
                answers.len(),
                self.pairs.len(),
                "{tool} answered every pair"
            );
            for ((a, b), (want, said)) in self.pairs.iter().zip(answers) {
                assert_eq!(
                    compare(a, b),
                    want,
                    "seed {}: {a} vs {b}, {tool} says {said}",
                    self.seed
                );
            }
        }
    }

    /// Runs a reference tool with `input` on its standard input and returns
    /// what it printed (the property tests feed thousands of pairs at once).
    pub(super) fn run_reference(
        command: &mut std::process::Command,
        input: String,
        what: &str,
    ) -> String {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running {what}: {e}"));
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output().expect("reference output");
        writer.join().expect("writer").expect("writing the pairs");
        assert!(
            out.status.success(),
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems_map_to_their_order() {
        for (ecosystem, scheme) in [
            ("Debian:12", Some(Scheme::Dpkg)),
            ("Debian", Some(Scheme::Dpkg)),
            ("Ubuntu:22.04:LTS", Some(Scheme::Dpkg)),
            ("Ubuntu:Pro:18.04:LTS", Some(Scheme::Dpkg)),
            ("Alpine:v3.19", Some(Scheme::Apk)),
            ("Red Hat", Some(Scheme::Rpm)),
            ("Red Hat:enterprise_linux:9::appstream", Some(Scheme::Rpm)),
            ("Rocky Linux:9", Some(Scheme::Rpm)),
            ("AlmaLinux:8", Some(Scheme::Rpm)),
            ("openSUSE:Leap 15.5", Some(Scheme::Rpm)),
            ("SUSE:Linux Enterprise Server 15 SP5", Some(Scheme::Rpm)),
            ("PyPI", Some(Scheme::Pep440)),
            ("npm", Some(Scheme::Semver)),
            ("Go", Some(Scheme::Semver)),
            ("crates.io", Some(Scheme::Semver)),
            ("Maven", Some(Scheme::Maven)),
            (
                "Maven:https://repo.maven.apache.org/maven2/",
                Some(Scheme::Maven),
            ),
            ("Packagist", None),
            ("", None),
            ("debian:12", None),
        ] {
            assert_eq!(Scheme::for_ecosystem(ecosystem), scheme, "{ecosystem}");
        }
    }
}
