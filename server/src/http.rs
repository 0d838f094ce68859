//! HTTP details every face shares, below all of them: the client's address,
//! a media type's essence, reading off an unwanted body, the registry API's
//! version header, and signed layer-download URLs (handed out by the ECR API,
//! served by the registry API). Nothing here knows a protocol's errors.

use crate::AppState;
use axum::body::BodyDataStream;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use berth_app::oci::Digest;

/// The client's address, when the server records it (per connection).
pub fn source_address(parts: &Parts) -> Option<std::net::IpAddr> {
    client_address(&parts.extensions)
}

/// The client's address from a request's extensions, when the server records it.
pub fn client_address(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<crate::ClientAddr>>()
        .map(|info| info.0 .0.ip())
}

/// A media type without its parameters, trimmed: `application/json;
/// charset=utf-8` → `application/json`. Compare it case-insensitively.
pub fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Reads and discards up to `limit` bytes of what is left of a request body,
/// so a client still sending it reads the answer instead of a reset
/// connection.
pub async fn drain(body: &mut BodyDataStream, limit: usize) {
    let mut read = 0;
    while let Some(Ok(chunk)) = futures_util::StreamExt::next(body).await {
        read += chunk.len();
        if read > limit {
            break;
        }
    }
}

/// Which face a request is for, from its method, path and headers alone (the
/// router's own split): request limits answer in its error format, and
/// metrics and the access log are labelled with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// The OCI registry API: `/v2/…` and signed layer downloads.
    Registry,
    /// The ECR API: `POST /` with `X-Amz-Target`.
    Ecr,
    /// Metrics and health checks: `/metrics`, `/healthz`, `/readyz`.
    Operations,
    /// Everything else: the console's pages, server functions and assets.
    Console,
}

impl Face {
    /// The face of a request.
    pub fn of(method: &axum::http::Method, path: &str, headers: &axum::http::HeaderMap) -> Self {
        if is_registry_path(path) {
            Self::Registry
        } else if method == axum::http::Method::POST
            && path == "/"
            && headers.contains_key("x-amz-target")
        {
            Self::Ecr
        } else if matches!(path, "/metrics" | "/healthz" | "/readyz") {
            Self::Operations
        } else {
            Self::Console
        }
    }

    /// Its name in metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Self::Registry => "registry",
            Self::Ecr => "ecr",
            Self::Operations => "operations",
            Self::Console => "console",
        }
    }
}

/// `Docker-Distribution-API-Version`.
pub const API_VERSION_HEADER: HeaderName =
    HeaderName::from_static("docker-distribution-api-version");

/// Whether a request path belongs to the registry API (`/v2/…` and signed
/// layer downloads), whose every response carries [`API_VERSION_HEADER`].
pub fn is_registry_path(path: &str) -> bool {
    path == "/v2" || path.starts_with("/v2/") || path.starts_with(DOWNLOAD_PREFIX)
}

/// Middleware, outermost: the one place that adds `Docker-Distribution-API-Version:
/// registry/2.0` to every registry API response, errors and refusals included.
pub async fn api_version(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let registry = is_registry_path(request.uri().path());
    let mut response = next.run(request).await;
    if registry {
        response
            .headers_mut()
            .insert(API_VERSION_HEADER, HeaderValue::from_static("registry/2.0"));
    }
    response
}

/// The path prefix of signed layer URLs:
/// `/_berth/layers/<name>/<digest>?expires=<unix seconds>&signature=<hmac>`.
pub const DOWNLOAD_PREFIX: &str = "/_berth/layers/";

/// How long a signed layer URL works, in seconds.
pub const DOWNLOAD_LIFETIME_SECONDS: i64 = 900;

/// A signed URL for one layer, valid for [`DOWNLOAD_LIFETIME_SECONDS`], and
/// when it expires (Unix seconds).
pub fn signed_download_url(state: &AppState, name: &str, digest: &Digest) -> (String, i64) {
    let expires = crate::clock::now_millis() / 1000 + DOWNLOAD_LIFETIME_SECONDS;
    let signature = state.auth.sign_download(name, digest.as_str(), expires);
    let url = format!(
        "{}{DOWNLOAD_PREFIX}{name}/{digest}?expires={expires}&signature={signature}",
        state.info.public_url
    );
    (url, expires)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essence_drops_parameters_and_space() {
        assert_eq!(essence("application/json"), "application/json");
        assert_eq!(
            essence(" application/json ; charset=utf-8"),
            "application/json"
        );
        assert_eq!(essence(""), "");
    }

    #[test]
    fn registry_paths_are_v2_and_signed_downloads_only() {
        assert!(is_registry_path("/v2"));
        assert!(is_registry_path("/v2/"));
        assert!(is_registry_path("/v2/a/b/manifests/x"));
        assert!(is_registry_path("/_berth/layers/a/sha256:00"));
        assert!(!is_registry_path("/v2x"));
        assert!(!is_registry_path("/"));
        assert!(!is_registry_path("/repositories"));
    }
}
