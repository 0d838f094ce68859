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

use super::{Registry, ServiceError, ServiceResult};
use crate::db::{KeyCreated, NewKmsKey};
use crate::keys::material::{self, ClearKey, KeyError, MaterialSealer};
use crate::keys::DataKey;
use crate::model::KmsKey;

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
            Self::Invalid(_) => "ValidationException",
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

/// `alias/NAME` from `NAME` or `alias/NAME`, checked as AWS checks aliases
/// a user makes: 1–250 characters of letters, digits, `/`, `_` and `-`,
/// not under `alias/aws/`.
pub fn normalize_alias(alias: &str) -> Result<String, KmsError> {
    let name = alias.strip_prefix("alias/").unwrap_or(alias);
    let valid = !name.is_empty()
        && name.len() <= 250
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'));
    if !valid {
        return Err(KmsError::Invalid(format!(
            "Alias {alias:?} is not valid: use 1 to 250 letters, digits, '/', '_' and '-' after 'alias/'"
        )));
    }
    if name.starts_with("aws/") {
        return Err(KmsError::Invalid(format!(
            "Alias alias/{name} is reserved: aliases beginning with alias/aws/ are AWS's (and Berth's)"
        )));
    }
    Ok(format!("alias/{name}"))
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

impl Registry {
    /// Seals KMS key material with `sealer` (built from the installation's
    /// secret) instead of the random key [`Registry::new`] starts with.
    pub fn with_key_sealer(mut self, sealer: std::sync::Arc<MaterialSealer>) -> Self {
        self.key_sealer = sealer;
        self
    }

    /// The ARN of key `id`.
    pub async fn kms_key_arn(&self, id: &str) -> ServiceResult<String> {
        Ok(format!(
            "arn:aws:kms:{}:{}:key/{id}",
            self.db.registry_region().await?,
            self.registry_id
        ))
    }

    /// The key `name` (id, key ARN, alias or alias ARN) names, whatever its state.
    async fn find_key(&self, name: &str) -> ServiceResult<KmsKey> {
        let region = self.db.registry_region().await?;
        let found = match parse_key_name(name.trim(), &region, &self.registry_id) {
            Some(KeyName::Id(id)) => self.db.kms_key(&id).await?,
            Some(KeyName::Alias(alias)) => self.db.kms_key_by_alias(&alias).await?,
            None => None,
        };
        found.ok_or_else(|| KmsError::NotFound(name.trim().to_owned()).into())
    }

    /// The registry's own key or the default key, made on first use.
    async fn managed_key(&self, manager: &str) -> ServiceResult<KmsKey> {
        if let Some(key) = self.db.kms_managed_key(manager).await? {
            return Ok(key);
        }
        let (description, alias) = if manager == BERTH_MANAGED {
            (
                "The registry's own key: encrypts AES256 repositories. Made and kept by Berth.",
                None,
            )
        } else {
            (
                "Default key that protects KMS repositories that name no key (alias/aws/ecr). Made and kept by Berth.",
                Some(DEFAULT_KEY_ALIAS),
            )
        };
        let created = self.insert_key(manager, description, alias).await?;
        match created {
            KeyCreated::Created(key) => {
                let next = key.created_at + ROTATION_PERIOD_DAYS * DAY_MS;
                self.db.set_kms_rotation(&key.id, Some(next)).await?;
                tracing::info!(key_id = %key.id, manager, "made a managed KMS key on first use");
                Ok(self.db.kms_key(&key.id).await?.unwrap_or(*key))
            }
            // Another request (or node) made it first.
            KeyCreated::ManagedExists | KeyCreated::AliasTaken => self
                .db
                .kms_managed_key(manager)
                .await?
                .ok_or_else(|| KmsError::NotFound(DEFAULT_KEY_ALIAS.into()).into()),
        }
    }

    /// Makes a key with fresh material sealed by the installation's secret.
    async fn insert_key(
        &self,
        manager: &str,
        description: &str,
        alias: Option<&str>,
    ) -> ServiceResult<KeyCreated> {
        let id = uuid::Uuid::new_v4().to_string();
        let material = material::random_key();
        let sealed = self.key_sealer.seal(&id, 1, &material);
        Ok(self
            .db
            .create_kms_key(&NewKmsKey {
                id: &id,
                description,
                manager,
                alias,
                sealed_material: &sealed,
            })
            .await?)
    }

    /// The key a repository's encryption settings name, whatever its state:
    /// the registry key for `AES256`, the named `kmsKey` or the default key
    /// for `KMS`/`KMS_DSSE`.
    async fn key_of(&self, encryption_type: &str, kms_key: Option<&str>) -> ServiceResult<KmsKey> {
        match (encryption_type, kms_key) {
            ("KMS" | "KMS_DSSE", Some(name)) => self.find_key(name).await,
            ("KMS" | "KMS_DSSE", None) => self.managed_key(AWS_MANAGED).await,
            _ => self.managed_key(BERTH_MANAGED).await,
        }
    }

    /// The `kmsKey` to store for new repository settings: the ARN of the key
    /// they name (the default key's when `KMS` names none), refused unless
    /// the key is enabled; `None` for `AES256`.
    pub(crate) async fn kms_key_for_settings(
        &self,
        encryption_type: &str,
        kms_key: Option<&str>,
    ) -> ServiceResult<Option<String>> {
        let kms_key = kms_key.map(str::trim).filter(|k| !k.is_empty());
        if encryption_type == "AES256" {
            if let Some(name) = kms_key {
                return Err(ServiceError::InvalidSetting(format!(
                    "kmsKey {name:?} is given with encryptionType AES256: name a KMS key only with KMS or KMS_DSSE"
                )));
            }
            return Ok(None);
        }
        let key = self.key_of(encryption_type, kms_key).await?;
        let arn = self.kms_key_arn(&key.id).await?;
        check_usable(&key, &arn)?;
        Ok(Some(arn))
    }

    /// The key that protects the blobs of `repository`: the registry's own
    /// key for `AES256`, the named `kmsKey` for `KMS`/`KMS_DSSE` (or the
    /// default key, made on first use, when none is named). Refused when the
    /// key is unknown, disabled or pending deletion.
    pub async fn repository_key(
        &self,
        repository: &crate::model::Repository,
    ) -> Result<KeyRef, ServiceError> {
        let key = self
            .key_of(&repository.encryption_type, repository.kms_key.as_deref())
            .await?;
        if key.state != "Enabled" {
            check_usable(&key, &self.kms_key_arn(&key.id).await?)?;
        }
        Ok(KeyRef { key_id: key.id })
    }

    /// The newest (or the given) version of a key's material, opened;
    /// refused unless the key is enabled.
    async fn key_material(
        &self,
        key: &KeyRef,
        version: Option<u32>,
    ) -> ServiceResult<(u32, ClearKey)> {
        let Some(row) = self.db.kms_material(&key.key_id, version).await? else {
            return Err(KmsError::NotFound(self.kms_key_arn(&key.key_id).await?).into());
        };
        if row.state != "Enabled" {
            return Err(state_error(&row.state, self.kms_key_arn(&key.key_id).await?).into());
        }
        let (Some(version), Some(sealed)) = (row.version, row.material) else {
            return Err(KmsError::InvalidCiphertext(self.kms_key_arn(&key.key_id).await?).into());
        };
        let version = u32::try_from(version).expect("versions fit in u32");
        match self.key_sealer.open(&key.key_id, version, &sealed) {
            Ok(clear) => Ok((version, clear)),
            Err(_) => {
                let arn = self.kms_key_arn(&key.key_id).await?;
                tracing::error!(key = %arn, version, "KMS key material does not open with the installation's secret");
                Err(KmsError::MaterialSealedElsewhere(arn).into())
            }
        }
    }

    /// A fresh data key under `key`; refused unless the key is enabled.
    pub async fn new_data_key(&self, key: &KeyRef) -> Result<DataKey, ServiceError> {
        let (version, material) = self.key_material(key, None).await?;
        let plaintext = material::random_key();
        let wrapped = material::wrap_data_key(&material, &key.key_id, version, &plaintext);
        Ok(DataKey { plaintext, wrapped })
    }

    /// The clear bytes of a data key that [`Registry::new_data_key`] made
    /// under `key` (under any version of it, after rotations); refused when
    /// the key is disabled or deleted.
    pub async fn open_data_key(
        &self,
        key: &KeyRef,
        wrapped: &[u8],
    ) -> Result<zeroize::Zeroizing<[u8; 32]>, ServiceError> {
        let invalid = || async {
            ServiceResult::<ServiceError>::Ok(
                KmsError::InvalidCiphertext(self.kms_key_arn(&key.key_id).await?).into(),
            )
        };
        let Ok(version) = material::wrapped_version(wrapped) else {
            return Err(invalid().await?);
        };
        let (_, material) = self.key_material(key, Some(version)).await?;
        match material::unwrap_data_key(&material, &key.key_id, wrapped) {
            Ok(clear) => Ok(clear),
            Err(KeyError::Malformed | KeyError::Unauthentic) => Err(invalid().await?),
        }
    }
}

/// The KMS stand-in's operations (`berth kms …`, the console's Keys page).
impl Registry {
    /// Describes `key` with its ARN and the repositories it protects.
    async fn describe(&self, key: KmsKey) -> ServiceResult<KeyDescription> {
        let mut all = self.describe_all(vec![key]).await?;
        Ok(all.pop().expect("one key in, one out"))
    }

    /// Describes `keys`, finding the repositories each protects.
    async fn describe_all(&self, keys: Vec<KmsKey>) -> ServiceResult<Vec<KeyDescription>> {
        let region = self.db.registry_region().await?;
        let repositories = self.db.kms_repositories().await?;
        let mut protected: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (name, kms_key) in repositories {
            let id = match kms_key.as_deref() {
                None => self.db.kms_managed_key(AWS_MANAGED).await?.map(|k| k.id),
                Some(named) => match parse_key_name(named, &region, &self.registry_id) {
                    Some(KeyName::Id(id)) => Some(id),
                    Some(KeyName::Alias(alias)) => {
                        self.db.kms_key_by_alias(&alias).await?.map(|k| k.id)
                    }
                    None => None,
                },
            };
            if let Some(id) = id {
                protected.entry(id).or_default().push(name);
            }
        }
        let mut aes256 = None;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let protects = if key.manager == BERTH_MANAGED {
                if aes256.is_none() {
                    aes256 = Some(self.db.aes256_repositories().await?);
                }
                aes256.clone().unwrap_or_default()
            } else {
                protected.remove(&key.id).unwrap_or_default()
            };
            out.push(KeyDescription {
                arn: format!("arn:aws:kms:{region}:{}:key/{}", self.registry_id, key.id),
                key,
                protects,
            });
        }
        Ok(out)
    }

    /// Makes a key (`berth kms create-key`), with an alias if given.
    pub async fn kms_create_key(
        &self,
        alias: Option<&str>,
        description: &str,
    ) -> ServiceResult<KeyDescription> {
        let alias = alias.map(normalize_alias).transpose()?;
        match self
            .insert_key(CUSTOMER, description.trim(), alias.as_deref())
            .await?
        {
            KeyCreated::Created(key) => {
                tracing::info!(key_id = %key.id, "created a KMS key");
                self.describe(*key).await
            }
            KeyCreated::AliasTaken | KeyCreated::ManagedExists => {
                Err(KmsError::AlreadyExists(alias.unwrap_or_default()).into())
            }
        }
    }

    /// Every key, oldest first (the registry key and the default key once made).
    pub async fn kms_keys(&self) -> ServiceResult<Vec<KeyDescription>> {
        let keys = self.db.kms_keys().await?;
        self.describe_all(keys).await
    }

    /// The key `name` names (id, key ARN, alias or alias ARN).
    pub async fn kms_key(&self, name: &str) -> ServiceResult<KeyDescription> {
        let key = self.find_key(name).await?;
        self.describe(key).await
    }

    /// A key users may change: refused for Berth's own keys and deleted ones.
    async fn customer_key(&self, name: &str, operation: &str) -> ServiceResult<KeyDescription> {
        let key = self.kms_key(name).await?;
        if key.is_managed() {
            return Err(KmsError::InvalidState(format!(
                "Key '{}' is managed by Berth ({}): it cannot be {operation}",
                key.arn,
                key.key
                    .aliases
                    .first()
                    .map_or("the registry key", String::as_str)
            ))
            .into());
        }
        if key.key.state == "Deleted" {
            return Err(KmsError::Deleted(key.arn).into());
        }
        Ok(key)
    }

    /// Moves a key from one of `from` to `state`, or says why it cannot.
    async fn change_state(
        &self,
        name: &str,
        operation: &str,
        from: &[&str],
        state: &str,
        deletion: Option<(i64, i64)>,
    ) -> ServiceResult<KeyDescription> {
        let key = self.customer_key(name, operation).await?;
        if key.key.state == state && deletion.is_none() {
            return Ok(key);
        }
        if !self
            .db
            .set_kms_key_state(&key.key.id, from, state, deletion)
            .await?
        {
            return Err(KmsError::InvalidState(format!(
                "Key '{}' is {} and cannot be {operation}",
                key.arn,
                match key.key.state.as_str() {
                    "PendingDeletion" => "pending deletion",
                    "Disabled" => "disabled",
                    _ => "enabled",
                }
            ))
            .into());
        }
        tracing::info!(key = %key.arn, state, "changed the state of a KMS key");
        self.kms_key(&key.key.id).await
    }

    /// Enables a disabled key.
    pub async fn kms_enable_key(&self, name: &str) -> ServiceResult<KeyDescription> {
        self.change_state(name, "enabled", &["Disabled"], "Enabled", None)
            .await
    }

    /// Disables a key: what it protects can be neither read nor written until
    /// it is enabled again.
    pub async fn kms_disable_key(&self, name: &str) -> ServiceResult<KeyDescription> {
        self.change_state(name, "disabled", &["Enabled"], "Disabled", None)
            .await
    }

    /// Schedules a key's deletion after `window_days` (7–30, default 30);
    /// until then it can be cancelled, and it can be used for nothing.
    pub async fn kms_schedule_deletion(
        &self,
        name: &str,
        window_days: Option<u32>,
    ) -> ServiceResult<KeyDescription> {
        let days = window_days.unwrap_or(DEFAULT_PENDING_WINDOW_DAYS);
        if !PENDING_WINDOW_DAYS.contains(&days) {
            return Err(KmsError::Invalid(format!(
                "The pending window must be {} to {} days, got {days}",
                PENDING_WINDOW_DAYS.start(),
                PENDING_WINDOW_DAYS.end()
            ))
            .into());
        }
        let date = crate::clock::now_millis() + i64::from(days) * DAY_MS;
        self.change_state(
            name,
            "scheduled for deletion",
            &["Enabled", "Disabled"],
            "PendingDeletion",
            Some((date, i64::from(days))),
        )
        .await
    }

    /// Cancels a scheduled deletion; the key is then disabled, as in AWS.
    pub async fn kms_cancel_deletion(&self, name: &str) -> ServiceResult<KeyDescription> {
        let key = self.customer_key(name, "kept from deletion").await?;
        if key.key.state != "PendingDeletion" {
            return Err(KmsError::InvalidState(format!(
                "Key '{}' is not pending deletion",
                key.arn
            ))
            .into());
        }
        self.change_state(
            name,
            "kept from deletion",
            &["PendingDeletion"],
            "Disabled",
            None,
        )
        .await
    }

    /// Turns yearly automatic rotation on or off.
    pub async fn kms_set_rotation(
        &self,
        name: &str,
        enabled: bool,
    ) -> ServiceResult<KeyDescription> {
        let key = self
            .customer_key(name, "changed (its rotation is Berth's)")
            .await?;
        check_usable(&key.key, &key.arn)?;
        let next = enabled.then(|| crate::clock::now_millis() + ROTATION_PERIOD_DAYS * DAY_MS);
        if enabled && key.key.rotation_enabled {
            return Ok(key);
        }
        self.db.set_kms_rotation(&key.key.id, next).await?;
        self.kms_key(&key.key.id).await
    }

    /// Adds a version of material now: new data keys are wrapped by it, old
    /// ones still open with the versions before.
    pub async fn kms_rotate_now(&self, name: &str) -> ServiceResult<KeyDescription> {
        let key = self.customer_key(name, "rotated on demand").await?;
        check_usable(&key.key, &key.arn)?;
        self.add_version(&key.key, "ON_DEMAND", None).await?;
        self.kms_key(&key.key.id).await
    }

    /// Seals fresh material as the key's next version.
    async fn add_version(
        &self,
        key: &KmsKey,
        rotation_type: &str,
        next_rotation_at: Option<i64>,
    ) -> ServiceResult<()> {
        let material = material::random_key();
        let added = self
            .db
            .add_kms_key_version(&key.id, rotation_type, next_rotation_at, |version| {
                self.key_sealer.seal(&key.id, version, &material)
            })
            .await?;
        match added {
            Some(version) => {
                tracing::info!(key_id = %key.id, version, rotation_type, "rotated a KMS key");
                Ok(())
            }
            None => {
                let current = self.find_key(&key.id).await?;
                Err(state_error(&current.state, self.kms_key_arn(&key.id).await?).into())
            }
        }
    }

    /// Gives a key another alias.
    pub async fn kms_create_alias(&self, alias: &str, key: &str) -> ServiceResult<KeyDescription> {
        let alias = normalize_alias(alias)?;
        let key = self.customer_key(key, "given an alias").await?;
        if !self.db.create_kms_alias(&alias, &key.key.id).await? {
            return Err(KmsError::AlreadyExists(alias).into());
        }
        self.kms_key(&key.key.id).await
    }

    /// Removes an alias (not the key).
    pub async fn kms_delete_alias(&self, alias: &str) -> ServiceResult<()> {
        let alias = normalize_alias(alias)?;
        if !self.db.delete_kms_alias(&alias).await? {
            return Err(KmsError::NotFound(alias).into());
        }
        Ok(())
    }

    /// The periodic key work: deletes keys whose waiting period has ended
    /// and rotates keys whose yearly rotation is due. Returns the ARNs of
    /// the keys deleted and of the keys rotated.
    pub async fn kms_maintain(&self) -> ServiceResult<(Vec<String>, Vec<String>)> {
        let now = crate::clock::now_millis();
        let mut deleted = Vec::new();
        for id in self.db.delete_due_kms_keys(now).await? {
            let arn = self.kms_key_arn(&id).await?;
            tracing::warn!(key = %arn, "deleted a KMS key at the end of its waiting period");
            deleted.push(arn);
        }
        let mut rotated = Vec::new();
        for key in self.db.kms_rotations_due(now).await? {
            let next = now + key.rotation_period_days * DAY_MS;
            self.add_version(&key, "AUTOMATIC", Some(next)).await?;
            rotated.push(self.kms_key_arn(&key.id).await?);
        }
        Ok((deleted, rotated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, Schema};
    use crate::storage::FsBlobStore;
    use std::sync::Arc;

    const REGION: &str = "us-east-1";
    const ACCOUNT: &str = "123456789012";
    const ID: &str = "6f1c4a52-5d3e-4a53-9b7e-0f4f3b7a9c11";

    #[test]
    fn keys_are_named_by_id_arn_alias_or_alias_arn_of_this_registry_only() {
        let parse = |n: &str| parse_key_name(n, REGION, ACCOUNT);
        assert_eq!(parse(ID), Some(KeyName::Id(ID.into())));
        assert_eq!(
            parse(&format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{ID}")),
            Some(KeyName::Id(ID.into()))
        );
        assert_eq!(
            parse("alias/team-a"),
            Some(KeyName::Alias("alias/team-a".into()))
        );
        assert_eq!(
            parse(&format!("arn:aws:kms:{REGION}:{ACCOUNT}:alias/team-a")),
            Some(KeyName::Alias("alias/team-a".into()))
        );
        assert_eq!(
            parse(&format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/{ID}")),
            None
        );
        assert_eq!(
            parse(&format!("arn:aws:kms:{REGION}:999999999999:key/{ID}")),
            None
        );
        assert_eq!(parse("not-a-key"), None);
        assert_eq!(parse(&ID.to_uppercase()), None);
    }

    #[test]
    fn aliases_are_checked_as_aws_checks_them() {
        assert_eq!(normalize_alias("team-a").unwrap(), "alias/team-a");
        assert_eq!(normalize_alias("alias/team/a_b").unwrap(), "alias/team/a_b");
        assert!(matches!(
            normalize_alias("alias/"),
            Err(KmsError::Invalid(_))
        ));
        assert!(matches!(normalize_alias("a b"), Err(KmsError::Invalid(_))));
        assert!(matches!(
            normalize_alias("alias/aws/ecr"),
            Err(KmsError::Invalid(_))
        ));
    }

    async fn registry() -> (Registry, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("berth.db"), Schema::Migrate)
            .await
            .unwrap();
        db.ensure_registry(ACCOUNT, REGION).await.unwrap();
        let store = Arc::new(FsBlobStore::open(dir.path()).await.unwrap());
        (
            Registry::new(db, store, ACCOUNT.into(), true)
                .with_key_sealer(Arc::new(MaterialSealer::new(&[3; 32]))),
            dir,
        )
    }

    fn repository(encryption_type: &str, kms_key: Option<&str>) -> crate::model::Repository {
        crate::model::Repository {
            id: 1,
            name: "team/app".into(),
            created_at: 0,
            tag_mutability: "MUTABLE".into(),
            exclusions: vec![],
            scan_on_push: false,
            encryption_type: encryption_type.into(),
            kms_key: kms_key.map(Into::into),
            image_count: 0,
        }
    }

    fn kms_error(result: ServiceResult<impl std::fmt::Debug>) -> KmsError {
        match result {
            Err(ServiceError::Kms(e)) => e,
            other => panic!("expected a KMS error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn data_keys_open_after_rotation_and_not_once_the_key_is_disabled() {
        let (registry, _dir) = registry().await;
        let made = registry
            .kms_create_key(Some("team"), "for team")
            .await
            .unwrap();
        let key = registry
            .repository_key(&repository("KMS", Some("alias/team")))
            .await
            .unwrap();
        assert_eq!(key.key_id, made.key.id);
        let first = registry.new_data_key(&key).await.unwrap();
        registry.kms_rotate_now("alias/team").await.unwrap();
        let second = registry.new_data_key(&key).await.unwrap();
        assert_eq!(material::wrapped_version(&first.wrapped), Ok(1));
        assert_eq!(material::wrapped_version(&second.wrapped), Ok(2));
        assert_eq!(
            *registry.open_data_key(&key, &first.wrapped).await.unwrap(),
            *first.plaintext,
            "the data key made before the rotation still opens"
        );
        assert_eq!(
            *registry.open_data_key(&key, &second.wrapped).await.unwrap(),
            *second.plaintext
        );
        let mut tampered = second.wrapped.clone();
        tampered[30] ^= 1;
        assert!(matches!(
            kms_error(registry.open_data_key(&key, &tampered).await),
            KmsError::InvalidCiphertext(_)
        ));

        registry.kms_disable_key(&made.arn).await.unwrap();
        let refused = kms_error(registry.open_data_key(&key, &first.wrapped).await);
        assert!(
            matches!(refused, KmsError::Disabled(ref arn) if arn == &made.arn),
            "{refused}"
        );
        assert_eq!(refused.kms_error(), "DisabledException");
        assert!(matches!(
            kms_error(registry.new_data_key(&key).await),
            KmsError::Disabled(_)
        ));
        assert!(matches!(
            kms_error(
                registry
                    .repository_key(&repository("KMS", Some(&made.key.id)))
                    .await
            ),
            KmsError::Disabled(_)
        ));
        registry.kms_enable_key(&made.key.id).await.unwrap();
        registry.open_data_key(&key, &first.wrapped).await.unwrap();
    }

    #[tokio::test]
    async fn the_registry_key_and_the_default_key_are_made_once_and_kept_by_berth() {
        let (registry, _dir) = registry().await;
        let aes = registry
            .repository_key(&repository("AES256", None))
            .await
            .unwrap();
        let again = registry
            .repository_key(&repository("AES256", None))
            .await
            .unwrap();
        assert_eq!(aes, again, "one registry key");
        let default = registry
            .repository_key(&repository("KMS", None))
            .await
            .unwrap();
        assert_ne!(default, aes);
        let by_alias = registry
            .repository_key(&repository("KMS", Some(DEFAULT_KEY_ALIAS)))
            .await
            .unwrap();
        assert_eq!(by_alias, default, "the default key is alias/aws/ecr");
        let data = registry.new_data_key(&aes).await.unwrap();
        assert_eq!(
            *registry.open_data_key(&aes, &data.wrapped).await.unwrap(),
            *data.plaintext
        );
        assert!(
            registry
                .open_data_key(&default, &data.wrapped)
                .await
                .is_err(),
            "a data key made under one key does not open under another"
        );
        for name in [aes.key_id.as_str(), DEFAULT_KEY_ALIAS] {
            assert!(matches!(
                kms_error(registry.kms_disable_key(name).await),
                KmsError::InvalidState(_)
            ));
            assert!(matches!(
                kms_error(registry.kms_schedule_deletion(name, None).await),
                KmsError::InvalidState(_)
            ));
        }
        let keys = registry.kms_keys().await.unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys
            .iter()
            .all(|k| k.is_managed() && k.key.rotation_enabled));
    }

    #[tokio::test]
    async fn another_installation_secret_opens_no_key_material() {
        let (registry, dir) = registry().await;
        let key = registry
            .repository_key(&repository("AES256", None))
            .await
            .unwrap();
        let data = registry.new_data_key(&key).await.unwrap();
        let db = Db::open(&dir.path().join("berth.db"), Schema::Current)
            .await
            .unwrap();
        let store = Arc::new(FsBlobStore::open(dir.path()).await.unwrap());
        let elsewhere = Registry::new(db, store, ACCOUNT.into(), true)
            .with_key_sealer(Arc::new(MaterialSealer::new(&[4; 32])));
        assert!(matches!(
            kms_error(elsewhere.open_data_key(&key, &data.wrapped).await),
            KmsError::MaterialSealedElsewhere(_)
        ));
    }

    #[tokio::test]
    async fn deletion_waits_for_its_window_and_erases_the_material() {
        let (registry, _dir) = registry().await;
        let made = registry.kms_create_key(None, "").await.unwrap();
        let key = KeyRef {
            key_id: made.key.id.clone(),
        };
        let data = registry.new_data_key(&key).await.unwrap();
        for days in [6, 31] {
            assert!(matches!(
                kms_error(registry.kms_schedule_deletion(&made.arn, Some(days)).await),
                KmsError::Invalid(_)
            ));
        }
        let pending = registry
            .kms_schedule_deletion(&made.arn, Some(7))
            .await
            .unwrap();
        assert_eq!(pending.key.state, "PendingDeletion");
        assert_eq!(pending.key.pending_window_days, Some(7));
        let refused = kms_error(registry.open_data_key(&key, &data.wrapped).await);
        assert_eq!(refused.kms_error(), "KMSInvalidStateException");
        assert_eq!(
            registry.kms_maintain().await.unwrap().0.len(),
            0,
            "not yet due"
        );
        let cancelled = registry.kms_cancel_deletion(&made.key.id).await.unwrap();
        assert_eq!(cancelled.key.state, "Disabled");
        registry
            .kms_schedule_deletion(&made.key.id, Some(7))
            .await
            .unwrap();
        // The waiting period ends: run the periodic work as if 7 days passed.
        let later = crate::clock::now_millis() + 7 * DAY_MS + 1;
        let deleted = registry.db.delete_due_kms_keys(later).await.unwrap();
        assert_eq!(deleted, vec![made.key.id.clone()]);
        let gone = registry.kms_key(&made.arn).await.unwrap();
        assert_eq!(gone.key.state, "Deleted");
        assert_eq!(gone.key.versions, 0, "the material is erased");
        assert!(matches!(
            kms_error(registry.open_data_key(&key, &data.wrapped).await),
            KmsError::Deleted(_)
        ));
        assert!(matches!(
            kms_error(registry.kms_enable_key(&made.arn).await),
            KmsError::Deleted(_)
        ));
    }

    #[tokio::test]
    async fn aliases_name_one_key_each() {
        let (registry, _dir) = registry().await;
        let a = registry.kms_create_key(Some("alias/a"), "").await.unwrap();
        assert_eq!(a.key.aliases, vec!["alias/a".to_owned()]);
        assert!(matches!(
            kms_error(registry.kms_create_key(Some("a"), "").await),
            KmsError::AlreadyExists(_)
        ));
        assert_eq!(registry.kms_keys().await.unwrap().len(), 1, "nothing made");
        let b = registry.kms_create_key(None, "").await.unwrap();
        registry.kms_create_alias("b", &b.key.id).await.unwrap();
        assert_eq!(registry.kms_key("alias/b").await.unwrap().key.id, b.key.id);
        registry.kms_delete_alias("alias/b").await.unwrap();
        assert!(matches!(
            kms_error(registry.kms_key("alias/b").await),
            KmsError::NotFound(_)
        ));
        assert!(matches!(
            kms_error(registry.kms_key("alias/nope").await),
            KmsError::NotFound(_)
        ));
    }
}
