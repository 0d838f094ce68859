//! Running one scan: the image's layers read through the blob store into an
//! inventory, matched, stored with the findings, and published as an SBOM.

use super::manifest::{scannable, Scannable};
use super::priority::ScanPriority;
use super::{ManifestRef, Registry, ServiceError, ServiceResult, COMPLETE_DESCRIPTION};
use crate::db::{Reference, ScanJobRow, ScanOutcome};
use crate::scan::layers::LayerInput;
use crate::scan::{sbom, Finding, Inventory, ScanError};
use crate::service::encryption::BlobSource;
use crate::storage::ByteStream;
use berth_app::oci::Digest;
use futures_util::StreamExt;
use std::io::Read;
use std::sync::Arc;

/// A blob read as `std::io::Read`, for the scanner on a blocking thread:
/// the store's stream is opened at the first read (decrypted as a pull
/// would be) and pulled chunk by chunk, so a layer of any size takes the
/// memory of one chunk.
struct BlobReader {
    runtime: tokio::runtime::Handle,
    source: Arc<BlobSource>,
    stream: Option<ByteStream>,
    chunk: bytes::Bytes,
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            if self.stream.is_none() {
                // Opened by a task of the runtime rather than on this thread:
                // the store opens and reads the file on tokio's blocking
                // pool, and the pool starts a new thread from the thread that
                // asks. One started from the scan thread would inherit its
                // SCHED_IDLE and go on to serve the file I/O of pushes, which
                // then starved whenever the CPU was busy.
                let source = self.source.clone();
                let opening = self
                    .runtime
                    .spawn(async move { source.read(0..source.size()).await });
                let opened = self
                    .runtime
                    .block_on(opening)
                    .map_err(|e| std::io::Error::other(format!("opening a layer failed: {e}")))??;
                self.stream = Some(opened);
            }
            let stream = self.stream.as_mut().expect("opened above");
            match self.runtime.block_on(stream.next()) {
                Some(chunk) => self.chunk = chunk?,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        bytes::Buf::advance(&mut self.chunk, n);
        Ok(n)
    }
}

/// What a scan makes of an inventory off the async threads: its findings
/// (also as the JSON stored), and its SBOM.
struct Made {
    packages: usize,
    findings: Vec<Finding>,
    json: String,
    sbom: Vec<u8>,
    /// When the SBOM was made (RFC 3339).
    sbom_created: String,
    database_updated_at: Option<i64>,
}

/// How a scan ended, when it did not fail.
struct Ended {
    /// For the job's record.
    summary: String,
    /// The findings of an image scanned completely.
    findings: Option<Vec<Finding>>,
}

/// Compresses an inventory for storage (zstd of its JSON).
pub(super) fn pack(inventory: &Inventory) -> std::io::Result<Vec<u8>> {
    let json = serde_json::to_vec(inventory).map_err(std::io::Error::other)?;
    zstd::encode_all(json.as_slice(), 3)
}

/// Reads a stored inventory back.
pub(super) fn unpack(packed: &[u8]) -> std::io::Result<Inventory> {
    let json = zstd::decode_all(packed)?;
    serde_json::from_slice(&json).map_err(std::io::Error::other)
}

impl Registry {
    /// Runs one claimed scan job, its CPU work done at `priority`, and
    /// records how it ended; returns the findings of an image it scanned
    /// completely.
    pub(super) async fn run_scan_job(
        &self,
        job: &ScanJobRow,
        priority: ScanPriority,
    ) -> Option<Vec<Finding>> {
        let outcome = match self.run_scan(job, priority).await {
            Ok(ended) => ended,
            Err(error) => {
                // Berth itself failed (the database, the store): the scan's
                // record says so.
                let reason = format!("the scan could not finish: {error}");
                if let Err(e) = self.end_scan(job.manifest_id, "FAILED", &reason).await {
                    tracing::warn!(error = %e, "could not record a failed scan");
                }
                Err(reason)
            }
        };
        match &outcome {
            Ok(ended) => {
                tracing::info!(job = job.id, repository = %job.repository, digest = %job.digest, summary = %ended.summary, "scan finished")
            }
            Err(error) => {
                tracing::warn!(job = job.id, repository = %job.repository, digest = %job.digest, %error, "scan failed")
            }
        }
        let (summary, findings) = match outcome {
            Ok(ended) => (Ok(ended.summary), ended.findings),
            Err(error) => (Err(error), None),
        };
        if let Err(error) = self
            .finish_job(job.id, summary.as_deref().map_err(String::as_str))
            .await
        {
            tracing::warn!(job = job.id, %error, "could not record the end of a scan job");
        }
        findings
    }

