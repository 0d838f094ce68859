//! Online garbage collection. Safe while pushes run, in this process or any
//! other: it only considers links untouched for a grace period (never shorter
//! than [`MIN_GC_GRACE`](super::MIN_GC_GRACE), which the touches a pusher
//! relies on are written through for; see `service::pulls`), re-checks
//! "still unreferenced and still old" inside each deleting write transaction,
//! and removes bytes only after that commit.
//!
//! A dry run is this same code run against [`Registry::dry_run_copy`]: a
//! private copy of the database and a blob store whose deletes go nowhere.
//! Nothing here asks whether it is a dry run.

use super::{check_gc_grace, Registry, ServiceError, ServiceResult};
use crate::clock::now_millis;
use crate::storage::DryRunStore;
use berth_app::oci::Digest;
use std::sync::Arc;
use std::time::Duration;

/// What a collection did (or, dry, would do).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct GcReport {
    /// Child manifests no index or tag needs any more: (repository id, digest).
    /// Their blobs become collectable at the next run.
    pub manifests: Vec<(i64, String)>,
    /// Repository links removed: (repository id, digest).
    pub links: Vec<(i64, String)>,
    /// Blobs deleted: (digest, size).
    pub blobs: Vec<(String, i64)>,
    /// Bytes freed (the plaintext sizes of the blobs deleted).
    pub bytes: i64,
    /// Encrypted copies deleted because no link reads their blob under
    /// their key any more (the blob stays under its other keys):
    /// (digest, key id).
    pub copies: Vec<(String, String)>,
    /// Uploads the store held without a session (abandoned S3 multipart
    /// uploads, files left by a crash), removed.
    pub leftover_uploads: usize,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl GcReport {
    /// One line: what the run deleted (or, dry, would delete).
    pub fn summary(&self) -> String {
        format!(
            "{} {} blob(s), {} bytes; {} copy(ies) under keys no repository reads them with; {} stale repository link(s); {} manifest(s); {} leftover upload(s)",
            if self.dry_run { "would delete" } else { "deleted" },
            self.blobs.len(),
            self.bytes,
            self.copies.len(),
            self.links.len(),
            self.manifests.len(),
            self.leftover_uploads
        )
    }
}

/// Blobs whose bytes are deleted in one store request.
const DELETE_BATCH: usize = 1000;

impl Registry {
    /// The same registry with its side effects off at the lowest layer, for a
    /// dry run: a private copy of the database (see `Db::dry_run_copy`) and a
    /// read-through blob store that writes nothing ([`DryRunStore`]). Keep the
    /// returned directory until the dry run is done.
    pub async fn dry_run_copy(&self) -> ServiceResult<(Registry, tempfile::TempDir)> {
        let (db, dir) = self.db.dry_run_copy().await.map_err(|e| match e {
            crate::db::OpenError::Database(e) => ServiceError::Database(e),
            other => ServiceError::Storage(std::io::Error::other(other.to_string())),
        })?;
        let store = Arc::new(DryRunStore(self.store.clone()));
        let copy = Registry::new(db, store, self.registry_id.clone(), self.create_on_push)
            .with_limits(self.limits)
            .with_upload_expiry(self.upload_expiry)
            .with_key_sealer(self.key_sealer.clone());
        Ok((copy, dir))
    }

    /// Runs one collection with the given grace period; refuses one shorter
    /// than [`MIN_GC_GRACE`](super::MIN_GC_GRACE). With `dry_run` the same
    /// collection runs against [`Registry::dry_run_copy`] and reports what the
    /// real one would do, changing nothing.
    pub async fn collect_garbage(&self, grace: Duration, dry_run: bool) -> ServiceResult<GcReport> {
        check_gc_grace(grace)?;
        let mut report = if dry_run {
            let (copy, _dir) = self.dry_run_copy().await?;
            let report = copy.collect(grace).await;
            copy.db.close().await;
            report?
        } else {
            self.collect(grace).await?
        };
        report.dry_run = dry_run;
        Ok(report)
    }

