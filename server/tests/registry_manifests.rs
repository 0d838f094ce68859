//! Manifest push over HTTP (end-7): media types, validation, byte-for-byte
//! storage, subjects, and index references.

mod common;

use common::oci::{
    assert_manifest_unknown, expect_error, get_manifest, header, image_index, image_manifest,
    push_blobs, random_bytes, sha256_digest, signature_manifest, to_bytes, Descriptor, Registry,
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, EMPTY_CONTENT, EMPTY_DIGEST, OCI_CONFIG, OCI_INDEX,
    OCI_LAYER, OCI_MANIFEST,
};
use common::{unique, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn put_manifest_by_tag_returns_201_with_location_and_digest() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-tag");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let body = to_bytes(&image_manifest(&config, &[layer]));
    let digest = sha256_digest(&body);
    let resp = reg.put_manifest(&repo, "v1.0", OCI_MANIFEST, &body).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "PUT manifest by tag is 201"
    );
    assert_eq!(
        header(resp.headers(), "Location"),
        Some(format!("/v2/{repo}/manifests/{digest}")),
        "Location names the manifest by digest"
    );
    assert_eq!(
        header(resp.headers(), "Docker-Content-Digest"),
        Some(digest.clone()),
        "Docker-Content-Digest is sha256 of the body"
    );
    let (content_type, got_digest, got) = get_manifest(&reg, &repo, "v1.0").await;
    assert_eq!(content_type, OCI_MANIFEST, "Content-Type as pushed");
    assert_eq!(got_digest, digest, "digest via tag");
    assert_eq!(got, body, "body via tag");
}

#[tokio::test]
async fn put_manifest_by_digest_returns_201() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-digest");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let body = to_bytes(&image_manifest(&config, &[layer]));
    let digest = sha256_digest(&body);
    let resp = reg.put_manifest(&repo, &digest, OCI_MANIFEST, &body).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "PUT manifest by digest is 201"
    );
    assert_eq!(
        header(resp.headers(), "Location"),
        Some(format!("/v2/{repo}/manifests/{digest}")),
        "Location names the manifest by digest"
    );
    assert_eq!(
        header(resp.headers(), "Docker-Content-Digest"),
        Some(digest.clone()),
        "Docker-Content-Digest equals the digest in the URL"
    );
    let (_, _, got) = get_manifest(&reg, &repo, &digest).await;
    assert_eq!(got, body, "manifest GETtable by digest");
    assert!(
        reg.tags(&repo).await.is_empty(),
        "a push by digest creates no tag"
    );
}

#[tokio::test]
async fn put_manifest_with_no_layers_is_accepted() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-nolayers");
    let (config, _) = push_blobs(&reg, &repo).await;
    let body = to_bytes(&image_manifest(&config, &[]));
    reg.push_manifest(&repo, "empty", OCI_MANIFEST, &body).await;
}

#[tokio::test]
async fn put_oci_index_is_accepted() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-index");
    let a = reg.push_image(&repo, None).await;
    let b = reg.push_image(&repo, None).await;
    let body = to_bytes(&image_index(&[a.descriptor(), b.descriptor()]));
    let digest = reg.push_manifest(&repo, "multi", OCI_INDEX, &body).await;
    let (content_type, got_digest, got) = get_manifest(&reg, &repo, "multi").await;
    assert_eq!(content_type, OCI_INDEX, "index served as an OCI index");
    assert_eq!(got_digest, digest, "index digest");
    assert_eq!(got, body, "index body");
}

#[tokio::test]
async fn put_docker_manifest_and_list_are_accepted() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-docker");
    let (manifest, manifest_digest) = reg.push_docker_image(&repo, "amd64").await;
    let list = to_bytes(&json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST_LIST,
        "manifests": [{
            "mediaType": DOCKER_MANIFEST,
            "digest": manifest_digest,
            "size": manifest.len(),
            "platform": {"architecture": "amd64", "os": "linux"},
        }],
    }));
    let list_digest = reg
        .push_manifest(&repo, "latest", DOCKER_MANIFEST_LIST, &list)
        .await;
    let (content_type, _, _) = get_manifest(&reg, &repo, "amd64").await;
    assert_eq!(
        content_type, DOCKER_MANIFEST,
        "Docker v2 manifest type kept"
    );
    let (content_type, digest, body) = get_manifest(&reg, &repo, "latest").await;
    assert_eq!(
        content_type, DOCKER_MANIFEST_LIST,
        "Docker manifest list type kept"
    );
    assert_eq!(digest, list_digest, "manifest list digest");
    assert_eq!(body, list, "manifest list body");
}

