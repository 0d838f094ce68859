//! `berth migrate-storage`: copies every recorded blob from one store to another
//! (the filesystem to S3, or back), verifying each digest on the way. Blobs the
//! target already holds are skipped, so an interrupted run continues where it
//! stopped and a second run after stopping the server copies only what was
//! pushed meanwhile. The source is only read.
//!
//! Encrypted copies (`service::encryption`) are copied as they are stored,
//! ciphertext for ciphertext (no key is opened): each is checked to be the
//! recorded object (its header, and its length against its recorded
//! plaintext size); its segments authenticate when read (`berth fsck`).
//! Plain blobs of an installation the encryption job has not finished are
//! copied and hashed as before.

use crate::db::{BlobCopy, Db};
use crate::keys::segments::{Header, Layout};
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
    let copies_of = db
        .copies_by_digest()
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
        let mut objects = Vec::new();
        for copy in copies_of.get(&blob.digest).into_iter().flatten() {
            match stored_copy(copy, size) {
                Ok(object) => objects.push(object),
                Err(e) => report.problems.push(format!("{digest}: {e}")),
            }
        }
        // The plain bytes: the only ones before encryption, or still there
        // until the encryption job removes them.
        let plain = match source.stat(&digest).await {
            Ok(stored) => stored.is_some() || objects.is_empty(),
            Err(e) => return Err(format!("cannot reach {}: {e}", source.describe())),
        };
        if plain {
            objects.push(Object {
                name: digest.clone(),
                size,
                check: Check::Digest,
            });
        }
        for object in objects {
            match target.stat(&object.name).await {
                Ok(Some(stored)) if stored == object.size => report.skipped += 1,
                Ok(_) => match copy(source, target, &object).await {
                    Ok(()) => {
                        report.copied += 1;
                        report.bytes += object.size;
                    }
                    Err(e) => report.problems.push(format!("{digest}: {e}")),
                },
                Err(e) => return Err(format!("cannot reach {}: {e}", target.describe())),
            }
        }
        progress(&report, blobs.len());
    }
    Ok(report)
}

/// A stored object to copy, and how its bytes are checked on the way.
struct Object {
    name: Digest,
    size: u64,
    check: Check,
}

enum Check {
    /// A plain blob: its bytes hash to its name.
    Digest,
    /// An encrypted copy: its bytes start with the recorded header.
    Header(Vec<u8>),
}

/// The stored object of an encrypted copy of a blob of `size` plaintext bytes.
fn stored_copy(copy: &BlobCopy, size: u64) -> Result<Object, String> {
    let name = Digest::parse(&copy.object)
        .map_err(|_| format!("the recorded object {:?} is malformed", copy.object))?;
    let (header, header_len) = Header::decode(&copy.header)
        .map_err(|e| format!("the recorded header of {name} is damaged: {e}"))?;
    Ok(Object {
        name,
        size: Layout::new(&header, header_len, size).stored_len(),
        check: Check::Header(copy.header.clone()),
    })
}

/// Streams one blob into an upload in the target, commits it only if its
/// bytes hash to its digest, and drops the upload otherwise.
async fn copy(
    source: &dyn BlobStore,
    target: &dyn BlobStore,
    object: &Object,
) -> Result<(), String> {
    let (digest, size) = (&object.name, object.size);
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
        let mut prefix = Vec::new();
        while let Some(chunk) = bytes.next().await {
            let chunk = chunk.map_err(|e| format!("reading failed: {e}"))?;
            if let Check::Header(header) = &object.check {
                if prefix.len() < header.len() {
                    let take = (header.len() - prefix.len()).min(chunk.len());
                    prefix.extend_from_slice(&chunk[..take]);
                }
            }
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
        match &object.check {
            Check::Digest if copied != size || &actual != digest => {
                return Err(format!(
                    "the source holds {copied} bytes hashing to {actual}, not the {size} recorded; not copied"
                ));
            }
            Check::Header(header) if copied != size || &prefix != header => {
                return Err(format!(
                    "the source holds {copied} bytes of its encrypted copy {digest}, not the {size} its record makes, or not under its recorded header; not copied"
                ));
            }
            _ => {}
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
