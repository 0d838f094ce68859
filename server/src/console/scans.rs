//! Image scans for the console: status, findings and "Scan now" through
//! `service::scans` (as DescribeImageScanFindings and StartImageScan), and
//! the SBOM referrer's document read back through the service like any
//! image's manifest and blob.

use super::{format_utc, from_service, internal, ConsoleRequest};
use crate::auth::authorize::Resource;
use crate::service::scans::{severity_name, ScanView};
use crate::service::{ManifestRef, ServiceError};
use berth_app::console::api::scans::{
    FindingView, ScanBackend, ScanReport, ScanSummary, SeverityCount,
};
use berth_app::console::ConsoleError;
use berth_app::oci::Digest;
use futures_util::StreamExt;

/// The largest SBOM the console serves (one of a big image is a few MiB).
const SBOM_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A scan in short, for the images table.
pub(super) fn summary_of(view: &ScanView) -> ScanSummary {
    ScanSummary {
        status: view.status.clone(),
        description: view.description.clone(),
        counts: view
            .severity_counts()
            .into_iter()
            .map(|(severity, count)| SeverityCount {
                severity: severity_name(severity).to_owned(),
                count: count as u64,
            })
            .collect(),
    }
}

fn digest_of(digest: &str) -> Result<Digest, ConsoleError> {
    Digest::parse(digest).map_err(|e| ConsoleError::NotFound(format!("No such image: {e}")))
}

/// A service failure of a scan call in the console's terms.
fn scan_error(error: ServiceError) -> ConsoleError {
    match error {
        ServiceError::UnsupportedImageType(why) => {
            ConsoleError::Conflict(format!("This is not an image Berth can scan: {why}."))
        }
        other => from_service(other, "digest"),
    }
}

impl ConsoleRequest {
    /// The latest scan of each image, for the images table; `None` for those
    /// never scanned.
    pub(super) async fn scan_summary(
        &self,
        name: &str,
        digest: &str,
    ) -> Result<Option<ScanSummary>, ConsoleError> {
        let digest = digest_of(digest)?;
        let scan = self
            .console
            .registry
            .image_scan(name, &ManifestRef::Digest(digest))
            .await
            .map_err(scan_error)?;
        Ok(scan.map(|(_, view)| summary_of(&view)))
    }
}

#[async_trait::async_trait]
impl ScanBackend for ConsoleRequest {
    async fn image_scan(&self, name: &str, digest: &str) -> Result<ScanReport, ConsoleError> {
        self.allowed("ecr:DescribeImageScanFindings", Resource::Repository(name))
            .await?;
        let parsed = digest_of(digest)?;
        let scan = self
            .console
            .registry
            .image_scan(name, &ManifestRef::Digest(parsed))
            .await
            .map_err(scan_error)?;
        let Some((digest, view)) = scan else {
            return Ok(ScanReport {
                digest: digest.to_owned(),
                summary: None,
                completed_at: None,
                database_updated_at: None,
                findings: Vec::new(),
                sbom_digest: None,
            });
        };
        Ok(ScanReport {
            digest,
            summary: Some(summary_of(&view)),
            completed_at: view.completed_at.map(format_utc),
            database_updated_at: view.source_updated_at.map(format_utc),
            findings: view
                .findings
                .into_iter()
                .map(|f| FindingView {
                    name: f.name,
                    ids: f.ids,
                    description: f.description,
                    uri: f.uri,
                    severity: severity_name(f.severity).to_owned(),
                    cvss3_score: f.cvss3_score.map(|s| format!("{s:.1}")),
                    package_name: f.package_name,
                    package_version: f.package_version,
                    ecosystem: f.ecosystem,
                    fixed_version: f.fixed_version,
                    layer: f.layer,
                    path: f.path,
                })
                .collect(),
            sbom_digest: view.sbom_digest,
        })
    }

    async fn start_image_scan(&self, name: &str, digest: &str) -> Result<(), ConsoleError> {
        let identity = self
            .allowed("ecr:StartImageScan", Resource::Repository(name))
            .await?;
        let digest = digest_of(digest)?;
        self.console
            .registry
            .start_image_scan(name, &ManifestRef::Digest(digest.clone()))
            .await
            .map_err(scan_error)?;
        tracing::info!(user = %identity.name, repository = name, %digest, "scan started in the console");
        Ok(())
    }

    async fn image_sbom(
        &self,
        name: &str,
        digest: &str,
    ) -> Result<serde_json::Value, ConsoleError> {
        self.allowed("ecr:BatchGetImage", Resource::Repository(name))
            .await?;
        let registry = &self.console.registry;
        let digest = digest_of(digest)?;
        let no_sbom = || {
            ConsoleError::NotFound(format!(
                "The image {digest} has no SBOM: it has no complete scan."
            ))
        };
        let scan = registry
            .image_scan(name, &ManifestRef::Digest(digest.clone()))
            .await
            .map_err(scan_error)?;
        let sbom = scan
            .and_then(|(_, view)| view.sbom_digest)
            .ok_or_else(no_sbom)?;
        let sbom = digest_of(&sbom)?;
        let stored = registry
            .get_manifest(name, &ManifestRef::Digest(sbom.clone()), false)
            .await
            .map_err(|e| from_service(e, "digest"))?;
        let manifest: serde_json::Value = serde_json::from_slice(&stored.body).map_err(internal)?;
        let layer = manifest
            .pointer("/layers/0/digest")
            .and_then(|d| d.as_str())
            .ok_or_else(|| internal(format!("the SBOM manifest {sbom} has no layer")))?;
        let layer = Digest::parse(layer).map_err(internal)?;
        let read = registry
            .read_blob(name, &layer, None, true)
            .await
            .map_err(|e| from_service(e, "digest"))?;
        if read.size > SBOM_MAX_BYTES {
            return Err(internal(format!(
                "the SBOM {layer} is {} bytes, over the console's limit",
                read.size
            )));
        }
        let mut bytes = Vec::with_capacity(read.size as usize);
        if let Some(mut body) = read.body {
            while let Some(chunk) = body.next().await {
                bytes.extend_from_slice(&chunk.map_err(internal)?);
            }
        }
        let document: serde_json::Value = serde_json::from_slice(&bytes).map_err(internal)?;
        // Answered as a file to save, named after the image.
        if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            let file = format!(
                "{}-{}.cdx.json",
                name.replace('/', "_"),
                digest
                    .to_string()
                    .trim_start_matches("sha256:")
                    .get(..12)
                    .unwrap_or("sbom")
            );
            if let Ok(value) =
                axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
            {
                options.insert_header(axum::http::header::CONTENT_DISPOSITION, value);
            }
        }
        Ok(document)
    }
}