#[tokio::test]
async fn put_artifact_manifest_is_accepted() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-artifact");
    let empty = reg.push_blob(&repo, EMPTY_CONTENT).await;
    assert_eq!(
        empty, EMPTY_DIGEST,
        "the empty blob has the well-known digest"
    );
    let data = random_bytes(128);
    reg.push_blob(&repo, &data).await;
    let body = to_bytes(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.sbom.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY_DIGEST, "size": 2},
        "layers": [Descriptor::of("application/vnd.example.sbom.layer", &data).json()],
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    }));
    let digest = reg.push_manifest(&repo, "sbom", OCI_MANIFEST, &body).await;
    let (_, got_digest, got) = get_manifest(&reg, &repo, "sbom").await;
    assert_eq!(got_digest, digest, "artifact digest");
    assert_eq!(got, body, "artifact body");
}

#[tokio::test]
async fn manifest_is_stored_byte_for_byte() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-bytes");
    let (config, layer) = push_blobs(&reg, &repo).await;
    // Unusual key order, tabs, CRLF, spaces before colons and a trailing
    // newline: re-serialising would change the digest.
    let body = format!(
        "{{\r\n\t\"layers\" : [ {{\"size\":{},  \"digest\":\"{}\",\"mediaType\":\"{}\"}} ],\n  \"config\":{{\"digest\":\"{}\" ,\"mediaType\":\"{}\",\"size\":{}}},\n\"mediaType\":   \"{}\",\n\"schemaVersion\":2\n}}\n",
        layer.size,
        layer.digest,
        layer.media_type,
        config.digest,
        config.media_type,
        config.size,
        OCI_MANIFEST
    )
    .into_bytes();
    let digest = sha256_digest(&body);
    let resp = reg.put_manifest(&repo, "odd", OCI_MANIFEST, &body).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "odd-format manifest is 201"
    );
    assert_eq!(
        header(resp.headers(), "Docker-Content-Digest"),
        Some(digest.clone()),
        "digest is of the exact bytes sent"
    );
    for reference in ["odd", digest.as_str()] {
        let (_, got_digest, got) = get_manifest(&reg, &repo, reference).await;
        assert_eq!(got_digest, digest, "digest header via {reference}");
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&body),
            "exact bytes via {reference}"
        );
    }
}

#[tokio::test]
async fn manifest_with_subject_returns_oci_subject() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-subject");
    let image = reg.push_image(&repo, Some("v1")).await;
    reg.push_blob(&repo, EMPTY_CONTENT).await;
    let body = signature_manifest(&image.descriptor());
    let resp = reg
        .put_manifest(&repo, &sha256_digest(&body), OCI_MANIFEST, &body)
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "PUT of a referrer is 201"
    );
    assert_eq!(
        header(resp.headers(), "OCI-Subject"),
        Some(image.digest.clone()),
        "PUT of a manifest with a subject returns OCI-Subject"
    );
}

#[tokio::test]
async fn manifest_with_missing_subject_is_accepted() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-nosubject");
    let absent = Descriptor::of(OCI_MANIFEST, &random_bytes(400));
    reg.push_blob(&repo, EMPTY_CONTENT).await;
    let body = signature_manifest(&absent);
    let resp = reg
        .put_manifest(&repo, &sha256_digest(&body), OCI_MANIFEST, &body)
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "a manifest whose subject does not exist is accepted"
    );
    assert_eq!(
        header(resp.headers(), "OCI-Subject"),
        Some(absent.digest.clone()),
        "OCI-Subject names the (missing) subject"
    );
}

#[tokio::test]
async fn manifest_with_missing_layer_is_manifest_blob_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-nolayer");
    let config = to_bytes(&json!({"os": "linux"}));
    reg.push_blob(&repo, &config).await;
    let missing = Descriptor::of(OCI_LAYER, &random_bytes(64));
    let body = to_bytes(&image_manifest(
        &Descriptor::of(OCI_CONFIG, &config),
        &[missing],
    ));
    let resp = reg.put_manifest(&repo, "broken", OCI_MANIFEST, &body).await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "MANIFEST_BLOB_UNKNOWN",
        "PUT of a manifest whose layer was never uploaded",
    )
    .await;
}

