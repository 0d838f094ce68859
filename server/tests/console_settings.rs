//! The console's registry settings and policies over HTTP, called the way the
//! hydrated browser calls its server functions: the garbage-collection dry run
//! reports what `berth gc --dry-run` reports and writes nothing; only
//! administrators reach the settings; scanning configurations and policies
//! go through the same validation as the ECR API, and refused ones are not stored.

mod common;

use common::console::Console;
use common::oci::Registry;
use common::{berth_binary, TestServer, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

async fn count(data_dir: &Path, table: &str) -> i64 {
    let url = format!("sqlite://{}?mode=ro", data_dir.join("berth.db").display());
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let n = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    n
}

async fn registry_row(data_dir: &Path, column: &str) -> Option<String> {
    let url = format!("sqlite://{}?mode=ro", data_dir.join("berth.db").display());
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let value = sqlx::query_scalar(&format!("SELECT {column} FROM registry"))
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    value
}

fn create_user(server: &TestServer, name: &str, password: &str) {
    let out = Command::new(berth_binary())
        .args(["user", "create", name, "--policy"])
        .arg("AmazonEC2ContainerRegistryPowerUser")
        .arg("--data-dir")
        .arg(server.data_dir())
        .env("BERTH_USER_PASSWORD", password)
        .env_remove("BERTH_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn refused_field(error: &Value) -> Option<&str> {
    error.get("Invalid")?.get("field")?.as_str()
}

#[tokio::test]
async fn the_console_dry_run_reports_what_gc_would_delete_and_writes_nothing() {
    // Two days ago: an image, and a blob whose only link was then removed.
    let past = TestServer::builder().clock("-2d").start();
    let client = Registry::new(&past);
    let image = client.push_image("gc/console", Some("v1")).await;
    let orphan = client.push_blob("gc/console", b"console orphan").await;
    let unlink = client
        .send(client.delete(&format!("/v2/gc/console/blobs/{orphan}")))
        .await;
    assert_eq!(unlink.status(), StatusCode::ACCEPTED);
    let server = TestServer::builder().start_in(past.into_data_dir());
    let console = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;

    let blobs_dir = server.data_dir().join("blobs");
    let files_before = common::snapshot(&blobs_dir);
    let rows_before = (
        count(server.data_dir(), "blobs").await,
        count(server.data_dir(), "blob_links").await,
        count(server.data_dir(), "manifests").await,
    );
    let report = console
        .call("gc_dry_run", &[])
        .await
        .ok()
        .expect("a report");
    assert_eq!(report["dry_run"], true);
    let would: Vec<&str> = report["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b[0].as_str().unwrap())
        .collect();
    assert_eq!(would, [orphan.as_str()], "{report}");
    assert_eq!(report["blob_count"], 1);
    assert_eq!(report["bytes"], b"console orphan".len());
    assert!(
        !report.to_string().contains(&image.layers[0].digest),
        "an image's blobs are kept: {report}"
    );

    assert_eq!(
        common::snapshot(&blobs_dir),
        files_before,
        "no blob file changed"
    );
    assert_eq!(
        (
            count(server.data_dir(), "blobs").await,
            count(server.data_dir(), "blob_links").await,
            count(server.data_dir(), "manifests").await,
        ),
        rows_before,
        "no blob, link or manifest row changed"
    );
    let fsck = server.admin(&["fsck"]);
    assert!(
        fsck.status.success(),
        "fsck is clean: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );

    // The CLI's dry run, the same code, finds the same blob.
    let cli = server.admin(&["gc", "--dry-run"]);
    let cli_out = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli_out.contains(&format!("would delete {orphan}")),
        "{cli_out}"
    );

    let status = console
        .call("load_operations_status", &[])
        .await
        .ok()
        .expect("the status");
    assert_eq!(status["gc_grace_seconds"], 3600);
    assert_eq!(status["create_on_push"], true);
    assert_eq!(status["last_dry_run"]["blobs"][0][0], orphan.as_str());
    assert!(
        status["last_run"].is_null(),
        "no real collection ran: {status}"
    );
    assert_eq!(status["jobs"], serde_json::json!([]), "a dry run is no job");

    // A real collection, from the CLI, is a job the console lists.
    let real = server.admin(&["gc"]);
    assert!(real.status.success());
    let status = console
        .call("load_operations_status", &[])
        .await
        .ok()
        .expect("the status");
    let jobs = status["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 1, "{status}");
    assert_eq!(jobs[0]["kind"], "gc");
    assert_eq!(jobs[0]["status"], "succeeded");
    assert!(
        jobs[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("deleted 1 blob(s)"),
        "{status}"
    );
}

#[tokio::test]
async fn only_administrators_reach_the_registry_settings() {
    let server = TestServer::start();
    create_user(&server, "dev", "dev-password-1");
    let console = Console::sign_in(&server, "dev", "dev-password-1").await;
    for (endpoint, form) in [
        ("gc_dry_run", vec![]),
        ("load_operations_status", vec![]),
        ("load_scanning_settings", vec![]),
        ("save_scanning_settings", vec![("scan_type", "ENHANCED")]),
        ("load_policy", vec![("scope", "registry")]),
        (
            "save_policy",
            vec![
                ("scope", "registry"),
                (
                    "policy",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}"#,
                ),
            ],
        ),
    ] {
        let error = console.call(endpoint, &form).await.ok().unwrap_err();
        assert!(
            error.get("Forbidden").is_some(),
            "{endpoint} refuses a non-administrator: {error}"
        );
    }
    assert_eq!(registry_row(server.data_dir(), "policy_text").await, None);
    assert_eq!(
        registry_row(server.data_dir(), "scanning_configuration").await,
        None
    );
}

#[tokio::test]
async fn scanning_and_policies_are_checked_like_the_ecr_api_and_refusals_store_nothing() {
    let server = TestServer::start();
    let console = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;

    let error = console
        .call(
            "save_scanning_settings",
            &[
                ("scan_type", "BASIC"),
                ("rule2_frequency", "SCAN_ON_PUSH"),
                ("rule2_filters", "Team-A/*"),
            ],
        )
        .await
        .ok()
        .unwrap_err();
    assert_eq!(refused_field(&error), Some("rule2_filters"), "{error}");
    let error = console
        .call(
            "save_scanning_settings",
            &[
                ("scan_type", "BASIC"),
                ("rule1_frequency", "CONTINUOUS_SCAN"),
                ("rule1_filters", "*"),
            ],
        )
        .await
        .ok()
        .unwrap_err();
    assert_eq!(refused_field(&error), Some("rule1_frequency"), "{error}");
    assert_eq!(
        registry_row(server.data_dir(), "scanning_configuration").await,
        None,
        "nothing refused is stored"
    );
    console
        .call(
            "save_scanning_settings",
            &[
                ("scan_type", "ENHANCED"),
                ("rule1_frequency", "CONTINUOUS_SCAN"),
                ("rule1_filters", "team-a/*, tools/*"),
                ("rule2_frequency", "SCAN_ON_PUSH"),
                ("rule2_filters", ""),
            ],
        )
        .await
        .ok()
        .expect("a valid configuration is saved");
    let stored: Value = serde_json::from_str(
        &registry_row(server.data_dir(), "scanning_configuration")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"scanType": "ENHANCED", "rules": [{
            "scanFrequency": "CONTINUOUS_SCAN",
            "repositoryFilters": [
                {"filter": "team-a/*", "filterType": "WILDCARD"},
                {"filter": "tools/*", "filterType": "WILDCARD"},
            ],
        }]})
    );

    let client = Registry::new(&server);
    client.push_image("perm/app", Some("v1")).await;
    let no_principal =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:PutImage"}]}"#;
    for (scope, name) in [("repository", "perm/app"), ("registry", "")] {
        let error = console
            .call(
                "save_policy",
                &[("scope", scope), ("name", name), ("policy", no_principal)],
            )
            .await
            .ok()
            .unwrap_err();
        assert_eq!(refused_field(&error), Some("policy"), "{error}");
        assert!(
            error
                .to_string()
                .contains("Principal (or NotPrincipal) is required"),
            "the parser's message: {error}"
        );
        let view = console
            .call("load_policy", &[("scope", scope), ("name", name)])
            .await
            .ok()
            .unwrap();
        assert!(view["text"].is_null(), "nothing stored: {view}");
    }
    let error = console
        .call(
            "delete_policy",
            &[("scope", "repository"), ("name", "perm/app")],
        )
        .await
        .ok()
        .unwrap_err();
    assert!(error.get("NotFound").is_some(), "{error}");
}
