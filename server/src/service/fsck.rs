//! `berth fsck`: checks that every blob's bytes match its digest and size, that
//! every manifest's bytes match its digest, and that everything a manifest
//! references is present in its repository; and lists the store by prefix for
//! bytes no record names (left by a crash between storing and recording: they
//! waste space but harm nothing, yet are hashed too, since a later push of
//! their digest keeps them as they are). Reads only.
//!
//! Encrypted copies (see `service::encryption`) are read through their
//! decryption, so a tampered segment is reported (naming the blob, the key
//! and the segment) as well as a wrong digest; a copy whose key is disabled
//! or deleted is reported as unreadable. An unrecorded object that holds an
//! encrypted copy cannot be checked without its record and is only listed.

use super::{Registry, ServiceResult};
use crate::db::BlobCopy;
use crate::storage::encrypted;
use berth_app::oci::{Digest, DigestAlgorithm};
use sha2::{Digest as _, Sha256};

/// What a check found.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FsckReport {
    /// Blobs whose bytes were read and hashed.
    pub blobs_checked: usize,
    /// Manifests checked.
    pub manifests_checked: usize,
    /// One line per problem.
    pub problems: Vec<String>,
    /// Digests stored with no record: unreachable bytes, not damage.
    pub unrecorded: Vec<String>,
}

/// Hashes a blob stored in the clear.
async fn hash_blob(registry: &Registry, digest: &Digest, size: u64) -> std::io::Result<Digest> {
    Ok(registry.plain_source(digest, size).hash().await?.0)
}

/// Reads one encrypted copy through its decryption and checks its digest.
async fn check_copy(
    registry: &Registry,
    digest: &Digest,
    size: u64,
    copy: &BlobCopy,
    report: &mut FsckReport,
) {
    let what = format!("blob {digest} (encrypted copy under key {})", copy.key_id);
    let Ok(object) = Digest::parse(&copy.object) else {
        report
            .problems
            .push(format!("{what}: the recorded object name is malformed"));
        return;
    };
    match registry.store.stat(&object).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            report
                .problems
                .push(format!("{what}: recorded but its bytes are missing"));
            return;
        }
        Err(e) => {
            report.problems.push(format!("{what}: cannot be read: {e}"));
            return;
        }
    }
    // Reads use the recorded header; the stored one must be the same.
    match encrypted::read_header(&*registry.store, &object).await {
        Ok((stored, _)) if stored == copy.header => {}
        Ok(_) => report
            .problems
            .push(format!("{what}: its stored header differs from its record")),
        Err(e) => report
            .problems
            .push(format!("{what}: its stored header cannot be read: {e}")),
    }
    let source = match registry.open_copy(copy, size).await {
        Ok(source) => source,
        Err(e) => {
            report
                .problems
                .push(format!("{what}: cannot be opened: {e}"));
            return;
        }
    };
    match source.hash().await {
        Ok((actual, len)) if &actual == digest && len == size => {}
        Ok((actual, len)) => report.problems.push(format!(
            "{what}: decrypts to {len} bytes hashing to {actual}"
        )),
        Err(e) => report.problems.push(format!("{what}: cannot be read: {e}")),
    }
}

/// Checks the whole installation.
pub async fn check(registry: &Registry) -> ServiceResult<FsckReport> {
    let mut report = FsckReport::default();
    let recorded = registry.db.all_blobs().await?;
    let copies_of = registry.db.copies_by_digest().await?;
    let known: std::collections::HashSet<&str> = recorded
        .iter()
        .map(|b| b.digest.as_str())
        .chain(copies_of.values().flatten().map(|c| c.object.as_str()))
        .collect();
    for stored in registry.store.list_blobs().await? {
        if !known.contains(stored.digest.as_str()) {
            if encrypted::read_header(&*registry.store, &stored.digest)
                .await
                .is_ok()
            {
                // An encrypted copy stored but never recorded: its name does
                // not say which blob it holds.
                report.unrecorded.push(stored.digest.to_string());
                continue;
            }
            // A later push of this digest would keep these bytes as they are,
            // so they must be whole even though nothing reaches them yet.
            match hash_blob(registry, &stored.digest, stored.size).await {
                Ok(actual) if actual == stored.digest => {}
                Ok(actual) => report.problems.push(format!(
                    "blob {} (stored, no record): its bytes hash to {actual}",
                    stored.digest
                )),
                Err(e) => report.problems.push(format!(
                    "blob {} (stored, no record): cannot be read: {e}",
                    stored.digest
                )),
            }
            report.unrecorded.push(stored.digest.to_string());
        }
    }
    report.unrecorded.sort();
    for blob in &recorded {
        report.blobs_checked += 1;
        let Ok(digest) = Digest::parse(&blob.digest) else {
            report.problems.push(format!(
                "blob {}: the recorded digest is malformed",
                blob.digest
            ));
            continue;
        };
        let encrypted_copies = copies_of.get(&blob.digest);
        for copy in encrypted_copies.into_iter().flatten() {
            check_copy(registry, &digest, blob.size as u64, copy, &mut report).await;
        }
        match registry.store.stat(&digest).await? {
            // Encrypted, and the plain bytes of before are gone.
            None if encrypted_copies.is_some() => {}
            None => report
                .problems
                .push(format!("blob {digest}: recorded but its bytes are missing")),
            Some(size) if size != blob.size as u64 => report.problems.push(format!(
                "blob {digest}: recorded as {} bytes, stored as {size}",
                blob.size
            )),
            Some(size) => match hash_blob(registry, &digest, size).await {
                Ok(actual) if actual == digest => {}
                Ok(actual) => report
                    .problems
                    .push(format!("blob {digest}: its bytes hash to {actual}")),
                Err(e) => report
                    .problems
                    .push(format!("blob {digest}: cannot be read: {e}")),
            },
        }
    }
    for (repository, digest, body) in registry.db.all_manifest_bodies().await? {
        report.manifests_checked += 1;
        let actual = Digest::from_hash(DigestAlgorithm::Sha256, &Sha256::digest(&body));
        if digest.starts_with("sha256:") && actual.as_str() != digest {
            report.problems.push(format!(
                "manifest {repository}@{digest}: its bytes hash to {actual}"
            ));
        }
    }
    for (repository, manifest, missing, kind) in registry.db.dangling_references().await? {
        report.problems.push(format!(
            "manifest {repository}@{manifest}: references {kind} {missing}, which the repository does not hold"
        ));
    }
    Ok(report)
}