    /// Scans one manifest; returns a summary for the job's record (and the
    /// findings of an image), `Err` for a `FAILED` scan. The outer `Err` is Berth's own failure (the
    /// database, the store).
    async fn run_scan(
        &self,
        job: &ScanJobRow,
        priority: ScanPriority,
    ) -> ServiceResult<Result<Ended, String>> {
        let repo = self.repository(&job.repository).await?;
        let Some(row) = self
            .db
            .manifest(repo.id, Reference::Digest(&job.digest))
            .await?
        else {
            return Ok(Err("the image was deleted before it was scanned".into()));
        };
        let layers = match scannable(&row.body) {
            Scannable::Index => {
                let children = self.db.child_manifests(repo.id, row.id).await?;
                for (child, _) in &children {
                    self.db.queue_scan(repo.id, *child, "image").await?;
                }
                self.scans.queued.notify_one();
                let text = format!("queued the scans of {} platform image(s)", children.len());
                self.db
                    .finish_scan(
                        row.id,
                        &ScanOutcome {
                            status: "COMPLETE",
                            description: COMPLETE_DESCRIPTION,
                            inventory: None,
                            findings: None,
                            source_updated_at: None,
                            sbom_digest: None,
                        },
                    )
                    .await?;
                return Ok(Ok(Ended {
                    summary: text,
                    findings: None,
                }));
            }
            Scannable::Not(why) => {
                return self.end_scan(row.id, "UNSUPPORTED_IMAGE", &why).await;
            }
            Scannable::Image(layers) => layers,
        };
        let runtime = tokio::runtime::Handle::current();
        let mut inputs = Vec::new();
        for layer in layers {
            let digest = match Digest::parse(&layer.digest) {
                Ok(d) => d,
                Err(_) => {
                    let why = format!("layer digest {:?} is malformed", layer.digest);
                    return self.end_scan(row.id, "FAILED", &why).await;
                }
            };
            // Decrypted as a pull would be, under the repository's key.
            let source = match self.linked_source(repo.id, &digest).await {
                Ok(source) => source,
                Err(ServiceError::BlobUnknown(_)) => {
                    let why = format!("layer {} is missing from the blob store", layer.digest);
                    return self.end_scan(row.id, "FAILED", &why).await;
                }
                Err(error @ ServiceError::Kms(_)) => {
                    let why = format!("layer {} cannot be read: {error}", layer.digest);
                    return self.end_scan(row.id, "FAILED", &why).await;
                }
                Err(error) => return Err(error),
            };
            inputs.push(LayerInput {
                digest: layer.digest.clone(),
                media_type: layer.media_type.clone().unwrap_or_default(),
                reader: Box::new(BlobReader {
                    runtime: runtime.clone(),
                    source: Arc::new(source),
                    stream: None,
                    chunk: bytes::Bytes::new(),
                }),
            });
        }
        let read = priority
            .run(move || {
                let inventory = crate::scan::layers::inventory(inputs)?;
                let packed = pack(&inventory)?;
                Ok::<_, ScanError>((inventory, packed))
            })
            .await
            .map_err(ServiceError::Storage)?;
        let (inventory, packed) = match read {
            Ok(found) => found,
            Err(ScanError::Unsupported(why)) => {
                return self.end_scan(row.id, "UNSUPPORTED_IMAGE", &why).await
            }
            Err(error) => return self.end_scan(row.id, "FAILED", &error.to_string()).await,
        };
        // The database's snapshot is taken once the layers are read, so a
        // slow read does not hold it.
        let mut matcher = self.matcher().await?;
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let (repository, subject) = (job.repository.clone(), row.digest.clone());
        let made = priority
            .run(move || {
                let matched = matcher.findings_blocking(&inventory.packages);
                let made = matched.map(|matched| {
                    // Matching gives them most severe first, by name and package.
                    let findings = matched.findings;
                    let json = serde_json::to_string(&findings).expect("findings serialize");
                    let sbom = sbom::cyclonedx(
                        &inventory,
                        sbom::Subject {
                            repository: &repository,
                            digest: &subject,
                        },
                        &now,
                    );
                    Made {
                        packages: inventory.packages.len(),
                        findings,
                        json,
                        sbom,
                        sbom_created: now,
                        database_updated_at: matched.database_updated_at,
                    }
                });
                (made, matcher)
            })
            .await
            .map_err(ServiceError::Storage)?;
        let (made, matcher) = made;
        // Freeing tens of thousands of parsed records took a tenth of a
        // 2,000-package scan (perf): off the path of the scan's result.
        priority.discard(matcher);
        let made = made?;
        let old = self.db.scan(row.id).await?.and_then(|s| s.sbom_digest);
        let sbom_digest = self
            .store_sbom(
                &job.repository,
                &row.digest,
                &row.media_type,
                row.body.len(),
                made.sbom,
                &made.sbom_created,
            )
            .await?;
        self.db
            .finish_scan(
                row.id,
                &ScanOutcome {
                    status: "COMPLETE",
                    description: COMPLETE_DESCRIPTION,
                    inventory: Some(&packed),
                    findings: Some(&made.json),
                    source_updated_at: made.database_updated_at,
                    sbom_digest: Some(&sbom_digest),
                },
            )
            .await?;
        // A rescan replaces the previous SBOM.
        if let Some(old) = old.filter(|old| *old != sbom_digest) {
            if let Ok(old) = Digest::parse(&old) {
                match self
                    .delete_manifest(&job.repository, &ManifestRef::Digest(old))
                    .await
                {
                    Ok(()) | Err(ServiceError::ManifestUnknown(_)) => {}
                    Err(error) => tracing::warn!(%error, "could not delete the previous SBOM"),
                }
            }
        }
        Ok(Ok(Ended {
            summary: format!(
                "COMPLETE: {} package(s), {} finding(s); SBOM {sbom_digest}",
                made.packages,
                made.findings.len()
            ),
            findings: Some(made.findings),
        }))
    }

