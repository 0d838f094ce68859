//! Repositories, their settings and resource tags.

use super::{now_millis, Db, DbError};
use crate::model::{Repository, RepositoryOrder};

/// The columns every repository query selects, as a [`Repository`].
const COLUMNS: &str = "r.id, r.name, r.created_at, r.tag_mutability,
     coalesce(r.tag_mutability_exclusions, '[]') AS exclusions,
     r.scan_on_push, r.encryption_type, r.kms_key";

/// Settings for a new repository.
#[derive(Debug, Clone)]
pub struct NewRepository<'a> {
    /// Name.
    pub name: &'a str,
    /// Tag mutability.
    pub tag_mutability: &'a str,
    /// Exclusion filters as a JSON array, if any.
    pub tag_mutability_exclusions: Option<String>,
    /// Scan on push.
    pub scan_on_push: bool,
    /// Encryption type.
    pub encryption_type: &'a str,
    /// KMS key.
    pub kms_key: Option<&'a str>,
    /// Resource tags.
    pub tags: &'a [(String, String)],
}

impl Db {
    /// Finds a repository by name.
    pub async fn repository(&self, name: &str) -> Result<Option<Repository>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM repositories r WHERE r.name = ?"
        ))
        .bind(name)
        .fetch_optional(&self.reader)
        .await
    }

    /// Finds a repository, creating it with default settings if it does not exist;
    /// the flag says whether this call created it.
    pub async fn get_or_create_repository(
        &self,
        name: &str,
    ) -> Result<(Repository, bool), DbError> {
        let done = sqlx::query(
            "INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now_millis())
        .execute(&self.writer)
        .await?;
        let row = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM repositories r WHERE r.name = ?"
        ))
        .bind(name)
        .fetch_one(&self.writer)
        .await?;
        Ok((row, done.rows_affected() == 1))
    }

    /// Creates a repository with its settings and tags; `None` if the name is taken.
    pub async fn create_repository(
        &self,
        new: &NewRepository<'_>,
    ) -> Result<Option<Repository>, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "INSERT INTO repositories (name, created_at, tag_mutability, tag_mutability_exclusions, scan_on_push, encryption_type, kms_key)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(new.name)
        .bind(now_millis())
        .bind(new.tag_mutability)
        .bind(&new.tag_mutability_exclusions)
        .bind(new.scan_on_push)
        .bind(new.encryption_type)
        .bind(new.kms_key)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let id = done.last_insert_rowid();
        for (key, value) in new.tags {
            sqlx::query("INSERT INTO repository_tags (repository_id, key, value) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value")
                .bind(id)
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM repositories r WHERE r.id = ?"
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// Deletes a repository and everything in it.
    pub async fn delete_repository(&self, id: i64) -> Result<(), DbError> {
        sqlx::query("DELETE FROM repositories WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Number of images in a repository.
    pub async fn image_count(&self, repository_id: i64) -> Result<i64, DbError> {
        sqlx::query_scalar("SELECT count(*) FROM manifests WHERE repository_id = ?")
            .bind(repository_id)
            .fetch_one(&self.reader)
            .await
    }

    /// Sets the tag mutability and its exclusion filters.
    pub async fn set_tag_mutability(
        &self,
        id: i64,
        mutability: &str,
        exclusions: Option<String>,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE repositories SET tag_mutability = ?, tag_mutability_exclusions = ? WHERE id = ?")
            .bind(mutability)
            .bind(exclusions)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Sets scan on push.
    pub async fn set_scan_on_push(&self, id: i64, scan_on_push: bool) -> Result<(), DbError> {
        sqlx::query("UPDATE repositories SET scan_on_push = ? WHERE id = ?")
            .bind(scan_on_push)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The name of the repository with this id, if it still exists.
    pub async fn repository_name_by_id(&self, id: i64) -> Result<Option<String>, DbError> {
        sqlx::query_scalar("SELECT name FROM repositories WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await
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

    /// Repositories after `last` by name, at most `limit`.
    pub async fn repositories_after(
        &self,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Repository>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM repositories r WHERE r.name > ? ORDER BY r.name LIMIT ?"
        ))
        .bind(last.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// All repositories with their image counts, by name.
    pub async fn list_repositories(&self) -> Result<Vec<Repository>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS}, (SELECT count(*) FROM manifests m WHERE m.repository_id = r.id) AS image_count
             FROM repositories r ORDER BY r.name"
        ))
        .fetch_all(&self.reader)
        .await
    }

    /// One page of the repositories whose names contain `needle`, with their
    /// image counts, and how many match in all.
    pub async fn search_repositories(
        &self,
        needle: &str,
        order: RepositoryOrder,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Repository>, i64), DbError> {
        let order_by = match order {
            RepositoryOrder::NameAscending => "r.name ASC",
            RepositoryOrder::NameDescending => "r.name DESC",
            RepositoryOrder::CreatedAscending => "r.created_at ASC, r.name ASC",
            RepositoryOrder::CreatedDescending => "r.created_at DESC, r.name ASC",
        };
        // instr() rather than LIKE: the needle's '_' and '%' stay literal.
        let rows = sqlx::query_as(&format!(
            "SELECT {COLUMNS}, (SELECT count(*) FROM manifests m WHERE m.repository_id = r.id) AS image_count
             FROM repositories r WHERE ? = '' OR instr(r.name, ?) > 0
             ORDER BY {order_by} LIMIT ? OFFSET ?"
        ))
        .bind(needle)
        .bind(needle)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.reader)
        .await?;
        let total = sqlx::query_scalar(
            "SELECT count(*) FROM repositories r WHERE ? = '' OR instr(r.name, ?) > 0",
        )
        .bind(needle)
        .bind(needle)
        .fetch_one(&self.reader)
        .await?;
        Ok((rows, total))
    }

    /// A repository's resource tags, by key.
    pub async fn repository_tags(&self, id: i64) -> Result<Vec<(String, String)>, DbError> {
        sqlx::query_as(
            "SELECT key, value FROM repository_tags WHERE repository_id = ? ORDER BY key",
        )
        .bind(id)
        .fetch_all(&self.reader)
        .await
    }

    /// Adds or replaces resource tags, unless the repository would then have
    /// more than `max`: then nothing changes and the count it would have had
    /// is returned.
    pub async fn tag_repository(
        &self,
        id: i64,
        tags: &[(String, String)],
        max: usize,
    ) -> Result<Option<usize>, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for (key, value) in tags {
            sqlx::query("INSERT INTO repository_tags (repository_id, key, value) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value")
                .bind(id)
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM repository_tags WHERE repository_id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if count as usize > max {
            tx.rollback().await?;
            return Ok(Some(count as usize));
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Removes resource tags by key.
    pub async fn untag_repository(&self, id: i64, keys: &[String]) -> Result<(), DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for key in keys {
            sqlx::query("DELETE FROM repository_tags WHERE repository_id = ? AND key = ?")
                .bind(id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
}
