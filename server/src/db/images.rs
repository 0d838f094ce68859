//! Images as the ECR API lists and describes them: a manifest with its tags.

use super::{Db, DbError};

/// The columns of [`ImageRow`], for a manifest aliased `m`.
const COLUMNS: &str = "m.id, m.digest, m.media_type, m.artifact_type, m.subject_digest, m.size,
     length(m.body) AS manifest_size, m.annotations,
     m.pushed_at, m.last_pulled_at,
     (SELECT group_concat(name, char(10)) FROM (SELECT name FROM tags t WHERE t.manifest_id = m.id ORDER BY name)) AS tags";

/// An image: one manifest and its tags.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImageRow {
    /// Manifest row id (the pagination key).
    pub id: i64,
    /// Manifest digest.
    pub digest: String,
    /// Manifest media type.
    pub media_type: String,
    /// Artifact media type.
    pub artifact_type: Option<String>,
    /// Subject digest, for referrers.
    pub subject_digest: Option<String>,
    /// Size as ECR counts it.
    pub size: i64,
    /// Length of the manifest itself.
    pub manifest_size: i64,
    /// The manifest's annotations, as JSON text.
    pub annotations: Option<String>,
    /// Push time (ms).
    pub pushed_at: i64,
    /// Last recorded pull (ms).
    pub last_pulled_at: Option<i64>,
    /// Tags, newline-separated, sorted.
    pub tags: Option<String>,
}

impl ImageRow {
    /// The image's tags.
    pub fn tag_list(&self) -> Vec<String> {
        self.tags
            .as_deref()
            .map(|t| t.split('\n').map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// Which images a listing includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    /// Images with at least one tag.
    Tagged,
    /// Images without tags.
    Untagged,
    /// All images.
    Any,
}

impl TagStatus {
    fn sql(self) -> &'static str {
        match self {
            Self::Tagged => "EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)",
            Self::Untagged => "NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)",
            Self::Any => "1",
        }
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
    ) -> Result<Vec<ImageRow>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM manifests m WHERE m.repository_id = ? AND m.id > ? AND {} ORDER BY m.id LIMIT ?",
            status.sql()
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
    ) -> Result<Option<ImageRow>, DbError> {
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
    ) -> Result<Option<ImageRow>, DbError> {
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
    ) -> Result<Vec<ImageRow>, DbError> {
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
