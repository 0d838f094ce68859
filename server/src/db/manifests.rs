//! Manifests (images), their references, tags and referrers.

use super::{now_millis, Db, DbError};
use sqlx::{Sqlite, Transaction};

/// The digest of a manifest in the repository that references `digest` as a
/// `kind` ("blob" or "manifest"), if any.
pub(super) async fn first_referrer(
    tx: &mut Transaction<'_, Sqlite>,
    repository_id: i64,
    digest: &str,
    kind: &str,
) -> Result<Option<String>, DbError> {
    sqlx::query_scalar(
        "SELECT m.digest FROM manifest_refs r JOIN manifests m ON m.id = r.manifest_id
         WHERE m.repository_id = ? AND r.digest = ? AND r.kind = ? LIMIT 1",
    )
    .bind(repository_id)
    .bind(digest)
    .bind(kind)
    .fetch_optional(&mut **tx)
    .await
}

/// Deletes a manifest inside `tx` unless an index of the repository
/// references it; the SBOM referrer its scan stored goes with it.
pub(super) async fn delete_manifest_in(
    tx: &mut Transaction<'_, Sqlite>,
    repository_id: i64,
    digest: &str,
) -> Result<DeleteOutcome, DbError> {
    if let Some(parent) = first_referrer(tx, repository_id, digest, "manifest").await? {
        return Ok(DeleteOutcome::ReferencedBy(parent));
    }
    // The SBOM a scan stored as the manifest's referrer goes with it.
    sqlx::query(
        "DELETE FROM manifests WHERE repository_id = ?1 AND subject_digest = ?2 AND digest =
             (SELECT s.sbom_digest FROM scans s JOIN manifests m ON m.id = s.manifest_id
              WHERE m.repository_id = ?1 AND m.digest = ?2)",
    )
    .bind(repository_id)
    .bind(digest)
    .execute(&mut **tx)
    .await?;
    let done = sqlx::query("DELETE FROM manifests WHERE repository_id = ? AND digest = ?")
        .bind(repository_id)
        .bind(digest)
        .execute(&mut **tx)
        .await?;
    Ok(if done.rows_affected() == 1 {
        DeleteOutcome::Deleted
    } else {
        DeleteOutcome::NotFound
    })
}

/// A manifest as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ManifestRow {
    /// Row id.
    pub id: i64,
    /// Content digest.
    pub digest: String,
    /// Media type as pushed.
    pub media_type: String,
    /// The exact bytes pushed.
    pub body: Vec<u8>,
}

/// A manifest whose `subject` is some digest, as the referrers API lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReferrerRow {
    /// The referrer's digest.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// Its length in bytes.
    pub size: i64,
    /// Its artifact type (artifactType, else the config media type).
    pub artifact_type: Option<String>,
    /// Its annotations, as JSON text.
    pub annotations: Option<String>,
}

/// A manifest to store, with what it references.
#[derive(Debug)]
pub struct NewManifest<'a> {
    /// Target repository.
    pub repository_id: i64,
    /// Digest of `body`.
    pub digest: &'a str,
    /// Media type as pushed.
    pub media_type: &'a str,
    /// artifactType, else the config media type.
    pub artifact_type: Option<&'a str>,
    /// Digest in `subject`, if any.
    pub subject_digest: Option<&'a str>,
    /// Annotations as JSON text.
    pub annotations: Option<String>,
    /// The exact bytes.
    pub body: &'a [u8],
    /// Sum of layer sizes (image manifests); indexes take their largest child's size.
    pub layers_size: i64,
    /// Blobs that must be linked to the repository (config, layers).
    pub blobs: Vec<String>,
    /// Manifests that must exist in the repository (an index's children).
    pub children: Vec<String>,
    /// Tag to point at the manifest.
    pub tag: Option<&'a str>,
    /// Whether existing tags may not be moved.
    pub tags_immutable: bool,
    /// The most tags one manifest may have; a new tag past it is refused.
    pub max_tags: u32,
    /// Scan on push: queue a scan of this kind (`image` or `index`) in the
    /// same transaction, so the push pays one small insert and a stored
    /// manifest never misses its scan.
    pub scan: Option<&'a str>,
    /// Managed signing: queue a signing with each of these profiles (ARNs)
    /// in the same transaction, so a stored manifest never misses its
    /// signing, whatever moment a crash comes at.
    pub sign_with: &'a [String],
}

/// Why a manifest was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutRejection {
    /// A referenced blob is not linked to the repository.
    BlobUnknown(String),
    /// A referenced child manifest is not in the repository.
    ManifestUnknown(String),
    /// The tag exists, points elsewhere, and the repository's tags are immutable.
    TagImmutable {
        /// The tag.
        tag: String,
        /// The digest it points at now.
        current: String,
    },
    /// The manifest already has `max_tags` tags.
    TooManyTags,
}

