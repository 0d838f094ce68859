//! Requests per user are rate-limited on the registry API: over the limit,
//! 429 TOOMANYREQUESTS naming the limit, with Retry-After; each user has a
//! bucket of its own, and tokens come back at the sustained rate. (The ECR
//! face's ThrottlingException is tested with boto3 and the AWS CLI in
//! tests/ecr/test_throttling.py.)

mod common;

use common::oci::{expect_error, header, Registry};
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};
use tokio::time::MissedTickBehavior;

/// The limit the tests set: 5 requests a second, 10 at once.
const RATE: f64 = 5.0;
const BURST: usize = 10;

fn limited() -> TestServer {
    TestServer::builder()
        .env("BERTH_RATE_LIMIT", "5")
        .env("BERTH_RATE_BURST", "10")
        .start()
}

/// Sends `request` until one is refused; returns that answer and how many
/// passed before it, checked against the bucket: at least the least it can
/// have held (`held`'s start), at most the most it can have held plus what
/// refilled while the requests took (a slow machine refills more, never
/// less). Bounded: a limit that never refuses fails here.
async fn until_refused(
    reg: &Registry,
    request: impl Fn() -> reqwest::RequestBuilder,
    held: std::ops::RangeInclusive<usize>,
    what: &str,
) -> (reqwest::Response, usize) {
    let started = Instant::now();
    let mut passed = 0;
    loop {
        let response = reg.send(request()).await;
        if response.status() != StatusCode::OK {
            let refilled = (started.elapsed().as_secs_f64() * RATE).ceil() as usize;
            assert!(
                (*held.start()..=held.end() + refilled + 1).contains(&passed),
                "{what}: {passed} passed before a refusal; the bucket held {held:?} and refilled {refilled}"
            );
            return (response, passed);
        }
        passed += 1;
        assert!(
            passed <= 1_000,
            "{what}: 1000 requests passed, none refused"
        );
    }
}

#[tokio::test]
async fn a_user_over_the_limit_gets_429_toomanyrequests_naming_it() {
    let server = limited();
    let reg = Registry::new(&server);
    // The burst passes, and the next request at once is refused.
    let (refused, _) =
        until_refused(&reg, || reg.get("/v2/_catalog"), BURST..=BURST, "admin").await;
    let retry_after = header(refused.headers(), "Retry-After").expect("a Retry-After header");
    assert!(retry_after.parse::<u64>().unwrap() >= 1, "{retry_after}");
    let error = expect_error(
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        "TOOMANYREQUESTS",
        "the request past the burst",
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
    let admin = || {
        reg.anonymous(Method::GET, "/v2/")
            .basic_auth("admin", Some(ADMIN_PASSWORD))
    };
    let (refused, _) = until_refused(&reg, admin, BURST..=BURST, "admin").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let bob = || {
        reg.anonymous(Method::GET, "/v2/")
            .basic_auth("bob", Some("bob-password-123"))
    };
    // Bob's bucket is full whatever admin's holds: his whole burst passes.
    let (refused, _) = until_refused(&reg, bob, BURST..=BURST, "bob, beside an empty admin").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    // And admin's stayed empty meanwhile, but for what refilled.
    let (refused, _) = until_refused(&reg, admin, 0..=0, "admin again").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_steady_load_below_the_limit_is_never_refused() {
    let server = limited();
    let reg = Registry::new(&server);
    // 4 requests a second against a limit of 5, for 3 seconds. A stalled
    // tick is delayed, not made up for with a burst.
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    for i in 0..12 {
        tick.tick().await;
        let status = reg.send(reg.get("/v2/")).await.status();
        assert_eq!(status, StatusCode::OK, "request {i}");
    }
    // The limit was on all along: the bucket is not fuller than its burst,
    // and requests past it are refused.
    let (refused, _) =
        until_refused(&reg, || reg.get("/v2/"), 0..=BURST, "after the steady load").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}
