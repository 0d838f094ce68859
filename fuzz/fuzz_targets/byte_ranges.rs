//! `Range` on blob `GET`s and `Content-Range`/`Content-Length` on upload
//! chunks: the header parsers and the checks behind them.
//!
//! Input: up to four lines, `Range` value, `Content-Range` value,
//! `Content-Length` value, and the size of the blob or of the upload so far
//! (a decimal number). An empty line leaves that header out.
#![no_main]

use berth::fuzzing::{check_chunk, chunk_headers, parse_range};
use berth::registry::error::RegistryError;
use http::header::{CONTENT_LENGTH, CONTENT_RANGE};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let range = lines.next().unwrap_or_default();
    let content_range = lines.next().unwrap_or_default();
    let content_length = lines.next().unwrap_or_default();
    let size_line = lines.next().unwrap_or_default();
    let size = std::str::from_utf8(size_line)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(size_line.len() as u64);

    // A blob GET: what is sent must lie inside the blob and be non-empty.
    if let Ok(text) = std::str::from_utf8(range) {
        if let Some(asked) = parse_range(text) {
            if let Some(sent) = asked.resolve(size) {
                assert!(
                    sent.start < sent.end && sent.end <= size,
                    "{text:?} on {size} bytes sends {sent:?}"
                );
                // The Content-Range the handler answers with.
                let _ = format!("bytes {}-{}/{size}", sent.start, sent.end - 1);
            }
        }
    }

    // An upload chunk: accepted only where the upload stands, with a length
    // that agrees; refused with a client error otherwise.
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (CONTENT_RANGE, content_range),
        (CONTENT_LENGTH, content_length),
    ] {
        if !value.is_empty() {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                headers.insert(name, value);
            }
        }
    }
    match chunk_headers(&headers) {
        Ok(chunk) => match check_chunk(chunk, size) {
            Ok(()) => {
                if let Some((start, end)) = chunk.range {
                    assert_eq!(start, size, "a chunk accepted away from the upload's end");
                    assert!(end >= start);
                    if let Some(length) = chunk.length {
                        assert_eq!(Some(length), (end - start).checked_add(1));
                    }
                }
            }
            Err(e) => {
                let e = RegistryError::from(e);
                assert!(e.status().is_client_error(), "{} {e}", e.status());
            }
        },
        Err(e) => assert!(e.status().is_client_error(), "{} {e}", e.status()),
    }
});
