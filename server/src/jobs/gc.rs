//! Online garbage collection. Safe while pushes run, in this process or any
//! other: it only considers links untouched for a grace period (never shorter
//! than [`MIN_GC_GRACE`](crate::service::MIN_GC_GRACE), which the touches a pusher relies on are written
//! through for; see `service::pulls`), re-checks "still unreferenced and still
//! old" inside each deleting write transaction, and removes bytes only after
//! that commit. A dry run computes the same plan and skips the deleting steps.

use crate::db::now_millis;
use crate::service::jobs::JobKind;
use crate::service::{check_gc_grace, Registry, ServiceResult};
use berth_app::oci::Digest;
use std::time::Duration;

/// What a collection did (or, dry, would do).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct GcReport {
    /// Child manifests no index or tag needs any more: (repository id, digest).
    /// Their blobs become collectable at the next run.
    pub manifests: Vec<(i64, String)>,
    /// Repository links removed: (repository id, digest).
    pub links: Vec<(i64, String)>,
    /// Blobs deleted: (digest, size).
    pub blobs: Vec<(String, i64)>,
    /// Bytes freed.
    pub bytes: i64,
    /// Uploads the store held without a session (abandoned S3 multipart
    /// uploads, files left by a crash), removed.
    pub leftover_uploads: usize,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// Blobs whose bytes are deleted in one store request.
const DELETE_BATCH: usize = 1000;

/// Runs one collection with the given grace period; refuses one shorter than
/// [`MIN_GC_GRACE`](crate::service::MIN_GC_GRACE) (a dry run too, as it shows what the real run would do).
pub async fn collect(
    registry: &Registry,
    grace: Duration,
    dry_run: bool,
) -> ServiceResult<GcReport> {
    check_gc_grace(grace)?;
    let cutoff = now_millis() - grace.as_millis() as i64;
    let db = registry.db();
    let orphans = db.orphaned_children(cutoff).await?;
    let stale_links = db.stale_blob_links(cutoff).await?;
    let doomed = db.collectable_blobs(cutoff).await?;
    let mut report = GcReport {
        dry_run,
        ..GcReport::default()
    };
    for (repository_id, digest) in orphans {
        if dry_run
            || db
                .delete_orphaned_child(repository_id, &digest, cutoff)
                .await?
        {
            report.manifests.push((repository_id, digest));
        }
    }
    for (repository_id, digest) in stale_links {
        if dry_run || db.unlink_if_stale(repository_id, &digest, cutoff).await? {
            report.links.push((repository_id, digest));
        }
    }
    // Bytes go only after their row's deletion committed, in batches.
    let mut forgotten = Vec::new();
    for blob in doomed {
        if dry_run || db.forget_blob_if_unlinked(&blob.digest, cutoff).await? {
            if !dry_run {
                forgotten.push(blob.digest.clone());
                if forgotten.len() == DELETE_BATCH {
                    delete_bytes(registry, &forgotten).await?;
                    forgotten.clear();
                }
            }
            report.bytes += blob.size;
            report.blobs.push((blob.digest, blob.size));
        }
    }
    delete_bytes(registry, &forgotten).await?;
    report.leftover_uploads = registry.remove_leftover_uploads(dry_run).await?;
    Ok(report)
}

/// Runs a real collection as a persisted job: a row that says it runs, then
/// what it did or why it failed (a restart in between reports it
/// `interrupted`). A dry run is [`collect`] alone: it writes nothing.
pub async fn run(registry: &Registry, grace: Duration) -> ServiceResult<GcReport> {
    check_gc_grace(grace)?;
    let job = registry.start_job(JobKind::Gc).await?;
    let result = collect(registry, grace, false).await;
    let outcome = match &result {
        Ok(report) => Ok(report.summary()),
        Err(error) => Err(error.to_string()),
    };
    registry
        .finish_job(job, outcome.as_deref().map_err(String::as_str))
        .await?;
    result
}

impl GcReport {
    /// One line: what the run deleted (or, dry, would delete).
    pub fn summary(&self) -> String {
        format!(
            "{} {} blob(s), {} bytes; {} stale repository link(s); {} manifest(s); {} leftover upload(s)",
            if self.dry_run { "would delete" } else { "deleted" },
            self.blobs.len(),
            self.bytes,
            self.links.len(),
            self.manifests.len(),
            self.leftover_uploads
        )
    }
}

