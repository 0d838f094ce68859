//! Image operations: ListImages, DescribeImages, BatchGetImage, BatchDeleteImage,
//! PutImage, ListImageReferrers. Every image in Berth is `ACTIVE` (there is no
//! archive), so the status filters select all images or none.

use super::wire::{
    self, active_selected, decode, encode, image_id, repository_name, Absent, ImageFailure,
    ImageIdentifier, Timestamp,
};
use super::{Call, EcrError};
use crate::service::{self, TagStatus};
use crate::service::{ImageId, ManifestRef};
use berth_app::oci::Digest;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// ECR's `ListImagesFilter` and `DescribeImagesFilter`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImagesFilter {
    tag_status: Option<String>,
    image_status: Option<String>,
}

impl ImagesFilter {
    /// The tag status asked for, and whether `ACTIVE` images are selected at all.
    fn parse(filter: Option<ImagesFilter>) -> Result<(TagStatus, bool), EcrError> {
        let filter = filter.unwrap_or_default();
        let tags = match filter.tag_status.as_deref() {
            None | Some("ANY") => TagStatus::Any,
            Some("TAGGED") => TagStatus::Tagged,
            Some("UNTAGGED") => TagStatus::Untagged,
            Some(other) => {
                return Err(EcrError::InvalidParameter(format!(
                    "Invalid parameter at 'filter.tagStatus': must be TAGGED, UNTAGGED or ANY, got {other:?}"
                )))
            }
        };
        let active = active_selected("filter.imageStatus", filter.image_status.as_deref())?;
        Ok((tags, active))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListImagesInput {
    registry_id: Option<String>,
    repository_name: String,
    next_token: Option<String>,
    max_results: Option<i64>,
    filter: Option<ImagesFilter>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListImagesOutput {
    image_ids: Vec<ImageIdentifier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `ListImages`: one entry per tag, and one per untagged image; 100 a page
/// unless `maxResults` says otherwise, as ECR documents.
pub async fn list(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: ListImagesInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let (status, active) = ImagesFilter::parse(input.filter)?;
    let limit = wire::max_results(input.max_results, 100, 1000)?;
    let position = wire::position(input.next_token.as_deref())?;
    if !active {
        call.state.registry.repository(name).await?;
        return encode(&ListImagesOutput {
            image_ids: Vec::new(),
            next_token: None,
        });
    }
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
    let next_token = match (more, rows.last()) {
        (true, Some((id, _, tag))) => Some(wire::next_token(&json!([
            id,
            tag.clone().unwrap_or_default()
        ]))),
        _ => None,
    };
    encode(&ListImagesOutput {
        image_ids: rows
            .into_iter()
            .map(|(_, digest, tag)| ImageIdentifier {
                image_digest: Some(digest),
                image_tag: tag,
            })
            .collect(),
        next_token,
    })
}

/// ECR's `ImageDetail`. Berth has no archive, so the members about it are
/// never sent; the scan members are sent once the image was scanned.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageDetail {
    registry_id: String,
    repository_name: String,
    image_digest: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    image_tags: Vec<String>,
    image_size_in_bytes: i64,
    image_pushed_at: Timestamp,
    image_manifest_media_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_recorded_pull_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_manifest_digest: Option<String>,
    image_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_scan_status: Option<super::scanning::ImageScanStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_scan_findings_summary: Option<super::scanning::ImageScanFindingsSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_archived_at: Option<Absent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_activated_at: Option<Absent>,
}

async fn image_detail(
    call: &Call<'_>,
    repository: &str,
    image: &service::Image,
) -> Result<ImageDetail, EcrError> {
    let digest = Digest::parse(&image.digest).map_err(|_| EcrError::Server)?;
    let scan = call
        .state
        .registry
        .image_scan(repository, &ManifestRef::Digest(digest))
        .await?;
    let (image_scan_status, image_scan_findings_summary) =
        match scan.map(|(_, view)| super::scanning::summary(&view)) {
            Some((status, summary)) => (Some(status), summary),
            None => (None, None),
        };
    Ok(ImageDetail {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: repository.to_owned(),
        image_digest: image.digest.clone(),
        image_tags: image.tags.clone(),
        image_size_in_bytes: image.size,
        image_pushed_at: Timestamp(image.pushed_at),
        image_manifest_media_type: image.media_type.clone(),
        artifact_media_type: image.artifact_type.clone(),
        last_recorded_pull_time: image.last_pulled_at.map(Timestamp),
        subject_manifest_digest: image.subject_digest.clone(),
        image_status: "ACTIVE",
        image_scan_status,
        image_scan_findings_summary,
        last_archived_at: None,
        last_activated_at: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DescribeImagesInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Option<Vec<ImageIdentifier>>,
    next_token: Option<String>,
    max_results: Option<i64>,
    filter: Option<ImagesFilter>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeImagesOutput {
    image_details: Vec<ImageDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `DescribeImages`: by id (the first failure is an error, as ECR does; ids
/// cannot be combined with paging or a filter), or all, page by page.
pub async fn describe(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: DescribeImagesInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let registry = &call.state.registry;
    if let Some(ids) = input.image_ids {
        if input.next_token.is_some() || input.max_results.is_some() || input.filter.is_some() {
            return Err(EcrError::InvalidParameter(
                "imageIds cannot be combined with nextToken, maxResults or filter".into(),
            ));
        }
        let ids = wire::image_ids(ids)?;
        let mut details = Vec::new();
        for found in registry.find_images(name, &ids).await? {
            match found {
                Ok((_, image)) => details.push(image_detail(call, name, &image).await?),
                Err((id, failure)) => {
                    return Err(EcrError::ImageNotFound(format!(
                        "The image with imageId {} does not exist within the repository with name '{name}': {}",
                        json!(image_id(&id)),
                        failure.reason()
                    )))
                }
            }
        }
        return encode(&DescribeImagesOutput {
            image_details: details,
            next_token: None,
        });
    }
    let (status, active) = ImagesFilter::parse(input.filter)?;
    let limit = wire::max_results(input.max_results, 100, 1000)?;
    let after = wire::position(input.next_token.as_deref())?
        .and_then(|p| p.as_i64())
        .unwrap_or(0);
    if !active {
        registry.repository(name).await?;
        return encode(&DescribeImagesOutput {
            image_details: Vec::new(),
            next_token: None,
        });
    }
    let mut rows = registry
        .images_after(name, status, after, limit + 1)
        .await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_token = match (more, rows.last()) {
        (true, Some(last)) => Some(wire::next_token(&json!(last.id))),
        _ => None,
    };
    let mut image_details = Vec::with_capacity(rows.len());
    for image in &rows {
        image_details.push(image_detail(call, name, image).await?);
    }
    encode(&DescribeImagesOutput {
        image_details,
        next_token,
    })
}

fn failure(id: &ImageId, failure: crate::service::ImageFailure) -> ImageFailure {
    ImageFailure {
        image_id: image_id(id),
        failure_code: failure.code(),
        failure_reason: failure.reason().to_owned(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BatchGetImageInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Vec<ImageIdentifier>,
    accepted_media_types: Option<Vec<String>>,
}

/// ECR's `Image`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    registry_id: String,
    repository_name: String,
    image_id: ImageIdentifier,
    image_manifest: String,
    image_manifest_media_type: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchGetImageOutput {
    images: Vec<Image>,
    failures: Vec<ImageFailure>,
}

/// `BatchGetImage`: manifests byte for byte, with per-image failures. An
/// image whose media type is not among `acceptedMediaTypes` exists but is
/// not available in a form the caller accepts: `ImageInaccessible`, a code of
/// the model's `ImageFailureCode`, with the reason saying why.
pub async fn batch_get(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: BatchGetImageInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let ids = wire::image_ids(input.image_ids)?;
    if let Some(types) = &input.accepted_media_types {
        if !(1..=100).contains(&types.len()) {
            return Err(EcrError::InvalidParameter(
                "Invalid parameter at 'acceptedMediaTypes': must hold 1 to 100 media types".into(),
            ));
        }
    }
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
            failures.push(ImageFailure {
                image_id: image_id(&id),
                failure_code: "ImageInaccessible",
                failure_reason: format!(
                    "The image's media type {} is not among acceptedMediaTypes",
                    image.media_type
                ),
            });
            continue;
        }
        let digest = Digest::parse(&image.digest).expect("stored digests are valid");
        let manifest = registry
            .get_manifest(name, &ManifestRef::Digest(digest), true)
            .await?;
        images.push(Image {
            registry_id: call.state.info.registry_id.clone(),
            repository_name: name.to_owned(),
            image_id: ImageIdentifier {
                image_digest: Some(image.digest.clone()),
                image_tag: id.tag.clone(),
            },
            image_manifest: String::from_utf8_lossy(&manifest.body).into_owned(),
            image_manifest_media_type: manifest.media_type,
        });
    }
    encode(&BatchGetImageOutput { images, failures })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BatchDeleteImageInput {
    registry_id: Option<String>,
    repository_name: String,
    image_ids: Vec<ImageIdentifier>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchDeleteImageOutput {
    image_ids: Vec<ImageIdentifier>,
    failures: Vec<ImageFailure>,
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
    encode(&BatchDeleteImageOutput {
        image_ids: deleted,
        failures,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutImageInput {
    registry_id: Option<String>,
    repository_name: String,
    image_manifest: String,
    image_manifest_media_type: Option<String>,
    image_tag: Option<String>,
    image_digest: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutImageOutput {
    image: Image,
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
    encode(&PutImageOutput {
        image: Image {
            registry_id: call.state.info.registry_id.clone(),
            repository_name: name.to_owned(),
            image_id: ImageIdentifier {
                image_digest: Some(put.digest.to_string()),
                image_tag: input.image_tag,
            },
            image_manifest: input.image_manifest,
            image_manifest_media_type: image.media_type,
        },
    })
}

/// ECR's `SubjectIdentifier`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubjectIdentifier {
    image_digest: String,
}

/// ECR's `ListImageReferrersFilter`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReferrersFilter {
    artifact_types: Option<Vec<String>>,
    artifact_status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListImageReferrersInput {
    registry_id: Option<String>,
    repository_name: String,
    subject_id: SubjectIdentifier,
    filter: Option<ReferrersFilter>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// ECR's `ImageReferrer`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageReferrer {
    digest: String,
    media_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_type: Option<String>,
    size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<Value>,
    artifact_status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListImageReferrersOutput {
    referrers: Vec<ImageReferrer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `ListImageReferrers`: 20 a page unless `maxResults` (at most 50) says
/// otherwise, as ECR documents. Authorized as `ecr:BatchGetImage`.
pub async fn list_referrers(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: ListImageReferrersInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let subject = Digest::parse(&input.subject_id.image_digest).map_err(|e| {
        EcrError::InvalidParameter(format!("Invalid parameter at 'subjectId': {e}"))
    })?;
    let filter = input.filter.unwrap_or_default();
    let types = filter.artifact_types.unwrap_or_default();
    if types.len() > 5 {
        return Err(EcrError::InvalidParameter(
            "filter.artifactTypes holds at most 5 types".into(),
        ));
    }
    let active = active_selected("filter.artifactStatus", filter.artifact_status.as_deref())?;
    let limit = wire::max_results(input.max_results, 20, 50)?;
    let after = wire::position(input.next_token.as_deref())?;
    if !active {
        call.state.registry.repository(name).await?;
        return encode(&ListImageReferrersOutput {
            referrers: Vec::new(),
            next_token: None,
        });
    }
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
            referrers.push(ImageReferrer {
                digest: row.digest,
                media_type: row.media_type,
                artifact_type: row.artifact_type,
                size: row.manifest_size,
                annotations: row
                    .annotations
                    .as_deref()
                    .and_then(|a| serde_json::from_str::<Value>(a).ok()),
                artifact_status: "ACTIVE",
            });
        }
        if more || exhausted {
            break;
        }
    }
    let next_token = match (more, referrers.last()) {
        (true, Some(last)) => Some(wire::next_token(&json!(last.digest))),
        _ => None,
    };
    encode(&ListImageReferrersOutput {
        referrers,
        next_token,
    })
}