    /// Records a scan that ended without an inventory; `Err` (for the job's
    /// record) when it is `FAILED`.
    async fn end_scan(
        &self,
        manifest_id: i64,
        status: &str,
        why: &str,
    ) -> ServiceResult<Result<Ended, String>> {
        self.db
            .finish_scan(
                manifest_id,
                &ScanOutcome {
                    status,
                    description: why,
                    inventory: None,
                    findings: Some("[]"),
                    source_updated_at: None,
                    sbom_digest: None,
                },
            )
            .await?;
        let summary = format!("{status}: {why}");
        Ok(if status == "FAILED" {
            Err(summary)
        } else {
            Ok(Ended {
                summary,
                findings: None,
            })
        })
    }

    /// Stores `document`, a CycloneDX SBOM made at `created`, as an untagged
    /// OCI artifact whose subject is the scanned manifest; returns its digest.
    async fn store_sbom(
        &self,
        name: &str,
        subject: &str,
        subject_media_type: &str,
        subject_size: usize,
        document: Vec<u8>,
        created: &str,
    ) -> ServiceResult<String> {
        self.store_referrer(
            name,
            crate::service::referrers::Subject {
                digest: subject,
                media_type: subject_media_type,
                size: subject_size,
            },
            crate::service::referrers::Artifact {
                artifact_type: sbom::MEDIA_TYPE,
                pusher: "the scanner",
                layer_media_type: sbom::MEDIA_TYPE,
                layer: document,
                layer_annotations: serde_json::json!({"org.opencontainers.image.title": "sbom.cdx.json"}),
                annotations: serde_json::json!({
                    "org.opencontainers.image.created": created,
                    "org.opencontainers.image.description": "CycloneDX SBOM of the image, made by Berth's scanner",
                }),
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::BlobStore;

    #[test]
    fn a_stored_inventory_reads_back_as_it_was() {
        let inventory = Inventory::default();
        assert_eq!(unpack(&pack(&inventory).unwrap()).unwrap(), inventory);
    }

    /// The policy of every thread of this process but the scan threads
    /// themselves (from /proc: field 41 of each task's `stat`).
    fn policies_but_the_scan_threads() -> Vec<(String, i32)> {
        let mut found = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue; // the thread ended meanwhile
            };
            let (head, tail) = stat.rsplit_once(')').unwrap();
            let name = head.split_once('(').unwrap().1.to_owned();
            // `tail` starts at field 3.
            let policy: i32 = tail
                .split_whitespace()
                .nth(41 - 3)
                .unwrap()
                .parse()
                .unwrap();
            if name != "berth-scan" {
                found.push((name, policy));
            }
        }
        found
    }

    /// A layer read on the scan thread opens its file through a task of the
    /// runtime: the blocking threads tokio starts to open and read it keep
    /// the normal priority, as they go on to serve requests' file I/O. (The
    /// pool starts a thread when none of its threads is free, as when pushes
    /// keep them busy: here, when its threads have just timed out.)
    #[test]
    fn reading_a_layer_on_the_scan_thread_leaves_no_idle_thread_behind() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_keep_alive(std::time::Duration::from_millis(10))
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let bytes = vec![7u8; 3 << 20];
        let read = runtime.block_on(async {
            let store: Arc<dyn BlobStore> =
                Arc::new(crate::storage::FsBlobStore::open(dir.path()).await.unwrap());
            let digest = crate::service::manifests::sha256_of(&bytes);
            store.create_upload("u").await.unwrap();
            let mut writer = store.append_upload("u", &Default::default()).await.unwrap();
            writer
                .write(bytes::Bytes::from(bytes.clone()))
                .await
                .unwrap();
            let state = writer.finish().await.unwrap();
            let sealed = store.seal_upload("u", &state).await.unwrap();
            store.commit_upload("u", &sealed, &digest).await.unwrap();
            // The blocking threads the writes used time out.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let mut reader = BlobReader {
                runtime: tokio::runtime::Handle::current(),
                source: Arc::new(BlobSource::plain(store, digest, bytes.len() as u64)),
                stream: None,
                chunk: bytes::Bytes::new(),
            };
            ScanPriority::Idle
                .run(move || {
                    let mut read = Vec::new();
                    reader.read_to_end(&mut read).map(|_| read)
                })
                .await
                .unwrap()
                .unwrap()
        });
        assert_eq!(read, bytes);
        let idle: Vec<_> = policies_but_the_scan_threads()
            .into_iter()
            .filter(|(_, policy)| *policy == libc::SCHED_IDLE)
            .collect();
        assert!(idle.is_empty(), "threads left at SCHED_IDLE: {idle:?}");
    }

    /// The server's scans match on their idle thread, which blocks on the
    /// database through the runtime: the findings are those of a match on
    /// tokio's blocking pool.
    #[tokio::test(flavor = "multi_thread")]
    async fn matching_on_the_scan_thread_finds_what_the_blocking_pool_does() {
        let dir = tempfile::tempdir().unwrap();
        let registry = crate::service::tests::registry_in(dir.path()).await;
        let records = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vulndb/records");
        registry.vulndb_import(&records, "test").await.unwrap();
        let inventory: Inventory = serde_json::from_value(serde_json::json!({"packages": [
            {"kind": "dpkg", "name": "nginx", "version": "1.2.1-2.2+wheezy2",
             "ecosystem": "Debian:7", "layer": "sha256:00", "path": "var/lib/dpkg/status"},
        ]}))
        .unwrap();
        let pooled = registry.match_inventory(&inventory).await.unwrap().findings;
        assert_eq!(pooled.len(), 1, "{pooled:?}");

        let mut matcher = registry.matcher().await.unwrap();
        let (matched, matcher) = ScanPriority::Idle
            .run(move || (matcher.findings_blocking(&inventory.packages), matcher))
            .await
            .unwrap();
        assert_eq!(matched.unwrap().findings, pooled);
        ScanPriority::Idle.discard(matcher);
    }
}
