//! Pull over HTTP: blob GET/HEAD with ranges (end-2) and manifest GET/HEAD
//! (end-3).

mod common;

use common::oci::{
    absent_digest, expect_error, header, random_bytes, sha256_digest, Registry, DOCKER_MANIFEST,
    OCI_MANIFEST,
};
use common::{unique, TestServer};
use reqwest::StatusCode;

/// A server, a client and a repository holding one 100-byte blob.
async fn blob_fixture() -> (TestServer, Registry, String, Vec<u8>, String) {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("pull");
    let data = random_bytes(100);
    let digest = reg.push_blob(&repo, &data).await;
    (server, reg, repo, data, digest)
}

#[tokio::test]
async fn blob_get_returns_content_and_headers() {
    let (_server, reg, repo, data, digest) = blob_fixture().await;
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "blob GET is 200");
    let h = resp.headers();
    assert_eq!(
        header(h, "Content-Length").as_deref(),
        Some("100"),
        "Content-Length is the blob size"
    );
    assert_eq!(
        header(h, "Docker-Content-Digest"),
        Some(digest.clone()),
        "Docker-Content-Digest is the blob digest"
    );
    assert_eq!(
        header(h, "Accept-Ranges").as_deref(),
        Some("bytes"),
        "blob GET advertises byte ranges"
    );
    assert_eq!(
        header(h, "Docker-Distribution-API-Version").as_deref(),
        Some("registry/2.0"),
        "API version header on blob GET"
    );
    let body = resp.bytes().await.expect("blob body");
    assert!(body[..] == data[..], "blob GET returns the pushed bytes");
}

#[tokio::test]
async fn blob_head_returns_headers_without_body() {
    let (_server, reg, repo, _data, digest) = blob_fixture().await;
    let resp = reg
        .send(reg.head(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "blob HEAD is 200");
    let h = resp.headers();
    assert_eq!(
        header(h, "Content-Length").as_deref(),
        Some("100"),
        "HEAD Content-Length is the blob size"
    );
    assert_eq!(
        header(h, "Docker-Content-Digest"),
        Some(digest.clone()),
        "HEAD Docker-Content-Digest is the blob digest"
    );
    assert_eq!(
        header(h, "Accept-Ranges").as_deref(),
        Some("bytes"),
        "HEAD advertises byte ranges"
    );
    let body = resp.bytes().await.expect("HEAD body");
    assert!(body.is_empty(), "HEAD has no body");
}

/// GETs the fixture blob with `Range: <range>` and checks a 206.
async fn check_range(range: &str, start: usize, end: usize) {
    let (_server, reg, repo, data, digest) = blob_fixture().await;
    let resp = reg
        .send(
            reg.get(&format!("/v2/{repo}/blobs/{digest}"))
                .header("Range", range),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::PARTIAL_CONTENT,
        "Range: {range} is 206"
    );
    assert_eq!(
        header(resp.headers(), "Content-Range"),
        Some(format!("bytes {start}-{end}/100")),
        "Content-Range for Range: {range}"
    );
    assert_eq!(
        header(resp.headers(), "Content-Length"),
        Some((end - start + 1).to_string()),
        "Content-Length for Range: {range}"
    );
    let body = resp.bytes().await.expect("range body");
    assert!(
        body[..] == data[start..=end],
        "Range: {range} returns bytes {start}..={end}"
    );
}

#[tokio::test]
async fn blob_range_request_returns_206() {
    check_range("bytes=10-19", 10, 19).await;
}

#[tokio::test]
async fn blob_suffix_range_returns_last_bytes() {
    check_range("bytes=-10", 90, 99).await;
}

#[tokio::test]
async fn blob_open_ended_range_returns_rest() {
    check_range("bytes=95-", 95, 99).await;
}

#[tokio::test]
async fn blob_unsatisfiable_range_is_416() {
    let (_server, reg, repo, _data, digest) = blob_fixture().await;
    let resp = reg
        .send(
            reg.get(&format!("/v2/{repo}/blobs/{digest}"))
                .header("Range", "bytes=100-"),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::RANGE_NOT_SATISFIABLE,
        "a range starting at the blob size is 416"
    );
    assert_eq!(
        header(resp.headers(), "Content-Range").as_deref(),
        Some("bytes */100"),
        "416 reports the blob size in Content-Range"
    );
}

#[tokio::test]
async fn unknown_blob_is_blob_unknown() {
    let (_server, reg, repo, _data, _digest) = blob_fixture().await;
    let digest = absent_digest();
    let path = format!("/v2/{repo}/blobs/{digest}");
    let resp = reg.send(reg.get(&path)).await;
    expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "BLOB_UNKNOWN",
        "GET of an unknown blob",
    )
    .await;
    let resp = reg.send(reg.head(&path)).await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "HEAD of an unknown blob is 404"
    );
}

#[tokio::test]
async fn blob_of_another_repository_is_blob_unknown() {
    let (_server, reg, repo, _data, digest) = blob_fixture().await;
    let other = unique("pull-other");
    reg.push_blob(&other, b"other content").await;
    let path = format!("/v2/{other}/blobs/{digest}");
    let resp = reg.send(reg.get(&path)).await;
    expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "BLOB_UNKNOWN",
        &format!("GET in {other} of a blob pushed only to {repo}"),
    )
    .await;
    let resp = reg.send(reg.head(&path)).await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "HEAD of a blob linked only to another repository is 404"
    );
}

