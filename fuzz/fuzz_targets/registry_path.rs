//! The `/v2/*` request parser (`berth::registry::path::parse`): every method
//! and path is either an operation whose names and references are valid and
//! whose method and path parse back to the same operation, or a client error
//! (4xx), never a panic.
#![no_main]

use berth::registry::path::{parse, reference, Endpoint};
use berth::service::ManifestRef;
use berth_app::oci::validate_repository_name;
use http::Method;
use libfuzzer_sys::{fuzz_target, Corpus};

/// The methods a client can send; the first input byte picks one.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::PUT,
    Method::POST,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

fuzz_target!(|data: &[u8]| -> Corpus {
    let Some((&pick, rest)) = data.split_first() else {
        return Corpus::Reject;
    };
    let method = &METHODS[usize::from(pick) % METHODS.len()];
    // Request paths reach the parser as `&str` (axum's `Uri::path`).
    let Ok(path) = std::str::from_utf8(rest) else {
        return Corpus::Reject;
    };
    match parse(method, path) {
        Ok(endpoint) => {
            if let Some(name) = endpoint.repository() {
                assert!(
                    validate_repository_name(name).is_ok(),
                    "{method} {path:?} gave the invalid name {name:?}"
                );
            }
            let (again_method, again) = request_of(&endpoint);
            assert_eq!(
                parse(&again_method, &again).ok().as_ref(),
                Some(&endpoint),
                "{method} {path:?} gave {endpoint:?}, whose request {again_method} {again:?} \
                 parses differently"
            );
        }
        Err(e) => assert!(
            e.status().is_client_error(),
            "{method} {path:?} failed with {} {}",
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

fn text(reference: &ManifestRef) -> &str {
    match reference {
        ManifestRef::Tag(tag) => tag.as_str(),
        ManifestRef::Digest(digest) => digest.as_str(),
    }
}

fn read(body: bool) -> Method {
    if body {
        Method::GET
    } else {
        Method::HEAD
    }
}

/// The canonical request of an operation, as the spec writes it.
fn request_of(endpoint: &Endpoint) -> (Method, String) {
    use Endpoint::*;
    match endpoint {
        ApiVersion => (Method::GET, "/v2/".into()),
        Catalog => (Method::GET, "/v2/_catalog".into()),
        ListTags { name } => (Method::GET, format!("/v2/{name}/tags/list")),
        ListReferrers { name, digest } => (Method::GET, format!("/v2/{name}/referrers/{digest}")),
        GetManifest {
            name,
            reference,
            body,
        } => (
            read(*body),
            format!("/v2/{name}/manifests/{}", text(reference)),
        ),
        PutManifest { name, reference } => (
            Method::PUT,
            format!("/v2/{name}/manifests/{}", text(reference)),
        ),
        DeleteManifest { name, reference } => (
            Method::DELETE,
            format!("/v2/{name}/manifests/{}", text(reference)),
        ),
        GetBlob { name, digest, body } => (read(*body), format!("/v2/{name}/blobs/{digest}")),
        DeleteBlob { name, digest } => (Method::DELETE, format!("/v2/{name}/blobs/{digest}")),
        StartUpload { name } => (Method::POST, format!("/v2/{name}/blobs/uploads/")),
        UploadStatus { name, id } => (Method::GET, format!("/v2/{name}/blobs/uploads/{id}")),
        PatchUpload { name, id } => (Method::PATCH, format!("/v2/{name}/blobs/uploads/{id}")),
        FinishUpload { name, id } => (Method::PUT, format!("/v2/{name}/blobs/uploads/{id}")),
        CancelUpload { name, id } => (Method::DELETE, format!("/v2/{name}/blobs/uploads/{id}")),
    }
}
