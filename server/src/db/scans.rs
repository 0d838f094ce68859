//! Image scans: the queue (scan jobs in `jobs`), each manifest's latest scan
//! result (`scans`), and the findings continuous scanning saw appear or go.

use super::{now_millis, Db, DbError};

/// A scan job taken to run.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScanJobRow {
    /// The job's id.
    pub id: i64,
    /// The repository.
    pub repository: String,
    /// The manifest's row id.
    pub manifest_id: i64,
    /// The manifest's digest.
    pub digest: String,
}

/// A manifest's latest scan.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScanRow {
    /// The manifest's row id.
    pub manifest_id: i64,
    /// `image` or `index`.
    pub kind: String,
    /// `IN_PROGRESS`, `COMPLETE`, `FAILED` or `UNSUPPORTED_IMAGE`.
    pub status: String,
    /// Why it failed or is unsupported; what it found otherwise.
    pub description: Option<String>,
    /// When it was asked for (ms).
    pub requested_at: i64,
    /// When it ended (ms).
    pub completed_at: Option<i64>,
    /// The zstd-compressed JSON inventory.
    pub inventory: Option<Vec<u8>>,
    /// The JSON array of findings.
    pub findings: Option<String>,
    /// When the database the findings come from last changed (ms).
    pub source_updated_at: Option<i64>,
    /// The SBOM referrer's digest.
    pub sbom_digest: Option<String>,
}

/// How a scan ended.
#[derive(Debug, Clone)]
pub struct ScanOutcome<'a> {
    /// `COMPLETE`, `FAILED` or `UNSUPPORTED_IMAGE`.
    pub status: &'a str,
    /// Why, or what it found.
    pub description: &'a str,
    /// The compressed inventory, for a complete scan.
    pub inventory: Option<&'a [u8]>,
    /// The findings as JSON, for a complete scan.
    pub findings: Option<&'a str>,
    /// The database version matched against.
    pub source_updated_at: Option<i64>,
    /// The SBOM referrer stored.
    pub sbom_digest: Option<&'a str>,
}

/// One stored inventory matched again.
#[derive(Debug, Clone)]
pub struct Rematched<'a> {
    /// The manifest's row id.
    pub manifest_id: i64,
    /// The JSON array of its findings now.
    pub findings: String,
    /// The database version matched against.
    pub source_updated_at: i64,
    /// `(appeared|disappeared, name, package, version)` of each finding
    /// that changed.
    pub events: Vec<(&'a str, String, String, String)>,
}

/// A finding that appeared or disappeared.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct FindingEventRow {
    /// `appeared` or `disappeared`.
    pub event: String,
    /// The finding's name (a CVE id, or the record's id).
    pub name: String,
    /// The package.
    pub package_name: String,
    /// Its version.
    pub package_version: String,
    /// When (ms).
    pub at: i64,
}

const SCAN: &str = "SELECT manifest_id, kind, status, description, requested_at, completed_at,
        inventory, findings, source_updated_at, sbom_digest FROM scans";

