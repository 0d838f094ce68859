//! Registry and repository operations: GetAuthorizationToken, DescribeRegistry,
//! CreateRepository, DescribeRepositories, DeleteRepository, PutImageTagMutability,
//! PutImageScanningConfiguration, TagResource, UntagResource, ListTagsForResource.

use super::wire::{self, decode, exclusion_filters, repository, repository_name, timestamp};
use super::{Call, EcrError};
use crate::auth::authorize::Resource;
use crate::service::repositories::RepositorySettings;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

/// `GetAuthorizationToken`: a 12-hour token for `docker login --username AWS`.
pub async fn get_authorization_token(call: &Call<'_>, _input: Value) -> Result<Value, EcrError> {
    let (token, expires_at) = call
        .state
        .auth
        .issue_token(call.identity)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not issue a token");
            EcrError::Server
        })?;
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{token}", crate::auth::TOKEN_USER));
    Ok(json!({"authorizationData": [{
        "authorizationToken": encoded,
        "expiresAt": timestamp(expires_at),
        "proxyEndpoint": call.state.info.public_url,
    }]}))
}

/// `DescribeRegistry`.
pub async fn describe_registry(call: &Call<'_>, _input: Value) -> Result<Value, EcrError> {
    Ok(json!({
        "registryId": call.state.info.registry_id,
        "replicationConfiguration": {"rules": []},
    }))
}

/// ECR's resource `Tag` (its members are capitalised).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

