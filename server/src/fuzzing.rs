//! The parsers the fuzz targets in `fuzz/` exercise that are private to their
//! modules, passed through unchanged. Not an API: nothing else calls these.

use crate::registry::error::RegistryError;
use crate::service::{ByteRange, ChunkHeaders, ServiceError};
use axum::http::HeaderMap;

/// `Range: bytes=…` of a blob `GET` (`registry::blobs::parse_range`).
pub fn parse_range(text: &str) -> Option<ByteRange> {
    crate::registry::blobs::parse_range(text)
}

/// `Content-Range` and `Content-Length` of an upload `PATCH`/`PUT`
/// (`registry::uploads::chunk_headers`).
pub fn chunk_headers(headers: &HeaderMap) -> Result<ChunkHeaders, RegistryError> {
    crate::registry::uploads::chunk_headers(headers)
}

/// A chunk's declared position against the `size` bytes an upload holds
/// (`service::uploads::check_chunk`).
pub fn check_chunk(chunk: ChunkHeaders, size: u64) -> Result<(), ServiceError> {
    crate::service::uploads::check_chunk(chunk, size)
}
