//! The console's Keys section (issue 18 §1): only administrators reach it;
//! an administrator makes a key, and enables, disables, rotates and
//! schedules or cancels the deletion of it through the same server
//! functions the page posts to, with the service's refusals beside the right
//! field; Berth's own keys are listed as managed and refused every change.

mod common;

use common::console::Console;
use common::{TestServer, ADMIN_PASSWORD};
use serde_json::Value;

/// The key whose aliases include `alias`, as `load_keys` lists it.
async fn key_by_alias(console: &Console, alias: &str) -> Value {
    let keys = console
        .call("load_keys", &[])
        .await
        .ok()
        .expect("load_keys");
    keys.as_array()
        .expect("a list of keys")
        .iter()
        .find(|k| k["aliases"].as_array().unwrap().iter().any(|a| a == alias))
        .cloned()
        .unwrap_or_else(|| panic!("{alias} is listed: {keys}"))
}

/// Creates a `KMS` repository in the console, naming `key`.
async fn create_kms_repository(console: &Console, name: &str, key: &str) -> Result<Value, Value> {
    let form = [("name", name), ("encryption_type", "KMS"), ("kms_key", key)];
    console.call("create_repository", &form).await.ok()
}

fn refused_field(error: &Value) -> Option<&str> {
    error.get("Invalid")?.get("field")?.as_str()
}

#[tokio::test]
async fn only_administrators_reach_the_keys() {
    let server = TestServer::start();
    server.add_user(
        "dev",
        "dev-password-1",
        &["AmazonEC2ContainerRegistryPowerUser"],
    );
    let dev = Console::sign_in(&server, "dev", "dev-password-1").await;
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    admin
        .call("create_key", &[("alias", "team-a"), ("description", "")])
        .await
        .ok()
        .expect("the administrator makes a key");
    let id = key_by_alias(&admin, "alias/team-a").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (endpoint, form) in [
        ("load_keys", vec![]),
        (
            "create_key",
            vec![("alias", "dev-key"), ("description", "")],
        ),
        (
            "change_key",
            vec![("key", id.as_str()), ("change", "Disable")],
        ),
        (
            "schedule_key_deletion",
            vec![("key", id.as_str()), ("days", "7")],
        ),
    ] {
        let error = dev.call(endpoint, &form).await.ok().unwrap_err();
        assert!(
            error.get("Forbidden").is_some(),
            "{endpoint} refuses a non-administrator: {error}"
        );
    }
    let keys = admin.call("load_keys", &[]).await.ok().unwrap();
    assert!(
        !keys.to_string().contains("alias/dev-key"),
        "no key was made: {keys}"
    );
    assert_eq!(
        key_by_alias(&admin, "alias/team-a").await["state"],
        "Enabled"
    );
}

