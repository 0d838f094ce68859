//! Image scans: an image's scan status (the images table's column), its
//! findings (what `aws ecr describe-image-scan-findings` returns), the SBOM
//! referrer its scan stored, and "Scan now" (StartImageScan).

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// ECR's severities, most severe first.
pub const SEVERITIES: [&str; 6] = [
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNDEFINED",
];

/// How many findings of one severity a scan found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCount {
    /// ECR's severity name (`CRITICAL`, …).
    pub severity: String,
    /// Findings of that severity.
    pub count: u64,
}

/// An image's latest scan, in short (the images table's column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// ECR's `ScanStatus`: `IN_PROGRESS`, `COMPLETE`, `FAILED`, `UNSUPPORTED_IMAGE`.
    pub status: String,
    /// Why it failed or is unsupported (ECR's `description`).
    pub description: String,
    /// Findings per severity present, most severe first (complete scans).
    pub counts: Vec<SeverityCount>,
}

/// ECR's status in words, with the counts of a complete scan: "Complete — 3
/// critical, 5 high", "In progress", "Failed: <reason>", "Unsupported image:
/// <reason>", "Not scanned".
pub fn scan_status_text(scan: Option<&ScanSummary>) -> String {
    let Some(scan) = scan else {
        return "Not scanned".into();
    };
    match scan.status.as_str() {
        "COMPLETE" => {
            let counts: Vec<String> = scan
                .counts
                .iter()
                .filter(|c| c.count > 0)
                .map(|c| format!("{} {}", c.count, c.severity.to_lowercase()))
                .collect();
            if counts.is_empty() {
                "Complete — no findings".into()
            } else {
                format!("Complete — {}", counts.join(", "))
            }
        }
        "IN_PROGRESS" | "PENDING" => "In progress".into(),
        "FAILED" => format!("Failed: {}", scan.description),
        "UNSUPPORTED_IMAGE" => format!("Unsupported image: {}", scan.description),
        other => format!("{other}: {}", scan.description),
    }
}

/// One finding: a vulnerability of one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingView {
    /// CVE id, else the advisory's id.
    pub name: String,
    /// Every id folded into it (aliases).
    pub ids: Vec<String>,
    /// The advisory's summary.
    pub description: String,
    /// Where to read more.
    pub uri: Option<String>,
    /// ECR's severity name.
    pub severity: String,
    /// CVSS v3 base score, formatted (`9.8`).
    pub cvss3_score: Option<String>,
    /// The package, as installed.
    pub package_name: String,
    /// Its installed version.
    pub package_version: String,
    /// Its OSV ecosystem (`Debian:12`, `PyPI`, …).
    pub ecosystem: String,
    /// The lowest version that fixes it, when the advisory names one.
    pub fixed_version: Option<String>,
    /// The layer digest the package was found in.
    pub layer: String,
    /// The file that recorded the package.
    pub path: String,
}

/// An image's scan, in full, for its findings section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// The manifest digest.
    pub digest: String,
    /// The latest scan; `None` when it was never scanned.
    pub summary: Option<ScanSummary>,
    /// When it ended, in UTC.
    pub completed_at: Option<String>,
    /// When the vulnerability database it was matched against last changed, in UTC.
    pub database_updated_at: Option<String>,
    /// The findings, most severe first.
    pub findings: Vec<FindingView>,
    /// The digest of the CycloneDX SBOM referrer the scan stored.
    pub sbom_digest: Option<String>,
}

impl ScanReport {
    /// Whether a scan is under way.
    pub fn in_progress(&self) -> bool {
        self.summary
            .as_ref()
            .is_some_and(|s| s.status == "IN_PROGRESS")
    }
}

/// Whether an image is one a scan reads (an image or an index), rather than
/// an artifact such as an SBOM or a signature: the image page offers its
/// scan section only then.
pub fn is_scannable(image: &super::repositories::ImageSummary) -> bool {
    const IMAGE_CONFIGS: [&str; 2] = [
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    ];
    image.subject.is_none()
        && image
            .artifact_type
            .as_deref()
            .is_none_or(|t| IMAGE_CONFIGS.contains(&t))
}

