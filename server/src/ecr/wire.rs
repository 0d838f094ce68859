//! Shapes shared by the ECR operations: decoding inputs, encoding repositories,
//! image ids and timestamps, validating names, and pagination tokens.

use super::{Call, EcrError};
use crate::service::ImageId;
use crate::service::Repository;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// Decodes an operation's input, naming the offending field on error.
pub fn decode<T: DeserializeOwned>(input: Value) -> Result<T, EcrError> {
    serde_json::from_value(input)
        .map_err(|e| EcrError::InvalidParameter(format!("Invalid parameter: {e}")))
}

/// Milliseconds to the JSON protocol's timestamps (seconds, fractional).
pub fn timestamp(millis: i64) -> Value {
    json!(millis as f64 / 1000.0)
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

/// A repository as ECR's `Repository` shape.
pub fn repository(call: &Call<'_>, repo: &Repository) -> Value {
    let info = &call.state.info;
    let mut value = json!({
        "repositoryArn": info.repository_arn(&repo.name),
        "registryId": info.registry_id,
        "repositoryName": repo.name,
        "repositoryUri": info.repository_uri(&repo.name),
        "createdAt": timestamp(repo.created_at),
        "imageTagMutability": repo.tag_mutability,
        "imageScanningConfiguration": {"scanOnPush": repo.scan_on_push},
        "encryptionConfiguration": {"encryptionType": repo.encryption_type},
    });
    if let Some(key) = &repo.kms_key {
        value["encryptionConfiguration"]["kmsKey"] = json!(key);
    }
    if !repo.exclusions.is_empty() {
        value["imageTagMutabilityExclusionFilters"] = exclusion_filters(&repo.exclusions);
    }
    value
}

/// Exclusion filters as ECR's list of `{filterType, filter}`.
pub fn exclusion_filters(filters: &[String]) -> Value {
    Value::Array(
        filters
            .iter()
            .map(|f| json!({"filterType": "WILDCARD", "filter": f}))
            .collect(),
    )
}

/// ECR's `ImageIdentifier`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIdentifier {
    /// `imageDigest`.
    pub image_digest: Option<String>,
    /// `imageTag`.
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

/// An image id as JSON (fields only when present).
pub fn image_id(id: &ImageId) -> Value {
    let mut value = json!({});
    if let Some(d) = &id.digest {
        value["imageDigest"] = json!(d);
    }
    if let Some(t) = &id.tag {
        value["imageTag"] = json!(t);
    }
    value
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
