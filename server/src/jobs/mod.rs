//! Background work: flushing coalesced pull times, expiring idle uploads,
//! applying lifecycle policies, and garbage collection of blobs nothing links.

pub mod gc;

use crate::service::Registry;
use std::sync::Arc;
use std::time::Duration;

/// How often pull times are written.
const PULL_FLUSH_EVERY: Duration = Duration::from_secs(5);
/// How often idle uploads are looked for.
const UPLOAD_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Applies every repository's lifecycle policy once.
pub async fn apply_lifecycle_policies(registry: &Registry) {
    let names = match registry.db().repositories_with_lifecycle().await {
        Ok(names) => names,
        Err(error) => {
            tracing::warn!(%error, "could not list lifecycle policies");
            return;
        }
    };
    for name in names {
        match registry.apply_lifecycle(&name, false).await {
            Ok(expired) if !expired.is_empty() => {
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
pub fn spawn(
    registry: Arc<Registry>,
    upload_expiry: Duration,
    lifecycle_every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut flush = tokio::time::interval(PULL_FLUSH_EVERY);
        let mut sweep = tokio::time::interval(UPLOAD_SWEEP_EVERY);
        let mut lifecycle = tokio::time::interval(lifecycle_every);
        loop {
            tokio::select! {
                _ = lifecycle.tick() => apply_lifecycle_policies(&registry).await,
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