/// How a manifest reference resolves.
#[derive(Debug, Clone, Copy)]
pub enum Reference<'a> {
    /// By tag.
    Tag(&'a str),
    /// By digest.
    Digest(&'a str),
}

/// Why a manifest was not deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Deleted.
    Deleted,
    /// No such manifest or tag.
    NotFound,
    /// An index in the same repository still references it.
    ReferencedBy(String),
}

impl Db {
    /// Resolves a tag or digest in a repository.
    pub async fn manifest(
        &self,
        repository_id: i64,
        reference: Reference<'_>,
    ) -> Result<Option<ManifestRow>, DbError> {
        match reference {
            Reference::Digest(digest) => {
                sqlx::query_as("SELECT id, digest, media_type, body FROM manifests WHERE repository_id = ? AND digest = ?")
                    .bind(repository_id)
                    .bind(digest)
                    .fetch_optional(&self.reader)
                    .await
            }
            Reference::Tag(tag) => {
                sqlx::query_as(
                    "SELECT m.id, m.digest, m.media_type, m.body FROM tags t JOIN manifests m ON m.id = t.manifest_id
                     WHERE t.repository_id = ? AND t.name = ?",
                )
                .bind(repository_id)
                .bind(tag)
                .fetch_optional(&self.reader)
                .await
            }
        }
    }

