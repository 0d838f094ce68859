//! No secret reaches a log or an error body: one server logging at `debug`
//! (`trace` for Berth) is driven through every way in — HTTP Basic with a
//! password, an access key and an authorization token, SigV4, console
//! sign-in, access-key creation — each right and wrong, and none of the
//! passwords (wrong ones included: they are typos of right ones), secrets,
//! tokens or session cookies may appear in its log or in any answer refused.
//! The console session id is not stored as it is either. The access log's
//! lines (one per request, signed layer downloads included) are among those
//! checked.

mod common;

use common::console::Console;
use common::ecr::{call_headers, AccessKey};
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;

/// `GET /v2/` with Basic `user:password`; returns the status and body.
async fn v2(server: &TestServer, user: &str, password: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .get(format!("{}/v2/", server.url))
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("GET /v2/");
    (response.status(), response.text().await.expect("body"))
}

/// A signed ECR call; returns the status and body.
async fn ecr(server: &TestServer, key: &AccessKey, operation: &str) -> (StatusCode, String) {
    let body = b"{}".to_vec();
    let mut request = reqwest::Client::new().post(format!("{}/", server.url));
    for (name, value) in call_headers(key, &server.host, operation, &body) {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    let response = request.body(body).send().await.expect("POST /");
    (response.status(), response.text().await.expect("body"))
}

/// A console sign-in through the form; returns the status and body.
async fn sign_in(server: &TestServer, user: &str, password: &str) -> (StatusCode, String) {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{}/api/sign_in", server.url))
        .header("Accept", "application/json")
        .header("Origin", &server.url)
        .form(&[("username", user), ("password", password), ("next", "/")])
        .send()
        .await
        .expect("POST /api/sign_in");
    (response.status(), response.text().await.expect("body"))
}

#[tokio::test]
async fn no_secret_reaches_a_log_or_an_error_body() {
    let mut server = TestServer::builder()
        .env("RUST_LOG", "debug,berth=trace")
        .start();
    let mut secrets = vec![ADMIN_PASSWORD.to_owned()];
    let mut refused = Vec::new();

    // Console: sign-in right and wrong, a new user, a new access key.
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    secrets.push(
        admin
            .cookie()
            .trim_start_matches("berth_session=")
            .to_owned(),
    );
    let wrong_password = format!("{ADMIN_PASSWORD}x");
    secrets.push(wrong_password.clone());
    let (status, body) = sign_in(&server, "admin", &wrong_password).await;
    assert!(!status.is_success(), "a wrong password signs in: {body}");
    refused.push(body);
    let alice_password = "alice-secret-password-1";
    secrets.push(alice_password.to_owned());
    let made = admin
        .call(
            "create_user",
            &[
                ("name", "alice"),
                ("policy", "AmazonEC2ContainerRegistryReadOnly"),
                ("password", alice_password),
                ("password_confirm", alice_password),
            ],
        )
        .await;
    assert!(made.status.is_success(), "create_user: {}", made.body);
    let made = admin.call("create_access_key", &[("name", "admin")]).await;
    assert!(made.status.is_success(), "create_access_key: {}", made.body);
    let shown = admin
        .call("take_new_access_key", &[("name", "admin")])
        .await;
    let key = AccessKey {
        id: shown.body["id"].as_str().expect("key id").to_owned(),
        secret: shown.body["secret"].as_str().expect("secret").to_owned(),
    };
    secrets.push(key.secret.clone());

    // HTTP Basic: passwords, the access key, right and wrong.
    let wrong_secret = format!("{}x", &key.secret[1..]);
    secrets.push(wrong_secret.clone());
    for (user, password, ok) in [
        ("admin", ADMIN_PASSWORD, true),
        ("admin", wrong_password.as_str(), false),
        ("alice", alice_password, true),
        ("nobody", alice_password, false),
        (key.id.as_str(), key.secret.as_str(), true),
        (key.id.as_str(), wrong_secret.as_str(), false),
    ] {
        let (status, body) = v2(&server, user, password).await;
        assert_eq!(status.is_success(), ok, "{user}: {status} {body}");
        if !ok {
            refused.push(body);
        }
    }

    // ECR: SigV4 right and wrong, an authorization token used right and wrong.
    let (status, body) = ecr(&server, &key, "GetAuthorizationToken").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = serde_json::from_str::<Value>(&body).expect("JSON")["authorizationData"][0]
        ["authorizationToken"]
        .as_str()
        .expect("a token")
        .to_owned();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&token)
        .expect("base64");
    let token_password = String::from_utf8(decoded).expect("UTF-8")["AWS:".len()..].to_owned();
    secrets.extend([token.clone(), token_password.clone()]);
    let (status, body) = v2(&server, "AWS", &token_password).await;
    assert_eq!(status, StatusCode::OK, "the token works: {body}");
    let wrong_token = format!("{}x", &token_password[1..]);
    secrets.push(wrong_token.clone());
    let (status, body) = v2(&server, "AWS", &wrong_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    refused.push(body);
    let wrong_key = AccessKey {
        id: key.id.clone(),
        secret: wrong_secret.clone(),
    };
    let (status, body) = ecr(&server, &wrong_key, "DescribeRepositories").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    refused.push(body);
    let (status, body) = ecr(&server, &key, "DescribeRepositories").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A signed layer URL: its signature is a credential, and the access log
    // names the route, never the path or the query.
    let registry = common::oci::Registry::new(&server);
    let repo = common::unique("secrets");
    let layer = registry.push_image(&repo, None).await.layers[0]
        .digest
        .clone();
    let input = serde_json::json!({"repositoryName": repo, "layerDigest": layer}).to_string();
    let mut request = reqwest::Client::new()
        .post(format!("{}/", server.url))
        .body(input.clone());
    for (name, value) in call_headers(
        &key,
        &server.host,
        "GetDownloadUrlForLayer",
        input.as_bytes(),
    ) {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    let answer: Value = request
        .send()
        .await
        .expect("GetDownloadUrlForLayer")
        .json()
        .await
        .expect("JSON");
    let url = answer["downloadUrl"]
        .as_str()
        .expect("a download URL")
        .to_owned();
    let signature = url
        .split("signature=")
        .nth(1)
        .expect("a signature in the URL")
        .to_owned();
    secrets.push(signature);
    let downloaded = reqwest::get(&url).await.expect("GET the signed URL");
    assert_eq!(downloaded.status(), StatusCode::OK);
    downloaded.bytes().await.expect("the layer");

    for secret in &secrets {
        common::record_secret(secret);
    }
    let cookie = &secrets[1];
    let stored: Vec<String> = common::snapshot(server.data_dir())
        .into_keys()
        .filter(|name| {
            std::fs::read(server.data_dir().join(name))
                .is_ok_and(|bytes| bytes.windows(cookie.len()).any(|w| w == cookie.as_bytes()))
        })
        .collect();
    assert!(
        stored.is_empty(),
        "the session id is stored as it is in {stored:?}"
    );
    let logs = server.stop_and_collect_logs();
    assert!(
        logs.contains("authentication failed") && logs.contains("DEBUG"),
        "the server logged at debug level:\n{logs}"
    );
    // The access log is among what was checked: a line per request, the
    // console's, the ECR API's and the signed download's included.
    for route in [
        "route=\"/api/sign_in\"",
        "route=\"GetAuthorizationToken\"",
        "route=\"SignedLayerDownload\"",
    ] {
        assert!(
            logs.lines()
                .any(|l| l.contains("request done") && l.contains(route)),
            "no access line with {route}:\n{logs}"
        );
    }
    for secret in &secrets {
        let leaked: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains(secret.as_str()))
            .collect();
        assert!(leaked.is_empty(), "a secret is in the log: {leaked:#?}");
        for body in &refused {
            assert!(!body.contains(secret.as_str()), "a secret is in {body}");
        }
    }
    println!(
        "secrets: {} secrets, {} log lines, {} refused answers: none found",
        secrets.len(),
        logs.lines().count(),
        refused.len()
    );
}
