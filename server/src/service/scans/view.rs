//! A scan as the faces show it: its status, its findings, an index's summed
//! up from its platform children.

use super::{Registry, ServiceResult, COMPLETE_DESCRIPTION};
use crate::db::ScanRow;
use crate::scan::{Finding, Severity};
use std::collections::BTreeMap;

/// One image's scan, as every face reports it.
#[derive(Debug, Clone)]
pub struct ScanView {
    /// ECR's `ScanStatus`: `IN_PROGRESS`, `COMPLETE`, `FAILED`,
    /// `UNSUPPORTED_IMAGE`.
    pub status: String,
    /// Why it failed or is unsupported, or ECR's text for a complete scan.
    pub description: String,
    /// When it ended (ms).
    pub completed_at: Option<i64>,
    /// When the vulnerability database matched against last changed (ms).
    pub source_updated_at: Option<i64>,
    /// The findings, most severe first.
    pub findings: Vec<Finding>,
    /// The SBOM referrer's digest (an image's complete scan).
    pub sbom_digest: Option<String>,
}

impl ScanView {
    /// The number of findings of each severity present.
    pub fn severity_counts(&self) -> BTreeMap<Severity, usize> {
        let mut counts = BTreeMap::new();
        for f in &self.findings {
            *counts.entry(f.severity).or_default() += 1;
        }
        counts
    }
}

/// ECR's name for a severity.
pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "CRITICAL",
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
        Severity::Informational => "INFORMATIONAL",
        Severity::Undefined => "UNDEFINED",
    }
}

/// Most severe first, then by name and package, so pages are stable.
pub(super) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.severity, &a.name, &a.package_name, &a.package_version).cmp(&(
            b.severity,
            &b.name,
            &b.package_name,
            &b.package_version,
        ))
    });
}

pub(super) fn findings_of(row: &ScanRow) -> Vec<Finding> {
    row.findings
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

pub(super) fn view_of(row: &ScanRow) -> ScanView {
    let findings = if row.status == "COMPLETE" {
        findings_of(row)
    } else {
        Vec::new()
    };
    view_with(row, findings)
}

/// The view of `row` with `findings`, those it stores.
pub(super) fn view_with(row: &ScanRow, findings: Vec<Finding>) -> ScanView {
    ScanView {
        status: row.status.clone(),
        description: row
            .description
            .clone()
            .unwrap_or_else(|| match row.status.as_str() {
                "IN_PROGRESS" => "The scan is in progress.".into(),
                _ => String::new(),
            }),
        completed_at: row.completed_at,
        source_updated_at: row.source_updated_at,
        findings: if row.status == "COMPLETE" {
            findings
        } else {
            Vec::new()
        },
        sbom_digest: row.sbom_digest.clone(),
    }
}

impl Registry {
    /// A manifest's scan; an index's sums up its children's.
    pub(super) async fn scan_view(
        &self,
        repository_id: i64,
        manifest_id: i64,
    ) -> ServiceResult<Option<ScanView>> {
        let Some(row) = self.db.scan(manifest_id).await? else {
            return Ok(None);
        };
        if row.kind != "index" || row.status != "COMPLETE" {
            return Ok(Some(view_of(&row)));
        }
        let mut children = Vec::new();
        for (child, _) in self.db.child_manifests(repository_id, manifest_id).await? {
            children.push(self.db.scan(child).await?.map(|r| view_of(&r)));
        }
        let statuses: Vec<&str> = children
            .iter()
            .map(|c| c.as_ref().map_or("IN_PROGRESS", |c| c.status.as_str()))
            .collect();
        let status = if statuses.contains(&"IN_PROGRESS") {
            "IN_PROGRESS"
        } else if statuses.contains(&"FAILED") {
            "FAILED"
        } else if statuses.contains(&"COMPLETE") {
            "COMPLETE"
        } else {
            "UNSUPPORTED_IMAGE"
        };
        let done: Vec<&ScanView> = children.iter().flatten().collect();
        let mut findings: Vec<Finding> = done
            .iter()
            .filter(|c| c.status == "COMPLETE")
            .flat_map(|c| c.findings.iter().cloned())
            .collect();
        sort_findings(&mut findings);
        let description = match status {
            "COMPLETE" => COMPLETE_DESCRIPTION.to_owned(),
            "IN_PROGRESS" => "The scan is in progress.".to_owned(),
            _ => done
                .iter()
                .filter(|c| c.status == status)
                .map(|c| c.description.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        };
        Ok(Some(ScanView {
            status: status.to_owned(),
            description: format!(
                "{description} (an index: {} platform image(s))",
                children.len()
            ),
            completed_at: done.iter().filter_map(|c| c.completed_at).max(),
            source_updated_at: done.iter().filter_map(|c| c.source_updated_at).min(),
            findings,
            sbom_digest: None,
        }))
    }
}