/// How the findings table is filtered and sorted (the page's URL query).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingQuery {
    /// Only this severity (`HIGH`, …); empty for all.
    pub severity: String,
    /// Text the package name must contain (any case); empty for all.
    pub package: String,
    /// Only findings with a fixed version.
    pub fixable: bool,
    /// `severity` (default), `name` or `package`.
    pub sort: String,
}

fn severity_rank(severity: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(SEVERITIES.len())
}

/// The findings `query` selects, in its order (ties by severity, name, package).
pub fn select_findings(findings: &[FindingView], query: &FindingQuery) -> Vec<FindingView> {
    let needle = query.package.trim().to_lowercase();
    let mut out: Vec<FindingView> = findings
        .iter()
        .filter(|f| query.severity.is_empty() || f.severity == query.severity)
        .filter(|f| needle.is_empty() || f.package_name.to_lowercase().contains(&needle))
        .filter(|f| !query.fixable || f.fixed_version.is_some())
        .cloned()
        .collect();
    let by_severity = |a: &FindingView, b: &FindingView| {
        severity_rank(&a.severity).cmp(&severity_rank(&b.severity))
    };
    out.sort_by(|a, b| match query.sort.as_str() {
        "name" => a.name.cmp(&b.name).then(by_severity(a, b)),
        "package" => a
            .package_name
            .cmp(&b.package_name)
            .then(by_severity(a, b))
            .then(a.name.cmp(&b.name)),
        _ => by_severity(a, b)
            .then(a.name.cmp(&b.name))
            .then(a.package_name.cmp(&b.package_name)),
    });
    out
}

/// The server side of this module's functions.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait ScanBackend {
    /// An image's latest scan and findings (`ecr:DescribeImageScanFindings`).
    async fn image_scan(&self, name: &str, digest: &str) -> Result<ScanReport, ConsoleError>;
    /// Queues a scan of the image (`ecr:StartImageScan`).
    async fn start_image_scan(&self, name: &str, digest: &str) -> Result<(), ConsoleError>;
    /// The CycloneDX SBOM the image's latest scan stored, as a download
    /// (`ecr:BatchGetImage`).
    async fn image_sbom(&self, name: &str, digest: &str)
        -> Result<serde_json::Value, ConsoleError>;
}

/// An image's scan and findings.
#[server(endpoint = "image_scan")]
pub async fn image_scan(name: String, digest: String) -> Result<ScanReport, ConsoleError> {
    super::backend()?.image_scan(&name, &digest).await
}

/// "Scan now": queues a scan of the image.
#[server(endpoint = "start_image_scan")]
pub async fn start_image_scan(name: String, digest: String) -> Result<(), ConsoleError> {
    super::backend()?.start_image_scan(&name, &digest).await
}

/// The image's SBOM (CycloneDX JSON), answered as a file to save; a plain
/// link (`GET /api/image_sbom?name=…&digest=…`) downloads it.
#[server(endpoint = "image_sbom", input = leptos::server_fn::codec::GetUrl)]
pub async fn image_sbom(name: String, digest: String) -> Result<serde_json::Value, ConsoleError> {
    super::backend()?.image_sbom(&name, &digest).await
}

