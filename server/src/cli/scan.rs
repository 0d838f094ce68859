//! `berth scan` (scan an image and wait for it) and `berth scan-history`
//! (the findings that appeared and disappeared).

use super::{open, CliResult};
use berth::config::Settings;
use berth::console;
use berth::installation::Open;

/// `REPOSITORY[:TAG|@DIGEST]` as a repository and a reference.
pub(super) fn image_reference(image: &str) -> Result<(&str, berth::service::ManifestRef), String> {
    use berth::service::ManifestRef;
    if let Some((name, digest)) = image.split_once('@') {
        let digest = berth_app::oci::Digest::parse(digest)
            .map_err(|e| format!("{image:?}: the digest is malformed: {e}"))?;
        return Ok((name, ManifestRef::Digest(digest)));
    }
    let (name, tag) = image.split_once(':').unwrap_or((image, "latest"));
    berth_app::oci::validate_tag(tag).map_err(|e| format!("{image:?}: {e}"))?;
    Ok((name, ManifestRef::Tag(tag.to_owned())))
}

/// The exit code of `berth scan` for an image it cannot scan
/// (`UNSUPPORTED_IMAGE`: no OS or package recognised): not 0, since no
/// vulnerability was looked for, and not 1, which says the scan failed.
pub const UNSUPPORTED_IMAGE_EXIT: u8 = 3;

/// How a `berth scan` that printed its result ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanEnded {
    /// `COMPLETE`: exit 0.
    Complete,
    /// `UNSUPPORTED_IMAGE`: exit [`UNSUPPORTED_IMAGE_EXIT`].
    Unsupported,
}

/// `berth scan REPOSITORY[:TAG|@DIGEST] [--json]`: scans now and waits; fails
/// (exit 1) when the scan fails, and ends [`ScanEnded::Unsupported`] for an
/// image of no known OS or package.
pub async fn run(settings: Settings, image: &str, json: bool) -> Result<ScanEnded, String> {
    use berth::service::scans::severity_name;
    let (name, reference) = image_reference(image)?;
    let installation = open(settings, Open::Existing).await?;
    let (digest, view) = installation
        .registry
        .scan_and_wait(name, &reference)
        .await
        .map_err(|e| e.to_string())?;
    let counts: std::collections::BTreeMap<&str, usize> = view
        .severity_counts()
        .into_iter()
        .map(|(severity, n)| (severity_name(severity), n))
        .collect();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "repositoryName": name,
                "imageDigest": digest,
                "imageScanStatus": {"status": view.status, "description": view.description},
                "findingSeverityCounts": counts,
                "findings": view.findings.len(),
                "sbomDigest": view.sbom_digest,
            })
        );
    } else {
        println!("{name}@{digest}: {} ({})", view.status, view.description);
        if view.status == "COMPLETE" {
            println!("{} finding(s)", view.findings.len());
            for (severity, n) in &counts {
                println!("  {severity:<14} {n}");
            }
            if let Some(sbom) = &view.sbom_digest {
                println!("SBOM: {name}@{sbom}");
            }
        }
    }
    match view.status.as_str() {
        "FAILED" => Err(format!(
            "the scan of {name}@{digest} failed: {}",
            view.description
        )),
        "UNSUPPORTED_IMAGE" => {
            eprintln!(
                "berth: {name}@{digest} is not a supported image, so it was not checked for vulnerabilities: {}",
                view.description
            );
            Ok(ScanEnded::Unsupported)
        }
        _ => Ok(ScanEnded::Complete),
    }
}

/// `berth scan-history REPOSITORY[:TAG|@DIGEST] [--json]`.
pub async fn history(settings: Settings, image: &str, json: bool) -> CliResult {
    let (name, reference) = image_reference(image)?;
    let installation = open(settings, Open::Existing).await?;
    let events = installation
        .registry
        .finding_events(name, &reference)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        let list: Vec<_> = events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "event": e.event,
                    "name": e.name,
                    "packageName": e.package_name,
                    "packageVersion": e.package_version,
                    "at": console::format_utc(e.at),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for e in &events {
            println!(
                "{} {:<12} {} in {} {}",
                console::format_utc(e.at),
                e.event,
                e.name,
                e.package_name,
                e.package_version
            );
        }
        println!("{} change(s)", events.len());
    }
    Ok(())
}
