//! Repositories.

use super::{now_millis, Db, DbError};

/// A repository as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RepositoryRow {
    /// Row id.
    pub id: i64,
    /// Name with namespaces.
    pub name: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// `MUTABLE`, `IMMUTABLE`, …
    pub tag_mutability: String,
    /// Number of images (manifests); filled by listing queries only.
    #[sqlx(default)]
    pub image_count: i64,
}

impl Db {
    /// Finds a repository by name.
    pub async fn repository(&self, name: &str) -> Result<Option<RepositoryRow>, DbError> {
        sqlx::query_as(
            "SELECT id, name, created_at, tag_mutability FROM repositories WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.reader)
        .await
    }

    /// Finds a repository, creating it with default settings if it does not exist;
    /// the flag says whether this call created it.
    pub async fn get_or_create_repository(
        &self,
        name: &str,
    ) -> Result<(RepositoryRow, bool), DbError> {
        let done = sqlx::query(
            "INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now_millis())
        .execute(&self.writer)
        .await?;
        let row = sqlx::query_as(
            "SELECT id, name, created_at, tag_mutability FROM repositories WHERE name = ?",
        )
        .bind(name)
        .fetch_one(&self.writer)
        .await?;
        Ok((row, done.rows_affected() == 1))
    }

    /// Repository names after `last` in byte order, at most `limit`.
    pub async fn repository_names(
        &self,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>, DbError> {
        sqlx::query_scalar("SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?")
            .bind(last.unwrap_or(""))
            .bind(limit)
            .fetch_all(&self.reader)
            .await
    }

    /// All repositories with their image counts, by name.
    pub async fn list_repositories(&self) -> Result<Vec<RepositoryRow>, DbError> {
        sqlx::query_as(
            "SELECT r.id, r.name, r.created_at, r.tag_mutability,
                    (SELECT count(*) FROM manifests m WHERE m.repository_id = r.id) AS image_count
             FROM repositories r ORDER BY r.name",
        )
        .fetch_all(&self.reader)
        .await
    }
}
