//! `berth migrate-storage`: copy every blob from one store to the other.

use super::{open, CliResult};
use berth::config::{Settings, StorageKind};
use berth::installation::Open;
use berth::jobs;

/// `berth migrate-storage --from KIND --to KIND`.
pub async fn run(settings: Settings, from: &str, to: &str) -> CliResult {
    let kind = |text: &str| {
        StorageKind::parse(text)
            .ok_or_else(|| format!("{text:?} is not a storage kind: use filesystem or s3"))
    };
    let (from, to) = (kind(from)?, kind(to)?);
    if from == to {
        return Err("--from and --to name the same store".into());
    }
    if (from == StorageKind::S3 || to == StorageKind::S3) && settings.s3.is_none() {
        return Err("no S3 bucket is configured: set storage.bucket or BERTH_S3_BUCKET".into());
    }
    let installation = open(settings, Open::Existing).await?;
    let open_store = |kind| berth::installation::open_store(&installation.settings, kind);
    let source = open_store(from).await.map_err(|e| e.to_string())?;
    let target = open_store(to).await.map_err(|e| e.to_string())?;
    println!(
        "Copying blobs from {} to {}",
        source.describe(),
        target.describe()
    );
    let report = jobs::migrate::migrate(&installation.db, &*source, &*target, |report, total| {
        let done = report.copied + report.skipped + report.problems.len();
        if done % 100 == 0 || done == total {
            println!(
                "  {done}/{total}: {} copied ({} bytes), {} already there, {} failed",
                report.copied,
                report.bytes,
                report.skipped,
                report.problems.len()
            );
        }
    })
    .await?;
    for problem in &report.problems {
        println!("FAILED {problem}");
    }
    if !report.problems.is_empty() {
        return Err(format!(
            "{} blob(s) could not be copied; run again once fixed",
            report.problems.len()
        ));
    }
    println!(
        "Done: {} copied, {} already there. Now set storage.kind = {:?} and restart Berth.",
        report.copied,
        report.skipped,
        match to {
            StorageKind::Filesystem => "filesystem",
            StorageKind::S3 => "s3",
        }
    );
    Ok(())
}
