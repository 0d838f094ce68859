//! `berth user …`: users, their passwords and policies.

use super::{open, CliResult};
use berth::auth::accounts::{AccountError, Accounts};
use berth::config::{Settings, UserCommand};
use berth::installation::Open;
use berth::{auth, console};

fn password_from_env_or_generated() -> (String, bool) {
    match std::env::var("BERTH_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (auth::generate_password(), true),
    }
}

/// `berth user …`.
pub async fn run(settings: Settings, command: UserCommand) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let accounts = Accounts::new(installation.db.clone(), installation.secrets.clone());
    let failed = |e: AccountError| e.to_string();
    match command {
        UserCommand::List { json } => {
            let users = accounts.users().await.map_err(failed)?;
            if json {
                let list: Vec<_> = users
                    .iter()
                    .map(|u| serde_json::json!({"name": u.name, "createdAt": console::format_utc(u.created_at)}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                println!("{:<32} CREATED", "NAME");
                for u in users {
                    println!("{:<32} {}", u.name, console::format_utc(u.created_at));
                }
            }
        }
        UserCommand::Create { name, policies } => {
            let (password, generated) = password_from_env_or_generated();
            accounts
                .create_user(&name, &password, &policies)
                .await
                .map_err(failed)?;
            println!("Created user {name:?}.");
            if generated {
                println!("Password (shown once): {password}");
            }
            if policies.is_empty() {
                println!("No policy attached: the user may do nothing until one is (berth user attach-policy).");
            }
        }
        UserCommand::AttachPolicy { name, policy } => {
            let policy = accounts
                .attach_managed_policy(&name, &policy)
                .await
                .map_err(failed)?;
            println!("Attached {policy} to {name:?}.");
        }
        UserCommand::PutPolicy {
            name,
            policy_name,
            file,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            accounts
                .put_inline_policy(&name, &policy_name, &text)
                .await
                .map_err(|e| match e {
                    AccountError::InvalidPolicy(message) => {
                        format!("{}: {message}", file.display())
                    }
                    other => other.to_string(),
                })?;
            println!("Put inline policy {policy_name:?} on {name:?}.");
        }
        UserCommand::DetachPolicy { name, policy } => {
            accounts
                .detach_policy(&name, &policy)
                .await
                .map_err(failed)?;
            println!("Detached {policy} from {name:?}.");
        }
        UserCommand::Policies { name, json } => {
            let policies = accounts.policies(&name).await.map_err(failed)?;
            if json {
                let list: Vec<_> = policies
                    .iter()
                    .map(|(n, doc)| serde_json::json!({"policyName": n, "type": if doc.is_some() { "inline" } else { "managed" }}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for (n, doc) in policies {
                    println!("{n} ({})", if doc.is_some() { "inline" } else { "managed" });
                }
            }
        }
        UserCommand::SetPassword { name } => {
            let (password, generated) = password_from_env_or_generated();
            accounts
                .set_password(&name, &password)
                .await
                .map_err(failed)?;
            println!("Password of {name:?} changed.");
            if generated {
                println!("New password (shown once): {password}");
            }
        }
        UserCommand::Delete { name } => {
            accounts.delete_user(&name).await.map_err(failed)?;
            println!("Deleted user {name:?}.");
        }
    }
    Ok(())
}
