//! Online garbage collection. Safe while pushes run: it only considers links
//! untouched for a grace period, re-checks "still unreferenced and still old"
//! inside each deleting write transaction, and removes bytes only after that
//! commit. A dry run computes the same plan and skips the deleting steps.

use crate::db::now_millis;
use crate::service::{Registry, ServiceResult};
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
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// Runs one collection with the given grace period.
pub async fn collect(
    registry: &Registry,
    grace: Duration,
    dry_run: bool,
) -> ServiceResult<GcReport> {
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
    for blob in doomed {
        if dry_run || db.forget_blob_if_unlinked(&blob.digest, cutoff).await? {
            if !dry_run {
                if let Ok(digest) = Digest::parse(&blob.digest) {
                    registry.store().delete(&digest).await?;
                }
            }
            report.bytes += blob.size;
            report.blobs.push((blob.digest, blob.size));
        }
    }
    Ok(report)
}
