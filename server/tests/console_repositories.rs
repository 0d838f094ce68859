//! The console's repository, image and lifecycle functions refuse what the
//! caller's policies refuse, as the ECR API does, and change nothing then;
//! the repositories table lists only what the caller may describe.

mod common;

use common::console::Console;
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::StatusCode;

const READER_PASSWORD: &str = "reader-password-1";

fn create_reader(server: &TestServer, policy: &str) {
    let output = std::process::Command::new(common::berth_binary())
        .args(["user", "create", "reader", "--policy", policy, "--data-dir"])
        .arg(server.data_dir())
        .env_remove("BERTH_CONFIG")
        .env("BERTH_USER_PASSWORD", READER_PASSWORD)
        .output()
        .expect("run berth user create");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn names(console: &Console) -> Vec<String> {
    let page = console
        .call(
            "list_repositories",
            &[
                ("query[q]", ""),
                ("query[sort]", "name"),
                ("query[order]", "asc"),
                ("query[page]", "1"),
            ],
        )
        .await
        .ok()
        .expect("a page");
    page["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_read_only_user_is_refused_every_change_and_nothing_changes() {
    let server = TestServer::start();
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    let made = admin
        .call("create_repository", &[("name", "team/app")])
        .await;
    assert!(made.status.is_success(), "{}", made.body);
    create_reader(&server, "AmazonEC2ContainerRegistryReadOnly");
    let reader = Console::sign_in(&server, "reader", READER_PASSWORD).await;
    assert_eq!(names(&reader).await, ["team/app"], "a reader may list");

    let policy = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
    /// A server function, its form, and the action that refuses it.
    type Refusal<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let refused: [Refusal; 5] = [
        (
            "create_repository",
            vec![("name", "team/other")],
            "ecr:CreateRepository",
        ),
        (
            "delete_repositories",
            vec![("names[0]", "team/app"), ("confirm", "delete")],
            "ecr:DeleteRepository",
        ),
        (
            "update_repository",
            vec![("name", "team/app"), ("tag_mutability", "IMMUTABLE")],
            "ecr:PutImageTagMutability",
        ),
        (
            "delete_images",
            vec![
                ("name", "team/app"),
                (
                    "digests[0]",
                    "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                ),
            ],
            "ecr:BatchDeleteImage",
        ),
        (
            "save_lifecycle",
            vec![("name", "team/app"), ("policy", policy)],
            "ecr:PutLifecyclePolicy",
        ),
    ];
    for (endpoint, form, action) in refused {
        let answer = reader.call(endpoint, &form).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{endpoint}: {}",
            answer.body
        );
        let message = answer.body["Forbidden"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("is not authorized to perform: {action}")),
            "{endpoint}: {message}"
        );
    }
    // Nothing changed: the repository is still there, still mutable, with no lifecycle policy.
    assert_eq!(names(&admin).await, ["team/app"]);
    let detail = admin
        .call("repository", &[("name", "team/app")])
        .await
        .ok()
        .unwrap();
    assert_eq!(detail["summary"]["tag_mutability"], "MUTABLE");
    let state = admin
        .call("lifecycle_state", &[("name", "team/app")])
        .await
        .ok()
        .unwrap();
    assert_eq!(state["policy"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_table_lists_only_what_the_caller_may_describe() {
    let server = TestServer::start();
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    for name in ["shared/app", "secret/app"] {
        let made = admin.call("create_repository", &[("name", name)]).await;
        assert!(made.status.is_success(), "{}", made.body);
    }
    create_reader(&server, "AmazonEC2ContainerRegistryReadOnly");
    // An explicit deny on one repository hides it from the reader.
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Hide","Effect":"Deny","Principal":"*","Action":"ecr:DescribeRepositories"}]}"#;
    let saved = admin
        .call(
            "save_policy",
            &[
                ("scope", "repository"),
                ("name", "secret/app"),
                ("policy", deny),
            ],
        )
        .await;
    assert!(saved.status.is_success(), "{}", saved.body);
    let reader = Console::sign_in(&server, "reader", READER_PASSWORD).await;
    assert_eq!(names(&reader).await, ["shared/app"]);
    let hidden = reader.call("repository", &[("name", "secret/app")]).await;
    assert_eq!(hidden.status, StatusCode::FORBIDDEN, "{}", hidden.body);
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled() {
    let server = TestServer::start();
    let client = reqwest::Client::new();
    let attempt = || {
        client
            .post(format!("{}/api/sign_in", server.url))
            .header("Origin", &server.url)
            .form(&[("username", "admin"), ("password", "not-the-password")])
            .send()
    };
    for _ in 0..10 {
        assert_eq!(
            attempt().await.unwrap().status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let throttled = attempt().await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = throttled.json().await.unwrap();
    assert!(
        body["Throttled"].as_str().unwrap().contains("try again in"),
        "{body}"
    );
}
