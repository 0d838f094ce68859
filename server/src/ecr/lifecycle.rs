//! Lifecycle policy operations: PutLifecyclePolicy, GetLifecyclePolicy,
//! DeleteLifecyclePolicy, StartLifecyclePolicyPreview, GetLifecyclePolicyPreview.
//! A preview is evaluated at once (status COMPLETE) and deletes nothing.

use super::wire::{self, decode, encode, repository_name, Absent, ImageIdentifier, Timestamp};
use super::{Call, EcrError};
use crate::service::lifecycle::PreviewEntry;
use crate::service::{ImageId, ServiceError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

fn not_found(call: &Call<'_>, name: &str) -> EcrError {
    EcrError::LifecyclePolicyNotFound(format!(
        "Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{}'",
        call.state.info.registry_id
    ))
}

fn invalid_policy(error: ServiceError) -> EcrError {
    match error {
        ServiceError::InvalidSetting(message) => EcrError::InvalidParameter(format!(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: '{message}'"
        )),
        other => other.into(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutInput {
    registry_id: Option<String>,
    repository_name: String,
    lifecycle_policy_text: String,
}

/// The output of PutLifecyclePolicy, GetLifecyclePolicy and DeleteLifecyclePolicy.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyOutput {
    registry_id: String,
    repository_name: String,
    lifecycle_policy_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_evaluated_at: Option<Timestamp>,
}

/// `PutLifecyclePolicy`.
pub async fn put(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: PutInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    call.state.registry.repository(name).await?;
    // Applied a little after the save (lifecycle_delay_after_save), leaving
    // time to preview first, and then at every scheduled run.
    call.state
        .registry
        .put_lifecycle_policy(
            name,
            &input.lifecycle_policy_text,
            call.state.lifecycle_delay_after_save,
        )
        .await
        .map_err(invalid_policy)?;
    encode(&PolicyOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name.to_owned(),
        lifecycle_policy_text: input.lifecycle_policy_text,
        last_evaluated_at: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RepositoryInput {
    registry_id: Option<String>,
    repository_name: String,
}

/// The repository's policy, with when it was last applied (if it was).
async fn current(call: &Call<'_>, input: Value) -> Result<PolicyOutput, EcrError> {
    let input: RepositoryInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?.to_owned();
    let registry = &call.state.registry;
    let text = registry
        .lifecycle_policy(&name)
        .await?
        .ok_or_else(|| not_found(call, &name))?;
    let last_evaluated_at = registry.lifecycle_evaluated_at(&name).await?.map(Timestamp);
    Ok(PolicyOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name,
        lifecycle_policy_text: text,
        last_evaluated_at,
    })
}

/// `GetLifecyclePolicy`, with `lastEvaluatedAt` once the policy has been applied.
pub async fn get(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    encode(&current(call, input).await?)
}

/// `DeleteLifecyclePolicy`: answers with the deleted policy and, once it had
/// been applied, `lastEvaluatedAt`.
pub async fn delete(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let deleted = current(call, input).await?;
    call.state
        .registry
        .set_lifecycle_policy(&deleted.repository_name, None)
        .await?;
    encode(&deleted)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartPreviewInput {
    registry_id: Option<String>,
    repository_name: String,
    lifecycle_policy_text: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartPreviewOutput {
    registry_id: String,
    repository_name: String,
    lifecycle_policy_text: String,
    status: &'static str,
}

/// `StartLifecyclePolicyPreview`: evaluates the given (or saved) policy now.
pub async fn start_preview(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: StartPreviewInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let registry = &call.state.registry;
    let text = match input.lifecycle_policy_text {
        Some(text) => text,
        None => registry
            .lifecycle_policy(name)
            .await?
            .ok_or_else(|| not_found(call, name))?,
    };
    registry
        .start_lifecycle_preview(name, &text)
        .await
        .map_err(invalid_policy)?;
    encode(&StartPreviewOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name.to_owned(),
        lifecycle_policy_text: text,
        status: "COMPLETE",
    })
}

/// ECR's `LifecyclePolicyPreviewFilter`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PreviewFilter {
    tag_status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GetPreviewInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Option<Vec<ImageIdentifier>>,
    next_token: Option<String>,
    max_results: Option<i64>,
    filter: Option<PreviewFilter>,
}

/// ECR's `LifecyclePolicyRuleAction`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleAction {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Only for `TRANSITION`, which Berth does not do (it has no archive).
    #[serde(skip_serializing_if = "Option::is_none")]
    target_storage_class: Option<Absent>,
}

/// ECR's `LifecyclePolicyPreviewResult`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreviewResult {
    image_digest: String,
    image_tags: Vec<String>,
    image_pushed_at: Timestamp,
    action: RuleAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    applied_rule_priority: Option<u32>,
    storage_class: &'static str,
}

/// ECR's `LifecyclePolicyPreviewSummary`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreviewSummary {
    expiring_image_total_count: usize,
    /// Only for `TRANSITION` rules, which Berth does not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    transitioning_image_total_counts: Option<Absent>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetPreviewOutput {
    registry_id: String,
    repository_name: String,
    lifecycle_policy_text: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
    preview_results: Vec<PreviewResult>,
    summary: PreviewSummary,
}

fn selected(entry: &PreviewEntry, ids: &[ImageId], tag_status: Option<&str>) -> bool {
    let by_id = ids.is_empty()
        || ids.iter().any(|id| {
            id.digest.as_deref().is_none_or(|d| d == entry.digest)
                && id.tag.as_ref().is_none_or(|t| entry.tags.contains(t))
        });
    let by_status = match tag_status {
        Some("TAGGED") => !entry.tags.is_empty(),
        Some("UNTAGGED") => entry.tags.is_empty(),
        _ => true,
    };
    by_id && by_status
}

/// `GetLifecyclePolicyPreview`.
pub async fn get_preview(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: GetPreviewInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let tag_status = input.filter.unwrap_or_default().tag_status;
    if let Some(status) = tag_status.as_deref() {
        if !matches!(status, "TAGGED" | "UNTAGGED" | "ANY") {
            return Err(EcrError::InvalidParameter(format!(
                "filter.tagStatus must be TAGGED, UNTAGGED or ANY, got {status:?}"
            )));
        }
    }
    if input.image_ids.is_some() && (input.next_token.is_some() || input.max_results.is_some()) {
        return Err(EcrError::InvalidParameter(
            "imageIds cannot be combined with maxResults or nextToken".into(),
        ));
    }
    let ids: Vec<ImageId> = input
        .image_ids
        .unwrap_or_default()
        .into_iter()
        .map(ImageId::from)
        .collect();
    let limit = wire::max_results(input.max_results, 100, 100)?;
    let offset = wire::position(input.next_token.as_deref())?
        .and_then(|p| p.as_u64())
        .unwrap_or(0) as usize;
    let (text, status, entries) = call.state.registry.lifecycle_preview(name).await?.ok_or_else(|| {
        EcrError::LifecyclePolicyPreviewNotFound(format!(
            "There is no lifecycle policy preview for the repository with name '{name}' in the registry with id '{}'",
            call.state.info.registry_id
        ))
    })?;
    let total = entries.len();
    let matching: Vec<&PreviewEntry> = entries
        .iter()
        .filter(|e| selected(e, &ids, tag_status.as_deref()))
        .collect();
    let preview_results = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|e| PreviewResult {
            image_digest: e.digest.clone(),
            image_tags: e.tags.clone(),
            image_pushed_at: Timestamp(e.pushed_at),
            action: RuleAction {
                kind: "EXPIRE",
                target_storage_class: None,
            },
            applied_rule_priority: e.rule,
            storage_class: "STANDARD",
        })
        .collect();
    let next_token =
        (offset + limit < matching.len()).then(|| wire::next_token(&json!(offset + limit)));
    encode(&GetPreviewOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name.to_owned(),
        lifecycle_policy_text: text,
        status,
        next_token,
        preview_results,
        summary: PreviewSummary {
            expiring_image_total_count: total,
            transitioning_image_total_counts: None,
        },
    })
}