    async fn collect(&self, grace: Duration) -> ServiceResult<GcReport> {
        let cutoff = now_millis() - grace.as_millis() as i64;
        let db = &self.db;
        let orphans = db.orphaned_children(cutoff).await?;
        let stale_links = db.stale_blob_links(cutoff).await?;
        let doomed = db.collectable_blobs(cutoff).await?;
        let mut report = GcReport::default();
        for (repository_id, digest) in orphans {
            if db
                .delete_orphaned_child(repository_id, &digest, cutoff)
                .await?
            {
                report.manifests.push((repository_id, digest));
            }
        }
        for (repository_id, digest) in stale_links {
            if db.unlink_if_stale(repository_id, &digest, cutoff).await? {
                report.links.push((repository_id, digest));
            }
        }
        // Bytes go only after their row's deletion committed, in batches.
        let mut forgotten = Vec::new();
        for blob in doomed {
            if let Some(objects) = db.forget_blob_if_unlinked(&blob.digest, cutoff).await? {
                forgotten.push((blob.digest.clone(), objects));
                if forgotten.len() == DELETE_BATCH {
                    self.delete_bytes(&forgotten).await?;
                    forgotten.clear();
                }
                report.bytes += blob.size;
                report.blobs.push((blob.digest, blob.size));
            }
        }
        self.delete_bytes(&forgotten).await?;
        let mut copies = Vec::new();
        for copy in db.unlinked_copies(cutoff).await? {
            if db.forget_copy_if_unlinked(&copy, cutoff).await? {
                copies.push(copy.object.clone());
                report.copies.push((copy.digest, copy.key_id));
            }
        }
        self.delete_copies(&copies).await?;
        report.leftover_uploads = self.remove_leftover_uploads().await?;
        Ok(report)
    }

    /// Deletes the bytes of forgotten blobs, under the database's write lock
    /// and only for those still without a row: an upload of the same digest
    /// that committed its bytes meanwhile records its row under that lock
    /// too, after checking its bytes are there (see `db::BlobWrite`).
    /// A blob's bytes are its plain object (an old installation's, if the
    /// encryption job has not removed it) and its encrypted copies.
    async fn delete_bytes(&self, forgotten: &[(String, Vec<String>)]) -> ServiceResult<()> {
        if forgotten.is_empty() {
            return Ok(());
        }
        let mut write = self.db.begin_blob_write().await?;
        let digests: Vec<String> = forgotten.iter().map(|(d, _)| d.clone()).collect();
        let recorded = write.recorded(&digests).await?;
        let gone: Vec<Digest> = forgotten
            .iter()
            .filter(|(d, _)| !recorded.contains(d))
            .flat_map(|(d, objects)| std::iter::once(d).chain(objects))
            .filter_map(|d| Digest::parse(d).ok())
            .collect();
        self.store.delete(&gone).await?;
        write.commit().await?;
        Ok(())
    }

    /// Deletes the stored objects of forgotten copies, under the database's
    /// write lock and only for those still without a row (an upload under the
    /// same key that committed the same object meanwhile records it under
    /// that lock too).
    async fn delete_copies(&self, objects: &[String]) -> ServiceResult<()> {
        for batch in objects.chunks(DELETE_BATCH) {
            let mut write = self.db.begin_blob_write().await?;
            let recorded = write.recorded_objects(batch).await?;
            let gone: Vec<Digest> = batch
                .iter()
                .filter(|o| !recorded.contains(o))
                .filter_map(|o| Digest::parse(o).ok())
                .collect();
            self.store.delete(&gone).await?;
            write.commit().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, Schema};
    use crate::storage::{BlobStore, FsBlobStore};

    /// The dry run is the real code against a copy: it finds what the real
    /// run then deletes, and leaves the database and the bytes as they were.
    #[tokio::test]
    async fn a_dry_run_reports_what_the_real_run_does_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("berth.db"), Schema::Migrate)
            .await
            .unwrap();
        let store: Arc<dyn BlobStore> =
            Arc::new(FsBlobStore::open(&dir.path().join("store")).await.unwrap());
        let registry = Registry::new(db, store.clone(), "123456789012".into(), true);
        store.create_upload("leftover").await.unwrap();

        let grace = super::super::MIN_GC_GRACE;
        let dry = registry.collect_garbage(grace, true).await.unwrap();
        assert!(dry.dry_run);
        assert_eq!(dry.leftover_uploads, 1);
        assert_eq!(store.list_uploads().await.unwrap(), vec!["leftover"]);
        let real = registry.collect_garbage(grace, false).await.unwrap();
        assert!(!real.dry_run);
        assert_eq!(
            (
                real.blobs,
                real.links,
                real.manifests,
                real.leftover_uploads
            ),
            (dry.blobs, dry.links, dry.manifests, dry.leftover_uploads)
        );
        assert!(store.list_uploads().await.unwrap().is_empty());
    }
}
