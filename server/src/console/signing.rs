//! Managed signing's public download: the installation's signing CA
//! certificate (`GET /signing/ca.pem`), what `notation` and other verifiers
//! put in their trust store. It is public, as a CA certificate is: no
//! sign-in and no credentials are needed (nothing secret is in it; the
//! CA's private key never leaves the database, sealed).

use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The path the CA certificate is served at.
pub const CA_PATH: &str = "/signing/ca.pem";

/// `GET /signing/ca.pem`: the signing CA certificate, PEM (made on first use).
pub async fn ca_pem(State(state): State<AppState>) -> Response {
    match state.registry.signing_ca_pem().await {
        Ok(pem) => {
            let mut response = (StatusCode::OK, pem).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pem-file"),
            );
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"berth-signing-ca.pem\""),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "could not serve the signing CA certificate");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The signing CA certificate could not be read; see the server's log\n",
            )
                .into_response()
        }
    }
}
