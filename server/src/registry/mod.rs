//! The OCI Distribution face (`/v2/*`): authenticate, parse the path once into an
//! [`path::Endpoint`], dispatch on (method, endpoint), translate service results
//! into the spec's responses. No registry logic lives here.

mod access;
pub(crate) mod blobs;
mod discovery;
pub mod download;
pub mod error;
mod manifests;
pub mod path;
pub(crate) mod uploads;

use crate::AppState;
use axum::body::{Body, BodyDataStream};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use error::RegistryError;
use path::Endpoint;
use std::collections::HashMap;

/// `Docker-Distribution-API-Version`, sent on every `/v2/` response.
pub const API_VERSION_HEADER: HeaderName =
    HeaderName::from_static("docker-distribution-api-version");

/// Entry point for every `/v2/*` request.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut body = body.into_data_stream();
    let mut response = match serve(&state, &parts, &mut body).await {
        Ok(response) => response,
        Err(error) => {
            // Read what the client is still sending, so it sees our answer
            // instead of a connection reset in the middle of its upload.
            drain(&mut body, DRAIN_LIMIT).await;
            error.into_response()
        }
    };
    response
        .headers_mut()
        .insert(API_VERSION_HEADER, HeaderValue::from_static("registry/2.0"));
    response
}

/// The most of an unwanted request body read before answering with an error.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Reads and discards up to `limit` bytes of what is left of a request body,
/// so a client still sending it reads the answer instead of a reset
/// connection. (The console's body limit drains the same way.)
pub(crate) async fn drain(body: &mut BodyDataStream, limit: usize) {
    let mut read = 0;
    while let Some(Ok(chunk)) = futures_util::StreamExt::next(body).await {
        read += chunk.len();
        if read > limit {
            break;
        }
    }
}

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
        .authenticate(authorization, source_address(parts))
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
    let endpoint = path::parse(parts.uri.path())?;
    let query = Query::parse(parts.uri.query());
    access::check(state, &identity, &parts.method, &endpoint, &query).await?;
    let method = &parts.method;
    let headers = &parts.headers;
    let registry = &state.registry;
    match (method, endpoint) {
        (&Method::GET | &Method::HEAD, Endpoint::Base) => {
            Ok(axum::Json(serde_json::json!({})).into_response())
        }
        (&Method::GET, Endpoint::Catalog) => discovery::catalog(state, &identity, &query).await,
        (&Method::GET, Endpoint::Tags { name }) => discovery::tags(registry, &name, &query).await,
        (&Method::GET, Endpoint::Referrers { name, digest }) => {
            discovery::referrers(registry, &name, &digest, &query).await
        }
        (&Method::GET | &Method::HEAD, Endpoint::Manifest { name, reference }) => {
            manifests::get(registry, &name, &reference, method == Method::GET).await
        }
        (&Method::PUT, Endpoint::Manifest { name, reference }) => {
            manifests::put(registry, &name, &reference, headers, body).await
        }
        (&Method::DELETE, Endpoint::Manifest { name, reference }) => {
            manifests::delete(registry, &name, &reference).await
        }
        (&Method::GET | &Method::HEAD, Endpoint::Blob { name, digest }) => {
            blobs::get(registry, &name, &digest, headers, method == Method::GET).await
        }
        (&Method::DELETE, Endpoint::Blob { name, digest }) => {
            blobs::delete(registry, &name, &digest).await
        }
        (&Method::POST, Endpoint::UploadStart { name }) => {
            uploads::start(state, &identity, &name, &query, headers, body).await
        }
        (&Method::GET, Endpoint::Upload { name, id }) => {
            uploads::status(registry, &name, &id).await
        }
        (&Method::PATCH, Endpoint::Upload { name, id }) => {
            uploads::patch(registry, &name, &id, headers, body).await
        }
        (&Method::PUT, Endpoint::Upload { name, id }) => {
            uploads::finish(registry, &name, &id, &query, headers, body).await
        }
        (&Method::DELETE, Endpoint::Upload { name, id }) => {
            uploads::cancel(registry, &name, &id).await
        }
        (method, endpoint) => Err(RegistryError::Unsupported(format!(
            "{method} is not supported on {}",
            endpoint_label(&endpoint)
        ))),
    }
}

/// The client's address, when the server records it.
pub fn source_address(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<crate::ClientAddr>>()
        .map(|info| info.0 .0.ip())
}

fn endpoint_label(endpoint: &Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Base => "/v2/",
        Endpoint::Catalog => "the catalog",
        Endpoint::Tags { .. } => "the tags list",
        Endpoint::Manifest { .. } => "manifests",
        Endpoint::Blob { .. } => "blobs",
        Endpoint::UploadStart { .. } => "the upload start URL",
        Endpoint::Upload { .. } => "upload sessions",
        Endpoint::Referrers { .. } => "referrers",
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
