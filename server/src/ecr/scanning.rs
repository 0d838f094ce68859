//! Scanning: the configuration (PutRegistryScanningConfiguration,
//! GetRegistryScanningConfiguration, BatchGetRepositoryScanningConfiguration,
//! validated and applied by `service::scanning`), and scans
//! (StartImageScan, DescribeImageScanFindings, and the scan members of
//! DescribeImages), run by `service::scans`.

use super::wire::{
    self, decode, encode, image_id, repository_name, ImageIdentifier, NoInput, Timestamp,
};
use super::{Call, EcrError};
use crate::scan::Finding;
use crate::service::scanning::{
    self, RegistryScanningConfiguration, RepositoryFilter, ScanningRule,
};
use crate::service::scans::{self, ScanView};
use crate::service::ServiceError;
use crate::service::{ImageFailure, ImageId, ManifestRef};
use berth_app::oci::Digest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

async fn current(call: &Call<'_>) -> Result<RegistryScanningConfiguration, EcrError> {
    Ok(call.state.registry.scanning_configuration().await?)
}

/// `PutRegistryScanningConfiguration`.
pub async fn put_registry(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Input {
        scan_type: Option<String>,
        rules: Option<Vec<ScanningRule>>,
    }
    let input: Input = decode(input)?;
    let config = RegistryScanningConfiguration {
        scan_type: input.scan_type.unwrap_or_else(|| "BASIC".into()),
        rules: input.rules.unwrap_or_default(),
    };
    scanning::validate(&config).map_err(|e| EcrError::InvalidParameter(e.to_string()))?;
    call.state
        .registry
        .set_scanning_configuration(&config)
        .await?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output {
        registry_scanning_configuration: RegistryScanningConfiguration,
    }
    encode(&Output {
        registry_scanning_configuration: config,
    })
}

/// `GetRegistryScanningConfiguration`.
pub async fn get_registry(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let NoInput {} = decode(input)?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output {
        registry_id: String,
        scanning_configuration: RegistryScanningConfiguration,
    }
    encode(&Output {
        registry_id: call.state.info.registry_id.clone(),
        scanning_configuration: current(call).await?,
    })
}

/// ECR's `RepositoryScanningConfiguration`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryScanningConfiguration<'a> {
    repository_arn: String,
    repository_name: String,
    scan_on_push: bool,
    scan_frequency: &'a str,
    applied_scan_filters: Vec<&'a RepositoryFilter>,
}

/// ECR's `RepositoryScanningConfigurationFailure`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryScanningConfigurationFailure {
    repository_name: String,
    failure_code: &'static str,
    failure_reason: &'static str,
}

/// `BatchGetRepositoryScanningConfiguration`: what applies to each repository.
pub async fn batch_get_repository(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Input {
        repository_names: Vec<String>,
    }
    let input: Input = decode(input)?;
    if !(1..=25).contains(&input.repository_names.len()) {
        return Err(EcrError::InvalidParameter(
            "repositoryNames must hold 1 to 25 names".into(),
        ));
    }
    let config = current(call).await?;
    let (mut found, mut failures) = (Vec::new(), Vec::new());
    for name in &input.repository_names {
        let name = repository_name(name)?;
        let repo = match call.state.registry.repository(name).await {
            Ok(repo) => repo,
            Err(ServiceError::RepositoryUnknown { .. }) => {
                failures.push(RepositoryScanningConfigurationFailure {
                    repository_name: name.to_owned(),
                    failure_code: "REPOSITORY_NOT_FOUND",
                    failure_reason: "REPOSITORY_NOT_FOUND",
                });
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let applied = scanning::applied(&config, name, repo.scan_on_push);
        found.push(RepositoryScanningConfiguration {
            repository_arn: call.state.info.repository_arn(name),
            repository_name: name.to_owned(),
            scan_on_push: applied.frequency == "SCAN_ON_PUSH",
            scan_frequency: applied.frequency,
            applied_scan_filters: applied.filters,
        });
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output<'a> {
        scanning_configurations: Vec<RepositoryScanningConfiguration<'a>>,
        failures: Vec<RepositoryScanningConfigurationFailure>,
    }
    encode(&Output {
        scanning_configurations: found,
        failures,
    })
}

/// ECR's `ImageScanStatus`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ImageScanStatus {
    status: String,
    description: String,
}

/// ECR's `ImageScanFindingsSummary`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ImageScanFindingsSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    image_scan_completed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vulnerability_source_updated_at: Option<Timestamp>,
    finding_severity_counts: BTreeMap<&'static str, usize>,
}

