//! The KMS stand-in's records (issue 18): keys, their sealed material
//! versions and aliases. The material arrives sealed (`keys::material`);
//! nothing here sees a key in the clear.

use super::{now_millis, Db, DbError};
use crate::model::KmsKey;

const COLUMNS: &str = "k.id, k.description, k.manager, k.state, k.created_at, k.deletion_date,
    k.pending_window_days, k.deleted_at, k.rotation_enabled, k.rotation_period_days,
    k.next_rotation_at,
    (SELECT json_group_array(a.name) FROM
        (SELECT name FROM kms_aliases WHERE key_id = k.id ORDER BY name) a) AS aliases,
    (SELECT count(*) FROM kms_key_versions v WHERE v.key_id = k.id) AS versions,
    (SELECT max(v.created_at) FROM kms_key_versions v WHERE v.key_id = k.id AND v.version > 1)
        AS last_rotated_at";

/// A key to create.
#[derive(Debug)]
pub struct NewKmsKey<'a> {
    /// Its id (a UUID).
    pub id: &'a str,
    /// Its description.
    pub description: &'a str,
    /// `CUSTOMER`, `AWS` or `BERTH`.
    pub manager: &'a str,
    /// An alias to give it (`alias/NAME`).
    pub alias: Option<&'a str>,
    /// Version 1 of its material, sealed.
    pub sealed_material: &'a [u8],
}

/// What creating a key did.
#[derive(Debug)]
pub enum KeyCreated {
    /// The key was made.
    Created(Box<KmsKey>),
    /// The alias names another key already; nothing was made.
    AliasTaken,
    /// The managed key (`AWS` or `BERTH`) exists already; nothing was made.
    ManagedExists,
}

/// The state of a key and one version of its sealed material.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KmsMaterialRow {
    /// The key's state.
    pub state: String,
    /// The version, when it exists.
    pub version: Option<i64>,
    /// That version's sealed material.
    pub material: Option<Vec<u8>>,
}

