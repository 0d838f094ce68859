//! Registry settings for administrators: the scanning configuration (what
//! `aws ecr get/put-registry-scanning-configuration` sees), create-on-push,
//! and garbage collection with its dry run.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Rule slots the scanning form offers (ECR allows two rules).
pub const SCAN_RULE_SLOTS: usize = 2;

/// The frequencies a scanning rule can have, with their labels.
pub const SCAN_FREQUENCIES: [(&str, &str); 3] = [
    ("SCAN_ON_PUSH", "Scan on push"),
    ("MANUAL", "Manual (basic scanning only)"),
    ("CONTINUOUS_SCAN", "Continuous (enhanced scanning only)"),
];

/// One scanning rule as the form shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRule {
    /// The form's rule slot it sits in, 1-based (for errors beside its fields).
    pub slot: usize,
    /// `SCAN_ON_PUSH`, `MANUAL` or `CONTINUOUS_SCAN`.
    pub frequency: String,
    /// Wildcard repository filters.
    pub filters: Vec<String>,
}

/// The registry's scanning configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanningSettings {
    /// `BASIC` or `ENHANCED`.
    pub scan_type: String,
    /// The rules, at most [`SCAN_RULE_SLOTS`].
    pub rules: Vec<ScanRule>,
}

/// One entry of a garbage-collection report that belongs to a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcEntry {
    /// Repository name (or `#id` if it has gone since).
    pub repository: String,
    /// Blob or manifest digest.
    pub digest: String,
}

/// What a garbage collection did, or (dry) would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcRunReport {
    /// When it finished, `YYYY-MM-DD HH:MM:SS UTC`.
    pub finished_at: String,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// Blobs deleted (or that would be).
    pub blob_count: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Stale repository links removed (or that would be).
    pub link_count: u64,
    /// Orphaned child manifests removed (or that would be).
    pub manifest_count: u64,
    /// The first blobs: digest and size.
    pub blobs: Vec<(String, u64)>,
    /// The first stale links.
    pub links: Vec<GcEntry>,
    /// The first orphaned manifests.
    pub manifests: Vec<GcEntry>,
}

/// Start-up settings and the garbage collector's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationsStatus {
    /// Whether a push to a missing repository creates it.
    pub create_on_push: bool,
    /// Seconds between collections.
    pub gc_interval_seconds: u64,
    /// Seconds a blob must go untouched and unreferenced before it is collected.
    pub gc_grace_seconds: u64,
    /// The latest real collection since the server started.
    pub last_run: Option<GcRunReport>,
    /// The latest dry run since the server started.
    pub last_dry_run: Option<GcRunReport>,
    /// The newest persisted jobs (garbage collections, lifecycle
    /// applications), newest first, as `berth jobs` lists them.
    pub jobs: Vec<JobView>,
}

/// A persisted job as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    /// Its id.
    pub id: i64,
    /// `gc` or `lifecycle`.
    pub kind: String,
    /// The repository, for a lifecycle application.
    pub repository: Option<String>,
    /// `pending`, `running`, `succeeded`, `failed` or `interrupted`.
    pub status: String,
    /// When it ended, or (pending) when it is due, in UTC.
    pub when: String,
    /// What it did, or why it failed.
    pub summary: String,
}

/// The server side of this module's functions (administrators only).
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait SettingsBackend {
    /// The scanning configuration (`ecr:GetRegistryScanningConfiguration`).
    async fn scanning_settings(&self) -> Result<ScanningSettings, ConsoleError>;
    /// Stores a scanning configuration (`ecr:PutRegistryScanningConfiguration`).
    async fn save_scanning_settings(&self, settings: ScanningSettings) -> Result<(), ConsoleError>;
    /// Create-on-push and the garbage collector's settings and runs.
    async fn operations_status(&self) -> Result<OperationsStatus, ConsoleError>;
    /// Runs `berth gc --dry-run`'s code: reports, deletes nothing.
    async fn gc_dry_run(&self) -> Result<GcRunReport, ConsoleError>;
}

/// Repository filters typed one per line or comma-separated, trimmed.
pub fn filter_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The scanning configuration.
#[server(endpoint = "load_scanning_settings")]
pub async fn load_scanning_settings() -> Result<ScanningSettings, ConsoleError> {
    super::backend()?.scanning_settings().await
}

/// Saves the scanning form: a rule slot whose filters are empty is left out.
#[server(endpoint = "save_scanning_settings")]
pub async fn save_scanning_settings(
    scan_type: Option<String>,
    rule1_frequency: Option<String>,
    rule1_filters: Option<String>,
    rule2_frequency: Option<String>,
    rule2_filters: Option<String>,
) -> Result<(), ConsoleError> {
    let slots = [
        (rule1_frequency, rule1_filters),
        (rule2_frequency, rule2_filters),
    ];
    let rules = slots
        .into_iter()
        .enumerate()
        .filter_map(|(i, (frequency, filters))| {
            let filters = filter_list(&filters.unwrap_or_default());
            (!filters.is_empty()).then(|| ScanRule {
                slot: i + 1,
                frequency: frequency.unwrap_or_else(|| "SCAN_ON_PUSH".into()),
                filters,
            })
        })
        .collect();
    let settings = ScanningSettings {
        scan_type: scan_type.unwrap_or_else(|| "BASIC".into()),
        rules,
    };
    super::backend()?.save_scanning_settings(settings).await
}

/// Create-on-push and garbage collection.
#[server(endpoint = "load_operations_status")]
pub async fn load_operations_status() -> Result<OperationsStatus, ConsoleError> {
    super::backend()?.operations_status().await
}

/// A garbage-collection dry run.
#[server(endpoint = "gc_dry_run")]
pub async fn gc_dry_run() -> Result<GcRunReport, ConsoleError> {
    super::backend()?.gc_dry_run().await
}

#[cfg(test)]
mod tests {
    use super::filter_list;

    #[test]
    fn filters_are_split_and_trimmed() {
        assert_eq!(
            filter_list("team-a/*, tools/*\n\n  prod-* "),
            ["team-a/*", "tools/*", "prod-*"]
        );
        assert!(filter_list(" ,\n").is_empty());
    }
}
