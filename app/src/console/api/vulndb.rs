//! The vulnerability database, for administrators: each source's status (what
//! `berth vulndb status` shows) and "Update now" (what `berth vulndb update`
//! does), run in the background while the page shows its progress.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One source of OSV records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulndbSource {
    /// Its URL, or `import:<file name>` for `berth vulndb import`.
    pub name: String,
    /// Whether it is one of the configured `vulndb_sources` ("Update now"
    /// downloads those).
    pub configured: bool,
    /// When its records were last replaced, in UTC.
    pub updated_at: Option<String>,
    /// When it was last imported or found unchanged, in UTC.
    pub checked_at: Option<String>,
    /// Records in service.
    pub records: u64,
    /// Malformed records its last import skipped.
    pub skipped: u64,
    /// The first few reasons (`<file>: <why>`).
    pub skipped_reasons: Vec<String>,
    /// Its last failed update's error, until an update succeeds.
    pub last_error: Option<String>,
    /// When that failure happened, in UTC.
    pub last_error_at: Option<String>,
}

/// What an update did to one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateResult {
    /// The source's URL.
    pub source: String,
    /// Whether it succeeded (imported, or unchanged since the last download).
    pub ok: bool,
    /// What happened, in words.
    pub text: String,
}

/// An "Update now" run started from the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRun {
    /// Who started it.
    pub started_by: String,
    /// When it started, in UTC.
    pub started_at: String,
    /// When it ended, in UTC; `None` while it runs.
    pub finished_at: Option<String>,
    /// Each source's outcome, once it has ended.
    pub results: Vec<UpdateResult>,
}

/// The database as the settings page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulndbStatus {
    /// Every source: the configured ones first, then imports by hand.
    pub sources: Vec<VulndbSource>,
    /// How often `serve` updates the configured sources, in seconds; `None`
    /// when periodic updates are off (`vulndb_interval` 0).
    pub interval_seconds: Option<u64>,
    /// When the records in service last changed, in UTC.
    pub updated_at: Option<String>,
    /// The latest "Update now" since the server started (running or ended).
    pub run: Option<UpdateRun>,
}

impl VulndbStatus {
    /// Whether an "Update now" is running.
    pub fn updating(&self) -> bool {
        self.run
            .as_ref()
            .is_some_and(|run| run.finished_at.is_none())
    }
}

/// The server side of this module's functions (administrators only).
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait VulndbBackend {
    /// Each source's status and the latest "Update now".
    async fn vulndb_status(&self) -> Result<VulndbStatus, ConsoleError>;
    /// Starts updating every configured source in the background; refused
    /// when none is configured or an update is already running.
    async fn start_vulndb_update(&self) -> Result<(), ConsoleError>;
}

/// The vulnerability database's status.
#[server(endpoint = "load_vulndb_status")]
pub async fn load_vulndb_status() -> Result<VulndbStatus, ConsoleError> {
    super::backend()?.vulndb_status().await
}

/// "Update now": downloads every configured source in the background.
#[server(endpoint = "update_vulndb")]
pub async fn update_vulndb() -> Result<(), ConsoleError> {
    super::backend()?.start_vulndb_update().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_without_an_end_is_updating() {
        let mut status = VulndbStatus {
            sources: Vec::new(),
            interval_seconds: None,
            updated_at: None,
            run: None,
        };
        assert!(!status.updating());
        status.run = Some(UpdateRun {
            started_by: "admin".into(),
            started_at: "2026-12-07 13:00:00 UTC".into(),
            finished_at: None,
            results: Vec::new(),
        });
        assert!(status.updating());
        if let Some(run) = status.run.as_mut() {
            run.finished_at = Some("2026-12-07 13:00:05 UTC".into());
        }
        assert!(!status.updating());
    }
}
