//! Blob `GET`/`HEAD` (end-2) with `Range`, and `DELETE` (end-10).

use super::error::RegistryError;
use super::{empty, DIGEST_HEADER};
use crate::service::{ByteRange, Registry};
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use berth_app::oci::Digest;

/// `GET`/`HEAD /v2/<name>/blobs/<digest>`.
pub async fn get(
    registry: &Registry,
    name: &str,
    digest: &Digest,
    headers: &HeaderMap,
    with_body: bool,
) -> Result<Response, RegistryError> {
    if with_body {
        if let Some(url) = registry.blob_redirect(name, digest).await? {
            return Ok(Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header(header::LOCATION, url)
                .header(DIGEST_HEADER, digest.as_str())
                .body(Body::empty())
                .expect("valid headers"));
        }
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(text) => parse_range(text),
        None => None,
    };
    let read = registry.read_blob(name, digest, range, with_body).await?;
    let partial = range.is_some();
    let mut response = Response::builder()
        .status(if partial {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, read.range.end - read.range.start)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, format!("\"{digest}\""))
        .header(header::CACHE_CONTROL, "max-age=31536000")
        .header(DIGEST_HEADER, digest.as_str());
    if partial {
        response = response.header(
            header::CONTENT_RANGE,
            format!(
                "bytes {}-{}/{}",
                read.range.start,
                read.range.end - 1,
                read.size
            ),
        );
    }
    let body = read.body.map_or_else(Body::empty, Body::from_stream);
    Ok(response.body(body).expect("valid headers"))
}

/// `DELETE /v2/<name>/blobs/<digest>`.
pub async fn delete(
    registry: &Registry,
    name: &str,
    digest: &Digest,
) -> Result<Response, RegistryError> {
    registry.delete_blob(name, digest).await?;
    Ok(empty(StatusCode::ACCEPTED, &[]))
}

/// Parses a single `bytes=` range; anything else (several ranges, other units,
/// garbage) is ignored and the whole blob is sent, as RFC 9110 allows.
pub fn parse_range(text: &str) -> Option<ByteRange> {
    let spec = text.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        return end.parse().ok().map(ByteRange::Suffix);
    }
    let start = start.parse().ok()?;
    let end = if end.is_empty() {
        None
    } else {
        Some(end.parse().ok()?)
    };
    // A last byte before the first makes the header invalid: RFC 9110 says ignore it.
    if end.is_some_and(|end| end < start) {
        return None;
    }
    Some(ByteRange::From { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_headers_parse() {
        assert_eq!(
            parse_range("bytes=0-9"),
            Some(ByteRange::From {
                start: 0,
                end: Some(9)
            })
        );
        assert_eq!(
            parse_range("bytes=5-"),
            Some(ByteRange::From {
                start: 5,
                end: None
            })
        );
        assert_eq!(parse_range("bytes=-7"), Some(ByteRange::Suffix(7)));
        assert_eq!(parse_range("bytes=0-1,4-5"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(parse_range("bytes=x-1"), None);
        assert_eq!(
            parse_range("bytes=20-10"),
            None,
            "invalid ranges are ignored"
        );
    }
}
