//! The queries behind `/readyz` and the storage figures of `/metrics`.

use super::{Db, DbError};

impl Db {
    /// Runs a trivial query on a reader connection.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// Blobs stored, their bytes (each blob once), and open upload sessions.
    pub async fn storage_totals(&self) -> Result<(i64, i64, i64), DbError> {
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM blobs),
                    (SELECT coalesce(sum(size), 0) FROM blobs),
                    (SELECT count(*) FROM upload_sessions)",
        )
        .fetch_one(&self.reader)
        .await
    }

    /// Each repository's name, linked blobs and their bytes, by name.
    pub async fn repository_usage(&self) -> Result<Vec<(String, i64, i64)>, DbError> {
        sqlx::query_as(
            "SELECT r.name, count(b.digest), coalesce(sum(b.size), 0)
             FROM repositories r
             LEFT JOIN blob_links l ON l.repository_id = r.id
             LEFT JOIN blobs b ON b.digest = l.digest
             GROUP BY r.id ORDER BY r.name",
        )
        .fetch_all(&self.reader)
        .await
    }
}
