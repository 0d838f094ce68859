//! Rotation (on demand and yearly) and the periodic key work.

use super::{check_usable, state_error, KeyDescription, DAY_MS, ROTATION_PERIOD_DAYS};
use crate::keys::material;
use crate::model::KmsKey;
use crate::service::{Registry, ServiceResult};

impl Registry {
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
    pub(super) async fn add_version(
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

    /// The periodic key work: deletes keys whose waiting period has ended
    /// and rotates keys whose yearly rotation is due. A key that fails is
    /// logged and reported, and the work goes on with the others.
    pub async fn kms_maintain(&self) -> ServiceResult<KmsMaintenance> {
        self.kms_maintain_at(crate::clock::now_millis()).await
    }

    /// [`Registry::kms_maintain`] as if the time were `now` (ms).
    pub(crate) async fn kms_maintain_at(&self, now: i64) -> ServiceResult<KmsMaintenance> {
        let mut done = KmsMaintenance::default();
        for id in self.db.kms_deletions_due(now).await? {
            let arn = self.kms_key_arn(&id).await.unwrap_or_else(|_| id.clone());
            match self.db.delete_due_kms_key(&id, now).await {
                Ok(true) => {
                    tracing::warn!(key = %arn, "deleted a KMS key at the end of its waiting period");
                    done.deleted.push(arn);
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(key = %arn, %error, "could not delete a KMS key whose waiting period has ended");
                    done.failed.push((arn, error.to_string()));
                }
            }
        }
        for key in self.db.kms_rotations_due(now).await? {
            let next = now + key.rotation_period_days * DAY_MS;
            let arn = self
                .kms_key_arn(&key.id)
                .await
                .unwrap_or_else(|_| key.id.clone());
            match self.add_version(&key, "AUTOMATIC", Some(next)).await {
                Ok(()) => done.rotated.push(arn),
                Err(error) => {
                    tracing::warn!(key = %arn, %error, "could not rotate a KMS key whose rotation is due");
                    done.failed.push((arn, error.to_string()));
                }
            }
        }
        Ok(done)
    }
}

/// What one run of the periodic key work did, by key ARN.
#[derive(Debug, Default)]
pub struct KmsMaintenance {
    /// The keys deleted at the end of their waiting period.
    pub deleted: Vec<String>,
    /// The keys rotated.
    pub rotated: Vec<String>,
    /// The keys whose deletion or rotation was due but failed, with the
    /// error; they are tried again at the next run.
    pub failed: Vec<(String, String)>,
}
