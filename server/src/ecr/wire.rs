//! Shapes shared by the ECR operations, as botocore's model (`ecr/2015-09-21`)
//! names them: decoding inputs (every input struct denies members it does not
//! know, so none is silently dropped), encoding outputs, timestamps,
//! repository and image shapes, name checks and pagination tokens.

use super::{Call, EcrError};
use crate::service;
use crate::service::ImageId;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// Decodes an operation's input, naming the offending member on error. An
/// absent body is an empty object, so an operation with required members
/// refuses it by name.
pub fn decode<T: DeserializeOwned>(input: Value) -> Result<T, EcrError> {
    serde_json::from_value(input)
        .map_err(|e| EcrError::InvalidParameter(format!("Invalid parameter: {e}")))
}

/// Encodes an operation's output.
pub fn encode<T: Serialize>(output: &T) -> Result<Value, EcrError> {
    serde_json::to_value(output).map_err(|e| {
        tracing::error!(error = %e, "could not encode an ECR output");
        EcrError::Server
    })
}

/// An operation's input with no members (`{}`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoInput {}

/// A model output member Berth never sends, because what it would say is not
/// built or not recorded (scan results, the archive storage class, a layer's
/// media type). Uninhabited: an output struct carries the member, and no code
/// can fill it by mistake.
#[derive(Debug, Serialize)]
pub enum Absent {}

/// Epoch milliseconds, sent as the JSON protocol's timestamps (seconds, fractional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0 as f64 / 1000.0)
    }
}

/// Checks a repository name against ECR's rule.
pub fn repository_name(name: &str) -> Result<&str, EcrError> {
    berth_app::oci::validate_repository_name(name).map_err(|e| {
        EcrError::InvalidParameter(format!(
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: {e}"
        ))
    })?;
    Ok(name)
}

/// Refuses a registry id that is not this registry's.
pub fn registry_id(call: &Call<'_>, given: Option<&str>) -> Result<(), EcrError> {
    match given {
        Some(id) if id != call.state.info.registry_id => Err(EcrError::InvalidParameter(format!(
            "registryId {id} is not this registry ({})",
            call.state.info.registry_id
        ))),
        _ => Ok(()),
    }
}

/// ECR's `ImageTagMutabilityExclusionFilter`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExclusionFilter {
    /// `filterType`: `WILDCARD`, the only type.
    pub filter_type: String,
    /// `filter`.
    pub filter: String,
}

/// Exclusion filters as ECR's list of `{filterType, filter}`.
pub fn exclusion_filters(filters: &[String]) -> Vec<ExclusionFilter> {
    filters
        .iter()
        .map(|f| ExclusionFilter {
            filter_type: "WILDCARD".into(),
            filter: f.clone(),
        })
        .collect()
}

/// ECR's `ImageScanningConfiguration`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageScanningConfiguration {
    /// `scanOnPush`.
    #[serde(default)]
    pub scan_on_push: bool,
}

/// ECR's `EncryptionConfiguration`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptionConfiguration {
    /// `encryptionType`.
    pub encryption_type: String,
    /// `kmsKey`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

/// ECR's `Repository`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    repository_arn: String,
    registry_id: String,
    repository_name: String,
    repository_uri: String,
    created_at: Timestamp,
    image_tag_mutability: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    image_tag_mutability_exclusion_filters: Vec<ExclusionFilter>,
    image_scanning_configuration: ImageScanningConfiguration,
    encryption_configuration: EncryptionConfiguration,
}

/// A repository as ECR's `Repository` shape.
pub fn repository(call: &Call<'_>, repo: &service::Repository) -> Repository {
    let info = &call.state.info;
    Repository {
        repository_arn: info.repository_arn(&repo.name),
        registry_id: info.registry_id.clone(),
        repository_name: repo.name.clone(),
        repository_uri: info.repository_uri(&repo.name),
        created_at: Timestamp(repo.created_at),
        image_tag_mutability: repo.tag_mutability.clone(),
        image_tag_mutability_exclusion_filters: exclusion_filters(&repo.exclusions),
        image_scanning_configuration: ImageScanningConfiguration {
            scan_on_push: repo.scan_on_push,
        },
        encryption_configuration: EncryptionConfiguration {
            encryption_type: repo.encryption_type.clone(),
            kms_key: repo.kms_key.clone(),
        },
    }
}

/// ECR's `ImageIdentifier`, in inputs and outputs (members only when present).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageIdentifier {
    /// `imageDigest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// `imageTag`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
}

impl From<ImageIdentifier> for ImageId {
    fn from(id: ImageIdentifier) -> Self {
        ImageId {
            digest: id.image_digest,
            tag: id.image_tag,
        }
    }
}

/// An image id as ECR's `ImageIdentifier`.
pub fn image_id(id: &ImageId) -> ImageIdentifier {
    ImageIdentifier {
        image_digest: id.digest.clone(),
        image_tag: id.tag.clone(),
    }
}

/// ECR's `ImageFailure`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFailure {
    /// `imageId`.
    pub image_id: ImageIdentifier,
    /// `failureCode`, one of the model's `ImageFailureCode`.
    pub failure_code: &'static str,
    /// `failureReason`.
    pub failure_reason: String,
}

/// Checks a batch of image ids is 1 to 100 long.
pub fn image_ids(ids: Vec<ImageIdentifier>) -> Result<Vec<ImageId>, EcrError> {
    if !(1..=100).contains(&ids.len()) {
        return Err(EcrError::InvalidParameter(
            "imageIds must hold 1 to 100 image identifiers".into(),
        ));
    }
    Ok(ids.into_iter().map(ImageId::from).collect())
}

/// `filter.imageStatus` (ECR's `ImageStatusFilter`) or `filter.artifactStatus`
/// (`ArtifactStatusFilter`): whether images in Berth's one status, `ACTIVE`
/// (Berth has no archive), are selected. Absent means `ACTIVE`, as in ECR.
pub fn active_selected(member: &str, given: Option<&str>) -> Result<bool, EcrError> {
    match given {
        None | Some("ACTIVE") | Some("ANY") => Ok(true),
        Some("ARCHIVED") | Some("ACTIVATING") => Ok(false),
        Some(other) => Err(EcrError::InvalidParameter(format!(
            "Invalid parameter at '{member}': must be ACTIVE, ARCHIVED, ACTIVATING or ANY, got {other:?}"
        ))),
    }
}

/// `maxResults` within `1..=max`, or `default`.
pub fn max_results(given: Option<i64>, default: usize, max: usize) -> Result<usize, EcrError> {
    match given {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(n) => Err(EcrError::InvalidParameter(format!(
            "maxResults must be between 1 and {max}, got {n}"
        ))),
    }
}

/// Encodes a pagination position as an opaque token.
pub fn next_token(position: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(position.to_string())
}

/// Decodes a token made by [`next_token`].
pub fn position(token: Option<&str>) -> Result<Option<Value>, EcrError> {
    let Some(token) = token else { return Ok(None) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .map(Some)
        .ok_or_else(|| {
            EcrError::InvalidParameter(
                "Invalid parameter: nextToken is not one this registry issued".into(),
            )
        })
}
