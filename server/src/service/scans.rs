//! Image scans as persisted jobs. A scan of a manifest is queued (on push,
//! in the manifest PUT's own transaction and without reading a layer; by
//! StartImageScan; by `berth scan`), runs a few at a time
//! ([`Registry::with_scan_concurrency`], the `scan_concurrency` setting), and
//! survives a restart (pending and interrupted scans run again). An image's
//! layers are read in order through the blob store and parsed off the async
//! threads (`scan::layers::inventory`, see [`ScanPriority`]); the inventory is
//! stored compressed with the scan, matched against the vulnerability
//! database, and published as a CycloneDX SBOM referrer of the image. An
//! index is scanned per platform child; its status sums up theirs.
//! Continuous scanning matches stored inventories again when the database
//! changes, recording the findings that appear and disappear.

use super::{ManifestRef, Registry, ServiceError, ServiceResult};
use crate::db::{FindingEventRow, Reference, ScanJobRow, ScanOutcome, ScanRow};
use crate::scan::layers::LayerInput;
use crate::scan::{sbom, Finding, Inventory, ScanError, Severity};
use crate::storage::ByteStream;
use berth_app::oci::Digest;
use futures_util::StreamExt;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::Arc;

/// How many scans run at once unless configured (`scan_concurrency`).
pub const DEFAULT_SCAN_CONCURRENCY: usize = 2;

/// Stored inventories continuous scanning reads, and whose new findings it
/// writes in one transaction, at a time: few enough that the transaction
/// is short (pushes wait for the writer meanwhile), many enough that the
/// commits (each one waits for the disk) do not dominate.
pub const REMATCH_BATCH: usize = 100;

/// What ECR says of a scan that completed.
const COMPLETE_DESCRIPTION: &str = "The scan was completed successfully.";

/// The layer media types a scan reads (tar, gzip or zstd; Docker's and OCI's,
/// distributable or not). A manifest with none of these is not an image.
const TAR_LAYERS: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
];

/// At which CPU priority a scan reads its layers (the gunzip and parsing
/// that make nearly all of a scan's CPU time).
///
/// The server's scans ([`Registry::start_queued_scans`]) run them on a
/// thread of their own at the lowest priority Linux has, `SCHED_IDLE`
/// (`sched_setscheduler` on that thread only): on a small machine the
/// scanner otherwise takes a whole core from the pushes and pulls it shares
/// the server with (issue 17 §4: pulls ran 43 % slower while scans ran).
/// An idle thread gets the CPU the request handlers leave, and still a
/// little when they leave none (the kernel gives `SCHED_IDLE` a tiny weight,
/// not nothing), so scans slow down under load but do not stop. A dedicated
/// thread rather than tokio's shared blocking pool, because a priority set
/// on a pool thread would stay with it for the file reads of later
/// requests. The layer I/O itself is not bounded: it is reads of the blob
/// store, which the page cache mostly serves.
/// `berth scan` ([`Registry::scan_and_wait`]) serves no requests, so the
/// scans it runs keep the normal priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanPriority {
    /// `SCHED_IDLE`, on a thread of its own: inside the server.
    Idle,
    /// tokio's blocking pool: in `berth scan`.
    Normal,
}

impl ScanPriority {
    /// Runs `work` off the async threads at this priority; its result.
    async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> std::io::Result<T> {
        let stopped =
            |e: &dyn std::fmt::Display| std::io::Error::other(format!("the scanner stopped: {e}"));
        match self {
            ScanPriority::Normal => tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| stopped(&e)),
            ScanPriority::Idle => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                std::thread::Builder::new()
                    .name("berth-scan".into())
                    .spawn(move || {
                        lower_this_threads_priority();
                        // The receiver is gone only when the scan's task was.
                        let _ = tx.send(work());
                    })?;
                rx.await.map_err(|e| stopped(&e))
            }
        }
    }
}

