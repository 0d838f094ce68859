//! `berth vulndb …`: import, update and show the vulnerability database.

use super::{open, CliResult};
use berth::config::{Settings, VulndbCommand};
use berth::console;
use berth::installation::Open;

/// Where `berth vulndb update` and `serve` write downloads: beside the database.
pub fn update_options(settings: &Settings) -> berth::service::vulndb::UpdateOptions {
    berth::service::vulndb::UpdateOptions {
        temp_dir: settings.data_dir.join("vulndb-downloads"),
        max_download: berth::service::vulndb::MAX_DOWNLOAD_BYTES,
    }
}

/// What a failed import or update leaves of `source`, in words that are
/// true whether it had records before or never had any.
async fn what_stays(registry: &berth::service::Registry, source: &str) -> String {
    let records = match registry.vulndb_status(&[]).await {
        Ok(list) => list
            .into_iter()
            .find(|s| s.name == source)
            .map_or(0, |s| s.records),
        Err(error) => {
            return format!("its records before this import, if any, stay in service; their count cannot be read: {error}")
        }
    };
    if records > 0 {
        format!("its previous records ({records}) stay in service")
    } else {
        "it had no records in service before, and none were added".to_owned()
    }
}

/// `berth vulndb import|update|status`.
pub async fn run(settings: Settings, command: VulndbCommand) -> CliResult {
    use berth::service::vulndb::{ImportReport, UpdateOutcome};
    let installation = open(settings, Open::Existing).await?;
    let registry = &installation.registry;
    let print_report = |report: &ImportReport| {
        println!(
            "{}: {} record(s) in service, {} malformed record(s) skipped",
            report.source, report.records, report.skipped
        );
        for reason in &report.skipped_reasons {
            println!("  skipped {reason}");
        }
        if report.skipped > report.skipped_reasons.len() as u64 {
            println!(
                "  … and {} more",
                report.skipped - report.skipped_reasons.len() as u64
            );
        }
    };
    match command {
        VulndbCommand::Import { path, source } => {
            let source = match source {
                Some(name) if name.trim().is_empty() => {
                    return Err("--source must not be empty".into())
                }
                Some(name) => name,
                None => format!(
                    "import:{}",
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| path.display().to_string())
                ),
            };
            let report = match registry.vulndb_import(&path, &source).await {
                Ok(report) => report,
                Err(e) => {
                    return Err(format!(
                        "{source}: {e} ({})",
                        what_stays(registry, &source).await
                    ))
                }
            };
            print_report(&report);
        }
        VulndbCommand::Update => {
            let settings = &installation.settings;
            if settings.vulndb_sources.is_empty() {
                return Err(
                    "no vulndb_sources are configured; import exports with `berth vulndb import`"
                        .into(),
                );
            }
            let outcomes = registry
                .vulndb_update(&settings.vulndb_sources, &update_options(settings))
                .await;
            let mut failed = 0;
            for (source, outcome) in &outcomes {
                match outcome {
                    UpdateOutcome::Imported(report) => print_report(report),
                    UpdateOutcome::NotModified => {
                        println!("{source}: unchanged since the last update (HTTP 304)")
                    }
                    UpdateOutcome::Failed(error) => {
                        failed += 1;
                        println!(
                            "{source}: failed: {error} ({})",
                            what_stays(registry, source).await
                        );
                    }
                }
            }
            if failed > 0 {
                return Err(format!("{failed} of {} source(s) failed", outcomes.len()));
            }
        }
        VulndbCommand::Rematch => {
            let images = registry
                .rematch_stale_scans()
                .await
                .map_err(|e| e.to_string())?;
            println!("matched {images} stored inventory(ies) again");
        }
        VulndbCommand::Status { json } => {
            let list = registry
                .vulndb_status(&installation.settings.vulndb_sources)
                .await
                .map_err(|e| e.to_string())?;
            let when = |ms: Option<i64>| ms.map(console::format_utc);
            if json {
                let sources: Vec<_> = list
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "name": s.name,
                            "configured": s.configured,
                            "updatedAt": when(s.updated_at),
                            "checkedAt": when(s.checked_at),
                            "records": s.records,
                            "skipped": s.skipped,
                            "skippedReasons": s.skipped_reasons,
                            "lastError": s.last_error,
                            "lastErrorAt": when(s.last_error_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::json!({ "sources": sources }));
            } else {
                println!(
                    "{:<23} {:>9} {:>8}  {:<23}  SOURCE",
                    "UPDATED", "RECORDS", "SKIPPED", "LAST ERROR AT"
                );
                for s in &list {
                    println!(
                        "{:<23} {:>9} {:>8}  {:<23}  {}",
                        when(s.updated_at).unwrap_or_else(|| "never".into()),
                        s.records,
                        s.skipped,
                        when(s.last_error_at).unwrap_or_else(|| "-".into()),
                        s.name
                    );
                    if let Some(error) = &s.last_error {
                        println!("    last error: {error}");
                    }
                }
            }
        }
    }
    installation.db.close().await;
    Ok(())
}
