//! The Prometheus metrics of one `berth serve` process, in one registry that
//! `/metrics` encodes in the text format. Any layer may count into it (the
//! rate limiter, the jobs, the error mappings); it calls nothing itself.
//!
//! Label values come from fixed sets only, so the number of series stays
//! bounded whatever clients send: faces, operation names (the registry's
//! endpoints, the ECR API's operations, the console's route templates, never a
//! raw path), status codes, job kinds and error kinds. The one exception is
//! the `repository` label of the storage gauges: there is one series per
//! repository that exists, as in ECR's own per-repository metrics.
//!
//! Storage figures are not counted as blobs come and go: they are read from
//! the metadata when `/metrics` is scraped, at most once per
//! [`STORAGE_REFRESH`] (two `GROUP BY` queries over `blob_links` and `blobs`),
//! so they are never wrong after a crash, a restore or an admin command, and
//! cost nothing between scrapes.

use crate::service::{Registry, ServiceError, StorageUsage};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, TextEncoder,
};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Storage gauges are read from the metadata at most this often.
pub const STORAGE_REFRESH: Duration = Duration::from_secs(10);

/// Request latency buckets, in seconds: from a cached manifest `HEAD` to a
/// multi-gigabyte layer.
const REQUEST_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Job duration buckets, in seconds: from an empty GC to a long scan.
const JOB_BUCKETS: &[f64] = &[0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0];

/// Every metric Berth keeps.
pub struct Metrics {
    registry: prometheus::Registry,
    /// `berth_http_requests_total{face, operation, status}`.
    pub requests: IntCounterVec,
    /// `berth_http_request_duration_seconds{face, operation}`.
    pub request_seconds: HistogramVec,
    /// `berth_http_received_bytes_total{face}`: request bodies.
    pub received_bytes: IntCounterVec,
    /// `berth_http_sent_bytes_total{face}`: response bodies.
    pub sent_bytes: IntCounterVec,
    /// `berth_image_pushes_total{face}`: manifests stored (`PUT` manifest, `PutImage`).
    pub pushes: IntCounterVec,
    /// `berth_image_pulls_total{face}`: manifests read (`GET` manifest, `BatchGetImage`).
    pub pulls: IntCounterVec,
    /// `berth_rate_limited_total{reason}`: requests refused by a limiter.
    pub rate_limited: IntCounterVec,
    /// `berth_database_errors_total{kind}`.
    pub database_errors: IntCounterVec,
    /// `berth_store_errors_total{kind}`.
    pub store_errors: IntCounterVec,
    /// `berth_job_runs_total{kind, outcome}`.
    pub job_runs: IntCounterVec,
    /// `berth_job_duration_seconds{kind}`.
    pub job_seconds: HistogramVec,
    /// `berth_job_deletions_total{kind}`: images expired, blobs collected.
    pub job_deletions: IntCounterVec,
    /// `berth_uploads_in_progress`: open upload sessions.
    pub uploads_in_progress: IntGauge,
    /// `berth_stored_blobs`: blobs in the store, each once.
    pub stored_blobs: IntGauge,
    /// `berth_stored_bytes`: their bytes, each blob once.
    pub stored_bytes: IntGauge,
    /// `berth_repository_blobs{repository}`: blobs linked to each repository.
    pub repository_blobs: IntGaugeVec,
    /// `berth_repository_bytes{repository}`: their bytes (a blob shared by
    /// two repositories counts in both).
    pub repository_bytes: IntGaugeVec,
    /// When the storage gauges were last read from the metadata.
    storage_read_at: Mutex<Option<Instant>>,
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter")
}

fn histogram(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("a valid histogram")
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).expect("a valid gauge")
}

fn gauges(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid gauge")
}

