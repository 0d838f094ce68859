//! Image scans as persisted jobs. A scan of a manifest is queued (on push,
//! in the manifest PUT's own transaction and without reading a layer; by
//! StartImageScan; by `berth scan`), runs a few at a time
//! ([`Registry::with_scan_concurrency`], the `scan_concurrency` setting), and
//! survives a restart (pending and interrupted scans run again). An image's
//! layers are read in order through the blob store and parsed
//! (`scan::layers::inventory`), the inventory matched against the
//! vulnerability database and made into a CycloneDX SBOM, all off the async
//! threads at the scan's priority (see [`ScanPriority`]); the inventory is
//! stored compressed with the scan and the findings, and the SBOM published
//! as a referrer of the image. An
//! index is scanned per platform child; its status sums up theirs.
//! Continuous scanning matches stored inventories again when the database
//! changes, recording the findings that appear and disappear.
//!
//! The parts: which manifests are images (`manifest`), at which CPU
//! priority a scan works (`priority`), running one scan (`run`), what the
//! faces are shown (`view`), and matching stored inventories again
//! (`rematch`); queueing and waiting are here.

mod manifest;
mod priority;
mod rematch;
mod run;
mod view;

use super::{ManifestRef, Registry, ServiceError, ServiceResult};
use crate::db::FindingEventRow;
use crate::scan::Finding;
use berth_app::oci::Digest;
use manifest::{scannable, Scannable};
use priority::ScanPriority;
use std::sync::Arc;
use view::view_with;

pub use rematch::REMATCH_BATCH;
pub use view::{severity_name, ScanView};

/// How many scans run at once unless configured (`scan_concurrency`).
pub const DEFAULT_SCAN_CONCURRENCY: usize = 2;

/// What ECR says of a scan that completed.
const COMPLETE_DESCRIPTION: &str = "The scan was completed successfully.";

/// The scan-related state of a [`Registry`]: how many scans may run, and a
/// bell rung when one is queued.
pub(in crate::service) struct ScanSlots {
    permits: Arc<tokio::sync::Semaphore>,
    queued: tokio::sync::Notify,
}

impl ScanSlots {
    pub(in crate::service) fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
            queued: tokio::sync::Notify::new(),
        }
    }
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
    pub(in crate::service) async fn scan_on_push(
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
    pub(in crate::service) fn pushed_scan_queued(&self) {
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
        // The findings of this image's scan when this process made them:
        // its view then takes them as they are rather than parsing them
        // back from the database (tens of megabytes for a large image).
        let mut made: Option<Vec<Finding>> = None;
        loop {
            let (repo, row) = self.repository_manifest(name, &by_digest).await?;
            if let Some(view) = match made.take() {
                Some(findings) => self
                    .db
                    .scan(row.id)
                    .await?
                    .map(|scan| view_with(&scan, findings)),
                None => self.scan_view(repo.id, row.id).await?,
            } {
                if view.status != "IN_PROGRESS" {
                    return Ok((digest, view));
                }
            }
            match self.db.claim_scan_job().await? {
                Some(job) => {
                    let findings = self.run_scan_job(&job, ScanPriority::Normal).await;
                    if job.manifest_id == row.id {
                        made = findings;
                    }
                }
                None => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    }
}