#[tokio::test]
async fn manifest_with_missing_config_is_manifest_blob_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-noconfig");
    let layer = random_bytes(64);
    reg.push_blob(&repo, &layer).await;
    let missing = Descriptor::of(OCI_CONFIG, b"{\"never\":\"uploaded\"}");
    let body = to_bytes(&image_manifest(
        &missing,
        &[Descriptor::of(OCI_LAYER, &layer)],
    ));
    let resp = reg.put_manifest(&repo, "broken", OCI_MANIFEST, &body).await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "MANIFEST_BLOB_UNKNOWN",
        "PUT of a manifest whose config was never uploaded",
    )
    .await;
}

#[tokio::test]
async fn manifest_with_blob_of_another_repository_is_manifest_blob_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-crossblob");
    let other = unique("man-crossblob-other");
    let (config, _) = push_blobs(&reg, &repo).await;
    let foreign = random_bytes(64);
    reg.push_blob(&other, &foreign).await;
    let body = to_bytes(&image_manifest(
        &config,
        &[Descriptor::of(OCI_LAYER, &foreign)],
    ));
    let resp = reg
        .put_manifest(&repo, "borrowed", OCI_MANIFEST, &body)
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "MANIFEST_BLOB_UNKNOWN",
        "PUT of a manifest whose layer exists only in another repository",
    )
    .await;
}

#[tokio::test]
async fn index_with_manifest_of_another_repository_is_manifest_blob_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-crossindex");
    let other = unique("man-crossindex-other");
    reg.push_image(&repo, Some("own")).await;
    let foreign = reg.push_image(&other, Some("theirs")).await;
    let body = to_bytes(&image_index(&[foreign.descriptor()]));
    let resp = reg.put_manifest(&repo, "multi", OCI_INDEX, &body).await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "MANIFEST_BLOB_UNKNOWN",
        "PUT of an index listing a manifest of another repository",
    )
    .await;
}

#[tokio::test]
async fn invalid_json_is_manifest_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-badjson");
    reg.push_image(&repo, Some("ok")).await;
    let resp = reg
        .put_manifest(&repo, "bad", OCI_MANIFEST, b"{\"schemaVersion\": 2, ")
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "MANIFEST_INVALID",
        "PUT of a manifest that is not JSON",
    )
    .await;
}

#[tokio::test]
async fn schema_version_other_than_2_is_manifest_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-schema");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let mut manifest = image_manifest(&config, &[layer]);
    manifest["schemaVersion"] = json!(1);
    let resp = reg
        .put_manifest(&repo, "v1", OCI_MANIFEST, &to_bytes(&manifest))
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "MANIFEST_INVALID",
        "PUT of a manifest with schemaVersion 1",
    )
    .await;
}

#[tokio::test]
async fn unknown_media_type_is_manifest_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-mediatype");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let unknown = "application/vnd.example.unknown.manifest+json";
    let mut manifest = image_manifest(&config, &[layer]);
    manifest["mediaType"] = json!(unknown);
    let resp = reg
        .put_manifest(&repo, "odd", unknown, &to_bytes(&manifest))
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "MANIFEST_INVALID",
        "PUT of a manifest with an unknown media type",
    )
    .await;
}

/// An image manifest for `config`/`layer`, padded with an annotation to
/// exactly `size` bytes.
fn manifest_of_size(config: &Descriptor, layer: &Descriptor, size: usize) -> Vec<u8> {
    let mut manifest = image_manifest(config, std::slice::from_ref(layer));
    manifest["annotations"] = json!({"pad": ""});
    let base = to_bytes(&manifest).len();
    assert!(base < size, "padding target larger than the bare manifest");
    manifest["annotations"]["pad"] = json!("x".repeat(size - base));
    let body = to_bytes(&manifest);
    assert_eq!(body.len(), size, "padded manifest has the requested size");
    body
}

#[tokio::test]
async fn manifest_of_4_mib_is_accepted() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-4mib");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let body = manifest_of_size(&config, &layer, 4 * 1024 * 1024);
    let digest = reg.push_manifest(&repo, "big", OCI_MANIFEST, &body).await;
    let (_, got_digest, got) = get_manifest(&reg, &repo, "big").await;
    assert_eq!(got_digest, digest, "4 MiB manifest digest");
    assert_eq!(got.len(), body.len(), "4 MiB manifest comes back whole");
}

