//! `berth kms …`: create, show, enable, disable, rotate and delete the keys
//! of the KMS stand-in, with output shaped like `aws kms`.

use super::{open, CliResult};
use berth::config::{KmsCommand, Settings};
use berth::console;
use berth::installation::Open;

/// A key as `aws kms describe-key` shows it (`KeyMetadata`), with the
/// repositories it protects.
fn key_metadata(key: &berth::service::kms::KeyDescription) -> serde_json::Value {
    let when = |ms: Option<i64>| ms.map(console::format_utc);
    let k = &key.key;
    serde_json::json!({
        "KeyId": k.id,
        "Arn": key.arn,
        "CreationDate": console::format_utc(k.created_at),
        "Enabled": k.state == "Enabled",
        "Description": k.description,
        "KeyState": k.state,
        "KeyManager": k.manager,
        "DeletionDate": when(k.deletion_date),
        "PendingDeletionWindowInDays": k.pending_window_days,
        "Aliases": k.aliases,
        "KeyRotationEnabled": k.rotation_enabled,
        "NextRotationDate": when(k.next_rotation_at),
        "LastRotationDate": when(k.last_rotated_at),
        "MaterialVersions": k.versions,
        "ProtectedRepositories": key.protects,
    })
}

/// One line per key: id, state, aliases, created, rotation.
fn print_key_line(key: &berth::service::kms::KeyDescription) {
    let k = &key.key;
    let state = match k.deletion_date {
        Some(date) if k.state == "PendingDeletion" => {
            format!("PendingDeletion (deleted at {})", console::format_utc(date))
        }
        _ => k.state.clone(),
    };
    println!(
        "{:<36}  {:<15} {:<24} {:<20} rotation {}  {}",
        k.id,
        state,
        if k.aliases.is_empty() {
            "-".to_owned()
        } else {
            k.aliases.join(",")
        },
        console::format_utc(k.created_at),
        if k.rotation_enabled { "yearly" } else { "off" },
        k.manager,
    );
}

/// `berth kms …`: the KMS stand-in's keys.
pub async fn run(settings: Settings, command: KmsCommand) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let registry = &installation.registry;
    let failed = |e: berth::service::ServiceError| e.to_string();
    let (key, json, done) = match command {
        KmsCommand::ListKeys { json } => {
            let keys = registry.kms_keys().await.map_err(failed)?;
            if json {
                let list: Vec<_> = keys.iter().map(key_metadata).collect();
                println!("{}", serde_json::json!({ "Keys": list }));
            } else {
                println!(
                    "{:<36}  {:<15} {:<24} {:<20} ROTATION        MANAGER",
                    "KEY ID", "STATE", "ALIASES", "CREATED"
                );
                keys.iter().for_each(print_key_line);
            }
            return Ok(());
        }
        KmsCommand::CreateAlias { alias, key } => {
            let key = registry
                .kms_create_alias(&alias, &key)
                .await
                .map_err(failed)?;
            println!("Alias {alias} now names {}.", key.arn);
            return Ok(());
        }
        KmsCommand::DeleteAlias { alias } => {
            registry.kms_delete_alias(&alias).await.map_err(failed)?;
            println!("Deleted alias {alias}.");
            return Ok(());
        }
        KmsCommand::CreateKey {
            alias,
            description,
            json,
        } => (
            registry
                .kms_create_key(alias.as_deref(), &description)
                .await,
            json,
            "Created",
        ),
        KmsCommand::DescribeKey(args) => (registry.kms_key(&args.key).await, args.json, ""),
        KmsCommand::EnableKey(args) => (
            registry.kms_enable_key(&args.key).await,
            args.json,
            "Enabled",
        ),
        KmsCommand::DisableKey(args) => (
            registry.kms_disable_key(&args.key).await,
            args.json,
            "Disabled",
        ),
        KmsCommand::ScheduleKeyDeletion {
            key,
            pending_window_in_days,
        } => (
            registry
                .kms_schedule_deletion(&key.key, Some(pending_window_in_days))
                .await,
            key.json,
            "Scheduled the deletion of",
        ),
        KmsCommand::CancelKeyDeletion(args) => (
            registry.kms_cancel_deletion(&args.key).await,
            args.json,
            "Cancelled the deletion of (now disabled)",
        ),
        KmsCommand::EnableKeyRotation(args) => (
            registry.kms_set_rotation(&args.key, true).await,
            args.json,
            "Turned on yearly rotation of",
        ),
        KmsCommand::DisableKeyRotation(args) => (
            registry.kms_set_rotation(&args.key, false).await,
            args.json,
            "Turned off automatic rotation of",
        ),
        KmsCommand::RotateKeyOnDemand(args) => (
            registry.kms_rotate_now(&args.key).await,
            args.json,
            "Rotated",
        ),
    };
    let key = key.map_err(failed)?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "KeyMetadata": key_metadata(&key) })
        );
        return Ok(());
    }
    if !done.is_empty() {
        println!("{done} {}.", key.arn);
    }
    let metadata = key_metadata(&key);
    for (name, value) in metadata.as_object().expect("an object") {
        if !value.is_null() {
            println!(
                "  {name:<28} {}",
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned)
            );
        }
    }
    if key.key.state == "PendingDeletion" && !key.protects.is_empty() {
        println!(
            "These repositories name it as their key: their blobs are encrypted under it, and when it is deleted those blobs can never be read again: {}",
            key.protects.join(", ")
        );
    }
    Ok(())
}
