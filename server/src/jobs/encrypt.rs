//! The encryption job (issue 18 §2): an installation made before encryption
//! at rest keeps its blobs in the clear until this job has given every link
//! an encrypted copy under its repository's key and removed the plain bytes
//! (`service::encryption`). Each run is a persisted job (`berth jobs --kind
//! encrypt`); its progress is the metadata itself (links that read in the
//! clear, blobs still stored in the clear), so a run a restart cut off is
//! continued by the next, and blobs stay readable throughout. Links whose key
//! cannot be used (disabled, pending deletion) are reported and tried again.

use crate::service::encryption::EncryptionReport;
use crate::service::jobs::JobKind;
use crate::service::{Registry, ServiceResult};
use std::time::Duration;

/// How often the server looks for blobs still stored in the clear.
pub const CHECK_EVERY: Duration = Duration::from_secs(600);

/// Runs the job once, as a persisted job, if any blob is stored in the
/// clear; `None` when there was nothing to do.
pub async fn run(registry: &Registry) -> ServiceResult<Option<EncryptionReport>> {
    if !registry.has_plain_blobs().await? {
        return Ok(None);
    }
    registry
        .run_as_job(
            JobKind::Encrypt,
            registry.encrypt_plain_blobs(),
            EncryptionReport::summary,
        )
        .await
        .map(Some)
}

/// Runs the job at start and every [`CHECK_EVERY`] while blobs stored in
/// the clear remain; failures are logged.
pub async fn run_periodically(registry: std::sync::Arc<Registry>) {
    let mut every = tokio::time::interval(CHECK_EVERY);
    loop {
        every.tick().await;
        match run(&registry).await {
            Ok(None) => {}
            Ok(Some(report)) => tracing::info!(
                links = report.links,
                plain_removed = report.plain_removed,
                problems = report.problems.len(),
                "encrypted blobs stored in the clear before encryption at rest"
            ),
            Err(error) => tracing::warn!(%error, "could not encrypt the blobs stored in the clear"),
        }
    }
}