impl Metrics {
    fn new() -> Self {
        let metrics = Self {
            registry: prometheus::Registry::new(),
            requests: counter(
                "berth_http_requests_total",
                "HTTP requests answered, by face, operation (registry endpoint, ECR operation or console route template) and status code.",
                &["face", "operation", "status"],
            ),
            request_seconds: histogram(
                "berth_http_request_duration_seconds",
                "Time from a request's arrival to the last byte of its answer.",
                &["face", "operation"],
                REQUEST_BUCKETS,
            ),
            received_bytes: counter(
                "berth_http_received_bytes_total",
                "Bytes of request bodies received.",
                &["face"],
            ),
            sent_bytes: counter(
                "berth_http_sent_bytes_total",
                "Bytes of response bodies sent.",
                &["face"],
            ),
            pushes: counter(
                "berth_image_pushes_total",
                "Manifests stored: successful manifest PUTs on /v2/ and PutImage calls.",
                &["face"],
            ),
            pulls: counter(
                "berth_image_pulls_total",
                "Manifests read: successful manifest GETs on /v2/ and BatchGetImage calls.",
                &["face"],
            ),
            rate_limited: counter(
                "berth_rate_limited_total",
                "Requests refused by a limiter: `rate` (a user over rate_limit), `failed_sign_ins` (a client throttled after failed sign-ins).",
                &["reason"],
            ),
            database_errors: counter(
                "berth_database_errors_total",
                "Requests failed by the metadata database: `pool_timed_out`, `pool_closed`, `full`, `other`.",
                &["kind"],
            ),
            store_errors: counter(
                "berth_store_errors_total",
                "Requests failed by the blob store: `unavailable`, `full`, `other`.",
                &["kind"],
            ),
            job_runs: counter(
                "berth_job_runs_total",
                "Background jobs finished, by kind (gc, lifecycle, scan) and outcome (succeeded, failed).",
                &["kind", "outcome"],
            ),
            job_seconds: histogram(
                "berth_job_duration_seconds",
                "How long background jobs ran.",
                &["kind"],
                JOB_BUCKETS,
            ),
            job_deletions: counter(
                "berth_job_deletions_total",
                "What jobs deleted: images expired by lifecycle policies, blobs collected by GC.",
                &["kind"],
            ),
            uploads_in_progress: gauge(
                "berth_uploads_in_progress",
                "Open blob upload sessions.",
            ),
            stored_blobs: gauge("berth_stored_blobs", "Blobs stored, each once."),
            stored_bytes: gauge("berth_stored_bytes", "Bytes of the blobs stored, each once."),
            repository_blobs: gauges(
                "berth_repository_blobs",
                "Blobs linked to each repository.",
                &["repository"],
            ),
            repository_bytes: gauges(
                "berth_repository_bytes",
                "Bytes of the blobs linked to each repository (shared blobs count in each).",
                &["repository"],
            ),
            storage_read_at: Mutex::new(None),
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 17] = [
            Box::new(metrics.requests.clone()),
            Box::new(metrics.request_seconds.clone()),
            Box::new(metrics.received_bytes.clone()),
            Box::new(metrics.sent_bytes.clone()),
            Box::new(metrics.pushes.clone()),
            Box::new(metrics.pulls.clone()),
            Box::new(metrics.rate_limited.clone()),
            Box::new(metrics.database_errors.clone()),
            Box::new(metrics.store_errors.clone()),
            Box::new(metrics.job_runs.clone()),
            Box::new(metrics.job_seconds.clone()),
            Box::new(metrics.job_deletions.clone()),
            Box::new(metrics.uploads_in_progress.clone()),
            Box::new(metrics.stored_blobs.clone()),
            Box::new(metrics.stored_bytes.clone()),
            Box::new(metrics.repository_blobs.clone()),
            Box::new(metrics.repository_bytes.clone()),
        ];
        for collector in collectors {
            metrics
                .registry
                .register(collector)
                .expect("each metric is registered once");
        }
        metrics
    }

    /// Everything, in Prometheus's text format.
    pub fn encode(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("the text encoder writes to memory");
        String::from_utf8(out).expect("the text format is UTF-8")
    }

    /// Reads the storage gauges from the metadata, unless they were read less
    /// than [`STORAGE_REFRESH`] ago. A failure is logged and leaves them as they were.
    pub async fn refresh_storage(&self, registry: &Registry) {
        {
            let mut read_at = self.storage_read_at.lock().expect("not poisoned");
            if read_at.is_some_and(|at| at.elapsed() < STORAGE_REFRESH) {
                return;
            }
            *read_at = Some(Instant::now());
        }
        match registry.storage_usage().await {
            Ok(usage) => self.set_storage(&usage),
            Err(error) => {
                record_failure(&error);
                tracing::warn!(%error, "could not read the storage figures for /metrics");
            }
        }
    }

