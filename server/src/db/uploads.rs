//! Upload sessions. Their bytes live in the blob store under the same id.

use super::{now_millis, Db, DbError};

/// An upload session as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    /// Session id (a UUID).
    pub id: String,
    /// The repository the upload belongs to.
    pub repository_id: i64,
    /// Last activity (ms).
    pub updated_at: i64,
    /// Bytes received.
    pub size: i64,
    /// The SHA-256 state over those bytes (`UploadHasher::save`).
    pub hash_state: Vec<u8>,
    /// The blob store's record of the upload (`UploadState::driver`).
    pub store_state: String,
}

impl Db {
    /// Records a new, empty upload session of `owner` with the hash state of no
    /// bytes, unless the owner already has `max_open` sessions: then records
    /// nothing and returns false. One statement, so concurrent starts cannot
    /// together pass the limit.
    pub async fn create_upload(
        &self,
        id: &str,
        repository_id: i64,
        owner: i64,
        max_open: u32,
        hash_state: &[u8],
    ) -> Result<bool, DbError> {
        let now = now_millis();
        let done = sqlx::query(
            "INSERT INTO upload_sessions (id, repository_id, owner_id, created_at, updated_at, hash_state)
             SELECT ?, ?, ?, ?, ?, ?
             WHERE (SELECT COUNT(*) FROM upload_sessions WHERE owner_id = ?) < ?",
        )
        .bind(id)
        .bind(repository_id)
        .bind(owner)
        .bind(now)
        .bind(now)
        .bind(hash_state)
        .bind(owner)
        .bind(i64::from(max_open))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Finds an upload session.
    pub async fn upload(&self, id: &str) -> Result<Option<UploadRow>, DbError> {
        sqlx::query_as(
            "SELECT id, repository_id, updated_at, size, hash_state, store_state
             FROM upload_sessions WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await
    }

    /// Saves an upload's progress after a request, which also marks activity.
    pub async fn save_upload_progress(
        &self,
        id: &str,
        size: i64,
        hash_state: &[u8],
        store_state: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE upload_sessions SET updated_at = ?, size = ?, hash_state = ?, store_state = ?
             WHERE id = ?",
        )
        .bind(now_millis())
        .bind(size)
        .bind(hash_state)
        .bind(store_state)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Removes an upload session; returns false if it did not exist.
    pub async fn delete_upload(&self, id: &str) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM upload_sessions WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ids of upload sessions idle since before `cutoff`.
    pub async fn idle_uploads(&self, cutoff: i64) -> Result<Vec<String>, DbError> {
        sqlx::query_scalar("SELECT id FROM upload_sessions WHERE updated_at < ?")
            .bind(cutoff)
            .fetch_all(&self.reader)
            .await
    }

    /// Ids of all upload sessions (to tell live upload files from leftovers).
    pub async fn all_upload_ids(&self) -> Result<Vec<String>, DbError> {
        sqlx::query_scalar("SELECT id FROM upload_sessions")
            .fetch_all(&self.reader)
            .await
    }
}
