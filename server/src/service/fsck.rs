//! `berth fsck`: checks that every blob's bytes match its digest and size, that
//! every manifest's bytes match its digest, and that everything a manifest
//! references is present in its repository; and lists the store by prefix for
//! bytes no record names (left by a crash between storing and recording: they
//! waste space but harm nothing, yet are hashed too, since a later push of
//! their digest keeps them as they are). Reads only.

use super::{Registry, ServiceResult};
use berth_app::oci::{Digest, DigestAlgorithm};
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256, Sha512};

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

async fn hash_blob(registry: &Registry, digest: &Digest, size: u64) -> std::io::Result<Digest> {
    let mut stream = registry.store.read(digest, 0..size).await?;
    let mut sha256 = Sha256::new();
    let mut sha512 = Sha512::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        match digest.algorithm() {
            DigestAlgorithm::Sha256 => sha256.update(&chunk),
            DigestAlgorithm::Sha512 => sha512.update(&chunk),
        }
    }
    Ok(match digest.algorithm() {
        DigestAlgorithm::Sha256 => Digest::from_hash(DigestAlgorithm::Sha256, &sha256.finalize()),
        DigestAlgorithm::Sha512 => Digest::from_hash(DigestAlgorithm::Sha512, &sha512.finalize()),
    })
}

/// Checks the whole installation.
pub async fn check(registry: &Registry) -> ServiceResult<FsckReport> {
    let mut report = FsckReport::default();
    let recorded = registry.db.all_blobs().await?;
    let known: std::collections::HashSet<&str> =
        recorded.iter().map(|b| b.digest.as_str()).collect();
    for stored in registry.store.list_blobs().await? {
        if !known.contains(stored.digest.as_str()) {
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
        match registry.store.stat(&digest).await? {
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