fn tag_pairs(tags: Vec<Tag>) -> Result<Vec<(String, String)>, EcrError> {
    if tags.len() > 50 {
        return Err(EcrError::InvalidTagParameter(
            "a repository can have at most 50 tags".into(),
        ));
    }
    tags.into_iter()
        .map(|t| {
            if t.key.is_empty() || t.key.len() > 128 || t.value.len() > 256 || t.key.starts_with("aws:") {
                Err(EcrError::InvalidTagParameter(format!(
                    "tag key {:?} must be 1 to 128 characters not starting with 'aws:', its value at most 256",
                    t.key
                )))
            } else {
                Ok((t.key, t.value))
            }
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExclusionFilter {
    filter_type: String,
    filter: String,
}

fn filters(list: Option<Vec<ExclusionFilter>>) -> Result<Vec<String>, EcrError> {
    list.unwrap_or_default()
        .into_iter()
        .map(|f| {
            if f.filter_type == "WILDCARD" {
                Ok(f.filter)
            } else {
                Err(EcrError::InvalidParameter(format!(
                    "filterType must be WILDCARD, got {:?}",
                    f.filter_type
                )))
            }
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScanningConfiguration {
    scan_on_push: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptionConfiguration {
    encryption_type: String,
    kms_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRepositoryInput {
    registry_id: Option<String>,
    repository_name: String,
    tags: Option<Vec<Tag>>,
    image_tag_mutability: Option<String>,
    image_tag_mutability_exclusion_filters: Option<Vec<ExclusionFilter>>,
    image_scanning_configuration: Option<ScanningConfiguration>,
    encryption_configuration: Option<EncryptionConfiguration>,
}

/// `CreateRepository`.
pub async fn create(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: CreateRepositoryInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let encryption = input.encryption_configuration;
    let settings = RepositorySettings {
        tag_mutability: input.image_tag_mutability,
        exclusions: filters(input.image_tag_mutability_exclusion_filters)?,
        scan_on_push: input
            .image_scanning_configuration
            .and_then(|c| c.scan_on_push)
            .unwrap_or(false),
        encryption_type: encryption.as_ref().map(|e| e.encryption_type.clone()),
        kms_key: encryption.and_then(|e| e.kms_key),
        tags: tag_pairs(input.tags.unwrap_or_default())?,
    };
    let repo = call
        .state
        .registry
        .create_repository(name, &settings)
        .await?;
    Ok(json!({"repository": repository(call, &repo)}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeRepositoriesInput {
    registry_id: Option<String>,
    repository_names: Option<Vec<String>>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// `DescribeRepositories`: by name, or all of them page by page.
pub async fn describe(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: DescribeRepositoriesInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let registry = &call.state.registry;
    if let Some(names) = input.repository_names {
        if input.next_token.is_some() || input.max_results.is_some() {
            return Err(EcrError::InvalidParameter(
                "repositoryNames cannot be combined with maxResults or nextToken".into(),
            ));
        }
        if !(1..=100).contains(&names.len()) {
            return Err(EcrError::InvalidParameter(
                "repositoryNames must hold 1 to 100 names".into(),
            ));
        }
        let mut repositories = Vec::new();
        for name in &names {
            repositories.push(repository(
                call,
                &registry.repository(repository_name(name)?).await?,
            ));
        }
        return Ok(json!({"repositories": repositories}));
    }
    let limit = wire::max_results(input.max_results, 1000, 1000)?;
    let after = wire::position(input.next_token.as_deref())?;
    let after = after.as_ref().and_then(Value::as_str);
    // Only repositories the caller may describe are listed; a page is filled by
    // reading on past the others.
    let mut rows = Vec::new();
    let mut cursor = after.map(str::to_owned);
    let mut more = false;
    while rows.len() < limit {
        let page = registry
            .repositories_after(cursor.as_deref(), limit + 1 - rows.len())
            .await?;
        let exhausted = page.len() <= limit - rows.len();
        for repo in page {
            if rows.len() == limit {
                more = true;
                break;
            }
            cursor = Some(repo.name.clone());
            let action = "ecr:DescribeRepositories";
            if super::allow(call, action, Resource::Repository(&repo.name))
                .await
                .is_ok()
            {
                rows.push(repo);
            }
        }
        if more || exhausted {
            break;
        }
    }
    let mut out =
        json!({"repositories": rows.iter().map(|r| repository(call, r)).collect::<Vec<_>>()});
    if more {
        if let Some(last) = rows.last() {
            out["nextToken"] = json!(wire::next_token(&json!(last.name)));
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteRepositoryInput {
    registry_id: Option<String>,
    repository_name: String,
    force: Option<bool>,
}

/// `DeleteRepository`: refuses a repository with images unless `force`.
pub async fn delete(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: DeleteRepositoryInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let repo = call
        .state
        .registry
        .delete_repository(name, input.force.unwrap_or(false))
        .await?;
    Ok(json!({"repository": repository(call, &repo)}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutImageTagMutabilityInput {
    registry_id: Option<String>,
    repository_name: String,
    image_tag_mutability: String,
    image_tag_mutability_exclusion_filters: Option<Vec<ExclusionFilter>>,
}

/// `PutImageTagMutability`.
pub async fn put_tag_mutability(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: PutImageTagMutabilityInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let exclusions = filters(input.image_tag_mutability_exclusion_filters)?;
    let repo = call
        .state
        .registry
        .set_tag_mutability(name, &input.image_tag_mutability, &exclusions)
        .await?;
    let mut out = json!({
        "registryId": call.state.info.registry_id,
        "repositoryName": repo.name,
        "imageTagMutability": repo.tag_mutability,
    });
    if !exclusions.is_empty() {
        out["imageTagMutabilityExclusionFilters"] = exclusion_filters(&exclusions);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutImageScanningConfigurationInput {
    registry_id: Option<String>,
    repository_name: String,
    image_scanning_configuration: ScanningConfiguration,
}

/// `PutImageScanningConfiguration`.
pub async fn put_scanning_configuration(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: PutImageScanningConfigurationInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let scan_on_push = input
        .image_scanning_configuration
        .scan_on_push
        .unwrap_or(false);
    let repo = call
        .state
        .registry
        .set_scan_on_push(name, scan_on_push)
        .await?;
    Ok(json!({
        "registryId": call.state.info.registry_id,
        "repositoryName": repo.name,
        "imageScanningConfiguration": {"scanOnPush": repo.scan_on_push},
    }))
}

/// The repository name in a repository ARN of this registry.
fn repository_of_arn<'a>(call: &Call<'_>, arn: &'a str) -> Result<&'a str, EcrError> {
    let info = &call.state.info;
    let prefix = format!(
        "arn:aws:ecr:{}:{}:repository/",
        info.region, info.registry_id
    );
    let name = arn.strip_prefix(&prefix).ok_or_else(|| {
        EcrError::InvalidParameter(format!(
            "Invalid parameter at 'resourceArn': {arn:?} is not a repository ARN of this registry ({prefix}<name>)"
        ))
    })?;
    repository_name(name)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagResourceInput {
    resource_arn: String,
    tags: Vec<Tag>,
}

/// `TagResource`.
pub async fn tag_resource(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: TagResourceInput = decode(input)?;
    let name = repository_of_arn(call, &input.resource_arn)?;
    let tags = tag_pairs(input.tags)?;
    call.state.registry.tag_repository(name, &tags).await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UntagResourceInput {
    resource_arn: String,
    tag_keys: Vec<String>,
}

/// `UntagResource`.
pub async fn untag_resource(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: UntagResourceInput = decode(input)?;
    let name = repository_of_arn(call, &input.resource_arn)?;
    call.state
        .registry
        .untag_repository(name, &input.tag_keys)
        .await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListTagsForResourceInput {
    resource_arn: String,
}

/// `ListTagsForResource`.
pub async fn list_tags_for_resource(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: ListTagsForResourceInput = decode(input)?;
    let name = repository_of_arn(call, &input.resource_arn)?;
    let tags = call.state.registry.repository_tags(name).await?;
    Ok(json!({"tags": tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>()}))
}