impl Db {
    /// Queues a scan of a manifest (replacing a pending one) and marks its
    /// result `IN_PROGRESS`; returns the job's id.
    pub async fn queue_scan(
        &self,
        repository_id: i64,
        manifest_id: i64,
        kind: &str,
    ) -> Result<i64, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let id = queue_scan_in(&mut tx, repository_id, manifest_id, kind, now_millis()).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Takes the oldest due scan job: it becomes `running`.
    pub async fn claim_scan_job(&self) -> Result<Option<ScanJobRow>, DbError> {
        let now = now_millis();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE jobs SET status = 'running', started_at = ?1
             WHERE id = (SELECT id FROM jobs WHERE kind = 'scan' AND status = 'pending'
                         AND run_after <= ?1 ORDER BY id LIMIT 1)
             RETURNING id",
        )
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        let row: Option<ScanJobRow> = sqlx::query_as(
            "SELECT j.id, r.name AS repository, m.id AS manifest_id, m.digest
             FROM jobs j JOIN repositories r ON r.id = j.repository_id
                  JOIN manifests m ON m.id = j.manifest_id WHERE j.id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_none() {
            sqlx::query(
                "UPDATE jobs SET status = 'failed', finished_at = ?, summary = 'the image was deleted before it was scanned' WHERE id = ?",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(row)
    }

    /// Records how a manifest's scan ended (one short write).
    pub async fn finish_scan(
        &self,
        manifest_id: i64,
        outcome: &ScanOutcome<'_>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE scans SET status = ?, description = ?, completed_at = ?,
                 inventory = coalesce(?, inventory), findings = coalesce(?, findings),
                 source_updated_at = coalesce(?, source_updated_at),
                 sbom_digest = coalesce(?, sbom_digest)
             WHERE manifest_id = ?",
        )
        .bind(outcome.status)
        .bind(outcome.description)
        .bind(now_millis())
        .bind(outcome.inventory)
        .bind(outcome.findings)
        .bind(outcome.source_updated_at)
        .bind(outcome.sbom_digest)
        .bind(manifest_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// A manifest's latest scan.
    pub async fn scan(&self, manifest_id: i64) -> Result<Option<ScanRow>, DbError> {
        sqlx::query_as(&format!("{SCAN} WHERE manifest_id = ?"))
            .bind(manifest_id)
            .fetch_optional(&self.reader)
            .await
    }

    /// The row ids and digests of an index's children in its repository.
    pub async fn child_manifests(
        &self,
        repository_id: i64,
        manifest_id: i64,
    ) -> Result<Vec<(i64, String)>, DbError> {
        sqlx::query_as(
            "SELECT m.id, m.digest FROM manifest_refs r
             JOIN manifests m ON m.repository_id = ? AND m.digest = r.digest
             WHERE r.manifest_id = ? AND r.kind = 'manifest' ORDER BY m.id",
        )
        .bind(repository_id)
        .bind(manifest_id)
        .fetch_all(&self.reader)
        .await
    }

    /// Complete image scans matched against a database older than
    /// `updated_at` (or none), with their repository's name and scan on
    /// push setting: what continuous scanning matches again.
    pub async fn scans_matched_before(
        &self,
        updated_at: i64,
    ) -> Result<Vec<(i64, String, bool)>, DbError> {
        sqlx::query_as(
            "SELECT s.manifest_id, r.name, r.scan_on_push FROM scans s
             JOIN manifests m ON m.id = s.manifest_id JOIN repositories r ON r.id = m.repository_id
             WHERE s.status = 'COMPLETE' AND s.kind = 'image' AND s.inventory IS NOT NULL
               AND (s.source_updated_at IS NULL OR s.source_updated_at < ?)
             ORDER BY s.manifest_id",
        )
        .bind(updated_at)
        .fetch_all(&self.reader)
        .await
    }

    /// The scans of `manifest_ids` (those that exist), in one query.
    pub async fn scans_of(&self, manifest_ids: &[i64]) -> Result<Vec<ScanRow>, DbError> {
        if manifest_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; manifest_ids.len()].join(", ");
        let sql = format!("{SCAN} WHERE manifest_id IN ({marks}) ORDER BY manifest_id");
        let mut query = sqlx::query_as(&sql);
        for id in manifest_ids {
            query = query.bind(id);
        }
        query.fetch_all(&self.reader).await
    }

    /// Stores the findings of matching stored inventories again, with the
    /// findings that appeared or disappeared, in one transaction (one
    /// commit for many images: each commit waits for the disk). A scan
    /// already matched against this database or a newer one (by another
    /// process's run, or a scan since) is left as it is; returns how many
    /// were stored.
    pub async fn rematched(&self, scans: &[Rematched<'_>]) -> Result<usize, DbError> {
        let now = now_millis();
        let mut stored = 0;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for scan in scans {
            let updated = sqlx::query(
                "UPDATE scans SET findings = ?, source_updated_at = ?, completed_at = ?
                 WHERE manifest_id = ? AND status = 'COMPLETE'
                   AND (source_updated_at IS NULL OR source_updated_at < ?)",
            )
            .bind(&scan.findings)
            .bind(scan.source_updated_at)
            .bind(now)
            .bind(scan.manifest_id)
            .bind(scan.source_updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                continue;
            }
            stored += 1;
            for (event, name, package, version) in &scan.events {
                sqlx::query(
                    "INSERT INTO scan_finding_events (manifest_id, event, name, package_name, package_version, at)
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(scan.manifest_id)
                .bind(*event)
                .bind(name)
                .bind(package)
                .bind(version)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// The findings that appeared or disappeared for a manifest, oldest first.
    pub async fn finding_events(&self, manifest_id: i64) -> Result<Vec<FindingEventRow>, DbError> {
        sqlx::query_as(
            "SELECT event, name, package_name, package_version, at FROM scan_finding_events
             WHERE manifest_id = ? ORDER BY id",
        )
        .bind(manifest_id)
        .fetch_all(&self.reader)
        .await
    }
}

/// Queues a scan inside the caller's write transaction (a manifest PUT's,
/// for scan on push, or [`Db::queue_scan`]'s): a pending job replaces one
/// not yet started, and the manifest's scan reads `IN_PROGRESS`. Returns the
/// job's id.
pub(super) async fn queue_scan_in(
    conn: &mut sqlx::SqliteConnection,
    repository_id: i64,
    manifest_id: i64,
    kind: &str,
    now: i64,
) -> Result<i64, DbError> {
    sqlx::query("DELETE FROM jobs WHERE kind = 'scan' AND manifest_id = ? AND status = 'pending'")
        .bind(manifest_id)
        .execute(&mut *conn)
        .await?;
    let id = sqlx::query_scalar(
        "INSERT INTO jobs (kind, repository_id, manifest_id, status, run_after, created_at)
         VALUES ('scan', ?, ?, 'pending', ?, ?) RETURNING id",
    )
    .bind(repository_id)
    .bind(manifest_id)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO scans (manifest_id, kind, status, requested_at) VALUES (?, ?, 'IN_PROGRESS', ?)
         ON CONFLICT (manifest_id) DO UPDATE SET kind = excluded.kind, status = 'IN_PROGRESS',
             description = NULL, requested_at = excluded.requested_at, completed_at = NULL",
    )
    .bind(manifest_id)
    .bind(kind)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn manifest(db: &Db, repository_id: i64, digest: &str) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO manifests (repository_id, digest, media_type, body, size, pushed_at)
             VALUES (?, ?, 'application/vnd.oci.image.manifest.v1+json', x'7b7d', 2, 0) RETURNING id",
        )
        .bind(repository_id)
        .bind(digest)
        .fetch_one(&db.writer)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn scans_are_claimed_one_at_a_time_and_a_restart_queues_an_interrupted_one_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("berth.db"), crate::db::Schema::Migrate)
            .await
            .unwrap();
        let (repo, _) = db.get_or_create_repository("scans/app").await.unwrap();
        let a = manifest(&db, repo.id, "sha256:aa").await;
        let b = manifest(&db, repo.id, "sha256:bb").await;
        db.queue_scan(repo.id, a, "image").await.unwrap();
        db.queue_scan(repo.id, a, "image").await.unwrap();
        db.queue_scan(repo.id, b, "image").await.unwrap();
        assert_eq!(
            db.jobs(Some("scan"), 10).await.unwrap().len(),
            2,
            "a second request replaces the pending scan of the same image"
        );
        assert!(
            db.claim_due_jobs().await.unwrap().is_empty(),
            "scans are not run by the lifecycle queue"
        );

        let first = db.claim_scan_job().await.unwrap().unwrap();
        assert_eq!(first.repository, "scans/app");
        assert_eq!(
            db.scan(first.manifest_id).await.unwrap().unwrap().status,
            "IN_PROGRESS"
        );

        // The process stops while `first` runs; the next one starts.
        assert_eq!(db.recover_interrupted_jobs().await.unwrap(), 1);
        let mut claimed = Vec::new();
        while let Some(job) = db.claim_scan_job().await.unwrap() {
            claimed.push(job.digest);
        }
        let other = if first.digest == "sha256:aa" {
            "sha256:bb"
        } else {
            "sha256:aa"
        };
        assert_eq!(claimed, vec![other.to_owned(), first.digest.clone()]);
        let jobs = db.jobs(Some("scan"), 10).await.unwrap();
        assert_eq!(
            jobs.iter().filter(|j| j.status == "interrupted").count(),
            1,
            "{jobs:?}"
        );

        db.finish_scan(
            first.manifest_id,
            &ScanOutcome {
                status: "UNSUPPORTED_IMAGE",
                description: "no OS",
                inventory: None,
                findings: Some("[]"),
                source_updated_at: None,
                sbom_digest: None,
            },
        )
        .await
        .unwrap();
        let row = db.scan(first.manifest_id).await.unwrap().unwrap();
        assert_eq!(
            (row.status.as_str(), row.description.as_deref()),
            ("UNSUPPORTED_IMAGE", Some("no OS"))
        );
        assert!(row.completed_at.is_some());
    }
}