#[tokio::test]
async fn blob_path_with_malformed_digest_is_digest_invalid() {
    let (_server, reg, repo, _data, _digest) = blob_fixture().await;
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/blobs/sha256:xyz")))
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "DIGEST_INVALID",
        "GET /blobs/sha256:xyz",
    )
    .await;
}

#[tokio::test]
async fn manifest_get_by_tag_and_digest() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("pull-manifest");
    let image = reg.push_image(&repo, Some("v1")).await;
    for reference in ["v1", image.digest.as_str()] {
        let resp = reg
            .send(reg.get(&format!("/v2/{repo}/manifests/{reference}")))
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "GET manifest {reference}");
        let h = resp.headers();
        assert_eq!(
            header(h, "Content-Type").as_deref(),
            Some(OCI_MANIFEST),
            "Content-Type of manifest {reference} is the pushed media type"
        );
        assert_eq!(
            header(h, "Docker-Content-Digest"),
            Some(image.digest.clone()),
            "Docker-Content-Digest of manifest {reference}"
        );
        assert_eq!(
            header(h, "Content-Length"),
            Some(image.manifest.len().to_string()),
            "Content-Length of manifest {reference}"
        );
        let body = resp.bytes().await.expect("manifest body");
        assert!(
            body[..] == image.manifest[..],
            "GET manifest {reference} returns the pushed bytes"
        );
    }
}

#[tokio::test]
async fn manifest_head_returns_headers_without_body() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("pull-head");
    let image = reg.push_image(&repo, Some("latest")).await;
    for reference in ["latest", image.digest.as_str()] {
        let resp = reg
            .send(reg.head(&format!("/v2/{repo}/manifests/{reference}")))
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "HEAD manifest {reference}");
        let h = resp.headers();
        assert_eq!(
            header(h, "Content-Type").as_deref(),
            Some(OCI_MANIFEST),
            "HEAD Content-Type of {reference}"
        );
        assert_eq!(
            header(h, "Docker-Content-Digest"),
            Some(image.digest.clone()),
            "HEAD Docker-Content-Digest of {reference}"
        );
        assert_eq!(
            header(h, "Content-Length"),
            Some(image.manifest.len().to_string()),
            "HEAD Content-Length of {reference} is the manifest size"
        );
        let body = resp.bytes().await.expect("HEAD body");
        assert!(body.is_empty(), "HEAD manifest {reference} has no body");
    }
}

#[tokio::test]
async fn manifest_content_type_is_as_pushed() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("pull-docker");
    let (manifest, digest) = reg.push_docker_image(&repo, "docker").await;
    let resp = reg
        .send(
            reg.get(&format!("/v2/{repo}/manifests/docker"))
                .header("Accept", format!("{DOCKER_MANIFEST}, {OCI_MANIFEST}")),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "GET docker manifest is 200");
    assert_eq!(
        header(resp.headers(), "Content-Type").as_deref(),
        Some(DOCKER_MANIFEST),
        "a Docker v2 manifest is served with its own media type"
    );
    assert_eq!(
        header(resp.headers(), "Docker-Content-Digest"),
        Some(digest),
        "digest of the Docker manifest"
    );
    assert_eq!(
        sha256_digest(&resp.bytes().await.expect("body")),
        sha256_digest(&manifest),
        "body is the pushed Docker manifest"
    );
}

#[tokio::test]
async fn unknown_manifest_is_manifest_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("pull-nomanifest");
    reg.push_image(&repo, Some("present")).await;
    for reference in ["absent".to_string(), absent_digest()] {
        let path = format!("/v2/{repo}/manifests/{reference}");
        let resp = reg.send(reg.get(&path)).await;
        expect_error(
            resp,
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            &format!("GET {path}"),
        )
        .await;
        let resp = reg.send(reg.head(&path)).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "HEAD {path} is 404");
    }
}

#[tokio::test]
async fn manifest_of_unknown_repository_is_name_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("pull-norepo");
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/manifests/latest")))
        .await;
    expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "NAME_UNKNOWN",
        "GET manifest in a repository that does not exist",
    )
    .await;
}

#[tokio::test]
async fn manifest_of_another_repository_is_manifest_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("pull-own");
    let other = unique("pull-other");
    let image = reg.push_image(&repo, Some("v1")).await;
    reg.push_image(&other, Some("mine")).await;
    for reference in ["v1", image.digest.as_str()] {
        let resp = reg
            .send(reg.get(&format!("/v2/{other}/manifests/{reference}")))
            .await;
        expect_error(
            resp,
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            &format!("GET in {other} of {repo}'s manifest {reference}"),
        )
        .await;
    }
}

#[tokio::test]
async fn blob_range_ending_before_it_starts_is_ignored() {
    let (_server, reg, repo, data, digest) = blob_fixture().await;
    let resp = reg
        .send(
            reg.get(&format!("/v2/{repo}/blobs/{digest}"))
                .header("Range", "bytes=20-10"),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "RFC 9110: an invalid range is ignored and the whole blob sent"
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
}
