//! Encryption at rest for secrets the server must read back (access-key secrets,
//! needed to verify SigV4 signatures): XChaCha20-Poly1305 with the installation's
//! key, from `BERTH_SECRET_KEY` (base64, 32 bytes) or the file `secret.key` in
//! the data directory, created with mode 0600 on first use.

use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::io;
use std::path::Path;

const NONCE_LEN: usize = 24;

/// Seals and opens secrets with the installation's key.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// A key for sealing KMS key material, derived from the installation's key.
    kms_key: zeroize::Zeroizing<[u8; 32]>,
    /// A key for signing URLs, derived from the installation's key.
    url_key: [u8; 32],
}

impl SecretBox {
    /// The key from `BERTH_SECRET_KEY`, else `<data_dir>/secret.key` (made if missing).
    pub fn load(data_dir: &Path) -> io::Result<Self> {
        let invalid = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_owned());
        let key = match std::env::var("BERTH_SECRET_KEY") {
            Ok(text) if !text.is_empty() => base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| invalid("BERTH_SECRET_KEY is not base64"))?,
            _ => load_or_create_key_file(&data_dir.join("secret.key"))?,
        };
        if key.len() != 32 {
            return Err(invalid("the secret key must be 32 bytes"));
        }
        Ok(Self {
            cipher: XChaCha20Poly1305::new_from_slice(&key).map_err(|_| invalid("bad key"))?,
            url_key: derive(&key, b"berth signed urls"),
            kms_key: zeroize::Zeroizing::new(derive(&key, b"berth kms key material")),
        })
    }

    /// A box with the given key (tests).
    pub fn from_key(key: [u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
            url_key: derive(&key, b"berth signed urls"),
            kms_key: zeroize::Zeroizing::new(derive(&key, b"berth kms key material")),
        }
    }

    /// The sealer of KMS key material (issue 18): AES-256-GCM with a key
    /// derived from the installation's key for that purpose only.
    pub fn kms_material_sealer(&self) -> crate::keys::material::MaterialSealer {
        crate::keys::material::MaterialSealer::new(&self.kms_key)
    }

    /// An HMAC-SHA256 of `message` with the URL-signing key, hex.
    pub fn sign(&self, message: &str) -> String {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&self.url_key)
            .expect("any key length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` is [`SecretBox::sign`] of `message` (constant time).
    pub fn verify(&self, message: &str, signature: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.sign(message);
        expected.len() == signature.len()
            && bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
    }

    /// Encrypts `plaintext`: a random nonce followed by the ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(&nonce, plaintext)
                .expect("encryption of an in-memory buffer cannot fail"),
        );
        out
    }

    /// Decrypts what [`SecretBox::seal`] made; `None` if it was made with another key or altered.
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .ok()
    }
}

/// A subkey for one purpose, so the sealing key itself never signs anything.
fn derive(key: &[u8], purpose: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

fn load_or_create_key_file(path: &Path) -> io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(key) => Ok(key),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let key: [u8; 32] = rand::random();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            file.write_all(&key)?;
            file.sync_all()?;
            Ok(key.to_vec())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key() {
        let a = SecretBox::from_key([1; 32]);
        let sealed = a.seal(b"wJalrXUtnFEMI/K7MDENG");
        assert!(
            !sealed.windows(5).any(|w| w == b"wJalr"),
            "not in plain text"
        );
        assert_eq!(
            a.open(&sealed).as_deref(),
            Some(&b"wJalrXUtnFEMI/K7MDENG"[..])
        );
        assert_eq!(SecretBox::from_key([2; 32]).open(&sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(a.open(&tampered), None);
        assert_eq!(a.open(b"short"), None);
        assert_ne!(a.seal(b"x"), a.seal(b"x"), "fresh nonce each time");
    }

    #[test]
    fn signatures_verify_only_for_the_same_message_and_key() {
        let a = SecretBox::from_key([1; 32]);
        let sig = a.sign("repo\nsha256:x\n100");
        assert!(a.verify("repo\nsha256:x\n100", &sig));
        assert!(!a.verify("repo\nsha256:x\n101", &sig));
        assert!(!SecretBox::from_key([2; 32]).verify("repo\nsha256:x\n100", &sig));
        assert!(!a.verify("repo\nsha256:x\n100", "00"));
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = SecretBox::load(dir.path()).unwrap();
        let sealed = first.seal(b"secret");
        let again = SecretBox::load(dir.path()).unwrap();
        assert_eq!(again.open(&sealed).as_deref(), Some(&b"secret"[..]));
        let mode = std::fs::metadata(dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
