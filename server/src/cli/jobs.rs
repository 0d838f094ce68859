//! `berth jobs`: the persisted jobs and their status.

use super::{open, CliResult};
use berth::config::Settings;
use berth::console;
use berth::installation::Open;

/// `berth jobs [--kind gc|lifecycle|scan|encrypt] [--limit N] [--json]`.
pub async fn run(settings: Settings, kind: Option<&str>, limit: u32, json: bool) -> CliResult {
    use berth::service::jobs::JobKind;
    let kind = match kind {
        None => None,
        Some("gc") => Some(JobKind::Gc),
        Some("lifecycle") => Some(JobKind::Lifecycle),
        Some("scan") => Some(JobKind::Scan),
        Some("encrypt") => Some(JobKind::Encrypt),
        Some(other) => {
            return Err(format!(
                "--kind {other:?}: use gc, lifecycle, scan or encrypt"
            ))
        }
    };
    let installation = open(settings, Open::Existing).await?;
    let rows = installation
        .registry
        .jobs(kind, i64::from(limit))
        .await
        .map_err(|e| e.to_string())?;
    let when = |ms: Option<i64>| ms.map(console::format_utc);
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|j| {
                serde_json::json!({
                    "id": j.id,
                    "kind": j.kind,
                    "repositoryName": j.repository,
                    "imageDigest": j.digest,
                    "status": j.status,
                    "runAfter": console::format_utc(j.run_after),
                    "startedAt": when(j.started_at),
                    "finishedAt": when(j.finished_at),
                    "summary": j.summary,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        println!(
            "{:<6} {:<10} {:<12} {:<24} {:<24} SUMMARY",
            "ID", "KIND", "STATUS", "REPOSITORY", "FINISHED"
        );
        for j in rows {
            println!(
                "{:<6} {:<10} {:<12} {:<24} {:<24} {}",
                j.id,
                j.kind,
                j.status,
                j.repository.as_deref().unwrap_or("-"),
                when(j.finished_at).unwrap_or_else(|| match j.status.as_str() {
                    "pending" => format!("due {}", console::format_utc(j.run_after)),
                    _ => "-".into(),
                }),
                j.summary.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}
