//! The OCI Distribution grammars for repository names, tags and digests, as pure
//! functions shared by the server (which enforces them) and the console (which
//! validates forms live). No I/O here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The shortest repository name ECR accepts.
pub const NAME_MIN_LEN: usize = 2;
/// The longest repository name ECR accepts.
pub const NAME_MAX_LEN: usize = 256;
/// The longest tag the OCI grammar allows.
pub const TAG_MAX_LEN: usize = 128;

/// Why a repository name, tag or digest was refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrammarError {
    /// The repository name is shorter or longer than ECR allows.
    #[error("repository name must be {NAME_MIN_LEN} to {NAME_MAX_LEN} characters long, got {0}")]
    NameLength(usize),
    /// The repository name breaks the OCI name grammar.
    #[error("invalid repository name {0:?}: use lowercase letters and digits, separated by '.', '_', '__' or '-', with '/' between namespace components")]
    NameGrammar(String),
    /// The tag breaks the OCI tag grammar.
    #[error("invalid tag {0:?}: a tag is 1 to 128 characters of letters, digits, '_', '.' and '-', and does not start with '.' or '-'")]
    TagGrammar(String),
    /// The digest is not `algorithm:encoded`.
    #[error("invalid digest {0:?}: expected the form sha256:<64 lowercase hex digits>")]
    DigestGrammar(String),
    /// The digest's algorithm is well formed but not one this registry computes.
    #[error("unsupported digest algorithm {0:?}: use sha256 or sha512")]
    DigestAlgorithm(String),
}

/// Checks a repository name against the OCI grammar and ECR's length limits:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, 2–256 characters.
pub fn validate_repository_name(name: &str) -> Result<(), GrammarError> {
    if !(NAME_MIN_LEN..=NAME_MAX_LEN).contains(&name.len()) {
        return Err(GrammarError::NameLength(name.chars().count()));
    }
    if name.split('/').all(is_name_component) {
        Ok(())
    } else {
        Err(GrammarError::NameGrammar(name.to_owned()))
    }
}

/// One path component: alphanumeric runs joined by `.`, `_`, `__` or one or more `-`.
fn is_name_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Checks a tag against `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), GrammarError> {
    let bytes = tag.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let rest_ok = bytes
        .iter()
        .skip(1)
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && bytes.len() <= TAG_MAX_LEN {
        Ok(())
    } else {
        Err(GrammarError::TagGrammar(tag.to_owned()))
    }
}

/// A digest algorithm this registry can compute and verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DigestAlgorithm {
    /// SHA-256, the algorithm every client uses.
    Sha256,
    /// SHA-512, registered by the OCI image spec.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm's name as it appears before the `:`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// Length of the lowercase hex encoding.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }
}

/// A validated content digest, `algorithm:hex`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    /// Parses `algorithm:encoded` with the OCI digest grammar, then requires a
    /// registered algorithm with its exact lowercase hex length.
    pub fn parse(text: &str) -> Result<Self, GrammarError> {
        let grammar = || GrammarError::DigestGrammar(text.to_owned());
        let (algorithm, encoded) = text.split_once(':').ok_or_else(grammar)?;
        let algorithm_ok = !algorithm.is_empty()
            && algorithm.split(['+', '.', '_', '-']).all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        let encoded_ok = !encoded.is_empty()
            && encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
        if !algorithm_ok || !encoded_ok {
            return Err(grammar());
        }
        let algorithm = match algorithm {
            "sha256" => DigestAlgorithm::Sha256,
            "sha512" => DigestAlgorithm::Sha512,
            other => return Err(GrammarError::DigestAlgorithm(other.to_owned())),
        };
        let hex_ok = encoded.len() == algorithm.hex_len()
            && encoded
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(grammar());
        }
        Ok(Self(text.to_owned()))
    }

    /// Builds a digest from an algorithm and raw hash bytes.
    pub fn from_hash(algorithm: DigestAlgorithm, hash: &[u8]) -> Self {
        let mut text = String::with_capacity(algorithm.name().len() + 1 + hash.len() * 2);
        text.push_str(algorithm.name());
        text.push(':');
        for b in hash {
            text.push_str(&format!("{b:02x}"));
        }
        Self(text)
    }

    /// The algorithm before the `:`.
    pub fn algorithm(&self) -> DigestAlgorithm {
        if self.0.starts_with("sha512:") {
            DigestAlgorithm::Sha512
        } else {
            DigestAlgorithm::Sha256
        }
    }

    /// The lowercase hex after the `:`.
    pub fn hex(&self) -> &str {
        &self.0[self.algorithm().name().len() + 1..]
    }

    /// The whole digest as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Digest {
    type Error = GrammarError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Digest> for String {
    fn from(value: Digest) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_spec_and_ecr_are_accepted() {
        for name in [
            "library/ubuntu",
            "team-a/web-app",
            "a0",
            "my.repo_name__x/y---z",
            "foo/bar/baz/qux",
            "hello-world",
        ] {
            assert_eq!(validate_repository_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        for name in [
            "Uppercase",
            "a/../b",
            "trailing-/x",
            "-leading",
            "double//slash",
            "a___b",
            "a._b",
            "/abs",
            "emoji\u{1f600}",
            "sp ace",
        ] {
            assert!(
                matches!(
                    validate_repository_name(name),
                    Err(GrammarError::NameGrammar(_))
                ),
                "{name}"
            );
        }
        assert_eq!(
            validate_repository_name("a"),
            Err(GrammarError::NameLength(1))
        );
        assert_eq!(
            validate_repository_name(&"a".repeat(257)),
            Err(GrammarError::NameLength(257))
        );
        assert_eq!(validate_repository_name(&"a".repeat(256)), Ok(()));
    }

    #[test]
    fn tags_follow_the_grammar() {
        for tag in ["latest", "v1.2.3", "_private", "A-b_c.d", &"t".repeat(128)] {
            assert_eq!(validate_tag(tag), Ok(()), "{tag}");
        }
        for tag in ["", ".hidden", "-dash", "a:b", "a/b", &"t".repeat(129), "ü"] {
            assert!(validate_tag(tag).is_err(), "{tag}");
        }
    }

    #[test]
    fn digests_parse_and_render() {
        let hex = "a".repeat(64);
        let d = Digest::parse(&format!("sha256:{hex}")).unwrap();
        assert_eq!(d.algorithm(), DigestAlgorithm::Sha256);
        assert_eq!(d.hex(), hex);
        let long = "0".repeat(128);
        assert_eq!(
            Digest::parse(&format!("sha512:{long}")).unwrap().hex(),
            long
        );
        assert_eq!(
            Digest::from_hash(DigestAlgorithm::Sha256, &[0xab; 32]).as_str(),
            format!("sha256:{}", "ab".repeat(32))
        );
    }

    #[test]
    fn bad_digests_are_refused() {
        for text in [
            "",
            "sha256",
            "sha256:",
            ":abc",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}", "a".repeat(63)),
            &format!("SHA256:{}", "a".repeat(64)),
            "sha256:../../etc/passwd",
        ] {
            assert!(
                matches!(Digest::parse(text), Err(GrammarError::DigestGrammar(_))),
                "{text}"
            );
        }
        assert_eq!(
            Digest::parse("md5:abc"),
            Err(GrammarError::DigestAlgorithm("md5".into()))
        );
        assert_eq!(
            Digest::parse("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"),
            Err(GrammarError::DigestAlgorithm("multihash+base58".into()))
        );
    }
}
