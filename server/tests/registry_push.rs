//! Blob push over HTTP: upload sessions (end-4a/4b, end-5, end-6, end-13),
//! monolithic pushes, and what happens to bad or foreign sessions.

mod common;

use common::oci::{
    absent_digest, assert_blob_content, assert_blob_exists, expect_blob_created, expect_error,
    header, random_bytes, random_upload_id, require_header, sha256_digest, start_session, Registry,
};
use common::{unique, TestServer};
use reqwest::StatusCode;

#[tokio::test]
async fn upload_start_returns_202_with_session_headers() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-start");
    let resp = reg
        .send(reg.post(&format!("/v2/{repo}/blobs/uploads/")))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "POST uploads/ is 202");
    let h = resp.headers();
    let uuid = require_header(h, "Docker-Upload-UUID", "POST uploads/");
    assert!(!uuid.is_empty(), "Docker-Upload-UUID is not empty");
    assert_eq!(
        header(h, "Location"),
        Some(format!("/v2/{repo}/blobs/uploads/{uuid}")),
        "Location is the relative session URL ending in the upload UUID"
    );
    assert_eq!(
        header(h, "Range").as_deref(),
        Some("0-0"),
        "a new session reports Range 0-0"
    );
    assert_eq!(
        header(h, "Docker-Distribution-API-Version").as_deref(),
        Some("registry/2.0"),
        "API version header on upload start"
    );
}

#[tokio::test]
async fn upload_to_new_repository_creates_it() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-create");
    let digest = reg.push_blob(&repo, b"hello").await;
    let (_, body) = reg.get_json(&format!("/v2/{repo}/tags/list")).await;
    assert_eq!(body["name"], repo, "the pushed-to repository exists");
    let (_, catalog) = reg.get_json("/v2/_catalog").await;
    assert!(
        catalog["repositories"]
            .as_array()
            .is_some_and(|r| r.iter().any(|n| n == repo.as_str())),
        "catalog lists the repository created on push: {catalog}"
    );
    assert_blob_exists(&reg, &repo, &digest, true).await;
}

#[tokio::test]
async fn upload_to_new_repository_without_create_on_push_is_name_unknown() {
    let server = TestServer::builder()
        .env("BERTH_CREATE_ON_PUSH", "false")
        .start();
    let reg = Registry::new(&server);
    let repo = unique("push-nocreate");
    let resp = reg
        .send(reg.post(&format!("/v2/{repo}/blobs/uploads/")))
        .await;
    let err = expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "NAME_UNKNOWN",
        "POST uploads/ to a new repository with create-on-push off",
    )
    .await;
    assert!(
        err.message.contains("create-repository"),
        "the message points at create-repository: {:?}",
        err.message
    );
}

#[tokio::test]
async fn streamed_patch_returns_202_with_range() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-stream");
    let (location, uuid) = start_session(&reg, &repo).await;
    let data = random_bytes(3000);
    let resp = reg
        .send(
            reg.patch(&location)
                .header("Content-Type", "application/octet-stream")
                .body(data.clone()),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "streamed PATCH is 202");
    let h = resp.headers();
    assert_eq!(
        header(h, "Range").as_deref(),
        Some("0-2999"),
        "Range covers the 3000 bytes received"
    );
    let next = require_header(h, "Location", "PATCH");
    assert!(
        next.starts_with(&format!("/v2/{repo}/blobs/uploads/")),
        "PATCH Location is the session URL: {next}"
    );
    assert_eq!(
        header(h, "Docker-Upload-UUID").as_deref(),
        Some(uuid.as_str()),
        "PATCH keeps the upload UUID"
    );

    // A second streamed PATCH appends.
    let more = random_bytes(500);
    let resp = reg.send(reg.patch(&next).body(more.clone())).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "second PATCH is 202");
    assert_eq!(
        header(resp.headers(), "Range").as_deref(),
        Some("0-3499"),
        "Range grows with the second chunk"
    );
    let next = require_header(resp.headers(), "Location", "second PATCH");

    let mut whole = data;
    whole.extend_from_slice(&more);
    let digest = sha256_digest(&whole);
    let resp = reg
        .send(reg.put(&Registry::with_digest(&next, &digest)))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "closing PUT is 201");
    assert_blob_content(&reg, &repo, &digest, &whole).await;
}

