//! The KMS stand-in (issue 18): keys whose material is sealed by the
//! installation's secret, data keys wrapped by them, and the segmented
//! encryption of blobs. Pure: no database, no storage, no async; `service/`
//! keeps the keys' records (through `db/`) and calls this module.

pub mod material;
pub mod segments;

/// A key that encrypts data, made fresh for one blob: AES-256's 32 bytes in
/// the clear (never stored, never logged), and the same bytes wrapped by a
/// KMS key (what is stored beside the data).
pub struct DataKey {
    /// The key in the clear; wiped when dropped.
    pub plaintext: zeroize::Zeroizing<[u8; 32]>,
    /// The key sealed by the KMS key (and that key's version), opaque to callers.
    pub wrapped: Vec<u8>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("wrapped", &self.wrapped.len())
            .finish_non_exhaustive()
    }
}

pub mod signing;