/// The link that downloads an image's SBOM.
pub fn sbom_href(name: &str, digest: &str) -> String {
    format!(
        "/api/image_sbom?name={}&digest={}",
        crate::console::widgets::query_escape(name),
        crate::console::widgets::query_escape(digest)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(name: &str, severity: &str, package: &str, fixed: Option<&str>) -> FindingView {
        FindingView {
            name: name.into(),
            ids: vec![name.into()],
            description: String::new(),
            uri: None,
            severity: severity.into(),
            cvss3_score: None,
            package_name: package.into(),
            package_version: "1".into(),
            ecosystem: "Debian:12".into(),
            fixed_version: fixed.map(Into::into),
            layer: "sha256:aa".into(),
            path: "var/lib/dpkg/status".into(),
        }
    }

    #[test]
    fn images_and_indexes_are_scannable_artifacts_are_not() {
        let mut image = super::super::repositories::ImageSummary {
            digest: "sha256:aa".into(),
            tags: vec!["v1".into()],
            size: 1,
            pushed_at: String::new(),
            last_pulled_at: None,
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            artifact_type: Some("application/vnd.oci.image.config.v1+json".into()),
            subject: None,
            scan: None,
        };
        assert!(is_scannable(&image));
        image.artifact_type = None;
        image.media_type = "application/vnd.oci.image.index.v1+json".into();
        assert!(is_scannable(&image));
        image.artifact_type = Some("application/vnd.cyclonedx+json".into());
        assert!(!is_scannable(&image));
        image.artifact_type = Some("application/vnd.oci.image.config.v1+json".into());
        image.subject = Some("sha256:bb".into());
        assert!(!is_scannable(&image));
    }

    #[test]
    fn the_status_column_says_what_the_scan_found() {
        assert_eq!(scan_status_text(None), "Not scanned");
        let mut scan = ScanSummary {
            status: "COMPLETE".into(),
            description: "The scan was completed successfully.".into(),
            counts: vec![
                SeverityCount {
                    severity: "CRITICAL".into(),
                    count: 3,
                },
                SeverityCount {
                    severity: "HIGH".into(),
                    count: 5,
                },
            ],
        };
        assert_eq!(
            scan_status_text(Some(&scan)),
            "Complete — 3 critical, 5 high"
        );
        scan.counts.clear();
        assert_eq!(scan_status_text(Some(&scan)), "Complete — no findings");
        scan.status = "IN_PROGRESS".into();
        assert_eq!(scan_status_text(Some(&scan)), "In progress");
        scan.status = "FAILED".into();
        scan.description = "layer 2 expands past the limit".into();
        assert_eq!(
            scan_status_text(Some(&scan)),
            "Failed: layer 2 expands past the limit"
        );
        scan.status = "UNSUPPORTED_IMAGE".into();
        scan.description = "no OS or package recognised".into();
        assert_eq!(
            scan_status_text(Some(&scan)),
            "Unsupported image: no OS or package recognised"
        );
    }

    #[test]
    fn findings_are_filtered_and_sorted() {
        let all = vec![
            finding("CVE-2024-2", "LOW", "zlib1g", None),
            finding("CVE-2024-1", "HIGH", "openssl", Some("3.0.14-1")),
            finding("CVE-2024-3", "CRITICAL", "libssl3", None),
            finding("CVE-2024-4", "HIGH", "OpenSSL-tools", None),
        ];
        let names = |q: &FindingQuery| -> Vec<String> {
            select_findings(&all, q)
                .into_iter()
                .map(|f| f.name)
                .collect()
        };
        assert_eq!(
            names(&FindingQuery::default()),
            ["CVE-2024-3", "CVE-2024-1", "CVE-2024-4", "CVE-2024-2"]
        );
        let by_name = FindingQuery {
            sort: "name".into(),
            ..Default::default()
        };
        assert_eq!(
            names(&by_name),
            ["CVE-2024-1", "CVE-2024-2", "CVE-2024-3", "CVE-2024-4"]
        );
        let by_package = FindingQuery {
            sort: "package".into(),
            ..Default::default()
        };
        assert_eq!(
            names(&by_package),
            ["CVE-2024-4", "CVE-2024-3", "CVE-2024-1", "CVE-2024-2"]
        );
        let high = FindingQuery {
            severity: "HIGH".into(),
            ..Default::default()
        };
        assert_eq!(names(&high), ["CVE-2024-1", "CVE-2024-4"]);
        let ssl = FindingQuery {
            package: " openssl".into(),
            ..Default::default()
        };
        assert_eq!(names(&ssl), ["CVE-2024-1", "CVE-2024-4"]);
        let fixable = FindingQuery {
            fixable: true,
            ..Default::default()
        };
        assert_eq!(names(&fixable), ["CVE-2024-1"]);
    }
}
