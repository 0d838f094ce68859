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
}

impl Db {
    /// Records a new upload session.
    pub async fn create_upload(&self, id: &str, repository_id: i64) -> Result<(), DbError> {
        let now = now_millis();
        sqlx::query("INSERT INTO upload_sessions (id, repository_id, created_at, updated_at) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(repository_id)
            .bind(now)
            .bind(now)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Finds an upload session.
    pub async fn upload(&self, id: &str) -> Result<Option<UploadRow>, DbError> {
        sqlx::query_as("SELECT id, repository_id, updated_at FROM upload_sessions WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await
    }

    /// Marks activity on an upload session.
    pub async fn touch_upload(&self, id: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE upload_sessions SET updated_at = ? WHERE id = ?")
            .bind(now_millis())
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