#[tokio::test]
async fn chunked_patches_with_content_range_then_put() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-chunked");
    let (mut location, _) = start_session(&reg, &repo).await;
    let data = random_bytes(10_000);
    for (start, end) in [(0usize, 4095usize), (4096, 8191), (8192, 9999)] {
        let resp = reg
            .send(
                reg.patch(&location)
                    .header("Content-Type", "application/octet-stream")
                    .header("Content-Range", format!("{start}-{end}"))
                    .body(data[start..=end].to_vec()),
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::ACCEPTED,
            "PATCH chunk {start}-{end} is 202"
        );
        assert_eq!(
            header(resp.headers(), "Range"),
            Some(format!("0-{end}")),
            "Range after chunk {start}-{end}"
        );
        location = require_header(resp.headers(), "Location", "chunk PATCH");
    }
    let digest = sha256_digest(&data);
    let resp = reg
        .send(reg.put(&Registry::with_digest(&location, &digest)))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "closing PUT is 201");
    assert_blob_content(&reg, &repo, &digest, &data).await;
}

#[tokio::test]
async fn out_of_order_chunk_is_416_with_current_range() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-416");
    let (location, _) = start_session(&reg, &repo).await;
    let resp = reg
        .send(
            reg.patch(&location)
                .header("Content-Range", "0-9")
                .body(vec![1u8; 10]),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "first chunk 0-9 is 202"
    );
    let location = require_header(resp.headers(), "Location", "first chunk");

    // A chunk that skips ahead.
    let resp = reg
        .send(
            reg.patch(&location)
                .header("Content-Range", "20-29")
                .body(vec![2u8; 10]),
        )
        .await;
    let range = header(resp.headers(), "Range");
    expect_error(
        resp,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "BLOB_UPLOAD_INVALID",
        "PATCH Content-Range 20-29 when 10 bytes are stored",
    )
    .await;
    assert_eq!(
        range.as_deref(),
        Some("0-9"),
        "416 reports the current Range"
    );
}

#[tokio::test]
async fn retried_chunk_is_416() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-retry");
    let (location, _) = start_session(&reg, &repo).await;
    let chunk = || {
        reg.patch(&location)
            .header("Content-Range", "0-9")
            .body(vec![1u8; 10])
    };
    let resp = reg.send(chunk()).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "first chunk is 202");
    let resp = reg.send(chunk()).await;
    let range = header(resp.headers(), "Range");
    expect_error(
        resp,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "BLOB_UPLOAD_INVALID",
        "retrying chunk 0-9",
    )
    .await;
    assert_eq!(
        range.as_deref(),
        Some("0-9"),
        "416 reports the current Range"
    );

    // The session is still usable after the rejected chunk.
    let resp = reg
        .send(
            reg.patch(&location)
                .header("Content-Range", "10-19")
                .body(vec![2u8; 10]),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "the right next chunk is accepted after a 416"
    );
}

#[tokio::test]
async fn content_range_disagreeing_with_content_length_is_400() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-badlen");
    let (location, _) = start_session(&reg, &repo).await;
    let resp = reg
        .send(
            reg.patch(&location)
                .header("Content-Range", "0-9")
                .body(vec![0u8; 5]),
        )
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "BLOB_UPLOAD_INVALID",
        "PATCH Content-Range 0-9 with a 5-byte body",
    )
    .await;
}

#[tokio::test]
async fn upload_status_returns_204_with_range() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-status");
    let (location, uuid) = start_session(&reg, &repo).await;
    let resp = reg.send(reg.patch(&location).body(vec![7u8; 1234])).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "PATCH is 202");
    let location = require_header(resp.headers(), "Location", "PATCH");

    let resp = reg.send(reg.get(&location)).await;
    assert_eq!(
        resp.status(),
        StatusCode::NO_CONTENT,
        "GET on the upload URL is 204"
    );
    let h = resp.headers();
    assert_eq!(
        header(h, "Range").as_deref(),
        Some("0-1233"),
        "status reports the bytes received"
    );
    let status_location = require_header(h, "Location", "upload status");
    assert!(
        status_location.starts_with(&format!("/v2/{repo}/blobs/uploads/{uuid}")),
        "status Location is the session URL: {status_location}"
    );
    assert_eq!(
        header(h, "Docker-Upload-UUID").as_deref(),
        Some(uuid.as_str()),
        "status carries the upload UUID"
    );
}

