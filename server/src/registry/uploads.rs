//! Blob uploads: start (end-4a), monolithic (end-4b), mount (end-11), chunk
//! (end-5), status (end-13), finish (end-6) and cancel.

use super::error::{upload_range, RegistryError};
use super::{content_length, empty, Query, DIGEST_HEADER, UPLOAD_UUID_HEADER};
use crate::auth::Identity;
use crate::service::{ChunkHeaders, MountOutcome, Registry, UploadStatus};
use crate::AppState;
use axum::body::BodyDataStream;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use berth_app::oci::Digest;

fn session_response(status: StatusCode, name: &str, upload: &UploadStatus) -> Response {
    empty(
        status,
        &[
            (
                header::LOCATION,
                format!("/v2/{name}/blobs/uploads/{}", upload.id),
            ),
            (header::RANGE, upload_range(upload.size)),
            (UPLOAD_UUID_HEADER, upload.id.clone()),
        ],
    )
}

fn blob_created(name: &str, digest: &Digest) -> Response {
    empty(
        StatusCode::CREATED,
        &[
            (header::LOCATION, format!("/v2/{name}/blobs/{digest}")),
            (DIGEST_HEADER, digest.to_string()),
        ],
    )
}

fn query_digest(query: &Query, key: &str) -> Result<Option<Digest>, RegistryError> {
    query
        .get(key)
        .map(|text| Digest::parse(text).map_err(|e| RegistryError::DigestInvalid(e.to_string())))
        .transpose()
}

/// `Content-Range: <start>-<end>` (also accepting `bytes ` and a `/total` suffix).
pub(crate) fn chunk_headers(headers: &HeaderMap) -> Result<ChunkHeaders, RegistryError> {
    let range = match headers.get(header::CONTENT_RANGE) {
        None => None,
        Some(value) => {
            let text = value.to_str().unwrap_or("");
            let spec = text
                .trim()
                .trim_start_matches("bytes")
                .trim_start_matches(['=', ' ']);
            let spec = spec.split('/').next().unwrap_or("");
            let parsed = spec.split_once('-').and_then(|(a, b)| {
                Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?))
            });
            Some(parsed.ok_or_else(|| {
                RegistryError::BlobUploadInvalid(format!(
                    "Content-Range {text:?} is not of the form <start>-<end>"
                ))
            })?)
        }
    };
    Ok(ChunkHeaders {
        range,
        length: content_length(headers),
    })
}

/// `POST /v2/<name>/blobs/uploads/` with optional `?digest=` or `?mount=&from=`.
pub async fn start(
    state: &AppState,
    identity: &Identity,
    name: &str,
    query: &Query,
    headers: &HeaderMap,
    body: &mut BodyDataStream,
) -> Result<Response, RegistryError> {
    let registry = &state.registry;
    if let Some(digest) = query_digest(query, "mount")? {
        // Mounting reads the source repository: without that right, upload instead.
        let mut from = query.get("from");
        if let Some(source) = from {
            berth_app::oci::validate_repository_name(source).map_err(|e| {
                RegistryError::NameInvalid(format!("the mount's from parameter: {e}"))
            })?;
            if !super::access::allowed(state, identity, "ecr:GetDownloadUrlForLayer", source)
                .await?
            {
                from = None;
            }
        }
        return Ok(
            match registry
                .mount_or_start(name, &digest, from, identity.uploader())
                .await?
            {
                MountOutcome::Mounted(digest) => blob_created(name, &digest),
                MountOutcome::Started(upload) => {
                    session_response(StatusCode::ACCEPTED, name, &upload)
                }
            },
        );
    }
    if let Some(digest) = query_digest(query, "digest")? {
        let length = content_length(headers);
        registry
            .upload_monolithic(name, identity.uploader(), &digest, length, body)
            .await?;
        return Ok(blob_created(name, &digest));
    }
    let upload = registry.start_upload(name, identity.uploader()).await?;
    Ok(session_response(StatusCode::ACCEPTED, name, &upload))
}

/// `GET /v2/<name>/blobs/uploads/<id>`.
pub async fn status(registry: &Registry, name: &str, id: &str) -> Result<Response, RegistryError> {
    let upload = registry.upload_status(name, id).await?;
    Ok(session_response(StatusCode::NO_CONTENT, name, &upload))
}

/// `PATCH /v2/<name>/blobs/uploads/<id>`: a chunk, or the whole blob streamed.
pub async fn patch(
    registry: &Registry,
    name: &str,
    id: &str,
    headers: &HeaderMap,
    body: &mut BodyDataStream,
) -> Result<Response, RegistryError> {
    let chunk = chunk_headers(headers)?;
    let upload = registry.append_upload(name, id, chunk, body).await?;
    Ok(session_response(StatusCode::ACCEPTED, name, &upload))
}

/// `PUT /v2/<name>/blobs/uploads/<id>?digest=`: an optional last chunk, then commit.
pub async fn finish(
    registry: &Registry,
    name: &str,
    id: &str,
    query: &Query,
    headers: &HeaderMap,
    body: &mut BodyDataStream,
) -> Result<Response, RegistryError> {
    let digest = query_digest(query, "digest")?.ok_or_else(|| {
        RegistryError::DigestInvalid(
            "the digest query parameter is required to finish an upload".into(),
        )
    })?;
    let chunk = chunk_headers(headers)?;
    registry
        .finish_upload(name, id, &digest, chunk, body)
        .await?;
    Ok(blob_created(name, &digest))
}

/// `DELETE /v2/<name>/blobs/uploads/<id>`: cancel.
pub async fn cancel(registry: &Registry, name: &str, id: &str) -> Result<Response, RegistryError> {
    registry.cancel_upload(name, id).await?;
    Ok(empty(StatusCode::NO_CONTENT, &[]))
}
