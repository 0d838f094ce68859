//! `berth access-key …`: the access keys the ECR API signs with.

use super::{open, CliResult};
use berth::auth::accounts::{AccountError, Accounts};
use berth::config::{AccessKeyCommand, Settings};
use berth::console;
use berth::installation::Open;

/// `berth access-key …`.
pub async fn run(settings: Settings, command: AccessKeyCommand) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let accounts = Accounts::new(installation.db.clone(), installation.secrets.clone());
    let failed = |e: AccountError| e.to_string();
    match command {
        AccessKeyCommand::Create { user, json } => {
            let key = accounts.create_access_key(&user).await.map_err(failed)?;
            let created = console::format_utc(berth::clock::now_millis());
            if json {
                let out = serde_json::json!({
                    "accessKeyId": key.id,
                    "secretAccessKey": key.secret,
                    "userName": user,
                    "createdAt": created,
                });
                println!("{out}");
            } else {
                println!("Created access key for {user:?}.");
                println!("Access key id:     {}", key.id);
                println!("Secret access key: {}   (shown once)", key.secret);
            }
        }
        AccessKeyCommand::List { user, json } => {
            let keys = accounts.access_keys(&user).await.map_err(failed)?;
            let last_used = |k: &berth::db::AccessKeyRow| k.last_used_at.map(console::format_utc);
            if json {
                let list: Vec<_> = keys
                    .iter()
                    .map(|k| serde_json::json!({"accessKeyId": k.id, "userName": k.user_name, "createdAt": console::format_utc(k.created_at), "lastUsedAt": last_used(k)}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                println!(
                    "{:<22} {:<20} {:<24} LAST USED",
                    "ACCESS KEY ID", "USER", "CREATED"
                );
                for k in keys {
                    println!(
                        "{:<22} {:<20} {:<24} {}",
                        k.id,
                        k.user_name,
                        console::format_utc(k.created_at),
                        last_used(&k).unwrap_or_else(|| "never".into())
                    );
                }
            }
        }
        AccessKeyCommand::Delete { user, id } => {
            accounts
                .delete_access_key(&user, &id)
                .await
                .map_err(failed)?;
            println!("Deleted access key {id}.");
        }
    }
    Ok(())
}
