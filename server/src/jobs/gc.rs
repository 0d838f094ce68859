//! Garbage collection as a job: the periodic run, and the runs the console
//! remembers. The collection itself is `service::gc`, where a dry run is the
//! same code against a private copy of the database and a store that
//! deletes nothing.

use crate::db::now_millis;
use crate::service::jobs::JobKind;
pub use crate::service::GcReport;
use crate::service::{Registry, ServiceResult};
use std::time::Duration;

/// Runs one collection (see [`Registry::collect_garbage`]).
pub async fn collect(
    registry: &Registry,
    grace: Duration,
    dry_run: bool,
) -> ServiceResult<GcReport> {
    registry.collect_garbage(grace, dry_run).await
}

/// Runs a real collection as a persisted job: a row that says it runs, then
/// what it did or why it failed (a restart in between reports it
/// `interrupted`). A dry run is [`collect`] alone: it writes nothing.
pub async fn run(registry: &Registry, grace: Duration) -> ServiceResult<GcReport> {
    crate::service::check_gc_grace(grace)?;
    registry
        .run_as_job(
            JobKind::Gc,
            collect(registry, grace, false),
            GcReport::summary,
        )
        .await
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
