//! Periodic updates of the vulnerability database (`vulndb_interval`), in a
//! task of their own so a long download never delays the other jobs.

use crate::service::vulndb::{UpdateOptions, UpdateOutcome};
use crate::service::Registry;
use std::sync::Arc;
use std::time::Duration;

/// How soon after start the first update runs (sooner when the interval is
/// shorter): not before the server listens, and not much later.
pub const FIRST_UPDATE_AFTER: Duration = Duration::from_secs(10);

/// Updates every source in `sources` every `every`, the first time soon after
/// start; stops when the returned handle is aborted. A failed update is
/// logged and recorded on its source; the previous records stay in service.
pub fn spawn(
    registry: Arc<Registry>,
    sources: Vec<String>,
    every: Duration,
    options: UpdateOptions,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + FIRST_UPDATE_AFTER.min(every);
        let mut ticks = tokio::time::interval_at(first, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            for (source, outcome) in registry.vulndb_update(&sources, &options).await {
                match outcome {
                    UpdateOutcome::Imported(report) => tracing::info!(
                        %source,
                        records = report.records,
                        skipped = report.skipped,
                        "updated the vulnerability database"
                    ),
                    UpdateOutcome::NotModified => {
                        tracing::info!(%source, "vulnerability source unchanged")
                    }
                    // Logged by the service, and recorded on the source.
                    UpdateOutcome::Failed(_) => {}
                }
            }
        }
    })
}
