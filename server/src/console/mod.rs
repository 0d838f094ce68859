//! The server side of the console: answers the `#[server]` functions of the
//! `berth-app` crate through its [`ConsoleBackend`] trait, using the service layer.

use crate::service::Registry;
use berth_app::console::{ConsoleBackend, ConsoleError, RepositorySummary};
use std::sync::Arc;

/// The console's view of one installation.
pub struct Console {
    registry: Arc<Registry>,
    /// `host[:port]` that `docker push` uses.
    registry_host: String,
}

impl Console {
    /// A console backend for `registry`, reachable by docker at `registry_host`.
    pub fn new(registry: Arc<Registry>, registry_host: String) -> Self {
        Self {
            registry,
            registry_host,
        }
    }
}

fn internal(error: impl std::fmt::Display) -> ConsoleError {
    tracing::error!(%error, "console request failed");
    ConsoleError::Internal
}

#[async_trait::async_trait]
impl ConsoleBackend for Console {
    async fn list_repositories(&self) -> Result<Vec<RepositorySummary>, ConsoleError> {
        let rows = self
            .registry
            .repository_overview()
            .await
            .map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|r| RepositorySummary {
                uri: format!("{}/{}", self.registry_host, r.name),
                name: r.name,
                created_at: format_utc(r.created_at),
                tag_mutability: r.tag_mutability,
                image_count: r.image_count.max(0) as u64,
            })
            .collect())
    }
}

/// Formats milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn times_format_in_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_305_600_000), "2026-11-22 00:00:00 UTC");
        assert_eq!(
            format_utc(951_782_400_000 + 3_723_000),
            "2000-02-29 01:02:03 UTC"
        );
    }
}