/// The status and summary DescribeImages shows of an image's scan.
pub(super) fn summary(view: &ScanView) -> (ImageScanStatus, Option<ImageScanFindingsSummary>) {
    let status = ImageScanStatus {
        status: view.status.clone(),
        description: view.description.clone(),
    };
    let summary = (view.status == "COMPLETE").then(|| ImageScanFindingsSummary {
        image_scan_completed_at: view.completed_at.map(Timestamp),
        vulnerability_source_updated_at: view.source_updated_at.map(Timestamp),
        finding_severity_counts: counts(view),
    });
    (status, summary)
}

fn counts(view: &ScanView) -> BTreeMap<&'static str, usize> {
    view.severity_counts()
        .into_iter()
        .map(|(severity, n)| (scans::severity_name(severity), n))
        .collect()
}

/// What StartImageScan and DescribeImageScanFindings both answer with: the
/// image and its scan status.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScannedImage {
    registry_id: String,
    repository_name: String,
    image_id: ImageIdentifier,
    image_scan_status: ImageScanStatus,
}

/// The image an `ImageIdentifier` names, as `(imageId to answer with, digest)`
/// (scanning and signing).
pub(super) async fn resolve_image(
    call: &Call<'_>,
    name: &str,
    id: ImageIdentifier,
) -> Result<(ImageIdentifier, ManifestRef), EcrError> {
    let given = ImageId::from(id);
    let found = call
        .state
        .registry
        .find_images(name, std::slice::from_ref(&given))
        .await?;
    match found.into_iter().next() {
        Some(Ok((_, image))) => {
            let digest = Digest::parse(&image.digest).map_err(|_| EcrError::Server)?;
            Ok((
                ImageIdentifier {
                    image_digest: Some(image.digest.clone()),
                    image_tag: given.tag.clone(),
                },
                ManifestRef::Digest(digest),
            ))
        }
        Some(Err((id, failure))) => Err(match failure {
            ImageFailure::ImageNotFound | ImageFailure::ImageTagDoesNotMatchDigest => {
                EcrError::ImageNotFound(format!(
                    "The image with imageId {} does not exist within the repository with name '{name}' in the registry with id '{}': {}",
                    serde_json::json!(image_id(&id)),
                    call.state.info.registry_id,
                    failure.reason()
                ))
            }
            // A malformed or empty imageId names no image: say what is wrong
            // with it rather than that an image does not exist.
            _ => EcrError::InvalidParameter(format!(
                "Invalid parameter at 'imageId' {}: {}",
                serde_json::json!(image_id(&id)),
                failure.reason()
            )),
        }),
        None => Err(EcrError::Server),
    }
}

/// `StartImageScan`: queues a scan of the image; it runs in the background
/// (`aws ecr wait image-scan-complete` waits for it).
pub async fn start_image_scan(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Input {
        registry_id: Option<String>,
        repository_name: String,
        image_id: ImageIdentifier,
    }
    let input: Input = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let (image_id, reference) = resolve_image(call, name, input.image_id).await?;
    call.state
        .registry
        .start_image_scan(name, &reference)
        .await?;
    encode(&ScannedImage {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name.to_owned(),
        image_id,
        image_scan_status: ImageScanStatus {
            status: "IN_PROGRESS".into(),
            description: "The scan is in progress.".into(),
        },
    })
}

