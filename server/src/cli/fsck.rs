//! `berth fsck`: check that every stored blob and manifest is whole.

use super::{open, CliResult};
use berth::config::Settings;
use berth::installation::Open;
use berth::jobs;

/// `berth fsck [--json]`: fails (exit 1) when a problem is found.
pub async fn run(settings: Settings, json: bool) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let report = jobs::fsck::check(&installation.registry)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("report serializes")
        );
    } else {
        for problem in &report.problems {
            println!("PROBLEM {problem}");
        }
        for digest in &report.unrecorded {
            println!("UNRECORDED {digest} (stored, but no repository can reach it)");
        }
        println!(
            "Checked {} blob(s) and {} manifest(s): {} problem(s), {} unrecorded blob(s).",
            report.blobs_checked,
            report.manifests_checked,
            report.problems.len(),
            report.unrecorded.len()
        );
    }
    if report.problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{} problem(s) found", report.problems.len()))
    }
}
