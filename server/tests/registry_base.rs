//! The API base, authentication, the error format (end-1) and repository-name
//! validation.

mod common;

use common::oci::{expect_error, header, parse_error, sha256_digest, Registry, API_VERSION_HEADER};
use common::{unique, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Base endpoint, authentication, error format

/// Asserts a 401 with the Basic challenge and an UNAUTHORIZED body.
async fn assert_unauthorized(resp: reqwest::Response, context: &str) {
    let challenge = header(resp.headers(), "WWW-Authenticate");
    expect_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED", context).await;
    assert_eq!(
        challenge.as_deref(),
        Some("Basic realm=\"Berth\""),
        "{context}: WWW-Authenticate challenge"
    );
}

#[tokio::test]
async fn base_without_credentials_is_401_with_challenge() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let resp = reg.send(reg.anonymous(Method::GET, "/v2/")).await;
    assert_unauthorized(resp, "GET /v2/ without credentials").await;
}

#[tokio::test]
async fn wrong_credentials_are_401() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    for (user, password) in [
        ("admin", "wrong-password"),
        ("nobody", "test-admin-password-1"),
    ] {
        let resp = reg
            .send(
                reg.anonymous(Method::GET, "/v2/")
                    .basic_auth(user, Some(password)),
            )
            .await;
        assert_unauthorized(resp, &format!("GET /v2/ as {user}:{password}")).await;
    }
    let resp = reg
        .send(
            reg.anonymous(Method::GET, "/v2/")
                .header("Authorization", "Basic not-base64!"),
        )
        .await;
    assert_unauthorized(resp, "GET /v2/ with a malformed Authorization header").await;
}

#[tokio::test]
async fn every_v2_path_requires_credentials() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-auth");
    let image = reg.push_image(&repo, Some("v1")).await;
    let blob = &image.layers[0].digest;
    let cases = [
        (Method::GET, "/v2/_catalog".to_string()),
        (Method::GET, format!("/v2/{repo}/tags/list")),
        (Method::GET, format!("/v2/{repo}/manifests/v1")),
        (Method::HEAD, format!("/v2/{repo}/manifests/v1")),
        (Method::DELETE, format!("/v2/{repo}/manifests/v1")),
        (Method::PUT, format!("/v2/{repo}/manifests/v2")),
        (Method::GET, format!("/v2/{repo}/blobs/{blob}")),
        (Method::DELETE, format!("/v2/{repo}/blobs/{blob}")),
        (Method::POST, format!("/v2/{repo}/blobs/uploads/")),
        (
            Method::GET,
            format!("/v2/{repo}/referrers/{}", image.digest),
        ),
        (Method::GET, "/v2/no/such/endpoint".to_string()),
    ];
    for (method, path) in cases {
        let resp = reg.send(reg.anonymous(method.clone(), &path)).await;
        if method == Method::HEAD {
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "HEAD {path} without credentials"
            );
            assert_eq!(
                header(resp.headers(), "WWW-Authenticate").as_deref(),
                Some("Basic realm=\"Berth\""),
                "HEAD {path}: challenge"
            );
        } else {
            assert_unauthorized(resp, &format!("{method} {path} without credentials")).await;
        }
    }
    // The unauthenticated DELETE changed nothing.
    let resp = reg
        .send(reg.head(&format!("/v2/{repo}/manifests/v1")))
        .await;
    assert_eq!(
        header(resp.headers(), "Docker-Content-Digest"),
        Some(image.digest.clone()),
        "unauthenticated DELETE did not remove the manifest"
    );
}

#[tokio::test]
async fn base_with_credentials_is_200_empty_object() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let resp = reg.send(reg.get("/v2/")).await;
    assert_eq!(resp.status(), StatusCode::OK, "GET /v2/ with credentials");
    assert_eq!(
        header(resp.headers(), API_VERSION_HEADER).as_deref(),
        Some("registry/2.0"),
        "GET /v2/ carries the API version header"
    );
    let body: Value = resp.json().await.expect("GET /v2/ body is JSON");
    assert_eq!(body, json!({}), "GET /v2/ body is an empty object");
}

/// One layer adds `Docker-Distribution-API-Version` to everything the
/// registry API answers (signed layer downloads included) and to nothing else.
#[tokio::test]
async fn the_api_version_header_is_on_registry_answers_only() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let digest = sha256_digest(b"nothing");
    let download = format!("/_berth/layers/some/repo/{digest}?expires=1&signature=00");
    let resp = reg.send(reg.anonymous(Method::GET, &download)).await;
    expect_error(
        resp,
        StatusCode::FORBIDDEN,
        "DENIED",
        "an expired download URL",
    )
    .await;
    let resp = reg.send(reg.anonymous(Method::PUT, "/v2/")).await;
    assert_eq!(
        header(resp.headers(), API_VERSION_HEADER).as_deref(),
        Some("registry/2.0"),
        "a refused request"
    );
    for path in ["/login", "/pkg/berth.css", "/favicon.svg"] {
        let resp = reg.send(reg.anonymous(Method::GET, path)).await;
        assert_eq!(
            header(resp.headers(), API_VERSION_HEADER),
            None,
            "{path} is not the registry API"
        );
    }
}