#[tokio::test]
async fn manifest_over_4_mib_is_size_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-toobig");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let body = manifest_of_size(&config, &layer, 4 * 1024 * 1024 + 1);
    let resp = reg.put_manifest(&repo, "huge", OCI_MANIFEST, &body).await;
    expect_error(
        resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "SIZE_INVALID",
        "PUT of a manifest of 4 MiB + 1 byte",
    )
    .await;
}

#[tokio::test]
async fn manifest_over_4_mib_without_content_length_is_size_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-toobig-chunked");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let body = manifest_of_size(&config, &layer, 4 * 1024 * 1024 + 1);
    // A streamed body goes out with chunked transfer encoding: the server
    // cannot rely on Content-Length and must count.
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let resp = reg
        .send(
            reg.put(&format!("/v2/{repo}/manifests/huge"))
                .header("Content-Type", OCI_MANIFEST)
                .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    pieces,
                ))),
        )
        .await;
    expect_error(
        resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "SIZE_INVALID",
        "chunked PUT of a manifest of 4 MiB + 1 byte",
    )
    .await;
}

#[tokio::test]
async fn put_by_mismatched_digest_is_digest_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-baddigest");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let body = to_bytes(&image_manifest(&config, &[layer]));
    let wrong = sha256_digest(b"not this manifest");
    let resp = reg.put_manifest(&repo, &wrong, OCI_MANIFEST, &body).await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "DIGEST_INVALID",
        "PUT by a digest that is not sha256 of the body",
    )
    .await;
    assert_manifest_unknown(&reg, &repo, &wrong, "the mismatched digest was not stored").await;
}

#[tokio::test]
async fn invalid_tag_is_tag_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-badtag");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let body = to_bytes(&image_manifest(&config, &[layer]));
    for tag in ["-bad".to_string(), ".bad".to_string(), "a".repeat(129)] {
        let resp = reg.put_manifest(&repo, &tag, OCI_MANIFEST, &body).await;
        expect_error(
            resp,
            StatusCode::BAD_REQUEST,
            "TAG_INVALID",
            &format!("PUT manifest with tag {tag:?} ({} chars)", tag.len()),
        )
        .await;
    }
}

/// A reference that is neither a digest nor a valid tag names no manifest:
/// reads answer 404 `MANIFEST_UNKNOWN`, as Distribution does (the OCI
/// conformance suite reads `.INVALID_MANIFEST_NAME`); a `PUT` under it keeps
/// its 400 `TAG_INVALID`.
#[tokio::test]
async fn reading_a_reference_no_manifest_can_have_is_manifest_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-unknownref");
    let image = reg.push_image(&repo, Some("v1")).await;
    for reference in [".INVALID_MANIFEST_NAME", "-bad", "sha256:xyz"] {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let resp = reg.send(reg.get(&path)).await;
        expect_error(resp, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", &path).await;
        let resp = reg.send(reg.request(Method::HEAD, &path)).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "HEAD {path}");
    }
    let resp = reg
        .put_manifest(
            &repo,
            ".INVALID_MANIFEST_NAME",
            OCI_MANIFEST,
            &image.manifest,
        )
        .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "TAG_INVALID", "PUT").await;
}

#[tokio::test]
async fn tag_of_128_chars_is_accepted() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-longtag");
    let (config, layer) = push_blobs(&reg, &repo).await;
    let body = to_bytes(&image_manifest(&config, &[layer]));
    let tag = format!("_{}", "A.b-9".repeat(26))
        .chars()
        .take(128)
        .collect::<String>();
    assert_eq!(tag.len(), 128, "test tag is 128 chars");
    reg.push_manifest(&repo, &tag, OCI_MANIFEST, &body).await;
    assert_eq!(reg.tags(&repo).await, vec![tag], "the long tag is listed");
}

#[tokio::test]
async fn malformed_digest_in_manifest_path_is_digest_invalid_to_writes() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-pathdigest");
    let image = reg.push_image(&repo, Some("ok")).await;
    let path = format!("/v2/{repo}/manifests/sha256:xyz");
    let resp = reg
        .put_manifest(&repo, "sha256:xyz", OCI_MANIFEST, &image.manifest)
        .await;
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID", "PUT").await;
    let resp = reg.send(reg.request(Method::DELETE, &path)).await;
    expect_error(resp, StatusCode::BAD_REQUEST, "DIGEST_INVALID", "DELETE").await;
}
