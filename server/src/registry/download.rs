//! Layer downloads by signed URL, as `GetDownloadUrlForLayer` hands out
//! ([`crate::http::signed_download_url`]):
//! `/_berth/layers/<name>/<digest>?expires=<unix seconds>&signature=<hmac>`.
//! The signature stands in for credentials, so the URL works without them
//! until it expires.

use super::error::RegistryError;
use super::{blobs, Query};
use crate::http::DOWNLOAD_PREFIX;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use berth_app::oci::{validate_repository_name, Digest};

/// `GET`/`HEAD` of a signed layer URL.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    match serve(&state, &parts).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn serve(state: &AppState, request: &Parts) -> Result<Response, RegistryError> {
    let denied = || {
        RegistryError::Denied("this download URL is invalid or has expired; ask for a new one with GetDownloadUrlForLayer".into())
    };
    let rest = request
        .uri
        .path()
        .strip_prefix(DOWNLOAD_PREFIX)
        .ok_or_else(denied)?;
    let (name, digest) = rest.rsplit_once('/').ok_or_else(denied)?;
    validate_repository_name(name).map_err(|e| RegistryError::NameInvalid(e.to_string()))?;
    let digest = Digest::parse(digest).map_err(|e| RegistryError::DigestInvalid(e.to_string()))?;
    let query = Query::parse(request.uri.query());
    let expires: i64 = query
        .get("expires")
        .and_then(|e| e.parse().ok())
        .ok_or_else(denied)?;
    let signature = query.get("signature").ok_or_else(denied)?;
    let now = crate::clock::now_millis() / 1000;
    if expires < now
        || !state
            .auth
            .verify_download(name, digest.as_str(), expires, signature)
    {
        return Err(denied());
    }
    let with_body = request.method == Method::GET;
    blobs::get(&state.registry, name, &digest, &request.headers, with_body).await
}
