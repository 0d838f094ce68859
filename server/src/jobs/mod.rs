//! Background work: flushing coalesced pull times, expiring idle uploads,
//! applying lifecycle policies (hourly, and the persisted jobs queued when a
//! policy is saved), garbage collection of blobs nothing links (each run
//! a persisted job), image scans (persisted jobs started as slots free up,
//! see `service::scans`) and continuous scanning (stored inventories matched
//! again when the vulnerability database changes), periodic updates of
//! the vulnerability database, KMS keys' scheduled deletions and yearly
//! rotations, managed signing (queued signings of pushed images, see
//! `service::signing`), and the encryption of blobs an installation stored
//! before encryption at rest (`encrypt`).
//!
//! Job metrics: every persisted job is counted where it ends
//! (`Registry::finish_job`), the hourly lifecycle applications (not
//! persisted) in [`apply_lifecycle_policies`], and what GC and lifecycle
//! delete where they report it; no job counts anything itself.

pub use crate::service::fsck;
pub mod encrypt;
pub mod gc;
pub mod migrate;
pub mod vulndb;
pub mod vulndb_runs;

use crate::service::Registry;
use crate::telemetry::metrics;
use std::sync::Arc;
use std::time::Duration;

/// How often pull times are written.
const PULL_FLUSH_EVERY: Duration = Duration::from_secs(5);
/// How often queued jobs (delayed lifecycle applications) are looked for.
const JOBS_CHECK_EVERY: Duration = Duration::from_secs(1);
/// How often continuous scanning looks for inventories matched against an
/// older vulnerability database.
const REMATCH_CHECK_EVERY: Duration = Duration::from_secs(5);
/// How often KMS keys are looked at for deletions and rotations that are due.
const KMS_CHECK_EVERY: Duration = Duration::from_secs(60);
/// How often idle uploads are looked for, at most.
const UPLOAD_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// How often idle uploads are looked for with this expiry: every 10 minutes,
/// or twice per expiry when that is shorter (at most once a second), so an
/// idle upload is gone within 1.5 times its expiry whatever the setting.
pub fn upload_sweep_interval(expiry: Duration) -> Duration {
    UPLOAD_SWEEP_EVERY
        .min(expiry / 2)
        .max(Duration::from_secs(1))
}

/// Removes idle upload sessions and upload bytes no session owns (a crash
/// leaves both), and expired console sessions; failures are logged.
pub async fn sweep_uploads(registry: &Registry, expiry: Duration) {
    match registry.expire_uploads(expiry).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "removed idle uploads"),
        Err(error) => tracing::warn!(%error, "could not expire uploads"),
    }
    if let Err(error) = registry.sessions().delete_expired().await {
        tracing::warn!(%error, "could not remove expired console sessions");
    }
}

/// Starts the queued scans there are free slots for.
async fn start_scans(registry: &Arc<Registry>) {
    if let Err(error) = registry.start_queued_scans().await {
        tracing::warn!(%error, "could not start the queued scans");
    }
}

/// Deletes the KMS keys whose waiting period has ended and rotates those
/// whose yearly rotation is due (`service::kms`); each key that fails is
/// logged (by the service) and the others are still done.
pub async fn maintain_keys(registry: &Registry) {
    match registry.kms_maintain().await {
        Ok(done) => {
            if !done.deleted.is_empty() || !done.rotated.is_empty() || !done.failed.is_empty() {
                tracing::info!(
                    deleted = done.deleted.len(),
                    rotated = done.rotated.len(),
                    failed = done.failed.len(),
                    "KMS key maintenance done"
                );
            }
        }
        Err(error) => {
            tracing::warn!(%error, "could not delete or rotate the KMS keys that are due")
        }
    }
}

/// Signs the queued images (managed signing).
async fn run_signings(registry: &Registry) {
    if let Err(error) = registry.run_queued_signings().await {
        tracing::warn!(%error, "could not sign the queued images");
    }
}

/// Aborts a task when dropped (when the jobs' task is aborted).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// When the periodic jobs run.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Idle upload sessions older than this are removed.
    pub upload_expiry: Duration,
    /// Lifecycle policies are applied this often.
    pub lifecycle_every: Duration,
    /// Garbage is collected this often.
    pub gc_every: Duration,
    /// Unreferenced blobs untouched this long are collected.
    pub gc_grace: Duration,
}