#[tokio::test]
async fn an_administrator_manages_a_key_through_its_whole_life() {
    let server = TestServer::start();
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;

    // Creation: a malformed, a reserved and a taken alias are refused beside the field.
    for bad in ["bad alias!", "alias/aws/mine"] {
        let error = admin
            .call("create_key", &[("alias", bad), ("description", "")])
            .await
            .ok()
            .unwrap_err();
        assert_eq!(refused_field(&error), Some("alias"), "{bad}: {error}");
    }
    admin
        .call(
            "create_key",
            &[("alias", "team-a"), ("description", "team A's images")],
        )
        .await
        .ok()
        .expect("create_key");
    let error = admin
        .call(
            "create_key",
            &[("alias", "alias/team-a"), ("description", "")],
        )
        .await
        .ok()
        .unwrap_err();
    assert_eq!(refused_field(&error), Some("alias"), "{error}");
    assert!(error.to_string().contains("already exists"), "{error}");
    let too_long = "d".repeat(8193);
    let error = admin
        .call("create_key", &[("alias", ""), ("description", &too_long)])
        .await
        .ok()
        .unwrap_err();
    assert_eq!(refused_field(&error), Some("description"), "{error}");
    assert!(
        error.to_string().contains("at most 8192 characters"),
        "{error}"
    );
    admin
        .call("create_key", &[("alias", ""), ("description", "no alias")])
        .await
        .ok()
        .expect("a key without an alias");

    let key = key_by_alias(&admin, "alias/team-a").await;
    let id = key["id"].as_str().unwrap().to_owned();
    assert_eq!(key["state"], "Enabled");
    assert_eq!(key["managed"], false);
    assert_eq!(key["manager"], "Customer");
    assert_eq!(key["description"], "team A's images");
    assert_eq!(key["rotation"], "Off");
    assert_eq!(key["deletion_date"], Value::Null);
    assert!(key["arn"]
        .as_str()
        .unwrap()
        .ends_with(&format!(":key/{id}")));
    assert_eq!(key["repositories"], serde_json::json!([]));

    // A repository that names the key is listed beside it.
    create_kms_repository(&admin, "team-a/web", "alias/team-a")
        .await
        .expect("a repository naming the key");
    assert_eq!(
        key_by_alias(&admin, "alias/team-a").await["repositories"],
        serde_json::json!(["team-a/web"])
    );

    let change = |change: &'static str| {
        let id = id.clone();
        let admin = &admin;
        async move {
            admin
                .call("change_key", &[("key", id.as_str()), ("change", change)])
                .await
                .ok()
        }
    };

    // Disabled: refused as a new repository's key, and not rotated.
    change("Disable").await.expect("Disable");
    assert_eq!(
        key_by_alias(&admin, "alias/team-a").await["state"],
        "Disabled"
    );
    let error = create_kms_repository(&admin, "team-a/api", "alias/team-a")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("is disabled"), "{error}");
    let error = change("RotateNow").await.unwrap_err();
    assert!(
        error["Conflict"].as_str().unwrap().contains("is disabled"),
        "{error}"
    );
    change("Enable").await.expect("Enable");
    assert_eq!(
        key_by_alias(&admin, "alias/team-a").await["state"],
        "Enabled"
    );

    // Rotation: yearly on, now, and off.
    change("RotationOn").await.expect("RotationOn");
    let key = key_by_alias(&admin, "alias/team-a").await;
    assert_eq!(key["rotation_enabled"], true);
    assert!(
        key["rotation"]
            .as_str()
            .unwrap()
            .starts_with("Yearly, next on "),
        "{key}"
    );
    change("RotateNow").await.expect("RotateNow");
    let key = key_by_alias(&admin, "alias/team-a").await;
    assert!(
        key["rotation"]
            .as_str()
            .unwrap()
            .contains("; last rotated on "),
        "{key}"
    );
    change("RotationOff").await.expect("RotationOff");
    assert_eq!(
        key_by_alias(&admin, "alias/team-a").await["rotation_enabled"],
        false
    );

    // Deletion: the waiting period is checked beside its field, then scheduled and cancelled.
    for days in ["6", "31"] {
        let error = admin
            .call(
                "schedule_key_deletion",
                &[("key", id.as_str()), ("days", days)],
            )
            .await
            .ok()
            .unwrap_err();
        assert_eq!(refused_field(&error), Some("days"), "{days}: {error}");
    }
    assert_eq!(
        key_by_alias(&admin, "alias/team-a").await["state"],
        "Enabled"
    );
    admin
        .call(
            "schedule_key_deletion",
            &[("key", id.as_str()), ("days", "7")],
        )
        .await
        .ok()
        .expect("schedule_key_deletion");
    let key = key_by_alias(&admin, "alias/team-a").await;
    assert_eq!(key["state"], "PendingDeletion");
    assert!(
        key["deletion_date"].as_str().unwrap().ends_with(" UTC"),
        "{key}"
    );
    let error = change("Disable").await.unwrap_err();
    assert!(
        error["Conflict"]
            .as_str()
            .unwrap()
            .contains("is pending deletion and cannot be disabled"),
        "{error}"
    );
    change("CancelDeletion").await.expect("CancelDeletion");
    let key = key_by_alias(&admin, "alias/team-a").await;
    assert_eq!(
        key["state"], "Disabled",
        "a cancelled deletion leaves the key disabled"
    );
    assert_eq!(key["deletion_date"], Value::Null);
    let error = change("CancelDeletion").await.unwrap_err();
    assert!(
        error["Conflict"]
            .as_str()
            .unwrap()
            .contains("is not pending deletion"),
        "{error}"
    );

    // An unknown key is named in the refusal.
    let error = admin
        .call("change_key", &[("key", "alias/nope"), ("change", "Enable")])
        .await
        .ok()
        .unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");
}

#[tokio::test]
async fn berths_own_keys_are_managed_and_refuse_every_change() {
    let server = TestServer::start();
    let admin = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    // A KMS repository that names no key (through the ECR API: the console
    // asks for a key) makes the default key.
    let body =
        r#"{"repositoryName":"default-kms","encryptionConfiguration":{"encryptionType":"KMS"}}"#;
    let response = common::ecr::call(&server, "admin", "CreateRepository", body.into()).await;
    assert!(
        response.status().is_success(),
        "CreateRepository: {response:?}"
    );
    let key = key_by_alias(&admin, "alias/aws/ecr").await;
    assert_eq!(key["managed"], true);
    assert!(
        key["manager"].as_str().unwrap().starts_with("Berth"),
        "{key}"
    );
    assert_eq!(key["repositories"], serde_json::json!(["default-kms"]));
    let id = key["id"].as_str().unwrap();
    for change in ["Disable", "RotateNow", "RotationOff"] {
        let error = admin
            .call("change_key", &[("key", id), ("change", change)])
            .await
            .ok()
            .unwrap_err();
        assert!(
            error["Conflict"]
                .as_str()
                .unwrap()
                .contains("is managed by Berth"),
            "{change}: {error}"
        );
    }
    let error = admin
        .call("schedule_key_deletion", &[("key", id), ("days", "7")])
        .await
        .ok()
        .unwrap_err();
    assert!(error.to_string().contains("is managed by Berth"), "{error}");
    assert_eq!(
        key_by_alias(&admin, "alias/aws/ecr").await["state"],
        "Enabled"
    );
}