#[tokio::test]
async fn unknown_upload_id_is_blob_upload_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-unknown-upload");
    // Make sure the repository exists, so only the upload is unknown.
    reg.push_blob(&repo, b"exists").await;
    let path = format!("/v2/{repo}/blobs/uploads/{}", random_upload_id());
    let digest = sha256_digest(b"data");
    let cases = [
        ("GET", reg.get(&path)),
        ("PATCH", reg.patch(&path).body(b"data".to_vec())),
        (
            "PUT",
            reg.put(&Registry::with_digest(&path, &digest))
                .body(b"data".to_vec()),
        ),
        ("DELETE", reg.delete(&path)),
    ];
    for (method, request) in cases {
        let resp = reg.send(request).await;
        expect_error(
            resp,
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            &format!("{method} {path}"),
        )
        .await;
    }
}

#[tokio::test]
async fn cancelled_upload_is_gone() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-cancel");
    let (location, _) = start_session(&reg, &repo).await;
    let resp = reg.send(reg.patch(&location).body(vec![1u8; 100])).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "PATCH is 202");

    let resp = reg.send(reg.delete(&location)).await;
    assert_eq!(
        resp.status(),
        StatusCode::NO_CONTENT,
        "DELETE on the upload URL cancels it with 204"
    );
    let resp = reg.send(reg.get(&location)).await;
    expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "BLOB_UPLOAD_UNKNOWN",
        "GET on a cancelled upload",
    )
    .await;
    let resp = reg
        .send(reg.put(&Registry::with_digest(
            &location,
            &sha256_digest(&[1u8; 100]),
        )))
        .await;
    expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "BLOB_UPLOAD_UNKNOWN",
        "PUT on a cancelled upload",
    )
    .await;
}

#[tokio::test]
async fn put_with_digest_returns_201_with_blob_location() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-put");
    let (location, _) = start_session(&reg, &repo).await;
    let data = random_bytes(2048);
    let digest = sha256_digest(&data);
    let resp = reg
        .send(
            reg.put(&Registry::with_digest(&location, &digest))
                .header("Content-Type", "application/octet-stream")
                .body(data.clone()),
        )
        .await;
    expect_blob_created(&resp, &repo, &digest, "PUT with the final (only) chunk");
    assert_blob_content(&reg, &repo, &digest, &data).await;
}

#[tokio::test]
async fn put_with_final_chunk_after_patch() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-final");
    let (location, _) = start_session(&reg, &repo).await;
    let data = random_bytes(5000);
    let resp = reg
        .send(reg.patch(&location).body(data[..3000].to_vec()))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "PATCH is 202");
    let location = require_header(resp.headers(), "Location", "PATCH");
    let digest = sha256_digest(&data);
    let resp = reg
        .send(
            reg.put(&Registry::with_digest(&location, &digest))
                .body(data[3000..].to_vec()),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "PUT carrying the last 2000 bytes is 201"
    );
    assert_blob_content(&reg, &repo, &digest, &data).await;
}

#[tokio::test]
async fn put_with_wrong_digest_is_digest_invalid_and_stores_nothing() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-wrongdigest");
    let (location, _) = start_session(&reg, &repo).await;
    let data = random_bytes(1000);
    let wrong = absent_digest();
    let resp = reg
        .send(
            reg.put(&Registry::with_digest(&location, &wrong))
                .body(data.clone()),
        )
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "DIGEST_INVALID",
        "PUT with a digest that does not match the content",
    )
    .await;
    assert_blob_exists(&reg, &repo, &wrong, false).await;
    assert_blob_exists(&reg, &repo, &sha256_digest(&data), false).await;
}

