//! Keys for encryption at rest (issue 18): which key protects a repository,
//! data keys made and opened under it, and the KMS stand-in's operations
//! (create, describe, enable/disable, scheduled deletion, rotation, aliases).
//!
//! Keys live in `db` (`kms_keys`, `kms_key_versions`, `kms_aliases`) with
//! their material sealed by a key derived from the installation's secret;
//! `keys::material` does the cryptography. Two keys are Berth's own, made on
//! first use and never disabled, deleted or rotated on demand by users: the
//! registry key (`BERTH`) for `AES256` repositories, and the default key for
//! `KMS` repositories that name none (`AWS`, alias `alias/aws/ecr`, as AWS
//! makes it). Both rotate yearly.
//!
//! The module is split by responsibility: `keys` finds, makes, describes and
//! changes the state of keys; `data_keys` says which key protects a
//! repository and makes and opens data keys under it (the blob path);
//! `aliases` gives keys names; `rotation` adds material versions (on demand
//! and yearly) and runs the periodic key work (rotations due, deletions whose
//! waiting period ended), key by key: one that fails is logged and reported
//! and the others are still done.

mod aliases;
mod data_keys;
mod keys;
mod rotation;
#[cfg(test)]
mod tests;

use super::ServiceError;
use crate::model::KmsKey;

pub use aliases::normalize_alias;
pub use rotation::KmsMaintenance;

/// A KMS key as the blob path knows it: its id (not an alias or ARN).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRef {
    /// The key id (the registry's own key for `AES256` has one too).
    pub key_id: String,
}

/// Why a key cannot be used or changed, in KMS's terms. Faces turn it into
/// ECR's `KmsException` (with [`KmsError::kms_error`] as its `kmsError`), a
/// refusal on `/v2/` and a message in the console. Keys are named by ARN.
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// No key has that id, ARN or alias.
    #[error("Key '{0}' does not exist")]
    NotFound(String),
    /// The key is disabled.
    #[error("Key '{0}' is disabled")]
    Disabled(String),
    /// The key is scheduled for deletion.
    #[error("Key '{0}' is pending deletion")]
    PendingDeletion(String),
    /// The key was deleted when its waiting period ended: its material is
    /// gone, and with it whatever only it protected.
    #[error("Key '{0}' was deleted")]
    Deleted(String),
    /// The key's state does not allow the operation (the message says why).
    #[error("{0}")]
    InvalidState(String),
    /// The alias is taken.
    #[error("An alias with the name {0} already exists")]
    AlreadyExists(String),
    /// A malformed name, alias or waiting period (the message says which).
    #[error("{0}")]
    Invalid(String),
    /// A description longer than KMS allows (its length in characters).
    #[error("The description is {0} characters long: a key's description has at most {DESCRIPTION_MAX_CHARS} characters")]
    DescriptionTooLong(usize),
    /// A wrapped data key that does not open under the key it names.
    #[error("The data key stored under key '{0}' does not open: it was altered, or made under another key or version")]
    InvalidCiphertext(String),
    /// The key's material does not open with this installation's secret.
    #[error("The material of key '{0}' does not open with this installation's secret key (was BERTH_SECRET_KEY or secret.key changed?)")]
    MaterialSealedElsewhere(String),
}

impl KmsError {
    /// The error KMS would report, as ECR's `KmsException` carries it in `kmsError`.
    pub fn kms_error(&self) -> &'static str {
        match self {
            Self::NotFound(_) | Self::Deleted(_) => "NotFoundException",
            Self::Disabled(_) => "DisabledException",
            Self::PendingDeletion(_) | Self::InvalidState(_) => "KMSInvalidStateException",
            Self::AlreadyExists(_) => "AlreadyExistsException",
            Self::Invalid(_) | Self::DescriptionTooLong(_) => "ValidationException",
            Self::InvalidCiphertext(_) => "InvalidCiphertextException",
            Self::MaterialSealedElsewhere(_) => "KMSInternalException",
        }
    }
}

