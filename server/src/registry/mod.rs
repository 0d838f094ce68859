//! The OCI Distribution face (`/v2/*`): authenticate, parse the method and
//! path once into a [`path::Endpoint`], check its permissions, dispatch on it,
//! translate service results into the spec's responses. No registry logic
//! lives here. (`Docker-Distribution-API-Version` is added to every response
//! by [`crate::http::api_version`].)

mod access;
pub(crate) mod blobs;
mod discovery;
pub mod download;
pub mod error;
mod manifests;
pub mod path;
pub(crate) mod uploads;

use crate::http::drain;
use crate::AppState;
use axum::body::{Body, BodyDataStream};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use error::RegistryError;
use path::Endpoint;
use std::collections::HashMap;

/// Entry point for every `/v2/*` request.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut body = body.into_data_stream();
    match serve(&state, &parts, &mut body).await {
        Ok(response) => response,
        Err(error) => {
            // Read what the client is still sending, so it sees our answer
            // instead of a connection reset in the middle of its upload.
            drain(&mut body, DRAIN_LIMIT).await;
            error.into_response()
        }
    }
}

/// The most of an unwanted request body read before answering with an error.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

async fn serve(
    state: &AppState,
    parts: &Parts,
    body: &mut BodyDataStream,
) -> Result<Response, RegistryError> {
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let identity = state
        .auth
        .authenticate(authorization, crate::http::source_address(parts))
        .await
        .map_err(|e| match e {
            crate::auth::AuthError::Database(db) => {
                tracing::error!(error = %db, "database failed during authentication");
                RegistryError::Internal
            }
            crate::auth::AuthError::Throttled(seconds) => RegistryError::TooManyRequests {
                message: e.to_string(),
                retry_after: seconds,
            },
            other => RegistryError::Unauthorized(other.to_string()),
        })?;
    state
        .auth
        .admit(&identity)
        .map_err(|limited| RegistryError::TooManyRequests {
            message: limited.message,
            retry_after: limited.retry_after,
        })?;
    let endpoint = path::parse(&parts.method, parts.uri.path())?;
    let query = Query::parse(parts.uri.query());
    access::check(state, &identity, &endpoint, &query).await?;
    let headers = &parts.headers;
    let registry = &state.registry;
    match endpoint {
        Endpoint::ApiVersion => Ok(axum::Json(serde_json::json!({})).into_response()),
        Endpoint::Catalog => discovery::catalog(state, &identity, &query).await,
        Endpoint::ListTags { name } => discovery::tags(registry, &name, &query).await,
        Endpoint::ListReferrers { name, digest } => {
            discovery::referrers(registry, &name, &digest, &query).await
        }
        Endpoint::GetManifest {
            name,
            reference,
            body,
        } => manifests::get(registry, &name, &reference, body).await,
        Endpoint::PutManifest { name, reference } => {
            manifests::put(registry, &name, &reference, headers, body).await
        }
        Endpoint::DeleteManifest { name, reference } => {
            manifests::delete(registry, &name, &reference).await
        }
        Endpoint::GetBlob { name, digest, body } => {
            blobs::get(registry, &name, &digest, headers, body).await
        }
        Endpoint::DeleteBlob { name, digest } => blobs::delete(registry, &name, &digest).await,
        Endpoint::StartUpload { name } => {
            uploads::start(state, &identity, &name, &query, headers, body).await
        }
        Endpoint::UploadStatus { name, id } => uploads::status(registry, &name, &id).await,
        Endpoint::PatchUpload { name, id } => {
            uploads::patch(registry, &name, &id, headers, body).await
        }
        Endpoint::FinishUpload { name, id } => {
            uploads::finish(registry, &name, &id, &query, headers, body).await
        }
        Endpoint::CancelUpload { name, id } => uploads::cancel(registry, &name, &id).await,
    }
}

/// Query parameters (first value of each key).
pub struct Query(HashMap<String, String>);

impl Query {
    fn parse(query: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Self(map)
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// Builds a response with a status, headers and an empty body.
fn empty(status: StatusCode, headers: &[(HeaderName, String)]) -> Response {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response
        .header(header::CONTENT_LENGTH, "0")
        .body(Body::empty())
        .expect("static headers are valid")
}

/// Reads `Content-Length`, if present and numeric.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// `Docker-Content-Digest`.
const DIGEST_HEADER: HeaderName = HeaderName::from_static("docker-content-digest");
/// `Docker-Upload-UUID`.
const UPLOAD_UUID_HEADER: HeaderName = HeaderName::from_static("docker-upload-uuid");
