//! How repositories come to link blobs and stop linking them: cross-repository
//! mounts (end-11) and blob deletion (end-10).

mod common;

use common::oci::{
    absent_digest, assert_blob_content, assert_blob_exists, expect_error, header, random_bytes,
    require_header, sha256_digest, Registry,
};
use common::{unique, TestServer};
use reqwest::StatusCode;

#[tokio::test]
async fn mount_from_repository_with_blob_returns_201() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let source = unique("push-mount-src");
    let target = unique("push-mount-dst");
    let data = random_bytes(777);
    let digest = reg.push_blob(&source, &data).await;
    let resp = reg
        .send(reg.post(&format!(
            "/v2/{target}/blobs/uploads/?mount={digest}&from={source}"
        )))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "mount is 201");
    assert_eq!(
        header(resp.headers(), "Location"),
        Some(format!("/v2/{target}/blobs/{digest}")),
        "mount Location is the blob URL in the target repository"
    );
    assert_blob_content(&reg, &target, &digest, &data).await;
}

/// Asserts that a response is 202 with a new upload session in `repo`.
fn assert_new_session(resp: &reqwest::Response, repo: &str, context: &str) {
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "{context}: 202");
    let location = require_header(resp.headers(), "Location", context);
    let uuid = require_header(resp.headers(), "Docker-Upload-UUID", context);
    assert_eq!(
        location,
        format!("/v2/{repo}/blobs/uploads/{uuid}"),
        "{context}: Location is a new upload session"
    );
}

#[tokio::test]
async fn mount_of_blob_missing_from_source_starts_upload() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let source = unique("push-mount-src");
    let target = unique("push-mount-dst");
    reg.push_blob(&source, b"something else").await;
    let digest = absent_digest();
    let resp = reg
        .send(reg.post(&format!(
            "/v2/{target}/blobs/uploads/?mount={digest}&from={source}"
        )))
        .await;
    assert_new_session(&resp, &target, "mount of a blob the source lacks");
}

#[tokio::test]
async fn mount_without_from_starts_upload() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let source = unique("push-mount-src");
    let target = unique("push-mount-dst");
    let digest = reg.push_blob(&source, b"mount me").await;
    let resp = reg
        .send(reg.post(&format!("/v2/{target}/blobs/uploads/?mount={digest}")))
        .await;
    assert_new_session(&resp, &target, "mount without `from`");
}

#[tokio::test]
async fn mount_from_missing_repository_starts_upload() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let target = unique("push-mount-dst");
    let missing = unique("push-mount-nosuchrepo");
    let digest = absent_digest();
    let resp = reg
        .send(reg.post(&format!(
            "/v2/{target}/blobs/uploads/?mount={digest}&from={missing}"
        )))
        .await;
    assert_new_session(
        &resp,
        &target,
        "mount from a repository that does not exist",
    );
}

#[tokio::test]
async fn mounted_upload_session_can_be_completed() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let target = unique("push-mount-fallback");
    let data = random_bytes(300);
    let digest = sha256_digest(&data);
    let resp = reg
        .send(reg.post(&format!(
            "/v2/{target}/blobs/uploads/?mount={digest}&from={}",
            unique("nosuch")
        )))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "failed mount is 202");
    let location = require_header(resp.headers(), "Location", "failed mount");
    let resp = reg
        .send(
            reg.put(&Registry::with_digest(&location, &digest))
                .body(data.clone()),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "the session a failed mount opened accepts the blob"
    );
    assert_blob_content(&reg, &target, &digest, &data).await;
}

#[tokio::test]
async fn delete_blob_returns_202_then_blob_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-delblob");
    let digest = reg.push_blob(&repo, &random_bytes(100)).await;
    let path = format!("/v2/{repo}/blobs/{digest}");
    let resp = reg.send(reg.delete(&path)).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "DELETE blob is 202");
    let resp = reg.send(reg.get(&path)).await;
    expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "BLOB_UNKNOWN",
        "GET of a deleted blob",
    )
    .await;
}

#[tokio::test]
async fn delete_blob_leaves_other_repositories_alone() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-delshared");
    let other = unique("push-delshared-other");
    let data = random_bytes(100);
    let digest = reg.push_blob(&repo, &data).await;
    reg.push_blob(&other, &data).await;
    let resp = reg
        .send(reg.delete(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "DELETE blob is 202");
    assert_blob_exists(&reg, &repo, &digest, false).await;
    assert_blob_content(&reg, &other, &digest, &data).await;
}

#[tokio::test]
async fn delete_blob_used_by_an_image_is_denied_until_the_image_goes() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-delused");
    let image = reg.push_image(&repo, Some("v1")).await;
    let layer = format!("/v2/{repo}/blobs/{}", image.layers[0].digest);
    let resp = reg.send(reg.delete(&layer)).await;
    let error = expect_error(
        resp,
        StatusCode::CONFLICT,
        "DENIED",
        "DELETE of a layer an image uses",
    )
    .await;
    assert!(
        error.message.contains(&image.digest),
        "the message names the image: {}",
        error.message
    );
    let resp = reg.send(reg.get(&layer)).await;
    assert_eq!(resp.status(), StatusCode::OK, "the layer still pulls");

    let resp = reg
        .send(reg.delete(&format!("/v2/{repo}/manifests/{}", image.digest)))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "the image is deleted");
    let resp = reg.send(reg.delete(&layer)).await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "then the layer can be unlinked"
    );
}
