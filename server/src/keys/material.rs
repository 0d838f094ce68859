//! KMS key material and what it protects, as bytes (issue 18 §1). Pure.
//!
//! Two constructions, both AES-256-GCM (the `aes-gcm` crate, RustCrypto's
//! audited implementation; a 96-bit random nonce per message, which is safe
//! far beyond the number of messages one key ever seals here):
//!
//! - **Sealed material.** A KMS key's material (32 random bytes per version)
//!   is stored sealed by a key derived from the installation's secret
//!   ([`MaterialSealer`]): `nonce(12) ‖ ciphertext(32) ‖ tag(16)`, with the
//!   key's id and version as associated data, so a sealed version cannot be
//!   moved to another key or version unnoticed. Without the installation's
//!   secret the database holds nothing that opens a blob.
//! - **Wrapped data keys.** Each blob has its own data key, wrapped by one
//!   version of its KMS key's material ([`wrap_data_key`]):
//!   `format(1) = 1 ‖ version(4, big-endian) ‖ nonce(12) ‖ ciphertext(32) ‖
//!   tag(16)`, 65 bytes, with the key id and version as associated data. The
//!   wrapped bytes name the version that wrapped them, so after a rotation
//!   (which adds a version and keeps the old ones) old data still opens.
//!
//! AES-GCM rather than AES-KW: the same well-kept crate does the blobs'
//! segments, it binds associated data (the key id and version), and a random
//! nonce per wrap costs 12 bytes per blob. Nothing here logs or prints key
//! bytes; clear keys are [`Zeroizing`] and wiped when dropped.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

/// 32 bytes of AES-256 key in the clear, wiped when dropped.
pub type ClearKey = Zeroizing<[u8; 32]>;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The first byte of a wrapped data key: this module's format.
const WRAP_FORMAT: u8 = 1;
/// `format ‖ version`.
const WRAP_HEADER: usize = 1 + 4;
/// The length of a wrapped data key.
pub const WRAPPED_LEN: usize = WRAP_HEADER + NONCE_LEN + 32 + TAG_LEN;
/// The length of sealed key material.
pub const SEALED_LEN: usize = NONCE_LEN + 32 + TAG_LEN;

/// Why key bytes did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not bytes this module made (wrong length or format).
    #[error("not a wrapped key of a format Berth knows")]
    Malformed,
    /// The authentication tag did not verify: the bytes were altered, or
    /// they were sealed under another key, key version or installation secret.
    #[error("the key does not open: it was altered or sealed under another key")]
    Unauthentic,
}

/// Fresh random key bytes from the operating system's generator: new key
/// material, or a new data key.
pub fn random_key() -> ClearKey {
    let key = Aes256Gcm::generate_key(OsRng);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&key);
    out
}

/// Associated data binding a sealed or wrapped key to one key and version.
fn context(purpose: &[u8], key_id: &str, version: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(purpose.len() + key_id.len() + 5);
    aad.extend_from_slice(purpose);
    aad.push(0);
    aad.extend_from_slice(key_id.as_bytes());
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn seal(cipher: &Aes256Gcm, aad: &[u8], clear: &[u8; 32]) -> Vec<u8> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let mut out = nonce.to_vec();
    out.extend(
        cipher
            .encrypt(&nonce, Payload { msg: clear, aad })
            .expect("encryption of an in-memory buffer cannot fail"),
    );
    out
}

fn open(cipher: &Aes256Gcm, aad: &[u8], sealed: &[u8]) -> Result<ClearKey, KeyError> {
    if sealed.len() != SEALED_LEN {
        return Err(KeyError::Malformed);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let clear = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| KeyError::Unauthentic)?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&clear);
    Ok(out)
}

/// Seals and opens KMS key material with a key derived from the
/// installation's secret.
pub struct MaterialSealer {
    cipher: Aes256Gcm,
}

impl MaterialSealer {
    /// A sealer with `key` (derived from the installation's secret for this
    /// purpose only).
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// A sealer with a random key that lives only in this process: what a
    /// registry built without the installation's secret (unit tests) uses.
    pub fn ephemeral() -> Self {
        Self::new(&random_key())
    }

    /// `material` (version `version` of key `key_id`) sealed for storage.
    pub fn seal(&self, key_id: &str, version: u32, material: &[u8; 32]) -> Vec<u8> {
        seal(
            &self.cipher,
            &context(b"berth kms material", key_id, version),
            material,
        )
    }

    /// The material [`MaterialSealer::seal`] sealed for this key and version.
    pub fn open(&self, key_id: &str, version: u32, sealed: &[u8]) -> Result<ClearKey, KeyError> {
        open(
            &self.cipher,
            &context(b"berth kms material", key_id, version),
            sealed,
        )
    }
}

impl std::fmt::Debug for MaterialSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaterialSealer").finish_non_exhaustive()
    }
}

