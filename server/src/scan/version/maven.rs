//! Maven's version order: `ComparableVersion` of maven-artifact 3.8.7 (the
//! items of apache/maven commit 01eb2e962467b0e3150a5f386e0294e67a306e53,
//! with the 3.8 line's changes: the `release` alias, MNG-6964's comparison of
//! a sub-list with nothing, and MNG-7644's `.X` read as `-X` for a
//! qualifier X). Written
//! here because no maintained crate implements Maven's order; OSV evaluates
//! Maven ranges with it. The tests compare it with maven-artifact itself.

use std::cmp::Ordering;

/// One parsed item.
#[derive(Debug)]
enum Item {
    /// A number, as its digits without leading zeros (any size).
    Number(String),
    /// A qualifier, lower-cased and with its aliases resolved.
    Qualifier(String),
    /// A sub-list (after `-`, or at a switch between digits and letters).
    List(Vec<Item>),
}

/// Known qualifiers, in order; the empty one is the release.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE: usize = 5;

/// A qualifier's rank: known ones by their index, every unknown one after
/// them, in lexical order.
fn qualifier_order(a: &str, b: &str) -> Ordering {
    match (
        QUALIFIERS.iter().position(|q| *q == a),
        QUALIFIERS.iter().position(|q| *q == b),
    ) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

impl Item {
    fn number(digits: &str) -> Item {
        Item::Number(digits.trim_start_matches('0').to_owned())
    }

    fn qualifier(value: &str, followed_by_digit: bool) -> Item {
        let value = match value {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            other => other,
        };
        let value = match value {
            "ga" | "final" | "release" => "",
            "cr" => "rc",
            other => other,
        };
        Item::Qualifier(value.to_owned())
    }

    fn parse(digit: bool, text: &str) -> Item {
        if digit {
            Item::number(text)
        } else {
            Item::qualifier(text, false)
        }
    }

    /// 0, the release qualifier and an empty list.
    fn is_null(&self) -> bool {
        match self {
            Item::Number(n) => n.is_empty(),
            Item::Qualifier(q) => q.is_empty(),
            Item::List(items) => items.is_empty(),
        }
    }

    /// `compareTo`, where `None` is the item a shorter version lacks.
    fn compare(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Number(n), None) => {
                if n.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Number(a), Some(Item::Number(b))) => {
                a.len().cmp(&b.len()).then_with(|| a.cmp(b))
            }
            (Item::Number(_), Some(_)) => Ordering::Greater,
            (Item::Qualifier(q), None) => qualifier_order(q, QUALIFIERS[RELEASE]),
            (Item::Qualifier(_), Some(Item::Number(_) | Item::List(_))) => Ordering::Less,
            (Item::Qualifier(a), Some(Item::Qualifier(b))) => qualifier_order(a, b),
            (Item::List(items), None) => items
                .iter()
                .map(|item| item.compare(None))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal),
            (Item::List(_), Some(Item::Number(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Qualifier(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => compare_lists(a, b),
        }
    }
}

fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let order = match (a.get(i), b.get(i)) {
            (Some(l), r) => l.compare(r),
            (None, Some(r)) => r.compare(None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if order.is_ne() {
            return order;
        }
    }
    Ordering::Equal
}

/// `ListItem.normalize`: drop trailing nulls, looking through sub-lists.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// `ComparableVersion.parseVersion`. Every list but the innermost ends with
/// the next one, so the nesting is a chain kept as a stack and folded at
/// the end, innermost first, as Maven normalizes them.
fn parse(version: &str) -> Vec<Item> {
    let version = version.to_ascii_lowercase();
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut digit = false;
    let mut start = 0;
    let top = |stack: &mut Vec<Vec<Item>>| -> usize { stack.len() - 1 };
    for (i, c) in version.char_indices() {
        if c == '.' || c == '-' {
            let t = top(&mut stack);
            if i == start {
                stack[t].push(Item::Number(String::new()));
            } else {
                stack[t].push(Item::parse(digit, &version[start..i]));
            }
            start = i + 1;
            if c == '-' {
                stack.push(Vec::new());
            }
        } else if c.is_ascii_digit() {
            if !digit && i > start {
                // 1.0.0.X1 < 1.0.0-X2: `.X` reads as `-X` for a qualifier X.
                if stack.last().is_some_and(|l| !l.is_empty()) {
                    stack.push(Vec::new());
                }
                let t = top(&mut stack);
                stack[t].push(Item::qualifier(&version[start..i], true));
                start = i;
                stack.push(Vec::new());
            }
            digit = true;
        } else {
            if digit && i > start {
                let t = top(&mut stack);
                stack[t].push(Item::number(&version[start..i]));
                start = i;
                stack.push(Vec::new());
            }
            digit = false;
        }
    }
    if version.len() > start {
        if !digit && stack.last().is_some_and(|l| !l.is_empty()) {
            stack.push(Vec::new());
        }
        let t = top(&mut stack);
        stack[t].push(Item::parse(digit, &version[start..]));
    }
    while stack.len() > 1 {
        let mut inner = stack.pop().unwrap_or_default();
        normalize(&mut inner);
        let t = top(&mut stack);
        stack[t].push(Item::List(inner));
    }
    let mut items = stack.pop().unwrap_or_default();
    normalize(&mut items);
    items
}

/// Maven's order of two versions; `None` only for an empty string (Maven
/// orders any text).
pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() || b.is_empty() {
        return None;
    }
    Some(compare_lists(&parse(a), &parse(b)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::RandomPairs;
    use super::compare;
    use rand::Rng;
    use std::cmp::Ordering;
    use std::process::Command;

    // The cases below are Maven's own, from maven-artifact's
    // ComparableVersionTest.java (apache/maven
    // compat/maven-artifact/src/test/java/org/apache/maven/artifact/versioning/ComparableVersionTest.java
    // @ a8a99e081971e1016a3795c8452f869c9017cc70), copied verbatim: those
    // that hold for maven-artifact 3.8.7 (MNG-7714's `sp` ordering and the
    // non-ASCII qualifiers are later changes). The random test against the
    // 3.8.7 jar itself is the authority.

    const VERSIONS_QUALIFIER: &[&str] = &[
        "1-alpha2snapshot",
        "1-alpha2",
        "1-alpha-123",
        "1-beta-2",
        "1-beta123",
        "1-m2",
        "1-m11",
        "1-rc",
        "1-cr2",
        "1-rc123",
        "1-SNAPSHOT",
        "1",
        "1-sp",
        "1-sp2",
        "1-sp123",
        "1-abc",
        "1-def",
        "1-pom-1",
        "1-1-snapshot",
        "1-1",
        "1-2",
        "1-123",
    ];

    const VERSIONS_NUMBER: &[&str] = &[
        "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
        "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11",
        "11.a", "11b", "11c", "11m",
    ];

    fn check_versions_order(v1: &str, v2: &str) {
        assert_eq!(
            compare(v1, v2),
            Some(Ordering::Less),
            "expected {v1} < {v2}"
        );
        assert_eq!(
            compare(v2, v1),
            Some(Ordering::Greater),
            "expected {v2} > {v1}"
        );
    }

    fn check_versions_equal(v1: &str, v2: &str) {
        assert_eq!(
            compare(v1, v2),
            Some(Ordering::Equal),
            "expected {v1} == {v2}"
        );
        assert_eq!(
            compare(v2, v1),
            Some(Ordering::Equal),
            "expected {v2} == {v1}"
        );
    }

    fn check_array_order(versions: &[&str]) {
        for i in 1..versions.len() {
            for j in i..versions.len() {
                check_versions_order(versions[i - 1], versions[j]);
            }
        }
    }

    #[test]
    fn versions_qualifier() {
        check_array_order(VERSIONS_QUALIFIER);
    }

    #[test]
    fn versions_number() {
        check_array_order(VERSIONS_NUMBER);
    }

    #[test]
    fn versions_equal() {
        for (a, b) in [
            ("1", "1"),
            ("1", "1.0"),
            ("1", "1.0.0"),
            ("1.0", "1.0.0"),
            ("1", "1-0"),
            ("1", "1.0-0"),
            ("1.0", "1.0-0"),
            // no separator between number and character
            ("1a", "1-a"),
            ("1a", "1.0-a"),
            ("1a", "1.0.0-a"),
            ("1.0a", "1-a"),
            ("1.0.0a", "1-a"),
            ("1x", "1-x"),
            ("1x", "1.0-x"),
            ("1x", "1.0.0-x"),
            ("1.0x", "1-x"),
            ("1.0.0x", "1-x"),
            ("1cr", "1rc"),
            // special "aliases" a, b and m for alpha, beta and milestone
            ("1a1", "1-alpha-1"),
            ("1b2", "1-beta-2"),
            ("1m3", "1-milestone-3"),
            // case insensitive
            ("1X", "1x"),
            ("1A", "1a"),
            ("1B", "1b"),
            ("1M", "1m"),
            ("1Cr", "1Rc"),
            ("1cR", "1rC"),
            ("1m3", "1Milestone3"),
            ("1m3", "1MileStone3"),
            ("1m3", "1MILESTONE3"),
        ] {
            check_versions_equal(a, b);
        }
        // testVersionsHaveSameOrderButAreNotEqual: the release aliases.
        for (a, b) in [
            ("1ga", "1"),
            ("1release", "1"),
            ("1final", "1"),
            ("1Ga", "1"),
            ("1GA", "1"),
            ("1RELEASE", "1"),
            ("1release", "1"),
            ("1RELeaSE", "1"),
            ("1Final", "1"),
            ("1FinaL", "1"),
            ("1FINAL", "1"),
        ] {
            check_versions_equal(a, b);
        }
    }

    #[test]
    fn leading_zeroes_digits_and_letters() {
        check_versions_order("0.7", "2");
        check_versions_order("0.2", "1.0.7");
        check_versions_order("J", "7");
        check_versions_order("c", "7");
        check_versions_order("aardvark", "zebra");
    }

    /// MNG-7644: 1.0.0.X1 < 1.0.0-X2, and 2.0.X == 2-X == 2.0.0.X.
    #[test]
    fn mng_7644() {
        for x in [
            "abc",
            "alpha",
            "a",
            "beta",
            "b",
            "def",
            "milestone",
            "m",
            "RC",
        ] {
            check_versions_order(&format!("1.0.0.{x}1"), &format!("1.0.0-{x}2"));
            check_versions_equal(&format!("2-{x}"), &format!("2.0.{x}"));
            check_versions_equal(&format!("2-{x}"), &format!("2.0.0.{x}"));
            check_versions_equal(&format!("2.0.{x}"), &format!("2.0.0.{x}"));
        }
    }

    #[test]
    fn version_comparing() {
        for (a, b) in [
            ("1", "2"),
            ("1.5", "2"),
            ("1", "2.5"),
            ("1.0", "1.1"),
            ("1.1", "1.2"),
            ("1.0.0", "1.1"),
            ("1.0.1", "1.1"),
            ("1.1", "1.2.0"),
            ("1.0-alpha-1", "1.0"),
            ("1.0-alpha-1", "1.0-alpha-2"),
            ("1.0-alpha-1", "1.0-beta-1"),
            ("1.0-beta-1", "1.0-SNAPSHOT"),
            ("1.0-SNAPSHOT", "1.0"),
            ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
            ("1.0", "1.0-1"),
            ("1.0-1", "1.0-2"),
            ("1.0.0", "1.0-1"),
            ("2.0-1", "2.0.1"),
            ("2.0.1-klm", "2.0.1-lmn"),
            ("2.0.1", "2.0.1-xyz"),
            ("2.0.1", "2.0.1-123"),
            ("2.0.1-xyz", "2.0.1-123"),
        ] {
            check_versions_order(a, b);
        }
    }

    /// MNG-5568: transitivity with an unusual version.
    #[test]
    fn mng_5568() {
        let (a, b, c) = ("6.1.0", "6.1.0rc3", "6.1H.5-beta");
        check_versions_order(b, a);
        check_versions_order(b, c);
        check_versions_order(a, c);
    }

    /// MNG-6572: numbers beyond 32 and 64 bits.
    #[test]
    fn mng_6572() {
        let a = "20190126.230843";
        let b = "1234567890.12345";
        let c = "123456789012345.1H.5-beta";
        let d = "12345678901234567890.1H.5-beta";
        check_versions_order(a, b);
        check_versions_order(b, c);
        check_versions_order(a, c);
        check_versions_order(c, d);
        check_versions_order(b, d);
        check_versions_order(a, d);
    }

    #[test]
    fn version_equal_with_leading_zeroes() {
        let ones: Vec<String> = (0..19).map(|n| format!("{}1", "0".repeat(n))).collect();
        let zeros: Vec<String> = (1..20).map(|n| "0".repeat(n)).collect();
        for set in [ones, zeros] {
            for i in 0..set.len() {
                for j in i..set.len() {
                    check_versions_equal(&set[i], &set[j]);
                }
            }
        }
    }

    /// MNG-6964: qualifiers that start with `-0.`.
    #[test]
    fn mng_6964() {
        let (a, b, c) = ("1-0.alpha", "1-0.beta", "1");
        check_versions_order(a, c);
        check_versions_order(b, c);
        check_versions_order(a, b);
    }

    /// maven-artifact's own jar (Debian's `libmaven3-core-java`, Maven 3.8.7).
    const MAVEN_ARTIFACT_JAR: &str = "/usr/share/java/maven3-artifact.jar";

    fn random_version(rng: &mut impl Rng) -> String {
        const WORDS: &[&str] = &[
            "alpha",
            "a",
            "beta",
            "b",
            "milestone",
            "m",
            "rc",
            "cr",
            "snapshot",
            "ga",
            "final",
            "release",
            "sp",
            "abc",
            "x",
            "RC",
            "Final",
        ];
        const NUMBERS: &[&str] = &[
            "0",
            "1",
            "2",
            "10",
            "00",
            "007",
            "1234567890",
            "12345678901234567890",
        ];
        let mut v = String::new();
        for i in 0..rng.gen_range(1..6) {
            if i > 0 {
                v.push_str(["", ".", "-", "."][rng.gen_range(0..4)]);
            }
            if rng.gen_bool(0.6) {
                v.push_str(NUMBERS[rng.gen_range(0..NUMBERS.len())]);
            } else {
                v.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
            }
        }
        if rng.gen_bool(0.05) {
            v.push(['.', '-'][rng.gen_range(0..2)]);
        }
        v
    }

    /// Random pairs against maven-artifact's own ComparableVersion (its
    /// `main` compares each argument with the next), in one JVM.
    #[test]
    fn random_pairs_agree_with_maven_artifact() {
        let pairs = RandomPairs::new(
            1500,
            0.2,
            &["", ".0", "-0", "0", "-sp", ".a", "1"],
            random_version,
        );
        let mut java = Command::new("java");
        java.args([
            "-cp",
            MAVEN_ARTIFACT_JAR,
            "org.apache.maven.artifact.versioning.ComparableVersion",
        ]);
        for (a, b) in &pairs.pairs {
            java.args([a, b]);
        }
        let out = java.output().unwrap_or_else(|e| {
            panic!("running java (Debian's default-jre-headless, .ci/deps.sh): {e}")
        });
        assert!(
            out.status.success(),
            "maven-artifact's ComparableVersion failed (needs {MAVEN_ARTIFACT_JAR} from Debian's libmaven3-core-java, .ci/deps.sh): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Lines "   A op B" compare each argument with the next: a1 b1, b1 a2,
        // a2 b2, …; the pairs are every other one.
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let answers = text
            .lines()
            .filter(|l| l.starts_with("   "))
            .step_by(2)
            .map(|l| l.split_whitespace().nth(1).expect("an operator"))
            .map(|answer| {
                let order = match answer {
                    "<" => Ordering::Less,
                    "==" => Ordering::Equal,
                    ">" => Ordering::Greater,
                    other => panic!("unexpected answer {other:?}"),
                };
                (Some(order), answer)
            })
            .collect();
        pairs.assert_agree(compare, "Maven", answers);
    }

    #[test]
    fn locale_independent() {
        check_versions_equal(
            "1-abcdefghijklmnopqrstuvwxyz",
            "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        );
    }
}
