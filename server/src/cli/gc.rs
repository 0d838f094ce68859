//! `berth gc`: garbage collection, or its dry run.

use super::{open, CliResult};
use berth::config::Settings;
use berth::installation::Open;
use berth::jobs;

/// `berth gc [--dry-run] [--grace-seconds N]`.
pub async fn run(settings: Settings, args: berth::config::GcArgs) -> CliResult {
    let installation = open(settings, Open::Existing).await?;
    let grace = args.grace_seconds.map_or(
        installation.settings.gc_grace,
        std::time::Duration::from_secs,
    );
    let report = if args.dry_run {
        jobs::gc::collect(&installation.registry, grace, true).await
    } else {
        jobs::gc::run(&installation.registry, grace).await
    }
    .map_err(|e| e.to_string())?;
    let verb = if report.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for (_, digest) in &report.manifests {
        println!("{verb} manifest {digest} (an index's child nothing needs any more)");
    }
    for (digest, size) in &report.blobs {
        println!("{verb} {digest} ({size} bytes)");
    }
    for (digest, key) in &report.copies {
        println!("{verb} the copy of {digest} encrypted under key {key} (no repository under that key links it)");
    }
    println!(
        "{} {} blob(s), {} bytes; {} copy(ies) under keys no repository reads them with; {} stale repository link(s); {} leftover upload(s)",
        if report.dry_run {
            "Dry run: would delete"
        } else {
            "Deleted"
        },
        report.blobs.len(),
        report.bytes,
        report.copies.len(),
        report.links.len(),
        report.leftover_uploads
    );
    Ok(())
}
