//! Registry and repository operations: GetAuthorizationToken, DescribeRegistry,
//! CreateRepository, DescribeRepositories, DeleteRepository, PutImageTagMutability,
//! PutImageScanningConfiguration, TagResource, UntagResource, ListTagsForResource.

use super::wire::{
    self, decode, encode, exclusion_filters, repository, repository_name, EncryptionConfiguration,
    ExclusionFilter, ImageScanningConfiguration, NoInput, Repository, Timestamp,
};
use super::{Call, EcrError};
use crate::auth::authorize::Resource;
use crate::service::repositories::{RepositorySettings, MAX_RESOURCE_TAGS};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashSet;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GetAuthorizationTokenInput {
    registry_ids: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationData {
    authorization_token: String,
    expires_at: Timestamp,
    proxy_endpoint: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GetAuthorizationTokenOutput {
    authorization_data: Vec<AuthorizationData>,
}

/// `GetAuthorizationToken`: a 12-hour token for `docker login --username AWS`.
/// `registryIds` may name only this registry (1 to 10 times).
pub async fn get_authorization_token(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: GetAuthorizationTokenInput = decode(input)?;
    if let Some(ids) = &input.registry_ids {
        if !(1..=10).contains(&ids.len()) {
            return Err(EcrError::InvalidParameter(
                "Invalid parameter at 'registryIds': must hold 1 to 10 registry ids".into(),
            ));
        }
        for id in ids {
            wire::registry_id(call, Some(id))?;
        }
    }
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
    encode(&GetAuthorizationTokenOutput {
        authorization_data: vec![AuthorizationData {
            authorization_token: encoded,
            expires_at: Timestamp(expires_at),
            proxy_endpoint: call.state.info.public_url.clone(),
        }],
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplicationConfiguration {
    /// Always empty: Berth does not replicate.
    rules: Vec<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeRegistryOutput {
    registry_id: String,
    replication_configuration: ReplicationConfiguration,
}

/// `DescribeRegistry`.
pub async fn describe_registry(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let NoInput {} = decode(input)?;
    encode(&DescribeRegistryOutput {
        registry_id: call.state.info.registry_id.clone(),
        replication_configuration: ReplicationConfiguration { rules: Vec::new() },
    })
}

/// ECR's resource `Tag` (its members are capitalised).
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Tag {
    key: String,
    value: String,
}

/// Checks tags as ECR does: at most [`MAX_RESOURCE_TAGS`] in one call
/// (`TooManyTagsException`), each key once, well-formed keys and values
/// (`InvalidTagParameterException`).
fn tag_pairs(tags: Vec<Tag>) -> Result<Vec<(String, String)>, EcrError> {
    if tags.len() > MAX_RESOURCE_TAGS {
        return Err(EcrError::TooManyTags(format!(
            "a repository can have at most {MAX_RESOURCE_TAGS} tags; {} were given",
            tags.len()
        )));
    }
    let mut seen = HashSet::new();
    tags.into_iter()
        .map(|t| {
            if t.key.is_empty() || t.key.len() > 128 || t.value.len() > 256 || t.key.starts_with("aws:") {
                Err(EcrError::InvalidTagParameter(format!(
                    "tag key {:?} must be 1 to 128 characters not starting with 'aws:', its value at most 256",
                    t.key
                )))
            } else if !seen.insert(t.key.clone()) {
                Err(EcrError::InvalidTagParameter(format!(
                    "tag key {:?} is given more than once",
                    t.key
                )))
            } else {
                Ok((t.key, t.value))
            }
        })
        .collect()
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateRepositoryInput {
    registry_id: Option<String>,
    repository_name: String,
    tags: Option<Vec<Tag>>,
    image_tag_mutability: Option<String>,
    image_tag_mutability_exclusion_filters: Option<Vec<ExclusionFilter>>,
    image_scanning_configuration: Option<ImageScanningConfiguration>,
    encryption_configuration: Option<EncryptionConfiguration>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryOutput {
    repository: Repository,
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
            .is_some_and(|c| c.scan_on_push),
        encryption_type: encryption.as_ref().map(|e| e.encryption_type.clone()),
        kms_key: encryption.and_then(|e| e.kms_key),
        tags: tag_pairs(input.tags.unwrap_or_default())?,
    };
    let repo = call
        .state
        .registry
        .create_repository(name, &settings)
        .await?;
    encode(&RepositoryOutput {
        repository: repository(call, &repo),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DescribeRepositoriesInput {
    registry_id: Option<String>,
    repository_names: Option<Vec<String>>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeRepositoriesOutput {
    repositories: Vec<Repository>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `DescribeRepositories`: by name, or all of them page by page (100 a page
/// unless `maxResults` says otherwise, as ECR documents).
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
        return encode(&DescribeRepositoriesOutput {
            repositories,
            next_token: None,
        });
    }
    let limit = wire::max_results(input.max_results, 100, 1000)?;
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
    let next_token = match (more, rows.last()) {
        (true, Some(last)) => Some(wire::next_token(&json!(last.name))),
        _ => None,
    };
    encode(&DescribeRepositoriesOutput {
        repositories: rows.iter().map(|r| repository(call, r)).collect(),
        next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
    encode(&RepositoryOutput {
        repository: repository(call, &repo),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutImageTagMutabilityInput {
    registry_id: Option<String>,
    repository_name: String,
    image_tag_mutability: String,
    image_tag_mutability_exclusion_filters: Option<Vec<ExclusionFilter>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutImageTagMutabilityOutput {
    registry_id: String,
    repository_name: String,
    image_tag_mutability: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    image_tag_mutability_exclusion_filters: Vec<ExclusionFilter>,
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
    encode(&PutImageTagMutabilityOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: repo.name,
        image_tag_mutability: repo.tag_mutability,
        image_tag_mutability_exclusion_filters: exclusion_filters(&exclusions),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutImageScanningConfigurationInput {
    registry_id: Option<String>,
    repository_name: String,
    image_scanning_configuration: ImageScanningConfiguration,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutImageScanningConfigurationOutput {
    registry_id: String,
    repository_name: String,
    image_scanning_configuration: ImageScanningConfiguration,
}

/// `PutImageScanningConfiguration`.
pub async fn put_scanning_configuration(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: PutImageScanningConfigurationInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let repo = call
        .state
        .registry
        .set_scan_on_push(name, input.image_scanning_configuration.scan_on_push)
        .await?;
    encode(&PutImageScanningConfigurationOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: repo.name,
        image_scanning_configuration: ImageScanningConfiguration {
            scan_on_push: repo.scan_on_push,
        },
    })
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TagResourceInput {
    resource_arn: String,
    tags: Vec<Tag>,
}

/// TagResource's and UntagResource's output: no members.
#[derive(Serialize)]
struct NoOutput {}

/// `TagResource`: refused with `TooManyTagsException` if the repository
/// would then have more than [`MAX_RESOURCE_TAGS`] tags.
pub async fn tag_resource(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: TagResourceInput = decode(input)?;
    let name = repository_of_arn(call, &input.resource_arn)?;
    let tags = tag_pairs(input.tags)?;
    call.state
        .registry
        .tag_repository(name, &tags)
        .await?
        .map_err(|e| EcrError::TooManyTags(e.to_string()))?;
    encode(&NoOutput {})
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
    encode(&NoOutput {})
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListTagsForResourceInput {
    resource_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListTagsForResourceOutput {
    tags: Vec<Tag>,
}

/// `ListTagsForResource`.
pub async fn list_tags_for_resource(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: ListTagsForResourceInput = decode(input)?;
    let name = repository_of_arn(call, &input.resource_arn)?;
    let tags = call.state.registry.repository_tags(name).await?;
    encode(&ListTagsForResourceOutput {
        tags: tags
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect(),
    })
}