#[tokio::test]
async fn put_without_digest_is_digest_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-nodigest");
    let (location, _) = start_session(&reg, &repo).await;
    let resp = reg.send(reg.put(&location).body(b"abc".to_vec())).await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "DIGEST_INVALID",
        "PUT on an upload without ?digest=",
    )
    .await;
}

#[tokio::test]
async fn put_with_malformed_digest_is_digest_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-baddigest");
    let (location, _) = start_session(&reg, &repo).await;
    let resp = reg
        .send(
            reg.put(&Registry::with_digest(&location, "sha256:xyz"))
                .body(b"abc".to_vec()),
        )
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "DIGEST_INVALID",
        "PUT with ?digest=sha256:xyz",
    )
    .await;
}

#[tokio::test]
async fn monolithic_post_with_digest_returns_201() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-mono");
    let data = random_bytes(4096);
    let digest = sha256_digest(&data);
    let resp = reg
        .send(
            reg.post(&format!("/v2/{repo}/blobs/uploads/?digest={digest}"))
                .header("Content-Type", "application/octet-stream")
                .body(data.clone()),
        )
        .await;
    expect_blob_created(&resp, &repo, &digest, "POST uploads/?digest= with the blob");
    assert_blob_content(&reg, &repo, &digest, &data).await;
}

#[tokio::test]
async fn upload_session_is_bound_to_its_repository() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-owner");
    let other = unique("push-intruder");
    reg.push_blob(&other, b"other exists").await;
    let (location, uuid) = start_session(&reg, &repo).await;
    let foreign = format!("/v2/{other}/blobs/uploads/{uuid}");
    let digest = sha256_digest(b"abc");
    let cases = [
        ("GET", reg.get(&foreign)),
        ("PATCH", reg.patch(&foreign).body(b"abc".to_vec())),
        (
            "PUT",
            reg.put(&Registry::with_digest(&foreign, &digest))
                .body(b"abc".to_vec()),
        ),
        ("DELETE", reg.delete(&foreign)),
    ];
    for (method, request) in cases {
        let resp = reg.send(request).await;
        expect_error(
            resp,
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            &format!("{method} of {repo}'s upload through {other}"),
        )
        .await;
    }
    let resp = reg.send(reg.get(&location)).await;
    assert_eq!(
        resp.status(),
        StatusCode::NO_CONTENT,
        "the session is untouched in its own repository"
    );
    assert_eq!(
        header(resp.headers(), "Range").as_deref(),
        Some("0-0"),
        "nothing was written to the session through another repository"
    );
    assert_blob_exists(&reg, &other, &digest, false).await;
}

#[tokio::test]
async fn completed_upload_is_gone() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-done");
    let (location, _) = start_session(&reg, &repo).await;
    let digest = sha256_digest(b"done");
    let resp = reg
        .send(
            reg.put(&Registry::with_digest(&location, &digest))
                .body(b"done".to_vec()),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "closing PUT is 201");
    let resp = reg.send(reg.patch(&location).body(b"more".to_vec())).await;
    expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "BLOB_UPLOAD_UNKNOWN",
        "PATCH on an upload that was already completed",
    )
    .await;
}

#[tokio::test]
async fn monolithic_post_with_wrong_digest_is_digest_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-monowrong");
    reg.push_blob(&repo, b"exists").await;
    let wrong = absent_digest();
    let resp = reg
        .send(
            reg.post(&format!("/v2/{repo}/blobs/uploads/?digest={wrong}"))
                .body(b"content".to_vec()),
        )
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "DIGEST_INVALID",
        "monolithic POST whose digest does not match the body",
    )
    .await;
    assert_blob_exists(&reg, &repo, &wrong, false).await;
}

#[tokio::test]
async fn unauthenticated_large_upload_gets_401_not_a_reset() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("push-anon");
    let (location, _) = start_session(&reg, &repo).await;
    let body = random_bytes(8 * 1024 * 1024);
    for attempt in 0..5 {
        let resp = reg
            .anonymous(reqwest::Method::PATCH, &location)
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("attempt {attempt}: the server must answer, got {e}"));
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
}
