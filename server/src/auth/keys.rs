//! Access-key ids, secrets and authorization tokens: their shapes and generation.

use rand::Rng;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

const KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A freshly made access key; the secret is shown once and then only kept sealed.
#[derive(Debug, Clone)]
pub struct NewAccessKey {
    /// `AKIA` and 16 characters of base32.
    pub id: String,
    /// 40 characters, as AWS secret keys are.
    pub secret: String,
}

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// Makes a new access key id and secret.
pub fn new_access_key() -> NewAccessKey {
    NewAccessKey {
        id: format!("AKIA{}", random_string(KEY_ID_ALPHABET, 16)),
        secret: random_string(SECRET_ALPHABET, 40),
    }
}

/// Whether a login name is shaped like an access key id (`AKIA` + 16 base32 characters).
pub fn looks_like_access_key_id(name: &str) -> bool {
    name.len() == 20
        && name.starts_with("AKIA")
        && name.bytes().skip(4).all(|b| KEY_ID_ALPHABET.contains(&b))
}

/// Compares secrets in constant time.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A new authorization token: 48 random URL-safe characters.
pub fn new_token() -> String {
    random_string(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        48,
    )
}

/// What the database keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys_look_like_aws_ones() {
        let key = new_access_key();
        assert!(looks_like_access_key_id(&key.id), "{}", key.id);
        assert_eq!(key.secret.len(), 40);
        assert_ne!(new_access_key().id, key.id);
        assert!(!looks_like_access_key_id("admin"));
        assert!(!looks_like_access_key_id("AKIAlowercase0000000"));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let t = new_token();
        assert_eq!(t.len(), 48);
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
    }
}