/// ECR's `Attribute`.
#[derive(Serialize)]
struct Attribute {
    key: &'static str,
    value: String,
}

/// ECR's `ImageScanFinding`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageScanFinding {
    name: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    severity: &'static str,
    attributes: Vec<Attribute>,
}

fn finding(f: &Finding) -> ImageScanFinding {
    let mut attributes = vec![
        Attribute {
            key: "package_name",
            value: f.package_name.clone(),
        },
        Attribute {
            key: "package_version",
            value: f.package_version.clone(),
        },
    ];
    if let Some(score) = f.cvss3_score {
        attributes.push(Attribute {
            key: "CVSS3_SCORE",
            value: format!("{score:.1}"),
        });
    }
    if let Some(vector) = &f.cvss3_vector {
        attributes.push(Attribute {
            key: "CVSS3_VECTOR",
            value: vector.clone(),
        });
    }
    if let Some(fixed) = &f.fixed_version {
        attributes.push(Attribute {
            key: "fixed_version",
            value: fixed.clone(),
        });
    }
    attributes.extend([
        Attribute {
            key: "ecosystem",
            value: f.ecosystem.clone(),
        },
        Attribute {
            key: "layer_digest",
            value: f.layer.clone(),
        },
        Attribute {
            key: "file_path",
            value: f.path.clone(),
        },
    ]);
    ImageScanFinding {
        name: f.name.clone(),
        description: f.description.clone(),
        uri: f.uri.clone(),
        severity: scans::severity_name(f.severity),
        attributes,
    }
}

/// `DescribeImageScanFindings`: the image's scan status and, once complete,
/// its findings (most severe first), `maxResults` (default 100) a page.
pub async fn describe_image_scan_findings(
    call: &Call<'_>,
    input: Value,
) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Input {
        registry_id: Option<String>,
        repository_name: String,
        image_id: ImageIdentifier,
        next_token: Option<String>,
        max_results: Option<i64>,
    }
    let input: Input = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let limit = wire::max_results(input.max_results, 100, 1000)?;
    let start = wire::position(input.next_token.as_deref())?
        .map(|p| p.as_u64().map(|n| n as usize))
        .map(|p| {
            p.ok_or_else(|| {
                EcrError::InvalidParameter(
                    "Invalid parameter: nextToken is not one this registry issued".into(),
                )
            })
        })
        .transpose()?
        .unwrap_or(0);
    let (image_id, reference) = resolve_image(call, name, input.image_id).await?;
    let Some((_, view)) = call.state.registry.image_scan(name, &reference).await? else {
        return Err(EcrError::ScanNotFound(format!(
            "Image scan does not exist for the image with '{}' in the repository with name '{name}' in the registry with id '{}'",
            serde_json::json!(image_id),
            call.state.info.registry_id
        )));
    };
    /// ECR's `ImageScanFindings`: the summary, and a page of findings.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ImageScanFindings {
        #[serde(flatten)]
        summary: ImageScanFindingsSummary,
        findings: Vec<ImageScanFinding>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output {
        #[serde(flatten)]
        image: ScannedImage,
        #[serde(skip_serializing_if = "Option::is_none")]
        image_scan_findings: Option<ImageScanFindings>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_token: Option<String>,
    }
    let end = (start + limit).min(view.findings.len());
    // The summary is there once the scan is complete, and so are findings.
    let (image_scan_status, complete) = summary(&view);
    let next_token = (complete.is_some() && end < view.findings.len())
        .then(|| wire::next_token(&serde_json::json!(end)));
    let image_scan_findings = complete.map(|summary| ImageScanFindings {
        summary,
        findings: view
            .findings
            .get(start.min(end)..end)
            .unwrap_or_default()
            .iter()
            .map(finding)
            .collect(),
    });
    encode(&Output {
        image: ScannedImage {
            registry_id: call.state.info.registry_id.clone(),
            repository_name: name.to_owned(),
            image_id,
            image_scan_status,
        },
        image_scan_findings,
        next_token,
    })
}
