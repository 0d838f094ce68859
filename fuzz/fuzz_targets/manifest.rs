//! Manifest and index parsing and validation
//! (`berth::service::manifest_format::parse`), as a manifest `PUT` runs it.
//!
//! Input: the `Content-Type` value on the first line (an empty line sends
//! none), then the body.
#![no_main]

use berth::service::manifest_format::{parse, ManifestKind};
use berth::service::MANIFEST_LIMIT;
use berth_app::oci::Digest;
use libfuzzer_sys::{fuzz_target, Corpus};

fuzz_target!(|data: &[u8]| -> Corpus {
    if data.len() > MANIFEST_LIMIT {
        return Corpus::Reject; // refused before parsing
    }
    let (first, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    // A Content-Type that is not visible ASCII never reaches the parser as text.
    let content_type = match std::str::from_utf8(first) {
        Ok("") => None,
        Ok(text) => Some(text),
        Err(_) => return Corpus::Reject,
    };
    let Ok(manifest) = parse(content_type, body) else {
        return Corpus::Keep;
    };
    for digest in manifest.blobs.iter().chain(&manifest.children) {
        assert!(Digest::parse(digest).is_ok(), "{digest:?} accepted");
    }
    if let Some(subject) = &manifest.subject {
        assert!(
            Digest::parse(subject).is_ok(),
            "subject {subject:?} accepted"
        );
    }
    assert!(
        manifest.layers_size >= 0,
        "layers add up to {}",
        manifest.layers_size
    );
    match manifest.kind {
        ManifestKind::Image => {
            assert!(!manifest.blobs.is_empty(), "an image without its config");
            assert!(manifest.children.is_empty());
        }
        ManifestKind::Index => {
            assert!(manifest.blobs.is_empty());
            assert_eq!(manifest.layers_size, 0);
        }
    }
    if let Some(annotations) = &manifest.annotations {
        assert!(serde_json::from_str::<serde_json::Value>(annotations).is_ok());
    }
    Corpus::Keep
});
