//! Limits on the parts of a request that no face bounds by itself: the
//! headers of every request, and the bodies of the console's requests. A
//! request over a limit is answered in its face's own error format (OCI
//! errors on `/v2/`, AWS JSON on the ECR API, text elsewhere), naming the limit.
//!
//! The registry's and the ECR API's bodies have limits of their own: 4 MiB a
//! manifest, `max_blob_size` a blob, 32 MiB an ECR request.
//!
//! Past these, HTTP's own parser stops a request whose header block exceeds
//! about 400 KiB or 100 headers, with a bare `431` and a closed connection.

use crate::ecr::EcrError;
use crate::http::{drain, Face};
use crate::registry::error::RegistryError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

/// The most headers a request may carry.
pub const HEADER_COUNT: usize = 64;
/// The most bytes of header names and values a request may carry.
pub const HEADER_BYTES: usize = 64 * 1024;
/// The largest console request body (a form, or a server function's
/// arguments; the longest is a policy document).
pub const CONSOLE_BODY_BYTES: usize = 1024 * 1024;
/// The most of a refused console body read (and dropped) before answering,
/// so a client still sending it reads the `413` instead of a reset
/// connection. A body declared longer than the limit and this is answered
/// at once: its client would be cut off either way.
pub const CONSOLE_DRAIN_BYTES: usize = 8 * 1024 * 1024;

/// Middleware: refuses a request with more than [`HEADER_COUNT`] headers or
/// [`HEADER_BYTES`] bytes of them.
pub async fn headers(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let count = headers.len();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if count <= HEADER_COUNT && bytes <= HEADER_BYTES {
        return next.run(request).await;
    }
    let message = format!(
        "the request has {count} headers of {bytes} bytes; the limit is {HEADER_COUNT} \
         headers of {HEADER_BYTES} bytes in all"
    );
    tracing::info!(path = request.uri().path(), %message, "request refused");
    match Face::of(request.method(), request.uri().path(), headers) {
        Face::Registry => RegistryError::HeadersTooLarge(message).into_response(),
        Face::Ecr => EcrError::InvalidParameter(message).into_response(),
        Face::Operations | Face::Console => {
            (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, message).into_response()
        }
    }
}

/// Middleware for the console: refuses a body over [`CONSOLE_BODY_BYTES`]
/// (413), keeping no more of it than that. The rest of a refused body, up to
/// [`CONSOLE_DRAIN_BYTES`], is read and dropped first, as the registry face
/// does (`http::drain`): an answer sent while the client is still sending
/// is often lost to the connection's reset. A body that breaks off before its
/// end is a 400, not a 413: its size was never known.
pub async fn console_body(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = body.into_data_stream();
    if declared.is_some_and(|n| n > CONSOLE_BODY_BYTES as u64) {
        if declared.is_some_and(|n| n <= (CONSOLE_BODY_BYTES + CONSOLE_DRAIN_BYTES) as u64) {
            drain(&mut body, CONSOLE_DRAIN_BYTES).await;
        }
        return too_large(parts.uri.path());
    }
    let mut kept = bytes::BytesMut::new();
    while let Some(next) = body.next().await {
        match next {
            Ok(chunk) if kept.len() + chunk.len() <= CONSOLE_BODY_BYTES => {
                kept.extend_from_slice(&chunk)
            }
            Ok(_) => {
                drain(&mut body, CONSOLE_DRAIN_BYTES).await;
                return too_large(parts.uri.path());
            }
            Err(error) => {
                let message = format!("the request body broke off after {} bytes", kept.len());
                tracing::info!(path = parts.uri.path(), %error, %message, "request refused");
                return (StatusCode::BAD_REQUEST, message).into_response();
            }
        }
    }
    let request = Request::from_parts(parts, Body::from(kept.freeze()));
    next.run(request).await
}

fn too_large(path: &str) -> Response {
    let message = format!(
        "the request body is larger than {CONSOLE_BODY_BYTES} bytes, the limit for the console"
    );
    tracing::info!(path, %message, "request refused");
    (StatusCode::PAYLOAD_TOO_LARGE, message).into_response()
}