impl From<KmsError> for ServiceError {
    fn from(error: KmsError) -> Self {
        ServiceError::Kms(error)
    }
}

/// Who manages a key.
const CUSTOMER: &str = "CUSTOMER";
/// The default key for `KMS` repositories that name none.
const AWS_MANAGED: &str = "AWS";
/// The registry's own key for `AES256` repositories.
const BERTH_MANAGED: &str = "BERTH";
/// The default key's alias, as AWS names it.
pub const DEFAULT_KEY_ALIAS: &str = "alias/aws/ecr";
/// The waiting period before a deletion unless one is given (days), as AWS.
pub const DEFAULT_PENDING_WINDOW_DAYS: u32 = 30;
/// The shortest and longest waiting periods (days), as AWS.
pub const PENDING_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 7..=30;
/// The longest key description (characters), as KMS's `Description`.
pub const DESCRIPTION_MAX_CHARS: usize = 8192;
/// Days between automatic rotations.
pub const ROTATION_PERIOD_DAYS: i64 = 365;
const DAY_MS: i64 = 86_400_000;

/// A key, its ARN, and the repositories it protects.
#[derive(Debug, Clone)]
pub struct KeyDescription {
    /// `arn:aws:kms:<region>:<registry id>:key/<id>`.
    pub arn: String,
    /// The key's record.
    pub key: KmsKey,
    /// The repositories encrypted with this key (and no other): what becomes
    /// unreadable when it is deleted. Every `AES256` repository for the
    /// registry key.
    pub protects: Vec<String>,
}

impl KeyDescription {
    /// Whether Berth manages the key (the registry key or the default key):
    /// users cannot disable, delete or rotate it on demand.
    pub fn is_managed(&self) -> bool {
        self.key.manager != CUSTOMER
    }
}

/// How a `kmsKey` names a key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyName {
    /// By id (from the id or the key ARN).
    Id(String),
    /// By alias, `alias/NAME` (from the alias or the alias ARN).
    Alias(String),
}

/// Reads a key id, key ARN, alias or alias ARN of this registry; `None` for
/// an ARN of another region or account, or anything else.
fn parse_key_name(name: &str, region: &str, registry_id: &str) -> Option<KeyName> {
    if let Some(rest) = name.strip_prefix("arn:aws:kms:") {
        let rest = rest.strip_prefix(region)?.strip_prefix(':')?;
        let rest = rest.strip_prefix(registry_id)?.strip_prefix(':')?;
        return if let Some(id) = rest.strip_prefix("key/") {
            is_key_id(id).then(|| KeyName::Id(id.to_owned()))
        } else if rest.starts_with("alias/") {
            Some(KeyName::Alias(rest.to_owned()))
        } else {
            None
        };
    }
    if name.starts_with("alias/") {
        return Some(KeyName::Alias(name.to_owned()));
    }
    is_key_id(name).then(|| KeyName::Id(name.to_owned()))
}

/// Whether `id` has a key id's form (a UUID).
fn is_key_id(id: &str) -> bool {
    uuid::Uuid::try_parse(id).is_ok_and(|u| u.hyphenated().to_string() == id)
}

/// Refuses a key that cannot protect data now.
fn check_usable(key: &KmsKey, arn: &str) -> Result<(), KmsError> {
    match key.state.as_str() {
        "Enabled" => Ok(()),
        "Disabled" => Err(KmsError::Disabled(arn.to_owned())),
        "PendingDeletion" => Err(KmsError::PendingDeletion(arn.to_owned())),
        _ => Err(KmsError::Deleted(arn.to_owned())),
    }
}

/// The error for a key, by its state, when the state is not `Enabled`.
fn state_error(state: &str, arn: String) -> KmsError {
    match state {
        "Disabled" => KmsError::Disabled(arn),
        "PendingDeletion" => KmsError::PendingDeletion(arn),
        _ => KmsError::Deleted(arn),
    }
}