impl Db {
    /// The key with id `id`.
    pub async fn kms_key(&self, id: &str) -> Result<Option<KmsKey>, DbError> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM kms_keys k WHERE k.id = ?"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await
    }

    /// The key `alias` (`alias/NAME`) names.
    pub async fn kms_key_by_alias(&self, alias: &str) -> Result<Option<KmsKey>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM kms_aliases a JOIN kms_keys k ON k.id = a.key_id WHERE a.name = ?"
        ))
        .bind(alias)
        .fetch_optional(&self.reader)
        .await
    }

    /// The managed key of `manager` (`AWS` or `BERTH`), if made.
    pub async fn kms_managed_key(&self, manager: &str) -> Result<Option<KmsKey>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM kms_keys k WHERE k.manager = ?"
        ))
        .bind(manager)
        .fetch_optional(&self.writer)
        .await
    }

    /// Every key, oldest first.
    pub async fn kms_keys(&self) -> Result<Vec<KmsKey>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM kms_keys k ORDER BY k.created_at, k.id"
        ))
        .fetch_all(&self.reader)
        .await
    }

    /// Creates a key with its first version of material and its alias.
    pub async fn create_kms_key(&self, new: &NewKmsKey<'_>) -> Result<KeyCreated, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        if let Some(alias) = new.alias {
            let taken: Option<String> =
                sqlx::query_scalar("SELECT key_id FROM kms_aliases WHERE name = ?")
                    .bind(alias)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Ok(KeyCreated::AliasTaken);
            }
        }
        let now = now_millis();
        let done = sqlx::query(
            "INSERT INTO kms_keys (id, description, manager, state, created_at)
             VALUES (?, ?, ?, 'Enabled', ?) ON CONFLICT DO NOTHING",
        )
        .bind(new.id)
        .bind(new.description)
        .bind(new.manager)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(KeyCreated::ManagedExists);
        }
        sqlx::query(
            "INSERT INTO kms_key_versions (key_id, version, material, created_at) VALUES (?, 1, ?, ?)",
        )
        .bind(new.id)
        .bind(new.sealed_material)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(alias) = new.alias {
            sqlx::query("INSERT INTO kms_aliases (name, key_id, created_at) VALUES (?, ?, ?)")
                .bind(alias)
                .bind(new.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM kms_keys k WHERE k.id = ?"))
            .bind(new.id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(KeyCreated::Created(Box::new(row)))
    }

    /// A key's state and one version of its sealed material: `version`, or
    /// the newest when `None`. `None` when there is no such key.
    pub async fn kms_material(
        &self,
        key_id: &str,
        version: Option<u32>,
    ) -> Result<Option<KmsMaterialRow>, DbError> {
        sqlx::query_as(
            "SELECT k.state, v.version, v.material FROM kms_keys k
             LEFT JOIN kms_key_versions v ON v.key_id = k.id AND v.version = coalesce(?,
                 (SELECT max(version) FROM kms_key_versions WHERE key_id = k.id))
             WHERE k.id = ?",
        )
        .bind(version.map(i64::from))
        .bind(key_id)
        .fetch_optional(&self.reader)
        .await
    }

    /// Sets a key's state, and its deletion date and waiting period (both
    /// `None` unless the state is `PendingDeletion`), when its state is one
    /// of `from`; false when it was not.
    pub async fn set_kms_key_state(
        &self,
        key_id: &str,
        from: &[&str],
        state: &str,
        deletion: Option<(i64, i64)>,
    ) -> Result<bool, DbError> {
        let from = serde_json::to_string(from).expect("strings serialize");
        let done = sqlx::query(
            "UPDATE kms_keys SET state = ?, deletion_date = ?, pending_window_days = ?
             WHERE id = ? AND state IN (SELECT value FROM json_each(?))",
        )
        .bind(state)
        .bind(deletion.map(|(date, _)| date))
        .bind(deletion.map(|(_, days)| days))
        .bind(key_id)
        .bind(from)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Turns automatic rotation on (next at `next_rotation_at`) or off.
    pub async fn set_kms_rotation(
        &self,
        key_id: &str,
        next_rotation_at: Option<i64>,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE kms_keys SET rotation_enabled = ?, next_rotation_at = ? WHERE id = ?")
            .bind(next_rotation_at.is_some())
            .bind(next_rotation_at)
            .bind(key_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Adds the next version of a key's material, sealed by `seal` (given
    /// the new version's number), if the key is `Enabled`; an automatic
    /// rotation also moves the next one to `next_rotation_at`. The new
    /// version, or `None` when the key is not enabled.
    pub async fn add_kms_key_version(
        &self,
        key_id: &str,
        rotation_type: &str,
        next_rotation_at: Option<i64>,
        seal: impl FnOnce(u32) -> Vec<u8>,
    ) -> Result<Option<u32>, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let newest: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT (SELECT max(version) FROM kms_key_versions WHERE key_id = k.id)
             FROM kms_keys k WHERE k.id = ? AND k.state = 'Enabled'",
        )
        .bind(key_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(newest) = newest else {
            return Ok(None);
        };
        let version = u32::try_from(newest.unwrap_or(0) + 1).expect("versions fit in u32");
        sqlx::query(
            "INSERT INTO kms_key_versions (key_id, version, material, created_at, rotation_type)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(key_id)
        .bind(i64::from(version))
        .bind(seal(version))
        .bind(now_millis())
        .bind(rotation_type)
        .execute(&mut *tx)
        .await?;
        if next_rotation_at.is_some() {
            sqlx::query("UPDATE kms_keys SET next_rotation_at = ? WHERE id = ?")
                .bind(next_rotation_at)
                .bind(key_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(version))
    }

    /// Keys whose automatic rotation is due at `now` (ms).
    pub async fn kms_rotations_due(&self, now: i64) -> Result<Vec<KmsKey>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM kms_keys k WHERE k.state = 'Enabled' AND k.rotation_enabled
             AND k.next_rotation_at <= ? ORDER BY k.next_rotation_at"
        ))
        .bind(now)
        .fetch_all(&self.reader)
        .await
    }

    /// The keys whose waiting period has ended at `now` (ms).
    pub async fn kms_deletions_due(&self, now: i64) -> Result<Vec<String>, DbError> {
        sqlx::query_scalar(
            "SELECT id FROM kms_keys WHERE state = 'PendingDeletion' AND deletion_date <= ? ORDER BY id",
        )
        .bind(now)
        .fetch_all(&self.reader)
        .await
    }

    /// Deletes `id` if its waiting period has ended at `now` (ms): its
    /// material and aliases are erased and it stays as a `Deleted` record.
    /// False when it is not (or no longer) due. One key per transaction, so
    /// a key that fails leaves the others to be deleted.
    pub async fn delete_due_kms_key(&self, id: &str, now: i64) -> Result<bool, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let deleted = sqlx::query(
            "UPDATE kms_keys SET state = 'Deleted', deleted_at = ?, rotation_enabled = 0,
             next_rotation_at = NULL
             WHERE id = ? AND state = 'PendingDeletion' AND deletion_date <= ?",
        )
        .bind(now)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !deleted {
            return Ok(false);
        }
        sqlx::query("DELETE FROM kms_key_versions WHERE key_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM kms_aliases WHERE key_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives `key_id` the alias `name`; false when the alias is taken.
    pub async fn create_kms_alias(&self, name: &str, key_id: &str) -> Result<bool, DbError> {
        let done = sqlx::query(
            "INSERT INTO kms_aliases (name, key_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(key_id)
        .bind(now_millis())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the alias `name`; false when there is none.
    pub async fn delete_kms_alias(&self, name: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM kms_aliases WHERE name = ?")
            .bind(name)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The names and `kmsKey`s of the repositories encrypted with a KMS key
    /// (`KMS`, `KMS_DSSE`).
    pub async fn kms_repositories(&self) -> Result<Vec<(String, Option<String>)>, DbError> {
        sqlx::query_as(
            "SELECT name, kms_key FROM repositories WHERE encryption_type IN ('KMS', 'KMS_DSSE') ORDER BY name",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// The names of the repositories encrypted with the registry key (`AES256`).
    pub async fn aes256_repositories(&self) -> Result<Vec<String>, DbError> {
        sqlx::query_scalar(
            "SELECT name FROM repositories WHERE encryption_type NOT IN ('KMS', 'KMS_DSSE') ORDER BY name",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// This registry's region.
    pub async fn registry_region(&self) -> Result<String, DbError> {
        sqlx::query_scalar("SELECT region FROM registry WHERE id = 1")
            .fetch_one(&self.reader)
            .await
    }
}
