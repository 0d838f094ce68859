//! Manifest `GET`/`HEAD` (end-3), `PUT` (end-7) and `DELETE` (end-9).

use super::error::RegistryError;
use super::{content_length, empty, DIGEST_HEADER};
use crate::service::{ManifestRef, Registry, MANIFEST_LIMIT};
use axum::body::Body;
use axum::body::BodyDataStream;
use axum::http::HeaderMap;
use axum::http::{header, HeaderName, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;

const SUBJECT_HEADER: HeaderName = HeaderName::from_static("oci-subject");

fn too_large() -> RegistryError {
    RegistryError::TooLarge(format!(
        "manifest is larger than the {MANIFEST_LIMIT}-byte limit"
    ))
}

/// `GET`/`HEAD /v2/<name>/manifests/<reference>`.
pub async fn get(
    registry: &Registry,
    name: &str,
    reference: &ManifestRef,
    with_body: bool,
) -> Result<Response, RegistryError> {
    let manifest = registry.get_manifest(name, reference, with_body).await?;
    let response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, &manifest.media_type)
        .header(header::CONTENT_LENGTH, manifest.body.len())
        .header(header::ETAG, format!("\"{}\"", manifest.digest))
        .header(DIGEST_HEADER, &manifest.digest);
    let body = if with_body {
        Body::from(manifest.body)
    } else {
        Body::empty()
    };
    Ok(response.body(body).expect("valid headers"))
}

/// `PUT /v2/<name>/manifests/<reference>`.
pub async fn put(
    registry: &Registry,
    name: &str,
    reference: &ManifestRef,
    headers: &HeaderMap,
    body: &mut BodyDataStream,
) -> Result<Response, RegistryError> {
    if content_length(headers).is_some_and(|n| n > MANIFEST_LIMIT as u64) {
        return Err(too_large());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            RegistryError::ManifestInvalid(format!("the request body ended early: {e}"))
        })?;
        if bytes.len() + chunk.len() > MANIFEST_LIMIT {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    let body = bytes;
    let put = registry
        .put_manifest(name, reference, content_type.as_deref(), &body)
        .await?;
    let mut headers = vec![
        (
            header::LOCATION,
            format!("/v2/{name}/manifests/{}", put.digest),
        ),
        (DIGEST_HEADER, put.digest.to_string()),
    ];
    if let Some(subject) = put.subject {
        headers.push((SUBJECT_HEADER, subject));
    }
    Ok(empty(StatusCode::CREATED, &headers))
}

/// `DELETE /v2/<name>/manifests/<reference>`: by digest removes the image and its
/// tags; by tag removes only the tag.
pub async fn delete(
    registry: &Registry,
    name: &str,
    reference: &ManifestRef,
) -> Result<Response, RegistryError> {
    registry.delete_manifest(name, reference).await?;
    Ok(empty(StatusCode::ACCEPTED, &[]))
}
