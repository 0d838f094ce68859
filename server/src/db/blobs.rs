//! Blobs and the links that let a repository read them.

use super::{now_millis, Db, DbError};
use sqlx::{Sqlite, Transaction};

/// Links a blob to a repository, or refreshes the link's touched time.
async fn upsert_link(
    tx: &mut Transaction<'_, Sqlite>,
    repository_id: i64,
    digest: &str,
    now: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO blob_links (repository_id, digest, touched_at) VALUES (?, ?, ?)
         ON CONFLICT (repository_id, digest) DO UPDATE SET touched_at = excluded.touched_at",
    )
    .bind(repository_id)
    .bind(digest)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A blob as a repository links it.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct LinkedBlob {
    /// Size in bytes.
    pub size: i64,
    /// When the link was last relied on (pushed, mounted, read), in
    /// milliseconds since the epoch: garbage collection's grace counts from it.
    pub touched_at: i64,
}

/// A write transaction kept open while the caller checks or deletes blob
/// bytes, so that blob rows and blob bytes change in one order across
/// processes: garbage collection deletes bytes only while it holds one and
/// sees no row for them, and an upload records its blob only while it holds
/// one and sees the bytes. Whichever takes the lock first, the other sees
/// its result. Dropping it rolls back.
pub struct BlobWrite {
    tx: Transaction<'static, Sqlite>,
}

impl BlobWrite {
    /// Which of `digests` have a blob row.
    pub async fn recorded(&mut self, digests: &[String]) -> Result<Vec<String>, DbError> {
        let mut found = Vec::new();
        for digest in digests {
            let row: Option<String> =
                sqlx::query_scalar("SELECT digest FROM blobs WHERE digest = ?")
                    .bind(digest)
                    .fetch_optional(&mut *self.tx)
                    .await?;
            found.extend(row);
        }
        Ok(found)
    }

    /// Records a committed blob and links it to the repository (or refreshes the link).
    pub async fn link_blob(
        &mut self,
        repository_id: i64,
        digest: &str,
        size: i64,
    ) -> Result<(), DbError> {
        let now = now_millis();
        sqlx::query("INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING")
            .bind(digest)
            .bind(size)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        upsert_link(&mut self.tx, repository_id, digest, now).await
    }

    /// Commits and releases the lock.
    pub async fn commit(self) -> Result<(), DbError> {
        self.tx.commit().await
    }
}

/// A blob whose bytes are committed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BlobRow {
    /// Content digest.
    pub digest: String,
    /// Size in bytes.
    pub size: i64,
}

