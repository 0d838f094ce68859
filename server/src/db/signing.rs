//! Managed signing's records: the signing CA, signing profiles, the
//! registry's signing configuration, and each image's signing per profile
//! (its status, and the persisted job behind it).

use super::{now_millis, Db, DbError};

/// A signing key and its certificate, as stored (the key sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    /// The profile's name (`None` for the CA).
    pub name: Option<String>,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The PKCS#8 private key sealed by the installation secret.
    pub sealed_key: Vec<u8>,
    /// When it was made (ms).
    pub created_at: i64,
}

/// A signing profile as listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningProfileRow {
    /// The profile's name.
    pub name: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// When it was made (ms).
    pub created_at: i64,
    /// When its certificate expires (ms).
    pub not_after: i64,
}

/// One image's signing with one profile.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImageSignatureRow {
    /// The profile's ARN.
    pub profile_arn: String,
    /// `IN_PROGRESS`, `COMPLETE` or `FAILED`.
    pub status: String,
    /// Why it failed, as a code.
    pub failure_code: Option<String>,
    /// Why it failed, in words.
    pub failure_reason: Option<String>,
    /// The signature referrer's digest.
    pub signature_digest: Option<String>,
    /// When it was asked for (ms).
    pub requested_at: i64,
    /// When it ended (ms).
    pub completed_at: Option<i64>,
}

/// A signing taken to run.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningJobRow {
    /// The manifest's row id.
    pub manifest_id: i64,
    /// The profile's ARN.
    pub profile_arn: String,
    /// The repository.
    pub repository: String,
    /// The manifest's digest.
    pub digest: String,
    /// When it was claimed (ms): the claim's token. A claim taken over after
    /// its lease gets a later time, so the first claimer's finish no longer
    /// matches and is refused.
    pub claimed_at: i64,
}

impl Db {
    /// The signing CA, if made.
    pub async fn signing_ca(&self) -> Result<Option<SigningKeyRow>, DbError> {
        sqlx::query_as(
            "SELECT NULL AS name, cert_der, sealed_key, created_at FROM signing_ca WHERE id = 1",
        )
        .fetch_optional(&self.reader)
        .await
    }