    fn set_storage(&self, usage: &StorageUsage) {
        self.uploads_in_progress.set(usage.uploads);
        self.stored_blobs.set(usage.blobs);
        self.stored_bytes.set(usage.bytes);
        // Deleted repositories disappear rather than stay at their last value.
        self.repository_blobs.reset();
        self.repository_bytes.reset();
        for repository in &usage.repositories {
            let name = [repository.name.as_str()];
            self.repository_blobs
                .with_label_values(&name)
                .set(repository.blobs);
            self.repository_bytes
                .with_label_values(&name)
                .set(repository.bytes);
        }
    }
}

/// This process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Counts a request refused by a limiter (`rate` or `failed_sign_ins`).
pub fn rate_limited(reason: &'static str) {
    metrics().rate_limited.with_label_values(&[reason]).inc();
}

/// Counts a job that ended, and how long it ran.
pub fn job_finished(kind: &str, succeeded: bool, took: Duration) {
    let m = metrics();
    let outcome = if succeeded { "succeeded" } else { "failed" };
    m.job_runs.with_label_values(&[kind, outcome]).inc();
    m.job_seconds
        .with_label_values(&[kind])
        .observe(took.as_secs_f64());
}

/// Counts what a job deleted.
pub fn job_deleted(kind: &str, count: usize) {
    metrics()
        .job_deletions
        .with_label_values(&[kind])
        .inc_by(count as u64);
}

/// Counts a failure of the database or the blob store that a face answers
/// with an internal error; other errors are the client's and count nothing.
pub fn record_failure(error: &ServiceError) {
    let m = metrics();
    match error {
        ServiceError::Database(e) => {
            let kind = match e {
                sqlx::Error::PoolTimedOut => "pool_timed_out",
                sqlx::Error::PoolClosed => "pool_closed",
                e if crate::db::is_storage_full(e) => "full",
                _ => "other",
            };
            m.database_errors.with_label_values(&[kind]).inc();
        }
        ServiceError::Storage(e) => {
            let kind = if crate::storage::is_unavailable(e) {
                "unavailable"
            } else if matches!(
                e.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) {
                "full"
            } else {
                "other"
            };
            m.store_errors.with_label_values(&[kind]).inc();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_names_every_family_and_its_help() {
        let m = Metrics::new();
        m.requests
            .with_label_values(&["registry", "PutManifest", "201"])
            .inc();
        m.set_storage(&StorageUsage {
            blobs: 2,
            bytes: 30,
            uploads: 1,
            repositories: vec![crate::service::RepositoryUsage {
                name: "team/app".into(),
                blobs: 2,
                bytes: 30,
            }],
        });
        let text = m.encode();
        assert!(text.contains(
            "berth_http_requests_total{face=\"registry\",operation=\"PutManifest\",status=\"201\"} 1"
        ));
        assert!(text.contains("# HELP berth_stored_bytes "));
        assert!(text.contains("berth_repository_bytes{repository=\"team/app\"} 30"));
        assert!(text.contains("berth_uploads_in_progress 1"));
        // A repository gone at the next reading is gone from the gauges.
        m.set_storage(&StorageUsage::default());
        assert!(!m.encode().contains("team/app"));
    }

    #[test]
    fn failures_are_counted_by_kind_and_client_errors_not_at_all() {
        record_failure(&ServiceError::Database(sqlx::Error::PoolTimedOut));
        record_failure(&ServiceError::Storage(std::io::Error::from_raw_os_error(
            libc::ENOSPC,
        )));
        record_failure(&ServiceError::BlobUnknown("sha256:00".into()));
        let m = metrics();
        assert!(
            m.database_errors
                .with_label_values(&["pool_timed_out"])
                .get()
                >= 1
        );
        assert!(m.store_errors.with_label_values(&["full"]).get() >= 1);
    }
}