impl Db {
    /// The blob `digest` as linked to the repository, if it is.
    pub async fn linked_blob(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<Option<LinkedBlob>, DbError> {
        sqlx::query_as(
            "SELECT b.size, l.touched_at FROM blob_links l JOIN blobs b ON b.digest = l.digest
             WHERE l.repository_id = ? AND l.digest = ?",
        )
        .bind(repository_id)
        .bind(digest)
        .fetch_optional(&self.reader)
        .await
    }

    /// Starts a [`BlobWrite`]: holds the database's write lock until it is
    /// committed or dropped.
    pub async fn begin_blob_write(&self) -> Result<BlobWrite, DbError> {
        Ok(BlobWrite {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    /// Links a blob that `from_repository_id` already links (a cross-repository
    /// mount); returns its size, or `None` if the source does not link it.
    pub async fn mount_blob(
        &self,
        repository_id: i64,
        from_repository_id: i64,
        digest: &str,
    ) -> Result<Option<i64>, DbError> {
        let now = now_millis();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT b.size FROM blob_links l JOIN blobs b ON b.digest = l.digest
             WHERE l.repository_id = ? AND l.digest = ?",
        )
        .bind(from_repository_id)
        .bind(digest)
        .fetch_optional(&mut *tx)
        .await?;
        if size.is_some() {
            upsert_link(&mut tx, repository_id, digest, now).await?;
        }
        tx.commit().await?;
        Ok(size)
    }

    /// Removes a repository's link to a blob, unless a manifest of the repository
    /// references the blob (the image would stop pulling).
    pub async fn unlink_blob(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<super::DeleteOutcome, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let user = super::manifests::first_referrer(&mut tx, repository_id, digest, "blob").await?;
        if let Some(manifest) = user {
            return Ok(super::DeleteOutcome::ReferencedBy(manifest));
        }
        let done = sqlx::query("DELETE FROM blob_links WHERE repository_id = ? AND digest = ?")
            .bind(repository_id)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if done.rows_affected() == 1 {
            super::DeleteOutcome::Deleted
        } else {
            super::DeleteOutcome::NotFound
        })
    }

    /// Links untouched since `cutoff` that no manifest of their repository references:
    /// what garbage collection would unlink.
    pub async fn stale_blob_links(&self, cutoff: i64) -> Result<Vec<(i64, String)>, DbError> {
        sqlx::query_as(
            "SELECT l.repository_id, l.digest FROM blob_links l
             WHERE l.touched_at < ?
               AND NOT EXISTS (SELECT 1 FROM manifest_refs r JOIN manifests m ON m.id = r.manifest_id
                               WHERE m.repository_id = l.repository_id AND r.digest = l.digest)",
        )
        .bind(cutoff)
        .fetch_all(&self.reader)
        .await
    }

    /// Removes a link if it is still stale and unreferenced (re-checked inside the write).
    pub async fn unlink_if_stale(
        &self,
        repository_id: i64,
        digest: &str,
        cutoff: i64,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "DELETE FROM blob_links WHERE repository_id = ? AND digest = ? AND touched_at < ?
               AND NOT EXISTS (SELECT 1 FROM manifest_refs r JOIN manifests m ON m.id = r.manifest_id
                               WHERE m.repository_id = blob_links.repository_id AND r.digest = blob_links.digest)",
        )
        .bind(repository_id)
        .bind(digest)
        .bind(cutoff)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Blobs created before `cutoff` all of whose links (if any) are stale: what
    /// garbage collection deletes once it has removed the stale links.
    pub async fn collectable_blobs(&self, cutoff: i64) -> Result<Vec<BlobRow>, DbError> {
        sqlx::query_as(
            "SELECT b.digest, b.size FROM blobs b WHERE b.created_at < ?1
               AND NOT EXISTS (
                 SELECT 1 FROM blob_links l WHERE l.digest = b.digest
                   AND (l.touched_at >= ?1
                        OR EXISTS (SELECT 1 FROM manifest_refs r JOIN manifests m ON m.id = r.manifest_id
                                   WHERE m.repository_id = l.repository_id AND r.digest = l.digest)))
             ORDER BY b.digest",
        )
        .bind(cutoff)
        .fetch_all(&self.reader)
        .await
    }

    /// Forgets a blob if nothing links it (re-checked inside the write); the caller
    /// deletes the bytes only after this returns true.
    pub async fn forget_blob_if_unlinked(
        &self,
        digest: &str,
        cutoff: i64,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "DELETE FROM blobs WHERE digest = ? AND created_at < ?
               AND NOT EXISTS (SELECT 1 FROM blob_links l WHERE l.digest = blobs.digest)",
        )
        .bind(digest)
        .bind(cutoff)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Refreshes a link's touched time to `at` (never moving it backwards),
    /// committed when this returns; false if the link is gone (garbage
    /// collection may have removed it since it was read).
    pub async fn touch_link(
        &self,
        repository_id: i64,
        digest: &str,
        at: i64,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE blob_links SET touched_at = max(touched_at, ?) WHERE repository_id = ? AND digest = ?",
        )
        .bind(at)
        .bind(repository_id)
        .bind(digest)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every recorded blob.
    pub async fn all_blobs(&self) -> Result<Vec<BlobRow>, DbError> {
        sqlx::query_as("SELECT digest, size FROM blobs ORDER BY digest")
            .fetch_all(&self.reader)
            .await
    }
}