/// Deletes the bytes of forgotten blobs, under the database's write lock and
/// only for those still without a row: an upload of the same digest that
/// committed its bytes meanwhile records its row under that lock too, after
/// checking its bytes are there (see `db::BlobWrite`).
async fn delete_bytes(registry: &Registry, forgotten: &[String]) -> ServiceResult<()> {
    if forgotten.is_empty() {
        return Ok(());
    }
    let mut write = registry.db().begin_blob_write().await?;
    let recorded = write.recorded(forgotten).await?;
    let gone: Vec<Digest> = forgotten
        .iter()
        .filter(|d| !recorded.contains(d))
        .filter_map(|d| Digest::parse(d).ok())
        .collect();
    registry.store().delete(&gone).await?;
    write.commit().await?;
    Ok(())
}

/// Entries of each list a remembered run keeps, so memory stays small.
const REMEMBERED_ENTRIES: usize = 20;

/// A finished collection as the console shows it: when, the totals, and the
/// first [`REMEMBERED_ENTRIES`] entries of each list.
#[derive(Debug, Clone)]
pub struct GcRun {
    /// When it finished, in milliseconds since the epoch.
    pub finished_at: i64,
    /// Blobs deleted (or that would be).
    pub blob_count: usize,
    /// Stale repository links removed (or that would be).
    pub link_count: usize,
    /// Orphaned child manifests removed (or that would be).
    pub manifest_count: usize,
    /// The report, its lists cut to their first entries; `bytes` is the full total.
    pub report: GcReport,
}

impl GcRun {
    /// Remembers `report`, finished now.
    pub fn new(mut report: GcReport) -> Self {
        let (blob_count, link_count, manifest_count) = (
            report.blobs.len(),
            report.links.len(),
            report.manifests.len(),
        );
        report.blobs.truncate(REMEMBERED_ENTRIES);
        report.links.truncate(REMEMBERED_ENTRIES);
        report.manifests.truncate(REMEMBERED_ENTRIES);
        Self {
            finished_at: now_millis(),
            blob_count,
            link_count,
            manifest_count,
            report,
        }
    }
}

/// The collector's settings and its most recent runs, shared by the periodic
/// job (which records real runs) and the console (which shows them and runs
/// dry runs). Kept in memory only: a restart forgets the runs.
#[derive(Debug)]
pub struct GcStatus {
    /// How often the job collects.
    pub interval: Duration,
    /// How long a blob must go untouched and unreferenced before it is collected.
    pub grace: Duration,
    last: std::sync::Mutex<Option<GcRun>>,
    last_dry_run: std::sync::Mutex<Option<GcRun>>,
}

impl GcStatus {
    /// No runs yet.
    pub fn new(interval: Duration, grace: Duration) -> Self {
        Self {
            interval,
            grace,
            last: Default::default(),
            last_dry_run: Default::default(),
        }
    }

    /// Records a finished collection (dry or real) as the latest of its kind.
    pub fn record(&self, report: GcReport) -> GcRun {
        let slot = if report.dry_run {
            &self.last_dry_run
        } else {
            &self.last
        };
        let run = GcRun::new(report);
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(run.clone());
        run
    }

    /// The latest real collection since start-up.
    pub fn last_run(&self) -> Option<GcRun> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The latest dry run since start-up.
    pub fn last_dry_run(&self) -> Option<GcRun> {
        self.last_dry_run
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Runs [`collect`] dry with this collector's grace period (the same code
    /// as `berth gc --dry-run`), records and returns what it would do.
    pub async fn dry_run(&self, registry: &Registry) -> ServiceResult<GcRun> {
        let report = collect(registry, self.grace, true).await?;
        Ok(self.record(report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_runs_keep_totals_and_a_few_entries() {
        let status = GcStatus::new(Duration::from_secs(60), crate::service::MIN_GC_GRACE);
        let report = GcReport {
            blobs: (0..50).map(|i| (format!("sha256:{i}"), 10)).collect(),
            bytes: 500,
            links: vec![(1, "sha256:a".into())],
            dry_run: true,
            ..GcReport::default()
        };
        let run = status.record(report);
        assert_eq!(
            (run.blob_count, run.link_count, run.manifest_count),
            (50, 1, 0)
        );
        assert_eq!(run.report.blobs.len(), REMEMBERED_ENTRIES);
        assert_eq!(run.report.bytes, 500);
        assert!(
            status.last_run().is_none(),
            "a dry run is not the last real run"
        );
        assert_eq!(status.last_dry_run().map(|r| r.blob_count), Some(50));
        status.record(GcReport::default());
        assert_eq!(status.last_run().map(|r| r.blob_count), Some(0));
    }
}