/// Puts the calling thread (not the process) in `SCHED_IDLE`; where that is
/// refused, gives it the highest niceness, 19. Either way it yields the CPU
/// to the server's other threads.
fn lower_this_threads_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` outlives the call.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0 {
        return;
    }
    let idle_error = std::io::Error::last_os_error();
    // SAFETY: gettid has no preconditions; setpriority with a thread id
    // changes that thread alone on Linux.
    let lowered = unsafe {
        let tid = libc::gettid() as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19)
    } == 0;
    if !lowered {
        tracing::warn!(error = %idle_error, "could not lower the priority of a scan thread; it competes with requests");
    }
}

/// The scan-related state of a [`Registry`]: how many scans may run, and a
/// bell rung when one is queued.
pub(super) struct ScanSlots {
    permits: Arc<tokio::sync::Semaphore>,
    queued: tokio::sync::Notify,
}

impl ScanSlots {
    pub(super) fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
            queued: tokio::sync::Notify::new(),
        }
    }
}

/// One image's scan, as every face reports it.
#[derive(Debug, Clone)]
pub struct ScanView {
    /// ECR's `ScanStatus`: `IN_PROGRESS`, `COMPLETE`, `FAILED`,
    /// `UNSUPPORTED_IMAGE`.
    pub status: String,
    /// Why it failed or is unsupported, or ECR's text for a complete scan.
    pub description: String,
    /// When it ended (ms).
    pub completed_at: Option<i64>,
    /// When the vulnerability database matched against last changed (ms).
    pub source_updated_at: Option<i64>,
    /// The findings, most severe first.
    pub findings: Vec<Finding>,
    /// The SBOM referrer's digest (an image's complete scan).
    pub sbom_digest: Option<String>,
}

impl ScanView {
    /// The number of findings of each severity present.
    pub fn severity_counts(&self) -> BTreeMap<Severity, usize> {
        let mut counts = BTreeMap::new();
        for f in &self.findings {
            *counts.entry(f.severity).or_default() += 1;
        }
        counts
    }
}

/// ECR's name for a severity.
pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "CRITICAL",
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
        Severity::Informational => "INFORMATIONAL",
        Severity::Undefined => "UNDEFINED",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: Option<String>,
    digest: String,
}

#[derive(Deserialize)]
struct ManifestShape {
    manifests: Option<Vec<serde_json::Value>>,
    layers: Option<Vec<Descriptor>>,
}

/// What a stored manifest is to the scanner.
enum Scannable {
    /// An index: its children are scanned.
    Index,
    /// An image, with the layers to read, lowest first.
    Image(Vec<Descriptor>),
    /// Anything else (an artifact such as an SBOM or a signature), and why.
    Not(String),
}

fn scannable(body: &[u8]) -> Scannable {
    let Ok(shape) = serde_json::from_slice::<ManifestShape>(body) else {
        return Scannable::Not("the manifest cannot be read".into());
    };
    if shape.manifests.is_some() {
        return Scannable::Index;
    }
    let layers = shape.layers.unwrap_or_default();
    if !layers.is_empty()
        && layers
            .iter()
            .all(|l| TAR_LAYERS.contains(&l.media_type.as_deref().unwrap_or("")))
    {
        return Scannable::Image(layers);
    }
    let types: Vec<&str> = layers
        .iter()
        .map(|l| l.media_type.as_deref().unwrap_or("(none)"))
        .collect();
    Scannable::Not(format!(
        "the artifact is not a container image: its layers are not tar archives (layer media types: {})",
        if types.is_empty() {
            "none".into()
        } else {
            types.join(", ")
        }
    ))
}

/// A blob read as `std::io::Read`, for the scanner on a blocking thread:
/// the store's stream is opened at the first read and pulled chunk by chunk,
/// so a layer of any size takes the memory of one chunk.
struct BlobReader {
    runtime: tokio::runtime::Handle,
    source: super::encryption::BlobSource,
    stream: Option<ByteStream>,
    chunk: bytes::Bytes,
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            if self.stream.is_none() {
                let opened = self
                    .runtime
                    .block_on(self.source.read(0..self.source.size()))?;
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

/// Compresses an inventory for storage (zstd of its JSON).
fn pack(inventory: &Inventory) -> std::io::Result<Vec<u8>> {
    let json = serde_json::to_vec(inventory).map_err(std::io::Error::other)?;
    zstd::encode_all(json.as_slice(), 3)
}

/// Reads a stored inventory back.
fn unpack(packed: &[u8]) -> std::io::Result<Inventory> {
    let json = zstd::decode_all(packed)?;
    serde_json::from_slice(&json).map_err(std::io::Error::other)
}

/// Most severe first, then by name and package, so pages are stable.
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.severity, &a.name, &a.package_name, &a.package_version).cmp(&(
            b.severity,
            &b.name,
            &b.package_name,
            &b.package_version,
        ))
    });
}

fn findings_of(row: &ScanRow) -> Vec<Finding> {
    row.findings
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

fn view_of(row: &ScanRow) -> ScanView {
    ScanView {
        status: row.status.clone(),
        description: row
            .description
            .clone()
            .unwrap_or_else(|| match row.status.as_str() {
                "IN_PROGRESS" => "The scan is in progress.".into(),
                _ => String::new(),
            }),
        completed_at: row.completed_at,
        source_updated_at: row.source_updated_at,
        findings: if row.status == "COMPLETE" {
            findings_of(row)
        } else {
            Vec::new()
        },
        sbom_digest: row.sbom_digest.clone(),
    }
}

/// The key that tells two findings apart when a stored inventory is matched
/// again.
fn finding_key(f: &Finding) -> (String, String, String, String) {
    (
        f.name.clone(),
        f.package_name.clone(),
        f.package_version.clone(),
        f.path.clone(),
    )
}

impl Registry {
    /// Runs at most `concurrency` scans at once (at least one).
    pub fn with_scan_concurrency(mut self, concurrency: usize) -> Self {
        self.scans = ScanSlots::new(concurrency);
        self
    }

    /// Queues a scan of the image `reference` names (StartImageScan, `berth
    /// scan`); returns its digest. An artifact that is not an image is
    /// refused ([`ServiceError::UnsupportedImageType`]).
    pub async fn start_image_scan(
        &self,
        name: &str,
        reference: &ManifestRef,
    ) -> ServiceResult<String> {
        let (repo, row) = self.repository_manifest(name, reference).await?;
        let kind = match scannable(&row.body) {
            Scannable::Index => "index",
            Scannable::Image(_) => "image",
            Scannable::Not(why) => return Err(ServiceError::UnsupportedImageType(why)),
        };
        self.db.queue_scan(repo.id, row.id, kind).await?;
        self.scans.queued.notify_one();
        Ok(row.digest)
    }

    /// Scan on push: the kind of scan (`image` or `index`) a push of `body`
    /// queues in its own transaction, when the repository is set to scan on
    /// push and the manifest is an image or an index (never an artifact such
    /// as an SBOM or a signature). No layer is read; failing to read the
    /// configuration never fails the push.
    pub(super) async fn scan_on_push(
        &self,
        repo: &crate::model::Repository,
        body: &[u8],
    ) -> Option<&'static str> {
        let config = match self.scanning_configuration().await {
            Ok(config) => config,
            Err(error) => {
                tracing::warn!(repository = %repo.name, %error, "could not read the scanning configuration: the push is not scanned");
                return None;
            }
        };
        if !super::scanning::applied(&config, &repo.name, repo.scan_on_push).scans_on_push() {
            return None;
        }
        match scannable(body) {
            Scannable::Index => Some("index"),
            Scannable::Image(_) => Some("image"),
            Scannable::Not(_) => None,
        }
    }

    /// Wakes the scanner: a push queued a scan.
    pub(super) fn pushed_scan_queued(&self) {
        self.scans.queued.notify_one();
    }

    /// The latest scan of an image, `None` when it was never scanned.
    pub async fn image_scan(
        &self,
        name: &str,
        reference: &ManifestRef,
    ) -> ServiceResult<Option<(String, ScanView)>> {
        let (repo, row) = self.repository_manifest(name, reference).await?;
        Ok(self
            .scan_view(repo.id, row.id)
            .await?
            .map(|view| (row.digest, view)))
    }

    /// A manifest's scan; an index's sums up its children's.
    async fn scan_view(
        &self,
        repository_id: i64,
        manifest_id: i64,
    ) -> ServiceResult<Option<ScanView>> {
        let Some(row) = self.db.scan(manifest_id).await? else {
            return Ok(None);
        };
        if row.kind != "index" || row.status != "COMPLETE" {
            return Ok(Some(view_of(&row)));
        }
        let mut children = Vec::new();
        for (child, _) in self.db.child_manifests(repository_id, manifest_id).await? {
            children.push(self.db.scan(child).await?.map(|r| view_of(&r)));
        }
        let statuses: Vec<&str> = children
            .iter()
            .map(|c| c.as_ref().map_or("IN_PROGRESS", |c| c.status.as_str()))
            .collect();
        let status = if statuses.contains(&"IN_PROGRESS") {
            "IN_PROGRESS"
        } else if statuses.contains(&"FAILED") {
            "FAILED"
        } else if statuses.contains(&"COMPLETE") {
            "COMPLETE"
        } else {
            "UNSUPPORTED_IMAGE"
        };
        let done: Vec<&ScanView> = children.iter().flatten().collect();
        let mut findings: Vec<Finding> = done
            .iter()
            .filter(|c| c.status == "COMPLETE")
            .flat_map(|c| c.findings.iter().cloned())
            .collect();
        sort_findings(&mut findings);
        let description = match status {
            "COMPLETE" => COMPLETE_DESCRIPTION.to_owned(),
            "IN_PROGRESS" => "The scan is in progress.".to_owned(),
            _ => done
                .iter()
                .filter(|c| c.status == status)
                .map(|c| c.description.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        };
        Ok(Some(ScanView {
            status: status.to_owned(),
            description: format!(
                "{description} (an index: {} platform image(s))",
                children.len()
            ),
            completed_at: done.iter().filter_map(|c| c.completed_at).max(),
            source_updated_at: done.iter().filter_map(|c| c.source_updated_at).min(),
            findings,
            sbom_digest: None,
        }))
    }

    /// The findings that appeared or disappeared for an image when its
    /// stored inventory was matched again, oldest first.
    pub async fn finding_events(
        &self,
        name: &str,
        reference: &ManifestRef,
    ) -> ServiceResult<Vec<FindingEventRow>> {
        let (_, row) = self.repository_manifest(name, reference).await?;
        Ok(self.db.finding_events(row.id).await?)
    }

    /// Starts the queued scans there are free slots for, each on its own
    /// task; returns how many started.
    pub async fn start_queued_scans(self: &Arc<Self>) -> ServiceResult<usize> {
        let mut started = 0;
        loop {
            let Ok(permit) = self.scans.permits.clone().try_acquire_owned() else {
                return Ok(started);
            };
            let Some(job) = self.db.claim_scan_job().await? else {
                return Ok(started);
            };
            started += 1;
            let registry = self.clone();
            tokio::spawn(async move {
                registry.run_scan_job(&job, ScanPriority::Idle).await;
                drop(permit);
                registry.scans.queued.notify_one();
            });
        }
    }

    /// Waits until a scan is queued or a slot frees up.
    pub async fn scan_queued(&self) {
        self.scans.queued.notified().await
    }

    /// Queues a scan of the image and runs queued scans in this process
    /// until that one has ended (as `berth scan` does, beside a server or
    /// not: whichever process claims a scan runs it); returns the image's
    /// digest and its scan.
    pub async fn scan_and_wait(
        &self,
        name: &str,
        reference: &ManifestRef,
    ) -> ServiceResult<(String, ScanView)> {
        let digest = self.start_image_scan(name, reference).await?;
        let by_digest = ManifestRef::Digest(
            Digest::parse(&digest).map_err(|e| ServiceError::ManifestInvalid(e.to_string()))?,
        );
        loop {
            if let Some((_, view)) = self.image_scan(name, &by_digest).await? {
                if view.status != "IN_PROGRESS" {
                    return Ok((digest, view));
                }
            }
            match self.db.claim_scan_job().await? {
                Some(job) => self.run_scan_job(&job, ScanPriority::Normal).await,
                None => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    }

    /// Runs one claimed scan job, its layers read at `priority`, and
    /// records how it ended.
    async fn run_scan_job(&self, job: &ScanJobRow, priority: ScanPriority) {
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
            Ok(summary) => {
                tracing::info!(job = job.id, repository = %job.repository, digest = %job.digest, %summary, "scan finished")
            }
            Err(error) => {
                tracing::warn!(job = job.id, repository = %job.repository, digest = %job.digest, %error, "scan failed")
            }
        }
        if let Err(error) = self
            .finish_job(job.id, outcome.as_deref().map_err(String::as_str))
            .await
        {
            tracing::warn!(job = job.id, %error, "could not record the end of a scan job");
        }
    }

    /// Scans one manifest; returns a summary for the job's record, `Err` for
    /// a `FAILED` scan. The outer `Err` is Berth's own failure (the
    /// database, the store).
    async fn run_scan(
        &self,
        job: &ScanJobRow,
        priority: ScanPriority,
    ) -> ServiceResult<Result<String, String>> {
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
                return Ok(Ok(text));
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
                    source,
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
        let matched = self.match_inventory(&inventory).await?;
        let mut findings = matched.findings;
        sort_findings(&mut findings);
        let findings_json = serde_json::to_string(&findings).expect("findings serialize");
        let old = self.db.scan(row.id).await?.and_then(|s| s.sbom_digest);
        let sbom_digest = self
            .store_sbom(
                &job.repository,
                &row.digest,
                &row.media_type,
                row.body.len(),
                &inventory,
            )
            .await?;
        self.db
            .finish_scan(
                row.id,
                &ScanOutcome {
                    status: "COMPLETE",
                    description: COMPLETE_DESCRIPTION,
                    inventory: Some(&packed),
                    findings: Some(&findings_json),
                    source_updated_at: matched.database_updated_at,
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
        Ok(Ok(format!(
            "COMPLETE: {} package(s), {} finding(s); SBOM {sbom_digest}",
            inventory.packages.len(),
            findings.len()
        )))
    }

    /// Records a scan that ended without an inventory; `Err` (for the job's
    /// record) when it is `FAILED`.
    async fn end_scan(
        &self,
        manifest_id: i64,
        status: &str,
        why: &str,
    ) -> ServiceResult<Result<String, String>> {
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
            Ok(summary)
        })
    }

    /// Stores the CycloneDX SBOM of `inventory` as an untagged OCI artifact
    /// whose subject is the scanned manifest; returns its digest.
    async fn store_sbom(
        &self,
        name: &str,
        subject: &str,
        subject_media_type: &str,
        subject_size: usize,
        inventory: &Inventory,
    ) -> ServiceResult<String> {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let document = sbom::cyclonedx(
            inventory,
            sbom::Subject {
                repository: name,
                digest: subject,
            },
            &now,
        );
        self.store_referrer(
            name,
            super::referrers::Subject {
                digest: subject,
                media_type: subject_media_type,
                size: subject_size,
            },
            super::referrers::Artifact {
                artifact_type: sbom::MEDIA_TYPE,
                pusher: "the scanner",
                layer_media_type: sbom::MEDIA_TYPE,
                layer: document,
                layer_annotations: serde_json::json!({"org.opencontainers.image.title": "sbom.cdx.json"}),
                annotations: serde_json::json!({
                    "org.opencontainers.image.created": now,
                    "org.opencontainers.image.description": "CycloneDX SBOM of the image, made by Berth's scanner",
                }),
            },
        )
        .await
    }

    /// Continuous scanning: when the vulnerability database changed since
    /// some complete scans were matched, matches their stored inventories
    /// again (in repositories an `ENHANCED` `CONTINUOUS_SCAN` rule covers)
    /// and records the findings that appeared and disappeared. Returns how
    /// many images were matched again.
    ///
    /// One run matches every inventory against one snapshot of the database
    /// with one [`super::vulndb::Matcher`], so a record is fetched and
    /// parsed once per run, not once per image; the scans are read
    /// [`REMATCH_BATCH`] at a time and their new findings written in one
    /// transaction per batch.
    pub async fn rematch_stale_scans(&self) -> ServiceResult<usize> {
        let Some(updated) = self.vulndb_updated_at().await? else {
            return Ok(0);
        };
        let config = self.scanning_configuration().await?;
        let mut covered: HashMap<String, bool> = HashMap::new();
        let stale: Vec<i64> = self
            .db
            .scans_matched_before(updated)
            .await?
            .into_iter()
            .filter(|(_, repository, scan_on_push)| {
                *covered.entry(repository.clone()).or_insert_with(|| {
                    super::scanning::applied(&config, repository, *scan_on_push).continuous()
                })
            })
            .map(|(manifest_id, _, _)| manifest_id)
            .collect();
        if stale.is_empty() {
            return Ok(0);
        }
        let mut matcher = self.matcher().await?;
        let source_updated_at = matcher.database_updated_at().unwrap_or(updated);
        let mut done = 0;
        for batch in stale.chunks(REMATCH_BATCH) {
            let rows = self.db.scans_of(batch).await?;
            let mut rematched = Vec::with_capacity(rows.len());
            for row in rows {
                let Some(packed) = row.inventory.clone() else {
                    continue;
                };
                let inventory = match tokio::task::spawn_blocking(move || unpack(&packed)).await {
                    Ok(Ok(inventory)) => inventory,
                    _ => {
                        tracing::warn!(
                            manifest_id = row.manifest_id,
                            "a stored inventory cannot be read; scan the image again"
                        );
                        continue;
                    }
                };
                let mut findings = matcher.findings(inventory.packages).await?.findings;
                sort_findings(&mut findings);
                let before = findings_of(&row);
                let old: std::collections::BTreeSet<_> = before.iter().map(finding_key).collect();
                let new: std::collections::BTreeSet<_> = findings.iter().map(finding_key).collect();
                let mut events = Vec::new();
                for key in new.difference(&old) {
                    events.push(("appeared", key.0.clone(), key.1.clone(), key.2.clone()));
                }
                for key in old.difference(&new) {
                    events.push(("disappeared", key.0.clone(), key.1.clone(), key.2.clone()));
                }
                rematched.push(crate::db::Rematched {
                    manifest_id: row.manifest_id,
                    findings: serde_json::to_string(&findings).expect("findings serialize"),
                    source_updated_at,
                    events,
                });
            }
            done += self.db.rematched(&rematched).await?;
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_manifests_with_tar_layers_are_images() {
        let image = br#"{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:aa","size":1}]}"#;
        assert!(matches!(scannable(image), Scannable::Image(l) if l.len() == 1));
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(scannable(index), Scannable::Index));
        let sbom = br#"{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.cyclonedx+json","digest":"sha256:aa","size":1}]}"#;
        assert!(
            matches!(scannable(sbom), Scannable::Not(why) if why.contains("application/vnd.cyclonedx+json"))
        );
        let empty = br#"{"schemaVersion":2,"layers":[]}"#;
        assert!(matches!(scannable(empty), Scannable::Not(_)));
    }

    #[tokio::test]
    async fn the_servers_scans_read_layers_on_an_idle_thread_and_berth_scans_do_not() {
        let policy = || unsafe { libc::sched_getscheduler(0) };
        let idle = ScanPriority::Idle.run(policy).await.unwrap();
        assert_eq!(idle, libc::SCHED_IDLE);
        let normal = ScanPriority::Normal.run(policy).await.unwrap();
        assert_eq!(normal, libc::SCHED_OTHER);
        // The caller's own thread is untouched.
        assert_eq!(policy(), libc::SCHED_OTHER);
    }

    #[test]
    fn a_stored_inventory_reads_back_as_it_was() {
        let inventory = Inventory::default();
        assert_eq!(unpack(&pack(&inventory).unwrap()).unwrap(), inventory);
    }
}
