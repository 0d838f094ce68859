//! Images as the ECR API lists and describes them: a manifest with its tags.

use super::{Db, DbError};
use crate::model::{Image, TagStatus};

/// The columns of an [`Image`], for a manifest aliased `m`.
const COLUMNS: &str = "m.id, m.digest, m.media_type, m.artifact_type, m.subject_digest, m.size,
     length(m.body) AS manifest_size, m.annotations,
     m.pushed_at, m.last_pulled_at,
     (SELECT json_group_array(name) FROM (SELECT name FROM tags t WHERE t.manifest_id = m.id ORDER BY name)) AS tags";

/// The condition a listing's [`TagStatus`] puts on a manifest aliased `m`.
fn status_sql(status: TagStatus) -> &'static str {
    match status {
        TagStatus::Tagged => "EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)",
        TagStatus::Untagged => "NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)",
        TagStatus::Any => "1",
    }
}

impl Db {
    /// Images of a repository after manifest id `after`, at most `limit`.
    pub async fn images_after(
        &self,
        repository_id: i64,
        status: TagStatus,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Image>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM manifests m WHERE m.repository_id = ? AND m.id > ? AND {} ORDER BY m.id LIMIT ?",
            status_sql(status)
        ))
        .bind(repository_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// (manifest id, digest, tag) entries after the cursor, one per tag (and one
    /// for each untagged image), as ECR's ListImages returns them.
    pub async fn image_ids_after(
        &self,
        repository_id: i64,
        status: TagStatus,
        after: (i64, &str),
        limit: i64,
    ) -> Result<Vec<(i64, String, Option<String>)>, DbError> {
        let filter = match status {
            TagStatus::Tagged => "t.name IS NOT NULL",
            TagStatus::Untagged => "t.name IS NULL",
            TagStatus::Any => "1",
        };
        sqlx::query_as(&format!(
            "SELECT m.id, m.digest, t.name FROM manifests m LEFT JOIN tags t ON t.manifest_id = m.id
             WHERE m.repository_id = ?1 AND (m.id > ?2 OR (m.id = ?2 AND coalesce(t.name, '') > ?3)) AND {filter}
             ORDER BY m.id, coalesce(t.name, '') LIMIT ?4"
        ))
        .bind(repository_id)
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// An image by digest.
    pub async fn image_by_digest(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<Option<Image>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM manifests m WHERE m.repository_id = ? AND m.digest = ?"
        ))
        .bind(repository_id)
        .bind(digest)
        .fetch_optional(&self.reader)
        .await
    }

    /// An image by tag.
    pub async fn image_by_tag(
        &self,
        repository_id: i64,
        tag: &str,
    ) -> Result<Option<Image>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM tags tg JOIN manifests m ON m.id = tg.manifest_id WHERE tg.repository_id = ? AND tg.name = ?"
        ))
        .bind(repository_id)
        .bind(tag)
        .fetch_optional(&self.reader)
        .await
    }

    /// Referrers of `subject` in the repository, after digest `last`, with an
    /// optional set of artifact types.
    pub async fn referrer_images(
        &self,
        repository_id: i64,
        subject: &str,
        last: &str,
        limit: i64,
    ) -> Result<Vec<Image>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM manifests m WHERE m.repository_id = ? AND m.subject_digest = ? AND m.digest > ?
             ORDER BY m.digest LIMIT ?"
        ))
        .bind(repository_id)
        .bind(subject)
        .bind(last)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }
}
