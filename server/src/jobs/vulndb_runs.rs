//! "Update now" from the console: one update of every configured source
//! (`vulndb_sources`) at a time, run in a task of its own so the request that
//! starts it returns at once, with its progress and result kept for the
//! settings page. Kept in memory, as the garbage collector's runs are: a
//! restart forgets the run, while each source's outcome is recorded on the
//! source in the database (what the status table shows).

use crate::service::vulndb::{UpdateOptions, UpdateOutcome};
use crate::service::Registry;
use std::sync::{Arc, Mutex};

/// One update run started from the console.
#[derive(Debug, Clone)]
pub struct VulndbRun {
    /// The user who started it.
    pub started_by: String,
    /// When it started (ms).
    pub started_at: i64,
    /// When it ended (ms); `None` while it runs.
    pub finished_at: Option<i64>,
    /// Each source's outcome, once it has ended.
    pub outcomes: Vec<(String, UpdateOutcome)>,
}

/// The configured sources, how they are downloaded, and the latest run.
#[derive(Debug)]
pub struct VulndbRuns {
    /// The `vulndb_sources` setting.
    pub sources: Vec<String>,
    /// The `vulndb_interval` setting; `None` when periodic updates are off.
    pub interval: Option<std::time::Duration>,
    options: UpdateOptions,
    latest: Mutex<Option<VulndbRun>>,
}

/// Why a run was not started.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StartError {
    /// No sources are configured: there is nothing to download.
    #[error("no vulnerability sources are configured (vulndb_sources is empty); import exports with berth vulndb import instead")]
    NoSources,
    /// An update started from the console is still running.
    #[error("an update is already running; wait for it to finish")]
    Running,
}

impl VulndbRuns {
    /// No run yet.
    pub fn new(
        sources: Vec<String>,
        interval: Option<std::time::Duration>,
        options: UpdateOptions,
    ) -> Self {
        Self {
            sources,
            interval,
            options,
            latest: Mutex::new(None),
        }
    }

    /// The latest run, running or ended.
    pub fn latest(&self) -> Option<VulndbRun> {
        self.slot().clone()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<VulndbRun>> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts updating every configured source in a task of its own.
    pub fn start(
        self: &Arc<Self>,
        registry: Arc<Registry>,
        started_by: &str,
    ) -> Result<(), StartError> {
        if self.sources.is_empty() {
            return Err(StartError::NoSources);
        }
        {
            let mut slot = self.slot();
            if slot.as_ref().is_some_and(|run| run.finished_at.is_none()) {
                return Err(StartError::Running);
            }
            *slot = Some(VulndbRun {
                started_by: started_by.to_owned(),
                started_at: crate::clock::now_millis(),
                finished_at: None,
                outcomes: Vec::new(),
            });
        }
        let runs = self.clone();
        tokio::spawn(async move {
            let outcomes = registry.vulndb_update(&runs.sources, &runs.options).await;
            let mut slot = runs.slot();
            if let Some(run) = slot.as_mut() {
                run.outcomes = outcomes;
                run.finished_at = Some(crate::clock::now_millis());
            }
        });
        Ok(())
    }
}
