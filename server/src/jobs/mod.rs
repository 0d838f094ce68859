//! Background work: flushing coalesced pull times, expiring idle uploads, and
//! garbage collection of blobs nothing links.

pub mod gc;

use crate::service::Registry;
use std::sync::Arc;
use std::time::Duration;

/// How often pull times are written.
const PULL_FLUSH_EVERY: Duration = Duration::from_secs(5);
/// How often idle uploads are looked for.
const UPLOAD_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Starts the periodic jobs; they stop when the returned handle is aborted.
pub fn spawn(registry: Arc<Registry>, upload_expiry: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut flush = tokio::time::interval(PULL_FLUSH_EVERY);
        let mut sweep = tokio::time::interval(UPLOAD_SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = flush.tick() => {
                    if let Err(error) = registry.pull_times().flush(registry.db()).await {
                        tracing::warn!(%error, "could not record pull times");
                    }
                }
                _ = sweep.tick() => {
                    match registry.expire_uploads(upload_expiry).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(removed = n, "removed idle uploads"),
                        Err(error) => tracing::warn!(%error, "could not expire uploads"),
                    }
                }
            }
        }
    })
}
