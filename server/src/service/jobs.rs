//! Persisted jobs: delayed lifecycle applications, garbage-collection runs
//! and image scans are rows with a status, so a restart resumes (lifecycle,
//! scans) or reports (`interrupted`) what was under way, and the CLI lists them. Dry runs are
//! not jobs: they write nothing, not even a job row.

use super::{Registry, ServiceResult};
use crate::db::{now_millis, JobRow};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Applying a repository's lifecycle policy.
    Lifecycle,
    /// A garbage collection.
    Gc,
    /// An image scan.
    Scan,
    /// Encrypting the blobs an installation stored before encryption at rest.
    Encrypt,
}

impl JobKind {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lifecycle => "lifecycle",
            Self::Gc => "gc",
            Self::Scan => "scan",
            Self::Encrypt => "encrypt",
        }
    }
}

impl Registry {
    /// Queues the application of the repository's lifecycle policy `delay`
    /// from now (replacing one already queued).
    pub async fn queue_lifecycle_application(
        &self,
        name: &str,
        delay: std::time::Duration,
    ) -> ServiceResult<i64> {
        let repo = self.repository(name).await?;
        let at = now_millis().saturating_add(delay.as_millis() as i64);
        Ok(self
            .db
            .queue_job(JobKind::Lifecycle.as_str(), Some(repo.id), at)
            .await?)
    }

    /// Records a job that starts now; returns its id.
    pub async fn start_job(&self, kind: JobKind) -> ServiceResult<i64> {
        Ok(self.db.start_job(kind.as_str()).await?)
    }

    /// Runs `work` as a job of `kind` that starts now: a row that says it
    /// runs, then `summary` of what it did or why it failed (a restart in
    /// between reports it `interrupted`).
    pub async fn run_as_job<T>(
        &self,
        kind: JobKind,
        work: impl std::future::Future<Output = ServiceResult<T>>,
        summary: impl FnOnce(&T) -> String,
    ) -> ServiceResult<T> {
        let job = self.start_job(kind).await?;
        let result = work.await;
        let outcome = match &result {
            Ok(done) => Ok(summary(done)),
            Err(error) => Err(error.to_string()),
        };
        self.finish_job(job, outcome.as_deref().map_err(String::as_str))
            .await?;
        result
    }

    /// Ends a job: `Ok` with what it did, or `Err` with why it failed. Every
    /// persisted job (GC, queued lifecycle application, scan) ends here, so
    /// here it is counted in the metrics, with how long it ran.
    pub async fn finish_job(&self, id: i64, outcome: Result<&str, &str>) -> ServiceResult<()> {
        let (status, summary) = match outcome {
            Ok(summary) => ("succeeded", summary),
            Err(error) => ("failed", error),
        };
        if let Some((kind, ran_ms)) = self.db.finish_job(id, status, summary).await? {
            let ran = std::time::Duration::from_millis(u64::try_from(ran_ms).unwrap_or(0));
            crate::telemetry::metrics::job_finished(&kind, outcome.is_ok(), ran);
        }
        Ok(())
    }

    /// Runs the queued jobs that are due; returns how many ran.
    pub async fn run_due_jobs(&self) -> ServiceResult<usize> {
        let due = self.db.claim_due_jobs().await?;
        for job in &due {
            let outcome = match (job.kind.as_str(), job.repository.as_deref()) {
                ("lifecycle", Some(name)) => match self.apply_lifecycle(name, false).await {
                    Ok(expired) => {
                        crate::telemetry::metrics::job_deleted("lifecycle", expired.len());
                        Ok(format!("expired {} image(s)", expired.len()))
                    }
                    Err(error) => Err(error.to_string()),
                },
                (kind, _) => Err(format!("a queued {kind} job has nothing to run")),
            };
            match &outcome {
                Ok(summary) => {
                    tracing::info!(job = job.id, repository = ?job.repository, %summary, "applied a lifecycle policy")
                }
                Err(error) => {
                    tracing::warn!(job = job.id, repository = ?job.repository, %error, "a job failed")
                }
            }
            self.finish_job(job.id, outcome.as_deref().map_err(String::as_str))
                .await?;
        }
        Ok(due.len())
    }

    /// At start-up: reports the jobs a stopped process left running as
    /// `interrupted`, and queues their lifecycle applications again.
    pub async fn recover_interrupted_jobs(&self) -> ServiceResult<u64> {
        Ok(self.db.recover_interrupted_jobs().await?)
    }

    /// The newest jobs first, at most `limit`, optionally of one kind.
    pub async fn jobs(&self, kind: Option<JobKind>, limit: i64) -> ServiceResult<Vec<JobRow>> {
        Ok(self.db.jobs(kind.map(JobKind::as_str), limit).await?)
    }
}
