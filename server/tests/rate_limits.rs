//! Requests per user are rate-limited on the registry API: over the limit,
//! 429 TOOMANYREQUESTS naming the limit, with Retry-After; each user has a
//! bucket of its own, and tokens come back at the sustained rate. (The ECR
//! face's ThrottlingException is tested with boto3 and the AWS CLI in
//! tests/ecr/test_throttling.py.)

mod common;

use common::oci::{expect_error, header, Registry};
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use std::time::Duration;

fn limited() -> TestServer {
    TestServer::builder()
        .env("BERTH_RATE_LIMIT", "5")
        .env("BERTH_RATE_BURST", "10")
        .start()
}

#[tokio::test]
async fn a_user_over_the_limit_gets_429_toomanyrequests_naming_it() {
    let server = limited();
    let reg = Registry::new(&server);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(reg.send(reg.get("/v2/")).await.status());
    }
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "the burst of 10 passes: {statuses:?}"
    );
    let refused = reg.send(reg.get("/v2/_catalog")).await;
    let retry_after = header(refused.headers(), "Retry-After").expect("a Retry-After header");
    assert!(retry_after.parse::<u64>().unwrap() >= 1, "{retry_after}");
    let error = expect_error(
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        "TOOMANYREQUESTS",
        "the 11th request at once",
    )
    .await;
    let message = &error.message;
    assert!(
        message.contains("admin") && message.contains("5 requests a second"),
        "{message}"
    );
    // A token is back every 200 ms.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(reg.send(reg.get("/v2/")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn each_user_has_a_bucket_of_their_own() {
    let server = limited();
    server.add_user("bob", "bob-password-123", &[]);
    let reg = Registry::new(&server);
    while reg.send(reg.get("/v2/")).await.status() == StatusCode::OK {}
    let bob = reg
        .send(
            reg.anonymous(Method::GET, "/v2/")
                .basic_auth("bob", Some("bob-password-123")),
        )
        .await;
    assert_eq!(
        bob.status(),
        StatusCode::OK,
        "bob is not held back by admin"
    );
    let admin = reg.send(
        reg.anonymous(Method::GET, "/v2/")
            .basic_auth("admin", Some(ADMIN_PASSWORD)),
    );
    assert_eq!(admin.await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_steady_load_below_the_limit_is_never_refused() {
    let server = limited();
    let reg = Registry::new(&server);
    // 4 requests a second against a limit of 5, for 3 seconds.
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    for i in 0..12 {
        tick.tick().await;
        let status = reg.send(reg.get("/v2/")).await.status();
        assert_eq!(status, StatusCode::OK, "request {i}");
    }
    // The limit was on all along: the bucket is nearly full again, and a
    // burst past it is refused.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(reg.send(reg.get("/v2/")).await.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}
