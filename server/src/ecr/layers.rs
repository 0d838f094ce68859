//! The ECR layer-upload API: BatchCheckLayerAvailability, InitiateLayerUpload,
//! UploadLayerPart, CompleteLayerUpload. Uploads are the same sessions the
//! registry API uses, so a layer pushed either way serves both.

use super::wire::{self, decode, encode, repository_name, Absent};
use super::{Call, EcrError};
use crate::service::{ChunkHeaders, ServiceError};
use base64::Engine;
use berth_app::oci::Digest;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The part size InitiateLayerUpload suggests.
const PART_SIZE: u64 = 10 * 1024 * 1024;
/// The largest part UploadLayerPart takes (ECR's `LayerPartBlob` limit).
const PART_MAX: usize = 20 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckInput {
    registry_id: Option<String>,
    repository_name: String,
    layer_digests: Vec<String>,
}

/// ECR's `Layer`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Layer {
    layer_digest: String,
    layer_availability: &'static str,
    layer_size: u64,
    /// Not recorded: a blob's media type is only known to the manifests that use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    media_type: Option<Absent>,
}

/// ECR's `LayerFailure`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LayerFailure {
    layer_digest: String,
    failure_code: &'static str,
    failure_reason: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckOutput {
    layers: Vec<Layer>,
    failures: Vec<LayerFailure>,
}

