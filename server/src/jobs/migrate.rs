//! `berth migrate-storage`: copies every recorded blob from one store to another
//! (the filesystem to S3, or back), verifying each digest on the way. Blobs the
//! target already holds are skipped, so an interrupted run continues where it
//! stopped and a second run after stopping the server copies only what was
//! pushed meanwhile. The source is only read.

use crate::db::Db;
use crate::storage::{BlobStore, UploadState};
use berth_app::oci::{Digest, DigestAlgorithm};
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256, Sha512};

/// What a migration did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct MigrationReport {
    /// Blobs copied.
    pub copied: usize,
    /// Bytes copied.
    pub bytes: u64,
    /// Blobs the target already held.
    pub skipped: usize,
    /// One line per blob that could not be copied.
    pub problems: Vec<String>,
}

/// Copies every blob the database records from `source` to `target`, calling
/// `progress` after each one with the report so far and the number of blobs.
pub async fn migrate(
    db: &Db,
    source: &dyn BlobStore,
    target: &dyn BlobStore,
    mut progress: impl FnMut(&MigrationReport, usize),
) -> Result<MigrationReport, String> {
    let blobs = db
        .all_blobs()
        .await
        .map_err(|e| format!("cannot read the blob records: {e}"))?;
    let mut report = MigrationReport::default();
    for blob in &blobs {
        let Ok(digest) = Digest::parse(&blob.digest) else {
            report
                .problems
                .push(format!("{}: the recorded digest is malformed", blob.digest));
            continue;
        };
        let size = blob.size as u64;
        match target.stat(&digest).await {
            Ok(Some(stored)) if stored == size => report.skipped += 1,
            Ok(_) => match copy(source, target, &digest, size).await {
                Ok(()) => {
                    report.copied += 1;
                    report.bytes += size;
                }
                Err(e) => report.problems.push(format!("{digest}: {e}")),
            },
            Err(e) => return Err(format!("cannot reach {}: {e}", target.describe())),
        }
        progress(&report, blobs.len());
    }
    Ok(report)
}

/// Streams one blob into an upload in the target, commits it only if its
/// bytes hash to its digest, and drops the upload otherwise.
async fn copy(
    source: &dyn BlobStore,
    target: &dyn BlobStore,
    digest: &Digest,
    size: u64,
) -> Result<(), String> {
    let id = format!("migrate-{}", uuid::Uuid::new_v4());
    target
        .create_upload(&id)
        .await
        .map_err(|e| format!("cannot start an upload: {e}"))?;
    let result = async {
        let mut bytes = source
            .read(digest, 0..size)
            .await
            .map_err(|e| format!("cannot read it from {}: {e}", source.describe()))?;
        let mut writer = target
            .append_upload(&id, &UploadState::default())
            .await
            .map_err(|e| format!("cannot write: {e}"))?;
        let (mut sha256, mut sha512) = (Sha256::new(), Sha512::new());
        let mut copied = 0u64;
        while let Some(chunk) = bytes.next().await {
            let chunk = chunk.map_err(|e| format!("reading failed: {e}"))?;
            match digest.algorithm() {
                DigestAlgorithm::Sha256 => sha256.update(&chunk),
                DigestAlgorithm::Sha512 => sha512.update(&chunk),
            }
            copied += chunk.len() as u64;
            writer
                .write(chunk)
                .await
                .map_err(|e| format!("writing failed: {e}"))?;
        }
        let actual = match digest.algorithm() {
            DigestAlgorithm::Sha256 => Digest::from_hash(DigestAlgorithm::Sha256, &sha256.finalize()),
            DigestAlgorithm::Sha512 => Digest::from_hash(DigestAlgorithm::Sha512, &sha512.finalize()),
        };
        if copied != size || &actual != digest {
            return Err(format!(
                "the source holds {copied} bytes hashing to {actual}, not the {size} recorded; not copied"
            ));
        }
        writer
            .commit(digest)
            .await
            .map_err(|e| format!("cannot commit: {e}"))
    }
    .await;
    if result.is_err() {
        let _ = target.delete_upload(&id).await;
    }
    result
}
