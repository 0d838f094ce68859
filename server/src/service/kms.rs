//! Keys for encryption at rest (issue 18): which key protects a repository,
//! and data keys made and opened under it. MEETING POINT: the bodies are
//! placeholders that the keys engineer replaces; the signatures are fixed.

use super::{Registry, ServiceError};
use crate::keys::DataKey;

/// A KMS key as the blob path knows it: its id (not an alias or ARN).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRef {
    /// The key id (the registry's own key for `AES256` has one too).
    pub key_id: String,
}

/// Why a key cannot be used, in KMS's terms. Faces turn it into ECR's
/// `KmsException`, a refusal on `/v2/` and a message in the console.
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// No key has that id, ARN or alias.
    #[error("Key '{0}' does not exist")]
    NotFound(String),
    /// The key is disabled.
    #[error("Key '{0}' is disabled")]
    Disabled(String),
    /// The key is scheduled for deletion (or deleted).
    #[error("Key '{0}' is pending deletion")]
    PendingDeletion(String),
}

impl From<KmsError> for ServiceError {
    fn from(error: KmsError) -> Self {
        ServiceError::Kms(error)
    }
}

impl Registry {
    /// The key that protects the blobs of `repository`: the registry's own
    /// key for `AES256`, the named `kmsKey` for `KMS`/`KMS_DSSE` (or the
    /// default key, made on first use, when none is named). Refused when the
    /// key is unknown, disabled or pending deletion.
    pub async fn repository_key(
        &self,
        repository: &crate::model::Repository,
    ) -> Result<KeyRef, ServiceError> {
        let _ = repository;
        unimplemented!("issue 18 meeting point: the keys engineer writes this")
    }

    /// A fresh data key under `key`; refused unless the key is enabled.
    pub async fn new_data_key(&self, key: &KeyRef) -> Result<DataKey, ServiceError> {
        let _ = key;
        unimplemented!("issue 18 meeting point: the keys engineer writes this")
    }

    /// The clear bytes of a data key that [`Registry::new_data_key`] made
    /// under `key` (under any version of it, after rotations); refused when
    /// the key is disabled or deleted.
    pub async fn open_data_key(
        &self,
        key: &KeyRef,
        wrapped: &[u8],
    ) -> Result<zeroize::Zeroizing<[u8; 32]>, ServiceError> {
        let _ = (key, wrapped);
        unimplemented!("issue 18 meeting point: the keys engineer writes this")
    }
}
