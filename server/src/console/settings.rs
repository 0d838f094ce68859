//! Registry settings for administrators: the scanning configuration through
//! `service::scanning` (as PutRegistryScanningConfiguration), the start-up
//! settings, and garbage-collection status and dry runs through `jobs::gc`
//! (as `berth gc --dry-run`). Every call re-checks that the caller is an
//! administrator.

use super::{internal, ConsoleRequest, ADMIN_ACTION};
use crate::auth::authorize::Resource;
use crate::auth::Identity;
use crate::jobs::gc::{GcRun, GcStatus};
use crate::jobs::vulndb_runs::VulndbRuns;
use crate::service::scanning::{
    self, RegistryScanningConfiguration, RepositoryFilter, ScanningError, ScanningRule,
};
use berth_app::console::api::settings::{
    GcEntry, GcRunReport, JobView, OperationsStatus, ScanRule, ScanningSettings, SettingsBackend,
};
use berth_app::console::ConsoleError;
use std::sync::Arc;

/// Jobs the settings page lists, newest first.
const SHOWN_JOBS: i64 = 20;

/// What the settings page shows besides stored settings: start-up settings
/// and the garbage collector that the periodic job shares.
pub struct Operations {
    /// Whether a push to a missing repository creates it.
    pub create_on_push: bool,
    /// The collector's settings and recent runs.
    pub gc: Arc<GcStatus>,
    /// The vulnerability sources and the latest "Update now".
    pub vulndb: Arc<VulndbRuns>,
}

impl ConsoleRequest {
    /// The caller, if they are an administrator and may perform `action`.
    pub(super) async fn settings_admin(&self, action: &str) -> Result<Identity, ConsoleError> {
        let identity = self.allowed(action, Resource::Registry).await?;
        if !self
            .may(&identity, ADMIN_ACTION, Resource::Registry)
            .await?
        {
            return Err(ConsoleError::Forbidden(
                "Only administrators can see and change registry settings.".into(),
            ));
        }
        Ok(identity)
    }

    async fn gc_report(&self, run: GcRun) -> Result<GcRunReport, ConsoleError> {
        let registry = &self.console.registry;
        let mut names = std::collections::HashMap::new();
        let mut entries = Vec::new();
        for list in [&run.report.links, &run.report.manifests] {
            let mut out = Vec::with_capacity(list.len());
            for (id, digest) in list {
                if !names.contains_key(id) {
                    let name = registry
                        .repository_name_by_id(*id)
                        .await
                        .map_err(internal)?;
                    names.insert(*id, name.unwrap_or_else(|| format!("#{id}")));
                }
                out.push(GcEntry {
                    repository: names[id].clone(),
                    digest: digest.clone(),
                });
            }
            entries.push(out);
        }
        let manifests = entries.pop().unwrap_or_default();
        let links = entries.pop().unwrap_or_default();
        Ok(GcRunReport {
            finished_at: super::format_utc(run.finished_at),
            dry_run: run.report.dry_run,
            blob_count: run.blob_count as u64,
            bytes: run.report.bytes.max(0) as u64,
            link_count: run.link_count as u64,
            manifest_count: run.manifest_count as u64,
            blobs: run
                .report
                .blobs
                .iter()
                .map(|(digest, size)| (digest.clone(), (*size).max(0) as u64))
                .collect(),
            links,
            manifests,
        })
    }
}

/// The form field a scanning refusal belongs beside.
fn scanning_field(error: &ScanningError, rules: &[ScanRule]) -> String {
    let slot = |rule: usize| rules.get(rule).map_or(1, |r| r.slot);
    match error {
        ScanningError::ScanType(_) | ScanningError::TooManyRules => "scan_type".into(),
        ScanningError::Frequency { rule, .. } => format!("rule{}_frequency", slot(*rule)),
        ScanningError::TooManyFilters { rule } | ScanningError::Filter { rule, .. } => {
            format!("rule{}_filters", slot(*rule))
        }
    }
}

#[async_trait::async_trait]
impl SettingsBackend for ConsoleRequest {
    async fn scanning_settings(&self) -> Result<ScanningSettings, ConsoleError> {
        self.settings_admin("ecr:GetRegistryScanningConfiguration")
            .await?;
        let config = self
            .console
            .registry
            .scanning_configuration()
            .await
            .map_err(internal)?;
        Ok(ScanningSettings {
            scan_type: config.scan_type,
            rules: config
                .rules
                .into_iter()
                .enumerate()
                .map(|(i, rule)| ScanRule {
                    slot: i + 1,
                    frequency: rule.scan_frequency,
                    filters: rule
                        .repository_filters
                        .into_iter()
                        .map(|f| f.filter)
                        .collect(),
                })
                .collect(),
        })
    }

    async fn save_scanning_settings(&self, settings: ScanningSettings) -> Result<(), ConsoleError> {
        self.settings_admin("ecr:PutRegistryScanningConfiguration")
            .await?;
        let config = RegistryScanningConfiguration {
            scan_type: settings.scan_type.clone(),
            rules: settings
                .rules
                .iter()
                .map(|rule| ScanningRule {
                    scan_frequency: rule.frequency.clone(),
                    repository_filters: rule
                        .filters
                        .iter()
                        .map(|f| RepositoryFilter {
                            filter: f.clone(),
                            filter_type: "WILDCARD".into(),
                        })
                        .collect(),
                })
                .collect(),
        };
        if let Err(error) = scanning::validate(&config) {
            return Err(ConsoleError::invalid(
                &scanning_field(&error, &settings.rules),
                error.to_string(),
            ));
        }
        self.console
            .registry
            .set_scanning_configuration(&config)
            .await
            .map_err(|e| super::from_service(e, "scan_type"))?;
        tracing::info!("registry scanning configuration set in the console");
        Ok(())
    }

    async fn operations_status(&self) -> Result<OperationsStatus, ConsoleError> {
        self.settings_admin(ADMIN_ACTION).await?;
        let operations = &self.console.operations;
        let gc = &operations.gc;
        let last_run = match gc.last_run() {
            Some(run) => Some(self.gc_report(run).await?),
            None => None,
        };
        let last_dry_run = match gc.last_dry_run() {
            Some(run) => Some(self.gc_report(run).await?),
            None => None,
        };
        let jobs = self
            .console
            .registry
            .jobs(None, SHOWN_JOBS)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|job| JobView {
                id: job.id,
                kind: job.kind,
                repository: job.repository,
                when: match (job.finished_at, job.status.as_str()) {
                    (Some(at), _) => super::format_utc(at),
                    (None, "pending") => format!("due {}", super::format_utc(job.run_after)),
                    (None, _) => job.started_at.map(super::format_utc).unwrap_or_default(),
                },
                status: job.status,
                summary: job.summary.unwrap_or_default(),
            })
            .collect();
        Ok(OperationsStatus {
            create_on_push: operations.create_on_push,
            gc_interval_seconds: gc.interval.as_secs(),
            gc_grace_seconds: gc.grace.as_secs(),
            last_run,
            last_dry_run,
            jobs,
        })
    }

    async fn gc_dry_run(&self) -> Result<GcRunReport, ConsoleError> {
        let identity = self.settings_admin(ADMIN_ACTION).await?;
        let run = self
            .console
            .operations
            .gc
            .dry_run(&self.console.registry)
            .await
            .map_err(internal)?;
        tracing::info!(
            user = %identity.name,
            blobs = run.blob_count,
            bytes = run.report.bytes,
            "garbage-collection dry run from the console"
        );
        self.gc_report(run).await
    }
}
