//! Which key protects a repository, and data keys made and opened under it:
//! what blob encryption calls.

use super::{check_usable, state_error, KeyRef, KmsError, AWS_MANAGED, BERTH_MANAGED};
use crate::keys::material::{self, ClearKey, KeyError};
use crate::keys::DataKey;
use crate::model::KmsKey;
use crate::service::{Registry, ServiceError, ServiceResult};

impl Registry {
    /// The key a repository's encryption settings name, whatever its state:
    /// the registry key for `AES256`, the named `kmsKey` or the default key
    /// for `KMS`/`KMS_DSSE`.
    pub(super) async fn key_of(
        &self,
        encryption_type: &str,
        kms_key: Option<&str>,
    ) -> ServiceResult<KmsKey> {
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
    pub(super) async fn key_material(
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
