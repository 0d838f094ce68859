//! The console's users and access keys over HTTP, against the real server:
//! only administrators get anything; what the console does, the CLI sees (and
//! the other way round); a new key's secret is handed out once and is found
//! neither in the log nor in plain text anywhere in the data directory; the
//! CLI and the console refuse the same passwords and names.

mod common;

use common::console::Console;
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;

const READ_ONLY: &str = "AmazonEC2ContainerRegistryReadOnly";

fn cli(server: &TestServer, args: &[&str], password: Option<&str>) -> (bool, String) {
    let mut command = std::process::Command::new(common::berth_binary());
    command
        .args(args)
        .arg("--data-dir")
        .arg(server.data_dir())
        .env_remove("BERTH_CONFIG");
    if let Some(password) = password {
        command.env("BERTH_USER_PASSWORD", password);
    }
    let output = command.output().expect("run berth");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn cli_json(server: &TestServer, args: &[&str]) -> Value {
    let (ok, text) = cli(server, args, None);
    assert!(ok, "berth {args:?}: {text}");
    serde_json::from_str(text.lines().last().unwrap_or_default()).expect("JSON output")
}

fn user_names(server: &TestServer) -> Vec<String> {
    cli_json(server, &["user", "list", "--json"])
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn registry_status(server: &TestServer, user: &str, password: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/v2/", server.url))
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("GET /v2/")
        .status()
}

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
                {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn only_administrators_may_call_any_user_function() {
    let server = TestServer::start();
    let (ok, text) = cli(
        &server,
        &["user", "create", "reader", "--policy", READ_ONLY],
        Some("reader-password-1"),
    );
    assert!(ok, "{text}");
    let (ok, text) = cli(&server, &["access-key", "create", "admin", "--json"], None);
    assert!(ok, "{text}");
    let admin_key = serde_json::from_str::<Value>(text.lines().last().unwrap()).unwrap()
        ["accessKeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let reader = Console::sign_in(&server, "reader", "reader-password-1").await;
    let password = [
        ("password", "sneaky-password-1"),
        ("password_confirm", "sneaky-password-1"),
    ];
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("list_users", vec![]),
        ("load_user", vec![("name", "admin")]),
        (
            "create_user",
            [
                ("name", "sneaky"),
                ("policy", "AmazonEC2ContainerRegistryFullAccess"),
            ]
            .into_iter()
            .chain(password)
            .collect(),
        ),
        ("delete_user", vec![("name", "admin"), ("confirm", "admin")]),
        (
            "reset_password",
            [("name", "admin")].into_iter().chain(password).collect(),
        ),
        (
            "attach_user_policy",
            vec![
                ("name", "reader"),
                ("policy", "AmazonEC2ContainerRegistryFullAccess"),
            ],
        ),
        (
            "detach_user_policy",
            vec![
                ("name", "admin"),
                ("policy", "AmazonEC2ContainerRegistryFullAccess"),
            ],
        ),
        ("create_access_key", vec![("name", "reader")]),
        ("take_new_access_key", vec![("name", "reader")]),
        (
            "delete_access_key",
            vec![("name", "admin"), ("id", admin_key.as_str())],
        ),
    ];
    for (endpoint, form) in &calls {
        let answer = reader.call(endpoint, form).await;
        assert!(!answer.status.is_success(), "{endpoint}: {}", answer.body);
        assert!(
            answer.body["Forbidden"]
                .as_str()
                .is_some_and(|m| m.contains("not allowed to manage users")),
            "{endpoint}: {}",
            answer.body
        );
    }
    // Nothing changed: no new user, the admin keeps their policy, password and key.
    assert_eq!(user_names(&server), ["admin", "reader"]);
    let policies = cli_json(&server, &["user", "policies", "admin", "--json"]);
    assert_eq!(
        policies[0]["policyName"],
        "AmazonEC2ContainerRegistryFullAccess"
    );
    let reader_policies = cli_json(&server, &["user", "policies", "reader", "--json"]);
    assert_eq!(reader_policies.as_array().unwrap().len(), 1);
    assert_eq!(
        registry_status(&server, "admin", ADMIN_PASSWORD).await,
        StatusCode::OK
    );
    let keys = cli_json(&server, &["access-key", "list", "admin", "--json"]);
    assert_eq!(keys[0]["accessKeyId"], admin_key.as_str());
    assert!(
        cli_json(&server, &["access-key", "list", "reader", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_new_secret_is_shown_once_and_kept_only_sealed() {
    let server = TestServer::start();
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    let password = "dev-password-one";
    let created = admin
        .call(
            "create_user",
            &[
                ("name", "dev"),
                ("password", password),
                ("password_confirm", password),
                ("policy", READ_ONLY),
            ],
        )
        .await;
    assert!(created.status.is_success(), "{}", created.body);
    // The CLI sees what the console made.
    assert_eq!(
        cli_json(&server, &["user", "policies", "dev", "--json"]),
        serde_json::json!([{"policyName": READ_ONLY, "type": "managed"}])
    );

    let made = admin.call("create_access_key", &[("name", "dev")]).await;
    assert!(made.status.is_success(), "{}", made.body);
    let id = made.body.as_str().expect("the new key's id").to_owned();
    let shown = admin.call("take_new_access_key", &[("name", "dev")]).await;
    assert_eq!(shown.body["id"], id.as_str());
    let secret = shown.body["secret"]
        .as_str()
        .expect("the secret")
        .to_owned();
    assert_eq!(secret.len(), 40);
    // Once only.
    let again = admin.call("take_new_access_key", &[("name", "dev")]).await;
    assert_eq!(again.body, Value::Null);

    // The key works where keys work, and its use is recorded.
    assert_eq!(registry_status(&server, &id, &secret).await, StatusCode::OK);
    let keys = cli_json(&server, &["access-key", "list", "dev", "--json"]);
    assert_eq!(keys[0]["accessKeyId"], id.as_str());
    assert!(keys[0]["lastUsedAt"].is_string(), "{keys}");
    let page = admin.call("load_user", &[("name", "dev")]).await;
    assert_eq!(page.body["access_keys"][0]["id"], id.as_str());
    assert!(page.body["access_keys"][0]["last_used_at"].is_string());

    // Neither the secret nor the password is in the log or stored in plain text.
    let logs = server.logs_once("the key's creation, by id", |l| l.contains(&id));
    assert!(!logs.contains(&secret), "the secret is in the log");
    assert!(!logs.contains(password), "the password is in the log");
    assert_eq!(
        files_containing(server.data_dir(), &secret),
        Vec::<String>::new()
    );
    assert_eq!(
        files_containing(server.data_dir(), password),
        Vec::<String>::new()
    );

    // Revoked: refused at once.
    let revoked = admin
        .call("delete_access_key", &[("name", "dev"), ("id", &id)])
        .await;
    assert!(revoked.status.is_success(), "{}", revoked.body);
    assert_eq!(
        registry_status(&server, &id, &secret).await,
        StatusCode::UNAUTHORIZED
    );
    let gone = admin
        .call("delete_access_key", &[("name", "dev"), ("id", &id)])
        .await;
    assert!(gone.body["NotFound"].is_string(), "{}", gone.body);
}

#[tokio::test]
async fn administrators_cannot_delete_themselves_and_confirmations_must_match() {
    let server = TestServer::start();
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    let own = admin
        .call("delete_user", &[("name", "admin"), ("confirm", "admin")])
        .await;
    assert_eq!(
        own.body["Invalid"]["message"],
        "You cannot delete yourself: ask another administrator to do it."
    );
    let (ok, text) = cli(
        &server,
        &["user", "create", "victim"],
        Some("victim-password-1"),
    );
    assert!(ok, "{text}");
    let unconfirmed = admin
        .call("delete_user", &[("name", "victim"), ("confirm", "victi")])
        .await;
    assert_eq!(unconfirmed.body["Invalid"]["field"], "confirm");
    let missing = admin
        .call("delete_user", &[("name", "nobody"), ("confirm", "nobody")])
        .await;
    assert_eq!(missing.body["NotFound"], "There is no user named nobody.");
    assert_eq!(user_names(&server), ["admin", "victim"]);
    let deleted = admin
        .call("delete_user", &[("name", "victim"), ("confirm", "victim")])
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    assert_eq!(user_names(&server), ["admin"]);
}

#[tokio::test]
async fn the_cli_and_the_console_refuse_the_same_names_and_passwords() {
    let server = TestServer::start();
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    for (name, password, field, words) in [
        ("shorty", "short-pw", "password", "at least 12 characters"),
        (
            "team/alice",
            "long-enough-password",
            "name",
            "Invalid user name",
        ),
        ("admin", "long-enough-password", "name", "already exists"),
    ] {
        let answer = admin
            .call(
                "create_user",
                &[
                    ("name", name),
                    ("password", password),
                    ("password_confirm", password),
                ],
            )
            .await;
        assert_eq!(answer.body["Invalid"]["field"], field, "{}", answer.body);
        assert!(
            answer.body["Invalid"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(words)),
            "{}",
            answer.body
        );
        let (ok, text) = cli(&server, &["user", "create", name], Some(password));
        assert!(!ok, "the CLI refuses {name:?} / {password:?} too");
        assert!(text.contains(words), "{text}");
    }
    let (ok, text) = cli(
        &server,
        &["user", "set-password", "admin"],
        Some("short-pw"),
    );
    assert!(!ok && text.contains("at least 12 characters"), "{text}");
    let reset = admin
        .call(
            "reset_password",
            &[
                ("name", "admin"),
                ("password", "new-admin-password"),
                ("password_confirm", "new-admin-passwore"),
            ],
        )
        .await;
    assert_eq!(reset.body["Invalid"]["field"], "password_confirm");
    assert_eq!(user_names(&server), ["admin"]);
    assert_eq!(
        registry_status(&server, "admin", ADMIN_PASSWORD).await,
        StatusCode::OK,
        "refused changes change nothing"
    );
}

#[tokio::test]
async fn a_password_change_signs_the_user_out_of_the_console() {
    let server = TestServer::start();
    let (ok, text) = cli(
        &server,
        &["user", "create", "dev", "--policy", READ_ONLY],
        Some("dev-password-12"),
    );
    assert!(ok, "{text}");
    let dev = Console::sign_in(&server, "dev", "dev-password-12").await;
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    assert_eq!(dev.call("current_user", &[]).await.body["name"], "dev");

    // Reset in the console: dev's session ends, admin's does not.
    let reset = admin
        .call(
            "reset_password",
            &[
                ("name", "dev"),
                ("password", "dev-password-34"),
                ("password_confirm", "dev-password-34"),
            ],
        )
        .await;
    assert!(reset.status.is_success(), "{}", reset.body);
    assert_eq!(dev.call("current_user", &[]).await.body, Value::Null);
    assert_eq!(admin.call("current_user", &[]).await.body["name"], "admin");

    // The same from the CLI.
    let dev = Console::sign_in(&server, "dev", "dev-password-34").await;
    let (ok, text) = cli(
        &server,
        &["user", "set-password", "dev"],
        Some("dev-password-56"),
    );
    assert!(ok, "{text}");
    assert_eq!(dev.call("current_user", &[]).await.body, Value::Null);
}
