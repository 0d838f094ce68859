//! Managed signing: PutSigningConfiguration, GetSigningConfiguration,
//! DeleteSigningConfiguration (checked and kept by `service::signing`) and
//! DescribeImageSigningStatus (each profile's signing of an image, done in
//! the background after the push).

use super::scanning::resolve_image;
use super::wire::{self, decode, encode, repository_name, ImageIdentifier, NoInput};
use super::{Call, EcrError};
use crate::service::signing::SigningConfiguration;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn not_found(call: &Call<'_>) -> EcrError {
    EcrError::SigningConfigurationNotFound(format!(
        "The registry with id '{}' has no signing configuration; set one with PutSigningConfiguration",
        call.state.info.registry_id
    ))
}

/// The output of Get- and DeleteSigningConfiguration.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegistryOutput {
    registry_id: String,
    signing_configuration: SigningConfiguration,
}

/// `PutSigningConfiguration`: replaces the registry's signing rules.
pub async fn put(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Input {
        signing_configuration: SigningConfiguration,
    }
    let input: Input = decode(input)?;
    call.state
        .registry
        .put_signing_configuration(&input.signing_configuration)
        .await?
        .map_err(EcrError::Validation)?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output {
        signing_configuration: SigningConfiguration,
    }
    encode(&Output {
        signing_configuration: input.signing_configuration,
    })
}

/// The answer of Get- and DeleteSigningConfiguration: the configuration
/// there was, or `SigningConfigurationNotFoundException`.
fn registry_output(
    call: &Call<'_>,
    config: Option<SigningConfiguration>,
) -> Result<Value, EcrError> {
    let config = config.ok_or_else(|| not_found(call))?;
    encode(&RegistryOutput {
        registry_id: call.state.info.registry_id.clone(),
        signing_configuration: config,
    })
}

/// `GetSigningConfiguration`.
pub async fn get(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let NoInput {} = decode(input)?;
    let config = call.state.registry.signing_configuration().await?;
    registry_output(call, config)
}

/// `DeleteSigningConfiguration`: later pushes are not signed; signatures
/// already made stay.
pub async fn delete(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let NoInput {} = decode(input)?;
    let config = call.state.registry.delete_signing_configuration().await?;
    registry_output(call, config)
}

/// ECR's `ImageSigningStatus`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageSigningStatus {
    signing_profile_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    status: String,
}

/// `DescribeImageSigningStatus`: the image's signing per profile whose rule
/// covered it when it was pushed (an empty list when none did).
pub async fn describe_image_signing_status(
    call: &Call<'_>,
    input: Value,
) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Input {
        repository_name: String,
        image_id: ImageIdentifier,
        registry_id: Option<String>,
    }
    let input: Input = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let (image_id, reference) = resolve_image(call, name, input.image_id).await?;
    let (_, rows) = call
        .state
        .registry
        .image_signing_status(name, &reference)
        .await?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output {
        repository_name: String,
        image_id: ImageIdentifier,
        registry_id: String,
        signing_statuses: Vec<ImageSigningStatus>,
    }
    encode(&Output {
        repository_name: name.to_owned(),
        image_id,
        registry_id: call.state.info.registry_id.clone(),
        signing_statuses: rows
            .into_iter()
            .map(|r| ImageSigningStatus {
                signing_profile_arn: r.profile_arn,
                failure_code: r.failure_code,
                failure_reason: r.failure_reason,
                status: r.status,
            })
            .collect(),
    })
}