#[tokio::test]
async fn unknown_v2_path_is_404_with_oci_error() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    for path in ["/v2/foo/bar", "/v2/foo/blobs"] {
        let resp = reg.send(reg.get(path)).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "GET {path}: 404; body {text}"
        );
        parse_error(&headers, &text, &format!("GET {path}"));
    }
}

#[tokio::test]
async fn unsupported_method_is_405_unsupported() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-405");
    reg.push_image(&repo, Some("v1")).await;
    let cases = [
        (Method::POST, format!("/v2/{repo}/manifests/v1")),
        (Method::PATCH, format!("/v2/{repo}/manifests/v1")),
        (Method::DELETE, format!("/v2/{repo}/tags/list")),
        (Method::POST, "/v2/_catalog".to_string()),
    ];
    for (method, path) in cases {
        let resp = reg.send(reg.request(method.clone(), &path)).await;
        expect_error(
            resp,
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            &format!("{method} {path}"),
        )
        .await;
    }
}

// ---------------------------------------------------------------------------
// Repository names

#[tokio::test]
async fn invalid_repository_names_are_name_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let names = [
        "UpperCase".to_string(),
        "foo..bar".to_string(),
        "a".to_string(),
        "n".repeat(257),
        "trailing-".to_string(),
    ];
    for name in names {
        let short: String = name.chars().take(20).collect();
        for (method, path) in [
            (Method::POST, format!("/v2/{name}/blobs/uploads/")),
            (Method::GET, format!("/v2/{name}/tags/list")),
            (Method::GET, format!("/v2/{name}/manifests/latest")),
        ] {
            let resp = reg.send(reg.request(method.clone(), &path)).await;
            expect_error(
                resp,
                StatusCode::BAD_REQUEST,
                "NAME_INVALID",
                &format!("{method} with name {short:?} ({} chars)", name.len()),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn long_and_nested_repository_names_are_valid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let long = "n".repeat(256);
    let nested = "team/sub.project/app_1-x";
    for name in [long.as_str(), nested, "ab"] {
        let digest = reg.push_blob(name, b"named").await;
        let resp = reg
            .send(reg.head(&format!("/v2/{name}/blobs/{digest}")))
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "blob pushed to {} ({} chars) is readable",
            &name[..name.len().min(20)],
            name.len()
        );
    }
}

#[tokio::test]
async fn error_responses_carry_api_version_and_json() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-errfmt");
    reg.push_image(&repo, Some("v1")).await;
    // expect_error checks the header, JSON content type and body shape.
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/manifests/missing")))
        .await;
    let err = expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
        "missing tag",
    )
    .await;
    assert!(!err.message.is_empty(), "error message is not empty");
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/blobs/{}", sha256_digest(b"x"))))
        .await;
    expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "missing blob").await;
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_user_and_logged_without_secrets() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let secret = "hunter2-not-the-password";
    for attempt in 0..10 {
        let resp = reg
            .anonymous(Method::GET, "/v2/")
            .basic_auth("admin", Some(secret))
            .send()
            .await
            .expect("GET /v2/");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let resp = reg.send(reg.get("/v2/")).await;
    let error = expect_error(
        resp,
        StatusCode::TOO_MANY_REQUESTS,
        "TOOMANYREQUESTS",
        "the 11th attempt, even with the right password",
    )
    .await;
    assert!(error.message.contains("try again in"), "{}", error.message);
    let other = reg
        .anonymous(Method::GET, "/v2/")
        .basic_auth("someone-else", Some("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::UNAUTHORIZED,
        "other users are not throttled"
    );
    let logs = server.logs_once("failures with a reason", |logs| {
        logs.contains("authentication failed") && logs.contains("unknown user or wrong password")
    });
    assert!(!logs.contains(secret), "the secret never reaches the log");
    assert!(
        !logs.contains(common::ADMIN_PASSWORD),
        "nor the real password"
    );
}

#[tokio::test]
async fn a_burst_of_first_logins_checks_the_password_a_few_at_a_time() {
    // Each argon2 check holds about 19 MiB: 32 new connections at once used
    // to hold 32 of them (637 MiB). Now at most one per core runs, and the
    // others find the first one's verdict cached.
    let server = TestServer::start();
    let before = server.peak_rss();
    let url = format!("{}/v2/", server.url);
    let logins = (0..32).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            // A client of its own: a new connection, no shared state.
            reqwest::Client::new()
                .get(&url)
                .basic_auth("admin", Some(common::ADMIN_PASSWORD))
                .send()
                .await
                .expect("GET /v2/")
                .status()
        })
    });
    for login in futures_util::future::join_all(logins).await {
        assert_eq!(login.unwrap(), StatusCode::OK);
    }
    let grown = server.peak_rss().saturating_sub(before) >> 20;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    assert!(
        grown <= 20 * cores + 40,
        "peak memory grew by {grown} MiB for 32 concurrent logins on {cores} cores"
    );
}
