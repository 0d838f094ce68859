//! Blobs and the links that let a repository read them.

use super::{now_millis, Db, DbError};
use sqlx::{Sqlite, Transaction};

/// Links a blob to a repository, read under `key_id`, or refreshes the
/// link's touched time (and key: a link made before encryption gets one).
async fn upsert_link(
    tx: &mut Transaction<'_, Sqlite>,
    repository_id: i64,
    digest: &str,
    key_id: &str,
    now: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO blob_links (repository_id, digest, touched_at, key_id) VALUES (?, ?, ?, ?)
         ON CONFLICT (repository_id, digest)
         DO UPDATE SET touched_at = excluded.touched_at, key_id = excluded.key_id",
    )
    .bind(repository_id)
    .bind(digest)
    .bind(now)
    .bind(key_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A blob as a repository links it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkedBlob {
    /// The key whose copy the link reads; `None` for a link made before
    /// encryption at rest, whose blob is still stored in the clear.
    pub key_id: Option<String>,
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

    /// Which of `objects` (encrypted copies' stored names) have a copy row.
    pub async fn recorded_objects(&mut self, objects: &[String]) -> Result<Vec<String>, DbError> {
        let mut found = Vec::new();
        for object in objects {
            let row: Option<String> =
                sqlx::query_scalar("SELECT object FROM blob_copies WHERE object = ?")
                    .bind(object)
                    .fetch_optional(&mut *self.tx)
                    .await?;
            found.extend(row);
        }
        Ok(found)
    }

    /// The copy of `digest` under `key_id`, if recorded.
    pub async fn copy(&mut self, digest: &str, key_id: &str) -> Result<Option<BlobCopy>, DbError> {
        sqlx::query_as(
            "SELECT digest, key_id, object, header FROM blob_copies WHERE digest = ? AND key_id = ?",
        )
        .bind(digest)
        .bind(key_id)
        .fetch_optional(&mut *self.tx)
        .await
    }

    /// Records a committed blob (if new) and its encrypted copy under a key
    /// (if new: a copy already recorded names the same object, which the
    /// store kept), and links it to the repository, read under that key.
    pub async fn link_blob(
        &mut self,
        repository_id: i64,
        digest: &str,
        size: i64,
        copy: &BlobCopy,
    ) -> Result<(), DbError> {
        let now = now_millis();
        sqlx::query("INSERT INTO blobs (digest, size, created_at, stored_plain) VALUES (?, ?, ?, 0) ON CONFLICT (digest) DO NOTHING")
            .bind(digest)
            .bind(size)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        self.record_copy(copy).await?;
        upsert_link(&mut self.tx, repository_id, digest, &copy.key_id, now).await
    }

    /// Records an encrypted copy of a recorded blob, unless one is recorded
    /// for its digest and key already.
    pub async fn record_copy(&mut self, copy: &BlobCopy) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO blob_copies (digest, key_id, object, header, created_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (digest, key_id) DO NOTHING",
        )
        .bind(&copy.digest)
        .bind(&copy.key_id)
        .bind(&copy.object)
        .bind(&copy.header)
        .bind(now_millis())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Links a blob the repository `from_repository_id` links (a
    /// cross-repository mount), read under `key_id`, whose copy must be
    /// recorded; false if the source does not link it (any more).
    pub async fn mount_blob(
        &mut self,
        repository_id: i64,
        from_repository_id: i64,
        digest: &str,
        key_id: &str,
    ) -> Result<bool, DbError> {
        let source: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM blob_links WHERE repository_id = ? AND digest = ?")
                .bind(from_repository_id)
                .bind(digest)
                .fetch_optional(&mut *self.tx)
                .await?;
        if source.is_none() {
            return Ok(false);
        }
        upsert_link(&mut self.tx, repository_id, digest, key_id, now_millis()).await?;
        Ok(true)
    }

    /// Marks a blob's plain bytes removed, unless a link still reads them
    /// (re-checked inside the write); the caller deletes them only after
    /// this returns true.
    pub async fn forget_plain(&mut self, digest: &str) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE blobs SET stored_plain = 0 WHERE digest = ? AND stored_plain = 1
               AND NOT EXISTS (SELECT 1 FROM blob_links l WHERE l.digest = blobs.digest AND l.key_id IS NULL)",
        )
        .bind(digest)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets the key a link made before encryption at rest reads under, its
    /// copy under that key being recorded (the encryption job).
    pub async fn set_link_key(
        &mut self,
        repository_id: i64,
        digest: &str,
        key_id: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE blob_links SET key_id = ? WHERE repository_id = ? AND digest = ? AND key_id IS NULL",
        )
        .bind(key_id)
        .bind(repository_id)
        .bind(digest)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Commits and releases the lock.
    pub async fn commit(self) -> Result<(), DbError> {
        self.tx.commit().await
    }
}

/// An encrypted copy of a blob under one KMS key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BlobCopy {
    /// The blob's digest (of its plaintext).
    pub digest: String,
    /// The KMS key that wrapped the copy's data key.
    pub key_id: String,
    /// The stored object's name (digest-shaped).
    pub object: String,
    /// The object's header as stored.
    pub header: Vec<u8>,
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
            "SELECT l.key_id, b.size, l.touched_at FROM blob_links l JOIN blobs b ON b.digest = l.digest
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

    /// The copy of `digest` under `key_id`, if recorded.
    pub async fn blob_copy(&self, digest: &str, key_id: &str) -> Result<Option<BlobCopy>, DbError> {
        sqlx::query_as(
            "SELECT digest, key_id, object, header FROM blob_copies WHERE digest = ? AND key_id = ?",
        )
        .bind(digest)
        .bind(key_id)
        .fetch_optional(&self.reader)
        .await
    }

    /// Every recorded copy, grouped by the digest of its blob.
    pub async fn copies_by_digest(
        &self,
    ) -> Result<std::collections::HashMap<String, Vec<BlobCopy>>, DbError> {
        let mut by_digest: std::collections::HashMap<String, Vec<BlobCopy>> = Default::default();
        for copy in self.blob_copies(None).await? {
            by_digest.entry(copy.digest.clone()).or_default().push(copy);
        }
        Ok(by_digest)
    }

    /// Every recorded copy of `digest` (or of every blob), by digest.
    pub async fn blob_copies(&self, digest: Option<&str>) -> Result<Vec<BlobCopy>, DbError> {
        sqlx::query_as(
            "SELECT digest, key_id, object, header FROM blob_copies
             WHERE ?1 IS NULL OR digest = ?1 ORDER BY digest, key_id",
        )
        .bind(digest)
        .fetch_all(&self.reader)
        .await
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

    /// Forgets a blob, and its encrypted copies, if nothing links it
    /// (re-checked inside the write); returns the copies' stored objects,
    /// or `None` if the blob stays. The caller deletes the bytes only after
    /// this returns.
    pub async fn forget_blob_if_unlinked(
        &self,
        digest: &str,
        cutoff: i64,
    ) -> Result<Option<Vec<String>>, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let objects: Vec<String> =
            sqlx::query_scalar("SELECT object FROM blob_copies WHERE digest = ?")
                .bind(digest)
                .fetch_all(&mut *tx)
                .await?;
        let done = sqlx::query(
            "DELETE FROM blobs WHERE digest = ? AND created_at < ?
               AND NOT EXISTS (SELECT 1 FROM blob_links l WHERE l.digest = blobs.digest)",
        )
        .bind(digest)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        sqlx::query("DELETE FROM blob_copies WHERE digest = ?")
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(objects))
    }

    /// Encrypted copies made before `cutoff` under a key no link of their
    /// blob reads: a blob's copy under a key whose repositories dropped it.
    pub async fn unlinked_copies(&self, cutoff: i64) -> Result<Vec<BlobCopy>, DbError> {
        sqlx::query_as(
            "SELECT c.digest, c.key_id, c.object, c.header FROM blob_copies c
             WHERE c.created_at < ?
               AND NOT EXISTS (SELECT 1 FROM blob_links l WHERE l.digest = c.digest AND l.key_id = c.key_id)
             ORDER BY c.object",
        )
        .bind(cutoff)
        .fetch_all(&self.reader)
        .await
    }

    /// Forgets an encrypted copy if still no link reads it (re-checked
    /// inside the write); the caller deletes its bytes only after this
    /// returns true.
    pub async fn forget_copy_if_unlinked(
        &self,
        copy: &BlobCopy,
        cutoff: i64,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "DELETE FROM blob_copies WHERE digest = ? AND key_id = ? AND created_at < ?
               AND NOT EXISTS (SELECT 1 FROM blob_links l
                               WHERE l.digest = blob_copies.digest AND l.key_id = blob_copies.key_id)",
        )
        .bind(&copy.digest)
        .bind(&copy.key_id)
        .bind(cutoff)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Links made before encryption at rest (read in the clear):
    /// (repository name, digest, size), by digest.
    pub async fn unencrypted_links(&self) -> Result<Vec<(String, String, i64)>, DbError> {
        sqlx::query_as(
            "SELECT r.name, l.digest, b.size FROM blob_links l
               JOIN repositories r ON r.id = l.repository_id JOIN blobs b ON b.digest = l.digest
             WHERE l.key_id IS NULL ORDER BY l.digest, r.name",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// Blobs still stored in the clear that no link reads so any more:
    /// whose plain bytes the encryption job removes.
    pub async fn plain_blobs_done(&self) -> Result<Vec<String>, DbError> {
        sqlx::query_scalar(
            "SELECT b.digest FROM blobs b WHERE b.stored_plain = 1
               AND NOT EXISTS (SELECT 1 FROM blob_links l WHERE l.digest = b.digest AND l.key_id IS NULL)
             ORDER BY b.digest",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// Whether any blob is still stored in the clear.
    pub async fn any_plain_blob(&self) -> Result<bool, DbError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM blobs WHERE stored_plain = 1)")
            .fetch_one(&self.reader)
            .await
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
