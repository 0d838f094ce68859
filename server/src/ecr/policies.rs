//! Resource policies: SetRepositoryPolicy, GetRepositoryPolicy,
//! DeleteRepositoryPolicy, PutRegistryPolicy, GetRegistryPolicy,
//! DeleteRegistryPolicy. Texts are validated by the service with the same
//! parser that enforces them; this face only words the refusal as ECR does.

use super::wire::{self, decode, repository_name};
use super::{Call, EcrError};
use crate::service::policies::check_policy_text;
use berth_app::policy::PolicyError;
use serde::Deserialize;
use serde_json::{json, Value};

/// Checks a policy text first, so that a bad text is refused with ECR's
/// wording whatever else is wrong with the request.
fn validated(text: &str) -> Result<(), EcrError> {
    check_policy_text(text).map_err(|e| match e {
        PolicyError::TooLong { max, .. } => EcrError::InvalidParameter(format!(
            "Invalid parameter at 'policyText': at most {max} characters"
        )),
        other => EcrError::InvalidParameter(format!("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided': {other}")),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetRepositoryPolicyInput {
    registry_id: Option<String>,
    repository_name: String,
    policy_text: String,
    #[serde(rename = "force")]
    _force: Option<bool>,
}

/// `SetRepositoryPolicy`.
pub async fn set_repository_policy(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: SetRepositoryPolicyInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    validated(&input.policy_text)?;
    call.state
        .registry
        .set_repository_policy(name, Some(&input.policy_text))
        .await?;
    Ok(json!({
        "registryId": call.state.info.registry_id,
        "repositoryName": name,
        "policyText": input.policy_text,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryPolicyInput {
    registry_id: Option<String>,
    repository_name: String,
}

async fn current_repository_policy(
    call: &Call<'_>,
    input: Value,
) -> Result<(String, String), EcrError> {
    let input: RepositoryPolicyInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let registry = &call.state.registry;
    registry.repository(name).await?;
    let text = registry.repository_policy(name).await?.ok_or_else(|| {
        EcrError::RepositoryPolicyNotFound(format!(
            "Repository policy does not exist for the repository with name '{name}' in the registry with id '{}'",
            call.state.info.registry_id
        ))
    })?;
    Ok((name.to_owned(), text))
}

/// `GetRepositoryPolicy`.
pub async fn get_repository_policy(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let (name, text) = current_repository_policy(call, input).await?;
    Ok(
        json!({"registryId": call.state.info.registry_id, "repositoryName": name, "policyText": text}),
    )
}

/// `DeleteRepositoryPolicy`.
pub async fn delete_repository_policy(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let (name, text) = current_repository_policy(call, input).await?;
    call.state
        .registry
        .set_repository_policy(&name, None)
        .await?;
    Ok(
        json!({"registryId": call.state.info.registry_id, "repositoryName": name, "policyText": text}),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutRegistryPolicyInput {
    policy_text: String,
}

/// `PutRegistryPolicy`.
pub async fn put_registry_policy(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: PutRegistryPolicyInput = decode(input)?;
    validated(&input.policy_text)?;
    call.state
        .registry
        .set_registry_policy(Some(&input.policy_text))
        .await?;
    Ok(json!({"registryId": call.state.info.registry_id, "policyText": input.policy_text}))
}

async fn current_registry_policy(call: &Call<'_>) -> Result<String, EcrError> {
    call.state.registry.registry_policy().await?.ok_or_else(|| {
        EcrError::RegistryPolicyNotFound(format!(
            "Registry policy does not exist in the registry with id '{}'",
            call.state.info.registry_id
        ))
    })
}

/// `GetRegistryPolicy`.
pub async fn get_registry_policy(call: &Call<'_>, _input: Value) -> Result<Value, EcrError> {
    let text = current_registry_policy(call).await?;
    Ok(json!({"registryId": call.state.info.registry_id, "policyText": text}))
}

/// `DeleteRegistryPolicy`.
pub async fn delete_registry_policy(call: &Call<'_>, _input: Value) -> Result<Value, EcrError> {
    let text = current_registry_policy(call).await?;
    call.state.registry.set_registry_policy(None).await?;
    Ok(json!({"registryId": call.state.info.registry_id, "policyText": text}))
}
