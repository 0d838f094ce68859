//! Finding, making, describing and changing the state of keys.

use super::{
    normalize_alias, parse_key_name, KeyDescription, KeyName, KmsError, AWS_MANAGED, BERTH_MANAGED,
    CUSTOMER, DAY_MS, DEFAULT_KEY_ALIAS, DEFAULT_PENDING_WINDOW_DAYS, DESCRIPTION_MAX_CHARS,
    PENDING_WINDOW_DAYS, ROTATION_PERIOD_DAYS,
};
use crate::db::{KeyCreated, NewKmsKey};
use crate::keys::material::{self, MaterialSealer};
use crate::model::KmsKey;
use crate::service::{Registry, ServiceResult};

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
    pub(super) async fn find_key(&self, name: &str) -> ServiceResult<KmsKey> {
        let region = self.db.registry_region().await?;
        let found = match parse_key_name(name.trim(), &region, &self.registry_id) {
            Some(KeyName::Id(id)) => self.db.kms_key(&id).await?,
            Some(KeyName::Alias(alias)) => self.db.kms_key_by_alias(&alias).await?,
            None => None,
        };
        found.ok_or_else(|| KmsError::NotFound(name.trim().to_owned()).into())
    }

    /// The registry's own key or the default key, made on first use.
    pub(super) async fn managed_key(&self, manager: &str) -> ServiceResult<KmsKey> {
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
    pub(super) async fn insert_key(
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
}

/// The KMS stand-in's operations (`berth kms …`, the console's Keys page).
impl Registry {
    /// Describes `key` with its ARN and the repositories it protects.
    pub(super) async fn describe(&self, key: KmsKey) -> ServiceResult<KeyDescription> {
        let mut all = self.describe_all(vec![key]).await?;
        Ok(all.pop().expect("one key in, one out"))
    }

    /// Describes `keys`, finding the repositories each protects.
    pub(super) async fn describe_all(
        &self,
        keys: Vec<KmsKey>,
    ) -> ServiceResult<Vec<KeyDescription>> {
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
        let description = description.trim();
        let length = description.chars().count();
        if length > DESCRIPTION_MAX_CHARS {
            return Err(KmsError::DescriptionTooLong(length).into());
        }
        match self
            .insert_key(CUSTOMER, description, alias.as_deref())
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
    pub(super) async fn customer_key(
        &self,
        name: &str,
        operation: &str,
    ) -> ServiceResult<KeyDescription> {
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
    pub(super) async fn change_state(
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
}
