//! The vulnerability database for administrators: each source's status
//! through `service::vulndb` (as `berth vulndb status`), and "Update now"
//! through `jobs::vulndb_runs` (as `berth vulndb update`, in the background).

use super::{format_utc, internal, ConsoleRequest, ADMIN_ACTION};
use crate::jobs::vulndb_runs::StartError;
use crate::service::vulndb::UpdateOutcome;
use berth_app::console::api::vulndb::{
    UpdateResult, UpdateRun, VulndbBackend, VulndbSource, VulndbStatus,
};
use berth_app::console::ConsoleError;

/// An update's outcome for one source, in words; `records` is how many the
/// source has in service now (after a failure, those it had before), so a
/// failure says which stay only when there are some (as `berth vulndb`).
fn result_of(source: &str, outcome: &UpdateOutcome, records: u64) -> UpdateResult {
    let (ok, text) = match outcome {
        UpdateOutcome::Imported(report) if report.skipped > 0 => (
            true,
            format!(
                "Imported {} records; skipped {} malformed.",
                report.records, report.skipped
            ),
        ),
        UpdateOutcome::Imported(report) => (true, format!("Imported {} records.", report.records)),
        UpdateOutcome::NotModified => (
            true,
            "Unchanged since the last download; the records in service stay.".to_owned(),
        ),
        UpdateOutcome::Failed(error) if records > 0 => (
            false,
            format!("Failed: {error}. Its previous records ({records}) stay in service."),
        ),
        UpdateOutcome::Failed(error) => (
            false,
            format!("Failed: {error}. It had no records in service before, and none were added."),
        ),
    };
    UpdateResult {
        source: source.to_owned(),
        ok,
        text,
    }
}

#[async_trait::async_trait]
impl VulndbBackend for ConsoleRequest {
    async fn vulndb_status(&self) -> Result<VulndbStatus, ConsoleError> {
        self.settings_admin(ADMIN_ACTION).await?;
        let runs = &self.console.operations.vulndb;
        let registry = &self.console.registry;
        let sources: Vec<VulndbSource> = registry
            .vulndb_status(&runs.sources)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|s| VulndbSource {
                name: s.name,
                configured: s.configured,
                updated_at: s.updated_at.map(format_utc),
                checked_at: s.checked_at.map(format_utc),
                records: s.records.max(0) as u64,
                skipped: s.skipped.max(0) as u64,
                skipped_reasons: s.skipped_reasons,
                last_error: s.last_error,
                last_error_at: s.last_error_at.map(format_utc),
            })
            .collect();
        let updated_at = registry
            .vulndb_updated_at()
            .await
            .map_err(internal)?
            .map(format_utc);
        let run = runs.latest().map(|run| UpdateRun {
            started_by: run.started_by,
            started_at: format_utc(run.started_at),
            finished_at: run.finished_at.map(format_utc),
            results: run
                .outcomes
                .iter()
                .map(|(source, outcome)| {
                    let records = sources
                        .iter()
                        .find(|s| s.name == *source)
                        .map_or(0, |s| s.records);
                    result_of(source, outcome, records)
                })
                .collect(),
        });
        Ok(VulndbStatus {
            sources,
            interval_seconds: runs.interval.map(|every| every.as_secs()),
            updated_at,
            run,
        })
    }

    async fn start_vulndb_update(&self) -> Result<(), ConsoleError> {
        let identity = self.settings_admin(ADMIN_ACTION).await?;
        let runs = &self.console.operations.vulndb;
        runs.start(self.console.registry.clone(), &identity.name)
            .map_err(|error| match error {
                StartError::NoSources => ConsoleError::invalid("update", error.to_string()),
                StartError::Running => ConsoleError::Conflict(error.to_string()),
            })?;
        tracing::info!(user = %identity.name, sources = runs.sources.len(), "vulnerability database update started from the console");
        Ok(())
    }
}
