//! Console sessions over HTTP: sign-in through the server function, the
//! idle and absolute timeouts, sign-out ending the session on the server,
//! and a new session id at every sign-in (no session fixation). Forged
//! cross-site requests are console_forgery.rs's; the pages are end2end/'s.

mod common;

use common::console::session_cookie;
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::{header, redirect, Client, StatusCode};
use std::time::{Duration, Instant};

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
    let removal = session_cookie_header(&response);
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert_eq!(home_status(&client, &server).await.0, StatusCode::SEE_OTHER);
}

/// The `berth_session` Set-Cookie header of a response, whole.
fn session_cookie_header(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("berth_session="))
        .expect("a berth_session cookie")
}

/// Calls server function `endpoint` with `client`'s cookie, from the console's page.
async fn call(client: &Client, server: &TestServer, endpoint: &str) -> StatusCode {
    client
        .post(format!("{}/api/{endpoint}", server.url))
        .header(header::ORIGIN, &server.url)
        .form(&[("name", "replayed/app")])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_cookie_replayed_after_sign_out_opens_nothing() {
    let server = TestServer::start();
    let cookie = session_cookie(&sign_in(&client(), &server).await);
    let other_browser = signed_in(&server).await;
    let replay = client_with(Some(&cookie));
    assert_eq!(call(&replay, &server, "sign_out").await, StatusCode::OK);
    // The browser dropped the cookie; a copy of it is worth nothing now.
    assert_eq!(home_status(&replay, &server).await.0, StatusCode::SEE_OTHER);
    for endpoint in ["create_repository", "registry_facts"] {
        assert_eq!(
            call(&replay, &server, endpoint).await,
            StatusCode::UNAUTHORIZED,
            "{endpoint}"
        );
    }
    assert_eq!(
        home_status(&other_browser, &server).await.0,
        StatusCode::OK,
        "signing out ends that session only"
    );
    assert_eq!(
        call(&other_browser, &server, "registry_facts").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_session_id_from_before_sign_in_never_becomes_the_signed_in_one() {
    let server = TestServer::start();
    // One a client made up (well-formed, 128 bits), and a live one an
    // attacker got by signing in themselves and planted in a victim's browser.
    let made_up = "berth_session=c2Vzc2lvbi1maXhhdGlvbg".to_owned();
    let planted = session_cookie(&sign_in(&client(), &server).await);
    assert_eq!(
        home_status(&client_with(Some(&planted)), &server).await.0,
        StatusCode::OK
    );
    for before in [made_up, planted] {
        let response = sign_in(&client_with(Some(&before)), &server).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let after = session_cookie(&response);
        assert_ne!(after, before, "sign-in kept the session id it was sent");
        assert_eq!(
            home_status(&client_with(Some(&before)), &server).await.0,
            StatusCode::SEE_OTHER,
            "{before} is still signed in"
        );
        assert_eq!(
            home_status(&client_with(Some(&after)), &server).await.0,
            StatusCode::OK
        );
    }
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
    let logs = server.logs_once("the failed sign-in", |l| {
        l.contains("console sign-in failed")
    });
    assert!(
        !logs.contains("wrong-horse-battery"),
        "the password reached the log"
    );
}

/// The idle timeout and lifetime the two tests below set: long enough that a
/// stalled machine still signs in and makes its requests well inside them
/// (the tests run beside others), short enough to wait out.
const SESSION_SECONDS: u64 = 6;

#[tokio::test]
async fn an_idle_session_ends() {
    let server = TestServer::builder()
        .env("BERTH_CONSOLE_IDLE_TIMEOUT", &SESSION_SECONDS.to_string())
        .start();
    let client = signed_in(&server).await;
    assert_eq!(home_status(&client, &server).await.0, StatusCode::OK);
    // Idle from that request's arrival, which came before its answer.
    tokio::time::sleep(Duration::from_secs(SESSION_SECONDS) + Duration::from_millis(500)).await;
    assert_eq!(home_status(&client, &server).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_busy_session_ends_at_its_lifetime() {
    let server = TestServer::builder()
        .env(
            "BERTH_CONSOLE_SESSION_LIFETIME",
            &SESSION_SECONDS.to_string(),
        )
        .start();
    let before_sign_in = Instant::now();
    let client = signed_in(&server).await;
    let signed_in_at = Instant::now();
    // Requests keep it from going idle, but not past its lifetime: the session
    // began between `before_sign_in` and `signed_in_at`.
    let lifetime = Duration::from_secs(SESSION_SECONDS);
    for _ in 0..3 {
        let (status, _) = home_status(&client, &server).await;
        assert!(
            status == StatusCode::OK || before_sign_in.elapsed() >= lifetime,
            "a session inside its lifetime is served: {status}"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let ended = signed_in_at + lifetime + Duration::from_millis(500);
    tokio::time::sleep_until(ended.into()).await;
    assert_eq!(home_status(&client, &server).await.0, StatusCode::SEE_OTHER);
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