    /// Stores the signing CA unless one exists; returns the one stored.
    pub async fn insert_signing_ca(
        &self,
        cert_der: &[u8],
        sealed_key: &[u8],
    ) -> Result<SigningKeyRow, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO signing_ca (id, cert_der, sealed_key, created_at) VALUES (1, ?, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(cert_der)
        .bind(sealed_key)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query_as(
            "SELECT NULL AS name, cert_der, sealed_key, created_at FROM signing_ca WHERE id = 1",
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Stores a new signing profile; `false` if the name is taken.
    pub async fn insert_signing_profile(
        &self,
        name: &str,
        cert_der: &[u8],
        sealed_key: &[u8],
        not_after: i64,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "INSERT INTO signing_profiles (name, cert_der, sealed_key, created_at, not_after)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(cert_der)
        .bind(sealed_key)
        .bind(now_millis())
        .bind(not_after)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The signing profiles, by name.
    pub async fn signing_profiles(&self) -> Result<Vec<SigningProfileRow>, DbError> {
        sqlx::query_as(
            "SELECT name, cert_der, created_at, not_after FROM signing_profiles ORDER BY name",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// One signing profile with its sealed key.
    pub async fn signing_profile_key(&self, name: &str) -> Result<Option<SigningKeyRow>, DbError> {
        sqlx::query_as(
            "SELECT name, cert_der, sealed_key, created_at FROM signing_profiles WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.reader)
        .await
    }

    /// Deletes a signing profile; `false` if there was none.
    pub async fn delete_signing_profile(&self, name: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM signing_profiles WHERE name = ?")
            .bind(name)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The signing configuration's JSON, if one is set.
    pub async fn signing_configuration(&self) -> Result<Option<String>, DbError> {
        sqlx::query_scalar("SELECT rules FROM signing_configuration WHERE id = 1")
            .fetch_optional(&self.reader)
            .await
    }

    /// Sets the signing configuration's JSON.
    pub async fn set_signing_configuration(&self, json: &str) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO signing_configuration (id, rules) VALUES (1, ?)
             ON CONFLICT (id) DO UPDATE SET rules = excluded.rules",
        )
        .bind(json)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Removes the signing configuration; returns the JSON it had.
    pub async fn delete_signing_configuration(&self) -> Result<Option<String>, DbError> {
        sqlx::query_scalar("DELETE FROM signing_configuration WHERE id = 1 RETURNING rules")
            .fetch_optional(&self.writer)
            .await
    }

    /// Takes the oldest signing to do: one never claimed, or whose claim is
    /// older than `lease_ms` (its process stopped).
    pub async fn claim_signing(&self, lease_ms: i64) -> Result<Option<SigningJobRow>, DbError> {
        let now = now_millis();
        sqlx::query_as(
            "UPDATE image_signatures SET claimed_at = ?1
             WHERE (manifest_id, profile_arn) = (
                 SELECT manifest_id, profile_arn FROM image_signatures
                 WHERE status = 'IN_PROGRESS' AND (claimed_at IS NULL OR claimed_at < ?1 - ?2)
                 ORDER BY requested_at LIMIT 1)
             RETURNING manifest_id, profile_arn,
                 (SELECT r.name FROM manifests m JOIN repositories r ON r.id = m.repository_id
                  WHERE m.id = manifest_id) AS repository,
                 (SELECT m.digest FROM manifests m WHERE m.id = manifest_id) AS digest,
                 claimed_at",
        )
        .bind(now)
        .bind(lease_ms)
        .fetch_optional(&self.writer)
        .await
    }

    /// Records how a signing ended, if the caller still holds its claim
    /// (`claimed_at` is the time [`Db::claim_signing`] returned). False when
    /// the claim was taken over (its lease ran out) or the signing already
    /// ended: nothing is recorded, and the caller's signature is not the one.
    pub async fn finish_signing(
        &self,
        manifest_id: i64,
        profile_arn: &str,
        claimed_at: i64,
        outcome: Result<&str, (&str, &str)>,
    ) -> Result<bool, DbError> {
        let (status, digest, code, reason) = match outcome {
            Ok(digest) => ("COMPLETE", Some(digest), None, None),
            Err((code, reason)) => ("FAILED", None, Some(code), Some(reason)),
        };
        let done = sqlx::query(
            "UPDATE image_signatures SET status = ?, signature_digest = ?, failure_code = ?,
                 failure_reason = ?, completed_at = ?
             WHERE manifest_id = ? AND profile_arn = ? AND status = 'IN_PROGRESS'
                 AND claimed_at = ?",
        )
        .bind(status)
        .bind(digest)
        .bind(code)
        .bind(reason)
        .bind(now_millis())
        .bind(manifest_id)
        .bind(profile_arn)
        .bind(claimed_at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A manifest's signings, by profile ARN.
    pub async fn image_signatures(
        &self,
        manifest_id: i64,
    ) -> Result<Vec<ImageSignatureRow>, DbError> {
        sqlx::query_as(
            "SELECT profile_arn, status, failure_code, failure_reason, signature_digest,
                 requested_at, completed_at
             FROM image_signatures WHERE manifest_id = ? ORDER BY profile_arn",
        )
        .bind(manifest_id)
        .fetch_all(&self.reader)
        .await
    }
}

/// Queues the signing of a manifest with each profile, in the caller's
/// transaction (a manifest PUT's, so a stored image never misses its
/// signing). A manifest pushed again is signed again only by the profiles
/// whose signing failed (one signature per profile is enough; one in
/// progress is left to finish).
pub(super) async fn queue_signings_in(
    conn: &mut sqlx::SqliteConnection,
    manifest_id: i64,
    profiles: &[String],
    now: i64,
) -> Result<(), DbError> {
    for arn in profiles {
        sqlx::query(
            "INSERT INTO image_signatures (manifest_id, profile_arn, status, requested_at)
             VALUES (?, ?, 'IN_PROGRESS', ?)
             ON CONFLICT (manifest_id, profile_arn) DO UPDATE SET status = 'IN_PROGRESS',
                 failure_code = NULL, failure_reason = NULL, requested_at = excluded.requested_at,
                 claimed_at = NULL, completed_at = NULL
             WHERE image_signatures.status = 'FAILED'",
        )
        .bind(manifest_id)
        .bind(arn)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