/// Applies every repository's lifecycle policy once.
pub async fn apply_lifecycle_policies(registry: &Registry) {
    let names = match registry.repositories_with_lifecycle().await {
        Ok(names) => names,
        Err(error) => {
            tracing::warn!(%error, "could not list lifecycle policies");
            return;
        }
    };
    for name in names {
        // Not a persisted job, so counted here rather than in `finish_job`.
        let started = std::time::Instant::now();
        let applied = registry.apply_lifecycle(&name, false).await;
        metrics::job_finished("lifecycle", applied.is_ok(), started.elapsed());
        match applied {
            Ok(expired) if !expired.is_empty() => {
                metrics::job_deleted("lifecycle", expired.len());
                tracing::info!(repository = %name, expired = expired.len(), "applied the lifecycle policy")
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(repository = %name, %error, "could not apply the lifecycle policy")
            }
        }
    }
}

/// Starts the periodic jobs; they stop when the returned handle is aborted.
/// Each garbage collection is recorded in `gc_status`. The first upload sweep
/// is one interval away: the server sweeps once before it listens.
pub fn spawn(
    registry: Arc<Registry>,
    schedule: Schedule,
    gc_status: Arc<gc::GcStatus>,
) -> tokio::task::JoinHandle<()> {
    // Its own task: encrypting an old installation's blobs takes long and
    // must not hold up the jobs below.
    let encrypting = tokio::spawn(encrypt::run_periodically(registry.clone()));
    tokio::spawn(async move {
        let _stop_with_this_task = AbortOnDrop(encrypting);
        let mut flush = tokio::time::interval(PULL_FLUSH_EVERY);
        let every = upload_sweep_interval(schedule.upload_expiry);
        let mut sweep = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut lifecycle = tokio::time::interval(schedule.lifecycle_every);
        let mut gc = tokio::time::interval(schedule.gc_every);
        let mut due = tokio::time::interval(JOBS_CHECK_EVERY);
        let mut rematch = tokio::time::interval(REMATCH_CHECK_EVERY);
        let mut keys = tokio::time::interval(KMS_CHECK_EVERY);
        gc.tick().await; // not at start: let pushes that were cut off resume first
        loop {
            tokio::select! {
                _ = gc.tick() => {
                    // Link touches are in the metadata already (written
                    // through by the reads a pusher relies on).
                    match gc::run(&registry, schedule.gc_grace).await {
                        Ok(report) => {
                            metrics::job_deleted("gc", report.blobs.len());
                            if !report.blobs.is_empty() {
                                tracing::info!(
                                    blobs = report.blobs.len(), bytes = report.bytes, "garbage collected"
                                );
                            }
                            gc_status.record(report);
                        }
                        Err(error) => tracing::warn!(%error, "garbage collection failed"),
                    }
                }
                _ = lifecycle.tick() => apply_lifecycle_policies(&registry).await,
                _ = due.tick() => {
                    if let Err(error) = registry.run_due_jobs().await {
                        tracing::warn!(%error, "could not run the queued jobs");
                    }
                    start_scans(&registry).await;
                    run_signings(&registry).await;
                }
                _ = registry.scan_queued() => start_scans(&registry).await,
                _ = registry.signing_queued() => run_signings(&registry).await,
                _ = rematch.tick() => match registry.rematch_stale_scans().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(images = n, "matched stored inventories against the updated vulnerability database"),
                    Err(error) => tracing::warn!(%error, "could not match stored inventories again"),
                },
                _ = keys.tick() => maintain_keys(&registry).await,
                _ = flush.tick() => {
                    if let Err(error) = registry.flush_pull_times().await {
                        tracing::warn!(%error, "could not record pull times");
                    }
                }
                _ = sweep.tick() => sweep_uploads(&registry, schedule.upload_expiry).await,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::upload_sweep_interval;
    use std::time::Duration;

    #[test]
    fn uploads_are_swept_twice_per_expiry_at_most_every_ten_minutes_and_once_a_second() {
        let s = Duration::from_secs;
        assert_eq!(upload_sweep_interval(s(86_400)), s(600));
        assert_eq!(upload_sweep_interval(s(1_200)), s(600));
        assert_eq!(upload_sweep_interval(s(60)), s(30));
        assert_eq!(upload_sweep_interval(s(2)), s(1));
        assert_eq!(upload_sweep_interval(s(1)), s(1));
        assert_eq!(upload_sweep_interval(s(0)), s(1));
    }
}
