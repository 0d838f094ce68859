//! `berth lifecycle …`: run lifecycle policies (or preview them) and list
//! what they expired.

use super::{open, CliResult};
use berth::config::{LifecycleCommand, Settings};
use berth::console;
use berth::installation::Open;

/// `berth lifecycle run|history …`.
pub async fn run(settings: Settings, command: LifecycleCommand) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let registry = &installation.registry;
    match command {
        LifecycleCommand::Run {
            repository,
            dry_run,
            json,
        } => {
            let names = match repository {
                Some(name) => vec![name],
                None => registry
                    .repositories_with_lifecycle()
                    .await
                    .map_err(|e| e.to_string())?,
            };
            let mut all = Vec::new();
            for name in names {
                let expired = registry
                    .apply_lifecycle(&name, dry_run)
                    .await
                    .map_err(|e| e.to_string())?;
                for entry in expired {
                    all.push(serde_json::json!({
                        "repositoryName": name,
                        "imageDigest": entry.digest,
                        "imageTags": entry.tags,
                        "appliedRulePriority": entry.rule,
                    }));
                }
            }
            let verb = if dry_run { "would expire" } else { "expired" };
            if json {
                println!("{}", serde_json::json!({"dryRun": dry_run, "images": all}));
            } else {
                for image in &all {
                    println!(
                        "{verb} {}@{} (tags {}; rule {})",
                        image["repositoryName"].as_str().unwrap_or(""),
                        image["imageDigest"].as_str().unwrap_or(""),
                        image["imageTags"],
                        image["appliedRulePriority"]
                    );
                }
                println!(
                    "{} image(s) {verb}{}",
                    all.len(),
                    if dry_run {
                        " (dry run: nothing changed)"
                    } else {
                        ""
                    }
                );
            }
        }
        LifecycleCommand::History {
            repository,
            limit,
            json,
        } => {
            let rows = registry
                .expirations(repository.as_deref(), limit)
                .await
                .map_err(|e| e.to_string())?;
            let list: Vec<_> = rows
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "repositoryName": e.repository,
                        "imageDigest": e.digest,
                        "imageTags": e.tags,
                        "appliedRulePriority": e.rule,
                        "expiredAt": console::format_utc(e.expired_at),
                    })
                })
                .collect();
            if json {
                println!("{}", serde_json::Value::Array(list));
            } else {
                for item in list {
                    println!(
                        "{}  {}@{}  tags {}  rule {}",
                        item["expiredAt"].as_str().unwrap_or(""),
                        item["repositoryName"].as_str().unwrap_or(""),
                        item["imageDigest"].as_str().unwrap_or(""),
                        item["imageTags"],
                        item["appliedRulePriority"]
                    );
                }
            }
        }
    }
    Ok(())
}
