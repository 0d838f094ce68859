//! Manifest and tag deletion (end-9), and moving a tag by pushing again.

mod common;

use common::oci::{
    assert_manifest_unknown, expect_error, get_manifest, image_index, sha256_digest, to_bytes,
    Registry, OCI_INDEX, OCI_MANIFEST,
};
use common::{unique, TestServer};
use reqwest::StatusCode;

#[tokio::test]
async fn delete_manifest_by_digest_removes_manifest_and_tags() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-delete");
    let image = reg.push_image(&repo, Some("one")).await;
    reg.push_manifest(&repo, "two", OCI_MANIFEST, &image.manifest)
        .await;
    let keep = reg.push_image(&repo, Some("keep")).await;
    let resp = reg
        .send(reg.delete(&format!("/v2/{repo}/manifests/{}", image.digest)))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "DELETE manifest by digest is 202"
    );
    assert_manifest_unknown(&reg, &repo, &image.digest, "GET deleted manifest by digest").await;
    assert_manifest_unknown(&reg, &repo, "one", "GET tag `one` of a deleted manifest").await;
    assert_manifest_unknown(&reg, &repo, "two", "GET tag `two` of a deleted manifest").await;
    assert_eq!(
        reg.tags(&repo).await,
        vec!["keep".to_string()],
        "tags of the deleted manifest are gone from the list"
    );
    let (_, digest, _) = get_manifest(&reg, &repo, "keep").await;
    assert_eq!(digest, keep.digest, "other manifests are untouched");
}

#[tokio::test]
async fn delete_by_tag_removes_only_the_tag() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-deltag");
    let image = reg.push_image(&repo, Some("old")).await;
    reg.push_manifest(&repo, "new", OCI_MANIFEST, &image.manifest)
        .await;
    let resp = reg
        .send(reg.delete(&format!("/v2/{repo}/manifests/old")))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "DELETE by tag is 202");
    assert_manifest_unknown(&reg, &repo, "old", "GET of a deleted tag").await;
    let (_, digest, _) = get_manifest(&reg, &repo, &image.digest).await;
    assert_eq!(digest, image.digest, "manifest still GETtable by digest");
    let (_, digest, _) = get_manifest(&reg, &repo, "new").await;
    assert_eq!(digest, image.digest, "other tag still resolves");
    assert_eq!(
        reg.tags(&repo).await,
        vec!["new".to_string()],
        "only the deleted tag left the list"
    );
}

#[tokio::test]
async fn delete_unknown_manifest_is_manifest_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-delunknown");
    reg.push_image(&repo, Some("ok")).await;
    let resp = reg
        .send(reg.delete(&format!(
            "/v2/{repo}/manifests/{}",
            sha256_digest(b"never pushed")
        )))
        .await;
    expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
        "DELETE of a manifest that was never pushed",
    )
    .await;
}

#[tokio::test]
async fn delete_manifest_referenced_by_index_is_denied() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-delref");
    let child = reg.push_image(&repo, None).await;
    let index = to_bytes(&image_index(&[child.descriptor()]));
    let index_digest = sha256_digest(&index);
    reg.push_manifest(&repo, &index_digest, OCI_INDEX, &index)
        .await;
    let child_path = format!("/v2/{repo}/manifests/{}", child.digest);

    let resp = reg.send(reg.delete(&child_path)).await;
    let err = expect_error(
        resp,
        StatusCode::CONFLICT,
        "DENIED",
        "DELETE of a manifest an index references",
    )
    .await;
    assert!(
        err.message.contains(&index_digest),
        "the message names the referencing index {index_digest}: {:?}",
        err.message
    );
    let (_, digest, _) = get_manifest(&reg, &repo, &child.digest).await;
    assert_eq!(digest, child.digest, "the refused delete kept the manifest");

    let resp = reg
        .send(reg.delete(&format!("/v2/{repo}/manifests/{index_digest}")))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "DELETE of the index is 202"
    );
    let resp = reg.send(reg.delete(&child_path)).await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "once the index is gone the manifest can be deleted"
    );
    assert_manifest_unknown(&reg, &repo, &child.digest, "GET of the deleted child").await;
}

#[tokio::test]
async fn repushing_a_tag_moves_it() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("man-retag");
    reg.push_image(&repo, Some("latest")).await;
    let second = reg.push_image(&repo, Some("latest")).await;
    let (_, digest, body) = get_manifest(&reg, &repo, "latest").await;
    assert_eq!(digest, second.digest, "the tag points at the last push");
    assert_eq!(body, second.manifest, "the tag serves the last push");
    assert_eq!(reg.tags(&repo).await, vec!["latest".to_string()], "one tag");
}
