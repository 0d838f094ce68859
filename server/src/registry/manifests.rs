//! Manifest `GET`/`HEAD` (end-3), `PUT` (end-7) and `DELETE` (end-9).

use super::error::RegistryError;
use super::{content_length, empty, DIGEST_HEADER};
use crate::service::{ManifestRef, Registry, MANIFEST_LIMIT};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, StatusCode};
use axum::response::Response;

const SUBJECT_HEADER: HeaderName = HeaderName::from_static("oci-subject");

fn too_large() -> RegistryError {
    RegistryError::ManifestTooLarge(format!(
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
    request: Request,
) -> Result<Response, RegistryError> {
    if content_length(request.headers()).is_some_and(|n| n > MANIFEST_LIMIT as u64) {
        return Err(too_large());
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(request.into_body(), MANIFEST_LIMIT)
        .await
        .map_err(|e| {
            if e.to_string().contains("length limit") {
                too_large()
            } else {
                RegistryError::ManifestInvalid(format!("the request body ended early: {e}"))
            }
        })?;
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