/// `BatchCheckLayerAvailability`.
pub async fn check_availability(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: CheckInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    if !(1..=100).contains(&input.layer_digests.len()) {
        return Err(EcrError::InvalidParameter(
            "layerDigests must hold 1 to 100 digests".into(),
        ));
    }
    let registry = &call.state.registry;
    let (mut layers, mut failures) = (Vec::new(), Vec::new());
    for text in &input.layer_digests {
        let Ok(digest) = Digest::parse(text) else {
            failures.push(LayerFailure {
                layer_digest: text.clone(),
                failure_code: "InvalidLayerDigest",
                failure_reason: "Invalid layer digest",
            });
            continue;
        };
        match registry.read_blob(name, &digest, None, false).await {
            Ok(blob) => layers.push(Layer {
                layer_digest: text.clone(),
                layer_availability: "AVAILABLE",
                layer_size: blob.size,
                media_type: None,
            }),
            Err(ServiceError::BlobUnknown(_)) => failures.push(LayerFailure {
                layer_digest: text.clone(),
                failure_code: "MissingLayerDigest",
                failure_reason: "Could not find layer",
            }),
            Err(other) => return Err(other.into()),
        }
    }
    encode(&CheckOutput { layers, failures })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InitiateInput {
    registry_id: Option<String>,
    repository_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitiateOutput {
    upload_id: String,
    part_size: u64,
}

/// `InitiateLayerUpload`.
pub async fn initiate(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: InitiateInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    // The repository must exist: the ECR API does not create on push.
    call.state.registry.repository(name).await?;
    let upload = call
        .state
        .registry
        .start_upload(name, call.identity.uploader())
        .await?;
    encode(&InitiateOutput {
        upload_id: upload.id,
        part_size: PART_SIZE,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UploadPartInput {
    registry_id: Option<String>,
    repository_name: String,
    upload_id: String,
    part_first_byte: u64,
    part_last_byte: u64,
    layer_part_blob: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UploadPartOutput {
    registry_id: String,
    repository_name: String,
    upload_id: String,
    last_byte_received: u64,
}

/// `UploadLayerPart`: parts must follow each other without gaps.
pub async fn upload_part(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: UploadPartInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&input.layer_part_blob)
        .map_err(|_| EcrError::InvalidParameter("layerPartBlob is not base64".into()))?;
    if bytes.len() > PART_MAX {
        return Err(EcrError::InvalidParameter(format!(
            "a layer part holds at most {PART_MAX} bytes"
        )));
    }
    if input.part_last_byte < input.part_first_byte
        || input.part_last_byte - input.part_first_byte + 1 != bytes.len() as u64
    {
        return Err(EcrError::InvalidLayerPart(format!(
            "partFirstByte {} and partLastByte {} do not span the {} bytes sent",
            input.part_first_byte,
            input.part_last_byte,
            bytes.len()
        )));
    }
    let chunk = ChunkHeaders {
        range: Some((input.part_first_byte, input.part_last_byte)),
        length: Some(bytes.len() as u64),
    };
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(bytes))]);
    let status = call
        .state
        .registry
        .append_upload(name, &input.upload_id, chunk, body)
        .await
        .map_err(|e| match e {
            ServiceError::UploadOutOfOrder { size } => EcrError::InvalidLayerPart(format!(
                "partFirstByte must be {size}, the byte after the last one received"
            )),
            other => other.into(),
        })?;
    encode(&UploadPartOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name.to_owned(),
        upload_id: input.upload_id,
        last_byte_received: status.size.saturating_sub(1),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CompleteInput {
    registry_id: Option<String>,
    repository_name: String,
    upload_id: String,
    layer_digests: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompleteOutput {
    registry_id: String,
    repository_name: String,
    upload_id: String,
    layer_digest: String,
}

/// `CompleteLayerUpload`: verifies the digest and commits the layer.
pub async fn complete(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: CompleteInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let [text] = input.layer_digests.as_slice() else {
        return Err(EcrError::InvalidParameter(
            "layerDigests must hold exactly one digest".into(),
        ));
    };
    let digest = Digest::parse(text).map_err(|e| {
        EcrError::InvalidParameter(format!("Invalid parameter at 'layerDigests': {e}"))
    })?;
    let registry = &call.state.registry;
    let status = registry.upload_status(name, &input.upload_id).await?;
    if status.size == 0 {
        return Err(EcrError::EmptyUpload(format!(
            "upload {} holds no layer parts",
            input.upload_id
        )));
    }
    let none = futures_util::stream::empty::<Result<Bytes, std::io::Error>>();
    registry
        .finish_upload(
            name,
            &input.upload_id,
            &digest,
            ChunkHeaders::default(),
            none,
        )
        .await
        .map_err(|e| match e {
            ServiceError::DigestMismatch { .. } => EcrError::InvalidLayer(e.to_string()),
            other => other.into(),
        })?;
    encode(&CompleteOutput {
        registry_id: call.state.info.registry_id.clone(),
        repository_name: name.to_owned(),
        upload_id: input.upload_id,
        layer_digest: digest.as_str().to_owned(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DownloadUrlInput {
    registry_id: Option<String>,
    repository_name: String,
    layer_digest: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DownloadUrlOutput {
    download_url: String,
    layer_digest: String,
}

/// `GetDownloadUrlForLayer`: a presigned store URL when downloads are redirected,
/// else a signed URL on this server; either is valid for 15 minutes.
pub async fn download_url(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: DownloadUrlInput = decode(input)?;
    wire::registry_id(call, input.registry_id.as_deref())?;
    let name = repository_name(&input.repository_name)?;
    let digest = Digest::parse(&input.layer_digest).map_err(|e| {
        EcrError::InvalidParameter(format!("Invalid parameter at 'layerDigest': {e}"))
    })?;
    match call
        .state
        .registry
        .read_blob(name, &digest, None, false)
        .await
    {
        Ok(_) => {}
        Err(ServiceError::BlobUnknown(_)) => {
            return Err(EcrError::LayersNotFound(format!(
                "The layer {digest} does not exist in the repository with name '{name}'"
            )))
        }
        Err(other) => return Err(other.into()),
    }
    // Straight from the store when downloads are redirected, as ECR hands out
    // S3 URLs; otherwise a URL on this server that stands in for credentials.
    let url = match call.state.registry.blob_redirect(name, &digest).await? {
        Some(url) => url,
        None => crate::http::signed_download_url(call.state, name, &digest).0,
    };
    encode(&DownloadUrlOutput {
        download_url: url,
        layer_digest: digest.as_str().to_owned(),
    })
}
