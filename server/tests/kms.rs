//! `berth kms …`, the KMS stand-in (issue 18 §1): every command against a
//! running server's installation, its errors, a deletion at the end of its
//! waiting period (a server whose clock runs past it), and key material that
//! never reaches the database in the clear.

mod common;

use common::TestServer;
use serde_json::Value;
use std::process::Output;

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `berth kms ARGS… --json`, which must succeed; its `KeyMetadata`.
fn kms(server: &TestServer, args: &[&str]) -> Value {
    let mut all = vec!["kms"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = server.admin(&all);
    assert!(out.status.success(), "berth {all:?}: {}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    json.get("KeyMetadata").cloned().unwrap_or(json)
}

/// Runs `berth kms ARGS…`, which must fail; what it printed.
fn kms_fails(server: &TestServer, args: &[&str]) -> String {
    let mut all = vec!["kms"];
    all.extend_from_slice(args);
    let out = server.admin(&all);
    assert!(
        !out.status.success(),
        "berth {all:?} succeeded: {}",
        text(&out)
    );
    text(&out)
}

#[test]
fn every_kms_command_and_its_errors() {
    let server = TestServer::start();
    let key = kms(
        &server,
        &[
            "create-key",
            "--alias",
            "team-a",
            "--description",
            "team A's images",
        ],
    );
    let id = key["KeyId"].as_str().unwrap().to_owned();
    let arn = key["Arn"].as_str().unwrap().to_owned();
    assert!(arn.starts_with("arn:aws:kms:us-east-1:"), "{arn}");
    assert!(arn.ends_with(&format!(":key/{id}")), "{arn}");
    assert_eq!(key["KeyState"], "Enabled");
    assert_eq!(key["Enabled"], true);
    assert_eq!(key["KeyManager"], "CUSTOMER");
    assert_eq!(key["Description"], "team A's images");
    assert_eq!(key["Aliases"], serde_json::json!(["alias/team-a"]));
    assert_eq!(key["MaterialVersions"], 1);
    assert_eq!(key["KeyRotationEnabled"], false);

    // Named by id, ARN, alias and alias ARN alike.
    let alias_arn = arn.replace(&format!("key/{id}"), "alias/team-a");
    for name in [&id, &arn, &"alias/team-a".to_owned(), &alias_arn] {
        assert_eq!(
            kms(&server, &["describe-key", name])["KeyId"],
            id.as_str(),
            "{name}"
        );
    }
    let listed = kms(&server, &["list-keys"]);
    assert!(
        listed["Keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["KeyId"] == id.as_str()),
        "{listed}"
    );
    let table = server.admin(&["kms", "list-keys"]);
    assert!(text(&table).contains(&id) && text(&table).contains("alias/team-a"));

    assert_eq!(kms(&server, &["disable-key", &id])["KeyState"], "Disabled");
    assert_eq!(
        kms(&server, &["enable-key", "alias/team-a"])["KeyState"],
        "Enabled"
    );
    let rotating = kms(&server, &["enable-key-rotation", &arn]);
    assert_eq!(rotating["KeyRotationEnabled"], true);
    assert!(rotating["NextRotationDate"].is_string());
    assert_eq!(
        kms(&server, &["disable-key-rotation", &id])["KeyRotationEnabled"],
        false
    );
    let rotated = kms(&server, &["rotate-key-on-demand", &id]);
    assert_eq!(rotated["MaterialVersions"], 2);
    assert!(rotated["LastRotationDate"].is_string());

    let added = server.admin(&["kms", "create-alias", "team-a-too", &id]);
    assert!(added.status.success(), "{}", text(&added));
    assert_eq!(
        kms(&server, &["describe-key", "alias/team-a-too"])["KeyId"],
        id.as_str()
    );
    let removed = server.admin(&["kms", "delete-alias", "alias/team-a-too"]);
    assert!(removed.status.success(), "{}", text(&removed));

    // Errors, in KMS's words and naming the key.
    assert!(kms_fails(&server, &["describe-key", "alias/team-a-too"])
        .contains("Key 'alias/team-a-too' does not exist"));
    assert!(kms_fails(&server, &["describe-key", "not-a-key"]).contains("does not exist"));
    assert!(kms_fails(&server, &["create-key", "--alias", "team-a"])
        .contains("alias/team-a already exists"));
    assert!(kms_fails(&server, &["create-key", "--alias", "aws/mine"]).contains("reserved"));
    // Descriptions are bounded as in KMS, in characters (not bytes).
    let longest = "é".repeat(8192);
    let kept = kms(&server, &["create-key", "--description", &longest]);
    assert_eq!(kept["Description"], longest.as_str());
    let too_long = "d".repeat(8193);
    assert!(
        kms_fails(&server, &["create-key", "--description", &too_long])
            .contains("The description is 8193 characters long: a key's description has at most 8192 characters"),
    );
    assert!(kms_fails(
        &server,
        &[
            "schedule-key-deletion",
            &id,
            "--pending-window-in-days",
            "6"
        ]
    )
    .contains("7 to 30 days"));
    assert!(kms_fails(&server, &["cancel-key-deletion", &id]).contains("not pending deletion"));

    let pending = kms(
        &server,
        &[
            "schedule-key-deletion",
            &id,
            "--pending-window-in-days",
            "7",
        ],
    );
    assert_eq!(pending["KeyState"], "PendingDeletion");
    assert_eq!(pending["PendingDeletionWindowInDays"], 7);
    assert!(pending["DeletionDate"].is_string());
    assert!(kms_fails(&server, &["enable-key", &id]).contains("pending deletion"));
    assert!(kms_fails(&server, &["rotate-key-on-demand", &id]).contains("pending deletion"));
    assert_eq!(
        kms(&server, &["cancel-key-deletion", &id])["KeyState"],
        "Disabled"
    );
    let default = kms(&server, &["schedule-key-deletion", &id]);
    assert_eq!(
        default["PendingDeletionWindowInDays"], 30,
        "30 days unless given, as AWS"
    );
}

#[test]
fn a_key_is_deleted_when_its_waiting_period_ends() {
    let server = TestServer::start();
    let key = kms(&server, &["create-key", "--alias", "short-lived"]);
    let id = key["KeyId"].as_str().unwrap().to_owned();
    kms(
        &server,
        &[
            "schedule-key-deletion",
            &id,
            "--pending-window-in-days",
            "7",
        ],
    );
    // Six days on, the key is still there, pending deletion.
    let early = TestServer::builder()
        .clock("+6d")
        .start_in(server.into_data_dir());
    let still = kms(&early, &["describe-key", &id]);
    assert_eq!(still["KeyState"], "PendingDeletion", "{still}");
    // Eight days on, the periodic job deletes it as the server starts.
    let later = TestServer::builder()
        .clock("+8d")
        .start_in(early.into_data_dir());
    later.logs_once("the key's deletion", |logs| {
        logs.contains("deleted a KMS key")
    });
    let gone = kms(&later, &["describe-key", &id]);
    assert_eq!(gone["KeyState"], "Deleted", "{gone}");
    assert_eq!(gone["MaterialVersions"], 0, "its material is erased");
    assert_eq!(gone["Aliases"], serde_json::json!([]));
    assert!(kms_fails(&later, &["describe-key", "alias/short-lived"]).contains("does not exist"));
    assert!(kms_fails(&later, &["enable-key", &id]).contains("was deleted"));
}

#[tokio::test]
async fn key_material_never_reaches_the_database_in_the_clear() {
    let server = TestServer::start();
    let key = kms(&server, &["create-key"]);
    let id = key["KeyId"].as_str().unwrap().to_owned();
    kms(&server, &["rotate-key-on-demand", &id]);
    let dir = server.into_data_dir();
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        dir.path().join("berth.db").display()
    ))
    .await
    .expect("open berth.db");
    let sealed: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT version, material FROM kms_key_versions WHERE key_id = ? ORDER BY version",
    )
    .bind(&id)
    .fetch_all(&db)
    .await
    .unwrap();
    db.close().await;
    assert_eq!(sealed.len(), 2);
    let first = sealed[0].1.clone();
    let secrets =
        berth::auth::secrets::SecretBox::load(dir.path()).expect("the installation's secret");
    let sealer = secrets.kms_material_sealer();
    let mut stored = std::fs::read(dir.path().join("berth.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("berth.db-wal")) {
        stored.extend(wal);
    }
    for (version, sealed) in sealed {
        let material = sealer
            .open(&id, u32::try_from(version).unwrap(), &sealed)
            .expect("the installation's secret opens the material");
        assert!(
            !stored.windows(32).any(|w| w == &material[..]),
            "version {version}'s material is in the database in the clear"
        );
        assert!(
            stored.windows(sealed.len()).any(|w| w == &sealed[..]),
            "the sealed bytes are what is stored"
        );
    }
    // Another installation's secret opens nothing.
    let other = berth::auth::secrets::SecretBox::from_key([9; 32]).kms_material_sealer();
    assert!(other.open(&id, 1, &first).is_err());
}

#[tokio::test]
async fn the_console_refuses_an_unusable_key_under_the_kms_key_field() {
    let server = TestServer::start();
    let admin = common::console::Console::sign_in(&server, "admin", common::ADMIN_PASSWORD).await;
    let key = kms(&server, &["create-key", "--alias", "console-team"]);
    let create = |name: &'static str, kms_key: &'static str| {
        let admin = &admin;
        async move {
            admin
                .call(
                    "create_repository",
                    &[
                        ("name", name),
                        ("encryption_type", "KMS"),
                        ("kms_key", kms_key),
                    ],
                )
                .await
        }
    };
    let unknown = create("console/unknown", "alias/nope")
        .await
        .ok()
        .unwrap_err();
    assert_eq!(unknown["Invalid"]["field"], "kms_key", "{unknown}");
    assert_eq!(
        unknown["Invalid"]["message"],
        "Key 'alias/nope' does not exist"
    );

    kms(&server, &["disable-key", "alias/console-team"]);
    let disabled = create("console/disabled", "alias/console-team")
        .await
        .ok()
        .unwrap_err();
    assert_eq!(disabled["Invalid"]["field"], "kms_key", "{disabled}");
    assert_eq!(
        disabled["Invalid"]["message"],
        format!("Key '{}' is disabled", key["Arn"].as_str().unwrap())
    );

    kms(&server, &["enable-key", "alias/console-team"]);
    let made = create("console/enabled", "alias/console-team").await;
    assert!(
        made.status.is_success() || made.status.is_redirection(),
        "{}",
        made.body
    );
    let described = kms(&server, &["describe-key", "alias/console-team"]);
    assert_eq!(
        described["ProtectedRepositories"],
        serde_json::json!(["console/enabled"])
    );
}
