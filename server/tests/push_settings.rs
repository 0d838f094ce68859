//! What a manifest PUT queues, and when: the scanning and signing
//! configurations a push acts on are kept in memory by each server, and a
//! change made anywhere (here: through another server sharing the
//! installation, as a cluster node) is acted on by the very next push; a
//! signing a push queued survives a restart, whether it never started or
//! its process was killed while running it.

mod common;

use common::oci::Registry;
use common::TestServer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Calls ECR `operation` on `server` as the admin; its status and JSON body.
async fn ecr(server: &TestServer, operation: &str, body: Value) -> (u16, Value) {
    let resp = common::ecr::call(server, "admin", operation, body.to_string()).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `berth signing-status REPO@DIGEST --json`: the statuses per profile.
fn signing_statuses(server: &TestServer, repo: &str, digest: &str) -> Vec<Value> {
    let out = server.admin(&["signing-status", &format!("{repo}@{digest}"), "--json"]);
    assert!(out.status.success(), "signing-status: {out:?}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["signingStatuses"].as_array().unwrap().clone()
}

/// Waits until the image's only signing is `COMPLETE`; its signature digest.
fn wait_signed(server: &TestServer, repo: &str, digest: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let statuses = signing_statuses(server, repo, digest);
        assert_eq!(statuses.len(), 1, "{statuses:?}");
        if statuses[0]["status"] == "COMPLETE" {
            return statuses[0]["signatureDigest"].as_str().unwrap().to_owned();
        }
        assert_eq!(statuses[0]["status"], "IN_PROGRESS", "{statuses:?}");
        assert!(
            Instant::now() < deadline,
            "{repo}@{digest} is not signed after 30 s: {}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Makes the signing profile `release`; its ARN.
fn signing_profile(server: &TestServer) -> String {
    let out = server.admin(&["signing-key", "create", "release", "--json"]);
    assert!(out.status.success(), "signing-key create: {out:?}");
    let profile: Value = serde_json::from_slice(&out.stdout).unwrap();
    profile["signingProfileArn"].as_str().unwrap().to_owned()
}

/// Whether the image has a scan (queued, running or done) on `server`.
async fn has_scan(server: &TestServer, repo: &str, digest: &str) -> bool {
    let (status, body) = ecr(
        server,
        "DescribeImageScanFindings",
        json!({"repositoryName": repo, "imageId": {"imageDigest": digest}}),
    )
    .await;
    match status {
        200 => true,
        400 if body["__type"] == "ScanNotFoundException" => false,
        _ => panic!("DescribeImageScanFindings: {status} {body}"),
    }
}

#[tokio::test]
async fn a_change_made_through_another_server_is_acted_on_by_the_next_push() {
    let pusher = TestServer::start();
    let other = TestServer::builder().start_beside(&pusher);
    let arn = signing_profile(&pusher);
    let registry = Registry::new(&pusher);
    for repo in ["app", "other"] {
        let (status, body) = ecr(&other, "CreateRepository", json!({"repositoryName": repo})).await;
        assert_eq!(status, 200, "{body}");
    }

    // Neither configuration yet: a push queues nothing (and the pushing
    // server now holds both configurations in memory).
    let before = registry.push_image("app", Some("before")).await;
    assert!(signing_statuses(&pusher, "app", &before.digest).is_empty());
    assert!(!has_scan(&pusher, "app", &before.digest).await);

    // Both set through the other server: the next push to the first acts on them.
    let (status, body) = ecr(
        &other,
        "PutSigningConfiguration",
        json!({"signingConfiguration": {"rules": [{
            "signingProfileArn": arn,
            "repositoryFilters": [{"filter": "app", "filterType": "WILDCARD_MATCH"}],
        }]}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = ecr(
        &other,
        "PutRegistryScanningConfiguration",
        json!({"scanType": "BASIC", "rules": [{
            "scanFrequency": "SCAN_ON_PUSH",
            "repositoryFilters": [{"filter": "app", "filterType": "WILDCARD"}],
        }]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let after = registry.push_image("app", Some("after")).await;
    wait_signed(&pusher, "app", &after.digest);
    assert!(has_scan(&pusher, "app", &after.digest).await);
    let uncovered = registry.push_image("other", Some("v1")).await;
    assert!(signing_statuses(&pusher, "other", &uncovered.digest).is_empty());
    assert!(!has_scan(&pusher, "other", &uncovered.digest).await);

    // Both removed through the other server: the next push queues nothing again.
    let (status, body) = ecr(&other, "DeleteSigningConfiguration", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = ecr(
        &other,
        "PutRegistryScanningConfiguration",
        json!({"scanType": "BASIC", "rules": []}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let removed = registry.push_image("app", Some("removed")).await;
    assert!(signing_statuses(&pusher, "app", &removed.digest).is_empty());
    assert!(!has_scan(&pusher, "app", &removed.digest).await);
}

/// Puts the image's signing back as a push left it, unsigned and
/// `IN_PROGRESS`, claimed at `claimed_at` (ms) or never claimed, as the
/// database of a server stopped before its signing ran (or killed while
/// running it) holds it.
async fn unsign(data_dir: &std::path::Path, digest: &str, claimed_at: Option<i64>) {
    let db =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", data_dir.join("berth.db").display()))
            .await
            .expect("open berth.db");
    let done = sqlx::query(
        "UPDATE image_signatures SET status = 'IN_PROGRESS', signature_digest = NULL,
             completed_at = NULL, claimed_at = ?
         WHERE manifest_id = (SELECT id FROM manifests WHERE digest = ?)",
    )
    .bind(claimed_at)
    .bind(digest)
    .execute(&db)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
    db.close().await;
}

#[tokio::test]
async fn a_queued_signing_is_run_after_a_restart_even_one_a_killed_server_had_claimed() {
    let server = TestServer::start();
    let arn = signing_profile(&server);
    let (status, body) = ecr(
        &server,
        "PutSigningConfiguration",
        json!({"signingConfiguration": {"rules": [{"signingProfileArn": arn}]}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let registry = Registry::new(&server);
    let image = registry.push_image("app", Some("v1")).await;
    wait_signed(&server, "app", &image.digest);

    // Stopped before the signing ran: the restarted server runs it.
    let dir = server.into_data_dir();
    unsign(dir.path(), &image.digest, None).await;
    let server = TestServer::builder().start_in(dir);
    wait_signed(&server, "app", &image.digest);
    assert_eq!(signing_statuses(&server, "app", &image.digest).len(), 1);

    // Killed while running it (its claim is fresh): once the claim's lease
    // (5 minutes) has run out, a restarted server takes the signing over.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let dir = server.kill();
    unsign(dir.path(), &image.digest, Some(now)).await;
    let later = TestServer::builder().clock("+6m").start_in(dir);
    wait_signed(&later, "app", &image.digest);
    assert_eq!(signing_statuses(&later, "app", &image.digest).len(), 1);
}
