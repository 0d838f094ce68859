//! The `/v2/*` path parser (`berth::registry::path::parse`): every path is
//! either an endpoint whose names and references are valid and whose path
//! parses back to the same endpoint, or a client error (4xx), never a panic.
#![no_main]

use berth::registry::path::{parse, reference, Endpoint};
use berth::service::ManifestRef;
use berth_app::oci::validate_repository_name;
use libfuzzer_sys::{fuzz_target, Corpus};

fuzz_target!(|data: &[u8]| -> Corpus {
    // Request paths reach the parser as `&str` (axum's `Uri::path`).
    let Ok(path) = std::str::from_utf8(data) else {
        return Corpus::Reject;
    };
    match parse(path) {
        Ok(endpoint) => {
            if let Some(name) = endpoint.repository() {
                assert!(
                    validate_repository_name(name).is_ok(),
                    "{path:?} gave the invalid name {name:?}"
                );
            }
            let again = path_of(&endpoint);
            assert_eq!(
                parse(&again).ok().as_ref(),
                Some(&endpoint),
                "{path:?} gave {endpoint:?}, whose path {again:?} parses differently"
            );
        }
        Err(e) => assert!(
            e.status().is_client_error(),
            "{path:?} failed with {} {}",
            e.status(),
            e.code()
        ),
    }
    // The last segment alone, as a manifest reference.
    let last = path.rsplit('/').next().unwrap_or_default();
    match reference(last) {
        Ok(ManifestRef::Tag(tag)) => assert_eq!(tag, last),
        Ok(ManifestRef::Digest(digest)) => assert_eq!(digest.as_str(), last),
        Err(e) => assert!(e.status().is_client_error()),
    }
    Corpus::Keep
});

/// The canonical path of an endpoint, as the spec writes it.
fn path_of(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Base => "/v2/".into(),
        Endpoint::Catalog => "/v2/_catalog".into(),
        Endpoint::Tags { name } => format!("/v2/{name}/tags/list"),
        Endpoint::Manifest { name, reference } => {
            let reference = match reference {
                ManifestRef::Tag(tag) => tag.as_str(),
                ManifestRef::Digest(digest) => digest.as_str(),
            };
            format!("/v2/{name}/manifests/{reference}")
        }
        Endpoint::Blob { name, digest } => format!("/v2/{name}/blobs/{digest}"),
        Endpoint::UploadStart { name } => format!("/v2/{name}/blobs/uploads/"),
        Endpoint::Upload { name, id } => format!("/v2/{name}/blobs/uploads/{id}"),
        Endpoint::Referrers { name, digest } => format!("/v2/{name}/referrers/{digest}"),
    }
}
