//! Console sessions over HTTP: sign-in through the server function, the
//! idle and absolute timeouts, sign-out, and the same-origin rule for
//! state-changing requests. (The browser tests in end2end/ cover the pages.)

mod common;

use common::console::session_cookie;
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::{header, redirect, Client, StatusCode};
use std::time::Duration;

/// A client that sends the session cookie it was given, and follows no redirects.
fn client_with(cookie: Option<&str>) -> Client {
    let mut headers = header::HeaderMap::new();
    if let Some(cookie) = cookie {
        headers.insert(header::COOKIE, cookie.parse().unwrap());
    }
    Client::builder()
        .redirect(redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

fn client() -> Client {
    client_with(None)
}

/// Signs in as admin and returns a client carrying the session.
async fn signed_in(server: &TestServer) -> Client {
    let response = sign_in(&client(), server).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    client_with(Some(&session_cookie(&response)))
}

/// Signs in as admin with a form post, as the sign-in page does without JavaScript.
async fn sign_in(client: &Client, server: &TestServer) -> reqwest::Response {
    client
        .post(format!("{}/api/sign_in", server.url))
        .header(header::ORIGIN, &server.url)
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, format!("{}/login", server.url))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap()
}

async fn home_status(client: &Client, server: &TestServer) -> (StatusCode, String) {
    let response = client.get(format!("{}/", server.url)).send().await.unwrap();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), location)
}

#[tokio::test]
async fn a_session_signs_in_and_out() {
    let server = TestServer::start();
    let anonymous = client();
    assert_eq!(
        home_status(&anonymous, &server).await,
        (StatusCode::SEE_OTHER, "/login?next=%2F".into())
    );

    let response = sign_in(&anonymous, &server).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[header::LOCATION], "/");
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("berth_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP must not set Secure: {cookie}"
    );
    let client = client_with(Some(&session_cookie(&response)));
    assert_eq!(home_status(&client, &server).await.0, StatusCode::OK);
    let page = client.get(format!("{}/", server.url)).send().await.unwrap();
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");

    let response = client
        .post(format!("{}/api/sign_out", server.url))
        .header(header::ORIGIN, &server.url)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[header::LOCATION], "/login");
    assert_eq!(home_status(&client, &server).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_logged_without_the_password() {
    let server = TestServer::start();
    let client = client();
    let response = client
        .post(format!("{}/api/sign_in", server.url))
        .header(header::ORIGIN, &server.url)
        .form(&[("username", "admin"), ("password", "wrong-horse-battery")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"Invalid": {"field": "password", "message": "The user name or password is not correct."}})
    );
    assert_eq!(home_status(&client, &server).await.0, StatusCode::SEE_OTHER);
    let logs = server.logs();
    assert!(logs.contains("console sign-in failed"), "{logs}");
    assert!(
        !logs.contains("wrong-horse-battery"),
        "the password reached the log"
    );
}

#[tokio::test]
async fn an_idle_session_ends() {
    let server = TestServer::builder()
        .env("BERTH_CONSOLE_IDLE_TIMEOUT", "2")
        .start();
    let client = signed_in(&server).await;
    assert_eq!(home_status(&client, &server).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(home_status(&client, &server).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_busy_session_ends_at_its_lifetime() {
    let server = TestServer::builder()
        .env("BERTH_CONSOLE_SESSION_LIFETIME", "2")
        .start();
    let client = signed_in(&server).await;
    // Requests keep it from going idle, but not past its lifetime.
    for _ in 0..3 {
        assert_eq!(home_status(&client, &server).await.0, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(home_status(&client, &server).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn state_changes_from_other_sites_are_refused() {
    let server = TestServer::start();
    let client = signed_in(&server).await;
    for origin in [Some("http://evil.example"), Some("null"), None] {
        let mut request = client
            .post(format!("{}/api/create_repository", server.url))
            .form(&[("name", "csrf/victim")]);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "Origin {origin:?}"
        );
    }
    let response = client
        .post(format!("{}/api/create_repository", server.url))
        .header(header::ORIGIN, &server.url)
        .form(&[("name", "csrf/allowed")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let logs = server.logs();
    assert!(
        logs.contains("refused a console request from another site"),
        "{logs}"
    );
    assert!(!server.data_dir().join("csrf").exists());
}

#[tokio::test]
async fn console_errors_carry_their_status() {
    let server = TestServer::start();
    let client = client();
    // Signed out: the server function answers 401.
    let response = client
        .post(format!("{}/api/list_images", server.url))
        .header(header::ORIGIN, &server.url)
        .form(&[("name", "x/y"), ("status", "any")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let client = signed_in(&server).await;
    let response = client
        .post(format!("{}/api/list_images", server.url))
        .header(header::ORIGIN, &server.url)
        .form(&[("name", "no/such-repository"), ("status", "any")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
