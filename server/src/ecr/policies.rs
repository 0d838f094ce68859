//! Resource policies: SetRepositoryPolicy, GetRepositoryPolicy,
//! DeleteRepositoryPolicy, PutRegistryPolicy, GetRegistryPolicy,
//! DeleteRegistryPolicy. Texts are validated by the service with the same
//! parser that enforces them; this face only words the refusal as ECR does.

use super::wire::{self, decode, encode, repository_name, NoInput};
use super::{Call, EcrError};
use crate::service::policies::check_policy_text;
use berth_app::policy::PolicyError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The action a repository policy must leave its setter, unless forced.
const SET_POLICY: &str = "ecr:SetRepositoryPolicy";

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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetRepositoryPolicyInput {
    registry_id: Option<String>,
    repository_name: String,
    policy_text: String,
    force: Option<bool>,
}

/// The output of the repository-policy operations.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryPolicyOutput {
    registry_id: String,
    repository_name: String,
    policy_text: String,
}

/// `SetRepositoryPolicy`. Without `force`, a policy that would deny the
/// caller `ecr:SetRepositoryPolicy` on the repository (locking them out of
/// changing it again) is refused, as ECR does.
pub async fn set_repository_policy(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: SetRepositoryPolicyInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    validated(&input.policy_text)?;
    let registry = &call.state.registry;
    registry.repository(name).await?;
    if !input.force.unwrap_or(false) {
        let document = berth_app::policy::parse(&input.policy_text).map_err(|e| {
            EcrError::InvalidParameter(format!("Invalid parameter at 'PolicyText': {e}"))
        })?;
        let decision = call
            .state
            .authz
            .authorize_with_repository_policy(call.identity, SET_POLICY, name, Some(document))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "database failed during authorization");
                EcrError::Server
            })?;
        if let Err(denied) = decision {
            return Err(EcrError::InvalidParameter(format!(
                "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'The repository policy would prevent you from setting another policy in the future ({denied}); set force to apply it anyway'"
            )));
        }
    }
    registry
        .set_repository_policy(name, Some(&input.policy_text))
        .await?;
    encode(&RepositoryPolicyOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name.to_owned(),
        policy_text: input.policy_text,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
    encode(&RepositoryPolicyOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name,
        policy_text: text,
    })
}

/// `DeleteRepositoryPolicy`.
pub async fn delete_repository_policy(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let (name, text) = current_repository_policy(call, input).await?;
    call.state
        .registry
        .set_repository_policy(&name, None)
        .await?;
    encode(&RepositoryPolicyOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name,
        policy_text: text,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutRegistryPolicyInput {
    policy_text: String,
}

/// The output of the registry-policy operations.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegistryPolicyOutput {
    registry_id: String,
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
    encode(&RegistryPolicyOutput {
        registry_id: call.state.info.registry_id.clone(),
        policy_text: input.policy_text,
    })
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
pub async fn get_registry_policy(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let NoInput {} = decode(input)?;
    let text = current_registry_policy(call).await?;
    encode(&RegistryPolicyOutput {
        registry_id: call.state.info.registry_id.clone(),
        policy_text: text,
    })
}

/// `DeleteRegistryPolicy`.
pub async fn delete_registry_policy(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let NoInput {} = decode(input)?;
    let text = current_registry_policy(call).await?;
    call.state.registry.set_registry_policy(None).await?;
    encode(&RegistryPolicyOutput {
        registry_id: call.state.info.registry_id.clone(),
        policy_text: text,
    })
}