    /// Stores a manifest and its tag in one write transaction that first checks that
    /// everything it references is present (so GC, which runs in its own write
    /// transaction, either sees this manifest or this check sees GC's deletion).
    pub async fn put_manifest(
        &self,
        m: &NewManifest<'_>,
    ) -> Result<Result<(), PutRejection>, DbError> {
        let now = now_millis();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for digest in &m.blobs {
            let linked: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM blob_links WHERE repository_id = ? AND digest = ?",
            )
            .bind(m.repository_id)
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await?;
            if linked.is_none() {
                return Ok(Err(PutRejection::BlobUnknown(digest.clone())));
            }
            sqlx::query(
                "UPDATE blob_links SET touched_at = ? WHERE repository_id = ? AND digest = ?",
            )
            .bind(now)
            .bind(m.repository_id)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        }
        let mut size = m.layers_size;
        for digest in &m.children {
            let child: Option<i64> = sqlx::query_scalar(
                "SELECT size FROM manifests WHERE repository_id = ? AND digest = ?",
            )
            .bind(m.repository_id)
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await?;
            match child {
                Some(child_size) => size = size.max(child_size),
                None => return Ok(Err(PutRejection::ManifestUnknown(digest.clone()))),
            }
        }
        sqlx::query(
            "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject_digest, annotations, body, size, pushed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repository_id, digest) DO NOTHING",
        )
        .bind(m.repository_id)
        .bind(m.digest)
        .bind(m.media_type)
        .bind(m.artifact_type)
        .bind(m.subject_digest)
        .bind(&m.annotations)
        .bind(m.body)
        .bind(size)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM manifests WHERE repository_id = ? AND digest = ?")
                .bind(m.repository_id)
                .bind(m.digest)
                .fetch_one(&mut *tx)
                .await?;
        let refs = m
            .blobs
            .iter()
            .map(|d| (d, "blob"))
            .chain(m.children.iter().map(|d| (d, "manifest")));
        for (digest, kind) in refs {
            sqlx::query("INSERT INTO manifest_refs (manifest_id, digest, kind) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(digest)
                .bind(kind)
                .execute(&mut *tx)
                .await?;
        }
        for digest in &m.children {
            sqlx::query(
                "UPDATE manifests SET child_of_index = 1 WHERE repository_id = ? AND digest = ?",
            )
            .bind(m.repository_id)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(tag) = m.tag {
            let current: Option<(i64, String)> = sqlx::query_as(
                "SELECT m.id, m.digest FROM tags t JOIN manifests m ON m.id = t.manifest_id
                 WHERE t.repository_id = ? AND t.name = ?",
            )
            .bind(m.repository_id)
            .bind(tag)
            .fetch_optional(&mut *tx)
            .await?;
            match current {
                Some((current_id, _)) if current_id == id => {}
                Some((_, current)) if m.tags_immutable => {
                    return Ok(Err(PutRejection::TagImmutable {
                        tag: tag.to_owned(),
                        current,
                    }));
                }
                _ => {
                    let tags: i64 =
                        sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE manifest_id = ?")
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?;
                    if tags >= i64::from(m.max_tags) {
                        return Ok(Err(PutRejection::TooManyTags));
                    }
                    sqlx::query(
                        "INSERT INTO tags (repository_id, name, manifest_id, updated_at) VALUES (?, ?, ?, ?)
                         ON CONFLICT (repository_id, name) DO UPDATE SET manifest_id = excluded.manifest_id, updated_at = excluded.updated_at",
                    )
                    .bind(m.repository_id)
                    .bind(tag)
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        if let Some(kind) = m.scan {
            super::scans::queue_scan_in(&mut tx, m.repository_id, id, kind, now).await?;
        }
        super::signing::queue_signings_in(&mut tx, id, m.sign_with, now).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Deletes a manifest by digest (its tags go with it), unless an index in the
    /// same repository references it.
    pub async fn delete_manifest(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<DeleteOutcome, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let outcome = delete_manifest_in(&mut tx, repository_id, digest).await?;
        if outcome == DeleteOutcome::Deleted {
            tx.commit().await?;
        }
        Ok(outcome)
    }

    /// Deletes a tag, leaving its manifest.
    pub async fn delete_tag(
        &self,
        repository_id: i64,
        tag: &str,
    ) -> Result<DeleteOutcome, DbError> {
        let done = sqlx::query("DELETE FROM tags WHERE repository_id = ? AND name = ?")
            .bind(repository_id)
            .bind(tag)
            .execute(&self.writer)
            .await?;
        Ok(if done.rows_affected() == 1 {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::NotFound
        })
    }

    /// Tags after `last` in byte order, at most `limit`.
    pub async fn tags(
        &self,
        repository_id: i64,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<String>, DbError> {
        sqlx::query_scalar(
            "SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?",
        )
        .bind(repository_id)
        .bind(last.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// Manifests whose subject is `subject`, by digest after `last`, optionally of one artifact type.
    pub async fn referrers(
        &self,
        repository_id: i64,
        subject: &str,
        artifact_type: Option<&str>,
        last: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ReferrerRow>, DbError> {
        sqlx::query_as(
            "SELECT digest, media_type, length(body) AS size, artifact_type, annotations FROM manifests
             WHERE repository_id = ? AND subject_digest = ? AND (?3 IS NULL OR artifact_type = ?3) AND digest > ?4
             ORDER BY digest LIMIT ?5",
        )
        .bind(repository_id)
        .bind(subject)
        .bind(artifact_type)
        .bind(last.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// Writes coalesced last-pulled times in one transaction.
    pub async fn record_pulls(&self, pulls: &[(i64, i64)]) -> Result<(), DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for (manifest_id, at) in pulls {
            sqlx::query("UPDATE manifests SET last_pulled_at = max(coalesce(last_pulled_at, 0), ?) WHERE id = ?")
                .bind(at)
                .bind(manifest_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Every manifest's repository, digest and bytes.
    pub async fn all_manifest_bodies(&self) -> Result<Vec<(String, String, Vec<u8>)>, DbError> {
        sqlx::query_as(
            "SELECT r.name, m.digest, m.body FROM manifests m JOIN repositories r ON r.id = m.repository_id
             ORDER BY r.name, m.digest",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// References a manifest makes that its repository cannot satisfy:
    /// (repository, manifest digest, missing digest, kind).
    pub async fn dangling_references(
        &self,
    ) -> Result<Vec<(String, String, String, String)>, DbError> {
        sqlx::query_as(
            "SELECT r.name, m.digest, mr.digest, mr.kind
             FROM manifest_refs mr JOIN manifests m ON m.id = mr.manifest_id JOIN repositories r ON r.id = m.repository_id
             WHERE (mr.kind = 'blob' AND NOT EXISTS (
                        SELECT 1 FROM blob_links l JOIN blobs b ON b.digest = l.digest
                        WHERE l.repository_id = m.repository_id AND l.digest = mr.digest))
                OR (mr.kind = 'manifest' AND NOT EXISTS (
                        SELECT 1 FROM manifests c WHERE c.repository_id = m.repository_id AND c.digest = mr.digest))
             ORDER BY r.name, m.digest",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// Manifests an index once referenced that no index references and no tag
    /// names any more, pushed before `cutoff`: (repository id, digest).
    pub async fn orphaned_children(&self, cutoff: i64) -> Result<Vec<(i64, String)>, DbError> {
        sqlx::query_as(&format!(
            "SELECT m.repository_id, m.digest FROM manifests m WHERE {ORPHANED_CHILD} ORDER BY m.repository_id, m.digest"
        ))
        .bind(cutoff)
        .fetch_all(&self.reader)
        .await
    }

    /// Deletes an orphaned child manifest if it still is one (re-checked inside the write).
    pub async fn delete_orphaned_child(
        &self,
        repository_id: i64,
        digest: &str,
        cutoff: i64,
    ) -> Result<bool, DbError> {
        let done = sqlx::query(&format!(
            "DELETE FROM manifests AS m WHERE m.repository_id = ?2 AND m.digest = ?3 AND {ORPHANED_CHILD}"
        ))
        .bind(cutoff)
        .bind(repository_id)
        .bind(digest)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// The condition for a child manifest nothing needs any more (`?1` is the cutoff).
const ORPHANED_CHILD: &str = "m.child_of_index = 1 AND m.pushed_at < ?1
    AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)
    AND NOT EXISTS (SELECT 1 FROM manifest_refs r JOIN manifests p ON p.id = r.manifest_id
                    WHERE p.repository_id = m.repository_id AND r.digest = m.digest AND r.kind = 'manifest')";
