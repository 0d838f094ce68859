//! Image operations: ListImages, DescribeImages, BatchGetImage, BatchDeleteImage,
//! PutImage, ListImageReferrers.

use super::wire::{self, decode, image_id, repository_name, timestamp, ImageIdentifier};
use super::{Call, EcrError};
use crate::service::{Image, TagStatus};
use crate::service::{ImageId, ManifestRef};
use berth_app::oci::Digest;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TagFilter {
    tag_status: Option<String>,
}

fn tag_status(filter: Option<TagFilter>) -> Result<TagStatus, EcrError> {
    match filter.and_then(|f| f.tag_status).as_deref() {
        None | Some("ANY") => Ok(TagStatus::Any),
        Some("TAGGED") => Ok(TagStatus::Tagged),
        Some("UNTAGGED") => Ok(TagStatus::Untagged),
        Some(other) => Err(EcrError::InvalidParameter(format!(
            "filter.tagStatus must be TAGGED, UNTAGGED or ANY, got {other:?}"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListImagesInput {
    registry_id: Option<String>,
    repository_name: String,
    next_token: Option<String>,
    max_results: Option<i64>,
    filter: Option<TagFilter>,
}

/// `ListImages`: one entry per tag, and one per untagged image.
pub async fn list(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: ListImagesInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let status = tag_status(input.filter)?;
    let limit = wire::max_results(input.max_results, 1000, 1000)?;
    let position = wire::position(input.next_token.as_deref())?;
    let after = match &position {
        Some(p) => (p[0].as_i64().unwrap_or(0), p[1].as_str().unwrap_or("")),
        None => (0, ""),
    };
    let mut rows = call
        .state
        .registry
        .image_ids_after(name, status, after, limit + 1)
        .await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let ids: Vec<Value> = rows
        .iter()
        .map(|(_, digest, tag)| {
            image_id(&ImageId {
                digest: Some(digest.clone()),
                tag: tag.clone(),
            })
        })
        .collect();
    let mut out = json!({ "imageIds": ids });
    if let (true, Some((id, _, tag))) = (more, rows.last()) {
        out["nextToken"] = json!(wire::next_token(&json!([
            id,
            tag.clone().unwrap_or_default()
        ])));
    }
    Ok(out)
}

/// ECR's `ImageDetail`.
fn image_detail(call: &Call<'_>, repository: &str, image: &Image) -> Value {
    let mut detail = json!({
        "registryId": call.state.info.registry_id,
        "repositoryName": repository,
        "imageDigest": image.digest,
        "imageSizeInBytes": image.size,
        "imagePushedAt": timestamp(image.pushed_at),
        "imageManifestMediaType": image.media_type,
        "imageStatus": "ACTIVE",
    });
    if !image.tags.is_empty() {
        detail["imageTags"] = json!(image.tags);
    }
    if let Some(t) = &image.artifact_type {
        detail["artifactMediaType"] = json!(t);
    }
    if let Some(at) = image.last_pulled_at {
        detail["lastRecordedPullTime"] = timestamp(at);
    }
    if let Some(subject) = &image.subject_digest {
        detail["subjectManifestDigest"] = json!(subject);
    }
    detail
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeImagesInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Option<Vec<ImageIdentifier>>,
    next_token: Option<String>,
    max_results: Option<i64>,
    filter: Option<TagFilter>,
}

/// `DescribeImages`: by id (the first failure is an error, as ECR does), or all.
pub async fn describe(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: DescribeImagesInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let registry = &call.state.registry;
    if let Some(ids) = input.image_ids {
        let ids = wire::image_ids(ids)?;
        let mut details = Vec::new();
        for found in registry.find_images(name, &ids).await? {
            match found {
                Ok((_, image)) => details.push(image_detail(call, name, &image)),
                Err((id, failure)) => {
                    return Err(EcrError::ImageNotFound(format!(
                        "The image with imageId {} does not exist within the repository with name '{name}': {}",
                        image_id(&id),
                        failure.reason()
                    )))
                }
            }
        }
        return Ok(json!({ "imageDetails": details }));
    }
    let status = tag_status(input.filter)?;
    let limit = wire::max_results(input.max_results, 100, 1000)?;
    let after = wire::position(input.next_token.as_deref())?
        .and_then(|p| p.as_i64())
        .unwrap_or(0);
    let mut rows = registry
        .images_after(name, status, after, limit + 1)
        .await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let mut out = json!({"imageDetails": rows.iter().map(|i| image_detail(call, name, i)).collect::<Vec<_>>()});
    if let (true, Some(last)) = (more, rows.last()) {
        out["nextToken"] = json!(wire::next_token(&json!(last.id)));
    }
    Ok(out)
}

fn failure(id: &ImageId, failure: crate::service::ImageFailure) -> Value {
    json!({"imageId": image_id(id), "failureCode": failure.code(), "failureReason": failure.reason()})
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchGetImageInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Vec<ImageIdentifier>,
    accepted_media_types: Option<Vec<String>>,
}

/// `BatchGetImage`: manifests byte for byte, with per-image failures.
pub async fn batch_get(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: BatchGetImageInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let ids = wire::image_ids(input.image_ids)?;
    let registry = &call.state.registry;
    let (mut images, mut failures) = (Vec::new(), Vec::new());
    for found in registry.find_images(name, &ids).await? {
        let (id, image) = match found {
            Ok(found) => found,
            Err((id, f)) => {
                failures.push(failure(&id, f));
                continue;
            }
        };
        let accepted = input
            .accepted_media_types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == &image.media_type));
        if !accepted {
            failures.push(json!({
                "imageId": image_id(&id),
                "failureCode": "UnsupportedImageType",
                "failureReason": format!("The image's media type {} is not among acceptedMediaTypes", image.media_type),
            }));
            continue;
        }
        let digest = Digest::parse(&image.digest).expect("stored digests are valid");
        let manifest = registry
            .get_manifest(name, &ManifestRef::Digest(digest), true)
            .await?;
        images.push(json!({
            "registryId": call.state.info.registry_id,
            "repositoryName": name,
            "imageId": image_id(&ImageId { digest: Some(image.digest.clone()), tag: id.tag.clone() }),
            "imageManifest": String::from_utf8_lossy(&manifest.body),
            "imageManifestMediaType": manifest.media_type,
        }));
    }
    Ok(json!({ "images": images, "failures": failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchDeleteImageInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Vec<ImageIdentifier>,
}

/// `BatchDeleteImage`.
pub async fn batch_delete(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: BatchDeleteImageInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let ids = wire::image_ids(input.image_ids)?;
    let (mut deleted, mut failures) = (Vec::new(), Vec::new());
    for result in call.state.registry.delete_images(name, &ids).await? {
        match result {
            Ok(id) => deleted.push(image_id(&id)),
            Err((id, f)) => failures.push(failure(&id, f)),
        }
    }
    Ok(json!({ "imageIds": deleted, "failures": failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutImageInput {
    registry_id: Option<String>,
    repository_name: String,
    image_manifest: String,
    image_manifest_media_type: Option<String>,
    image_tag: Option<String>,
    image_digest: Option<String>,
}

/// `PutImage`.
pub async fn put(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: PutImageInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let digest = input
        .image_digest
        .as_deref()
        .map(Digest::parse)
        .transpose()
        .map_err(|e| {
            EcrError::InvalidParameter(format!("Invalid parameter at 'imageDigest': {e}"))
        })?;
    let (put, image) = call
        .state
        .registry
        .put_image(
            name,
            input.image_manifest.as_bytes(),
            input.image_manifest_media_type.as_deref(),
            input.image_tag.as_deref(),
            digest.as_ref(),
        )
        .await?;
    Ok(json!({"image": {
        "registryId": call.state.info.registry_id,
        "repositoryName": name,
        "imageId": image_id(&ImageId { digest: Some(put.digest.to_string()), tag: input.image_tag.clone() }),
        "imageManifest": input.image_manifest,
        "imageManifestMediaType": image.media_type,
    }}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectId {
    image_digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferrerFilter {
    artifact_types: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListImageReferrersInput {
    registry_id: Option<String>,
    repository_name: String,
    subject_id: SubjectId,
    filter: Option<ReferrerFilter>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// `ListImageReferrers`.
pub async fn list_referrers(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: ListImageReferrersInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let subject = Digest::parse(&input.subject_id.image_digest).map_err(|e| {
        EcrError::InvalidParameter(format!("Invalid parameter at 'subjectId': {e}"))
    })?;
    let types = input
        .filter
        .and_then(|f| f.artifact_types)
        .unwrap_or_default();
    if types.len() > 5 {
        return Err(EcrError::InvalidParameter(
            "filter.artifactTypes holds at most 5 types".into(),
        ));
    }
    let limit = wire::max_results(input.max_results, 50, 50)?;
    let after = wire::position(input.next_token.as_deref())?;
    let mut last = after
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut referrers = Vec::new();
    let mut more = false;
    // Filtered pages are filled by reading on until `limit` matches are found.
    loop {
        let rows = call
            .state
            .registry
            .referrer_images(name, &subject, &last, limit + 1)
            .await?;
        let exhausted = rows.len() <= limit;
        for row in rows {
            last = row.digest.clone();
            let matches = types.is_empty()
                || row
                    .artifact_type
                    .as_ref()
                    .is_some_and(|t| types.contains(t));
            if !matches {
                continue;
            }
            if referrers.len() == limit {
                more = true;
                break;
            }
            let mut referrer = json!({
                "digest": row.digest,
                "mediaType": row.media_type,
                "size": row.manifest_size,
                "artifactStatus": "ACTIVE",
            });
            if let Some(t) = &row.artifact_type {
                referrer["artifactType"] = json!(t);
            }
            if let Some(a) = row
                .annotations
                .as_deref()
                .and_then(|a| serde_json::from_str::<Value>(a).ok())
            {
                referrer["annotations"] = a;
            }
            referrers.push((row.digest.clone(), referrer));
        }
        if more || exhausted {
            break;
        }
    }
    let mut out =
        json!({"referrers": referrers.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>()});
    if let (true, Some((digest, _))) = (more, referrers.last()) {
        out["nextToken"] = json!(wire::next_token(&json!(digest)));
    }
    Ok(out)
}