/// `data_key` wrapped by version `version` of key `key_id`, whose material
/// is `material`; the result names the version.
pub fn wrap_data_key(
    material: &[u8; 32],
    key_id: &str,
    version: u32,
    data_key: &[u8; 32],
) -> Vec<u8> {
    let cipher = Aes256Gcm::new(material.into());
    let mut out = Vec::with_capacity(WRAPPED_LEN);
    out.push(WRAP_FORMAT);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend(seal(
        &cipher,
        &context(b"berth kms data key", key_id, version),
        data_key,
    ));
    out
}

/// The version of the key that wrapped `wrapped` (to find its material).
pub fn wrapped_version(wrapped: &[u8]) -> Result<u32, KeyError> {
    if wrapped.len() != WRAPPED_LEN || wrapped[0] != WRAP_FORMAT {
        return Err(KeyError::Malformed);
    }
    let version: [u8; 4] = wrapped[1..WRAP_HEADER].try_into().expect("four bytes");
    Ok(u32::from_be_bytes(version))
}

/// The data key in `wrapped`, opened with `material`, the material of the
/// version [`wrapped_version`] names of key `key_id`.
pub fn unwrap_data_key(
    material: &[u8; 32],
    key_id: &str,
    wrapped: &[u8],
) -> Result<ClearKey, KeyError> {
    let version = wrapped_version(wrapped)?;
    let cipher = Aes256Gcm::new(material.into());
    open(
        &cipher,
        &context(b"berth kms data key", key_id, version),
        &wrapped[WRAP_HEADER..],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "6f1c4a52-5d3e-4a53-9b7e-0f4f3b7a9c11";

    #[test]
    fn sealed_material_opens_only_with_the_same_secret_key_and_version() {
        let sealer = MaterialSealer::new(&[7; 32]);
        let material = random_key();
        let sealed = sealer.seal(KEY, 1, &material);
        assert_eq!(sealed.len(), SEALED_LEN);
        assert!(
            !sealed.windows(32).any(|w| w == &material[..]),
            "the material is not in the sealed bytes in the clear"
        );
        assert_eq!(*sealer.open(KEY, 1, &sealed).unwrap(), *material);
        assert_eq!(
            MaterialSealer::new(&[8; 32]).open(KEY, 1, &sealed),
            Err(KeyError::Unauthentic),
            "another installation secret does not open it"
        );
        assert_eq!(
            sealer.open(KEY, 2, &sealed),
            Err(KeyError::Unauthentic),
            "nor does another version"
        );
        assert_eq!(
            sealer.open("another-key", 1, &sealed),
            Err(KeyError::Unauthentic),
            "nor another key"
        );
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                sealer.open(KEY, 1, &tampered),
                Err(KeyError::Unauthentic),
                "byte {i} altered"
            );
        }
        assert_eq!(sealer.open(KEY, 1, &sealed[1..]), Err(KeyError::Malformed));
        assert_ne!(
            sealer.seal(KEY, 1, &material),
            sealed,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn a_wrapped_data_key_names_its_version_and_opens_only_under_it() {
        let v1 = random_key();
        let v2 = random_key();
        let data_key = random_key();
        let wrapped = wrap_data_key(&v1, KEY, 1, &data_key);
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        assert_eq!(wrapped_version(&wrapped), Ok(1));
        assert!(!wrapped.windows(32).any(|w| w == &data_key[..]));
        // After a rotation new data keys are wrapped by version 2, and the
        // old ones still open with version 1's material.
        let newer = wrap_data_key(&v2, KEY, 2, &data_key);
        assert_eq!(wrapped_version(&newer), Ok(2));
        assert_eq!(*unwrap_data_key(&v1, KEY, &wrapped).unwrap(), *data_key);
        assert_eq!(*unwrap_data_key(&v2, KEY, &newer).unwrap(), *data_key);
        assert_eq!(
            unwrap_data_key(&v2, KEY, &wrapped),
            Err(KeyError::Unauthentic)
        );
        assert_eq!(
            unwrap_data_key(&v1, "another-key", &wrapped),
            Err(KeyError::Unauthentic),
            "a data key wrapped for one key does not open as another's"
        );
    }

    #[test]
    fn an_altered_wrapped_data_key_is_refused_never_opened_wrong() {
        let material = random_key();
        let wrapped = wrap_data_key(&material, KEY, 3, &random_key());
        for i in 0..wrapped.len() {
            let mut tampered = wrapped.clone();
            tampered[i] ^= 0x80;
            assert!(
                unwrap_data_key(&material, KEY, &tampered).is_err(),
                "byte {i} altered"
            );
        }
        // Changing the version byte names another version: refused too.
        let mut other_version = wrapped.clone();
        other_version[4] = 4;
        assert_eq!(wrapped_version(&other_version), Ok(4));
        assert_eq!(
            unwrap_data_key(&material, KEY, &other_version),
            Err(KeyError::Unauthentic)
        );
        assert_eq!(wrapped_version(b"short"), Err(KeyError::Malformed));
        let mut unknown_format = wrapped;
        unknown_format[0] = 9;
        assert_eq!(wrapped_version(&unknown_format), Err(KeyError::Malformed));
    }
}
