//! Persisted jobs: long work with a status that outlives the process.

use super::{now_millis, Db, DbError};

/// A job as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct JobRow {
    /// Row id.
    pub id: i64,
    /// `lifecycle`, `gc` or `scan`.
    pub kind: String,
    /// The repository a lifecycle application or a scan is for.
    pub repository: Option<String>,
    /// The manifest a scan scans (`None` for other kinds, or once deleted).
    pub digest: Option<String>,
    /// `pending`, `running`, `succeeded`, `failed` or `interrupted`.
    pub status: String,
    /// Not before this (ms).
    pub run_after: i64,
    /// When it was made (ms).
    pub created_at: i64,
    /// When it started (ms).
    pub started_at: Option<i64>,
    /// When it ended (ms).
    pub finished_at: Option<i64>,
    /// What it did, or the error.
    pub summary: Option<String>,
}

const SELECT: &str = "SELECT j.id, j.kind, r.name AS repository, m.digest, j.status, j.run_after,
        j.created_at, j.started_at, j.finished_at, j.summary
 FROM jobs j LEFT JOIN repositories r ON r.id = j.repository_id
      LEFT JOIN manifests m ON m.id = j.manifest_id";

impl Db {
    /// Queues a job to run at `run_after` (ms); returns its id. A pending
    /// lifecycle application of the same repository is replaced (the newest
    /// save decides when the policy is applied).
    pub async fn queue_job(
        &self,
        kind: &str,
        repository_id: Option<i64>,
        run_after: i64,
    ) -> Result<i64, DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "DELETE FROM jobs WHERE kind = ? AND repository_id IS ? AND status = 'pending'",
        )
        .bind(kind)
        .bind(repository_id)
        .execute(&mut *tx)
        .await?;
        let id = sqlx::query_scalar(
            "INSERT INTO jobs (kind, repository_id, status, run_after, created_at)
             VALUES (?, ?, 'pending', ?, ?) RETURNING id",
        )
        .bind(kind)
        .bind(repository_id)
        .bind(run_after)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a job that starts now (a GC run); returns its id.
    pub async fn start_job(&self, kind: &str) -> Result<i64, DbError> {
        let now = now_millis();
        sqlx::query_scalar(
            "INSERT INTO jobs (kind, status, run_after, created_at, started_at)
             VALUES (?, 'running', ?, ?, ?) RETURNING id",
        )
        .bind(kind)
        .bind(now)
        .bind(now)
        .bind(now)
        .fetch_one(&self.writer)
        .await
    }

    /// Takes the pending jobs that are due: they become `running`. Scans are
    /// not among them: they run a few at a time ([`Db::claim_scan_job`]).
    pub async fn claim_due_jobs(&self) -> Result<Vec<JobRow>, DbError> {
        let now = now_millis();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE jobs SET status = 'running', started_at = ?
             WHERE status = 'pending' AND run_after <= ? AND kind != 'scan' RETURNING id",
        )
        .bind(now)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut jobs = Vec::new();
        for id in ids {
            jobs.push(
                sqlx::query_as(&format!("{SELECT} WHERE j.id = ?"))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?,
            );
        }
        tx.commit().await?;
        Ok(jobs)
    }

    /// Ends a job with `status` and what it did (or why it failed); returns
    /// its kind and how long it ran (ms), `None` for no such job.
    pub async fn finish_job(
        &self,
        id: i64,
        status: &str,
        summary: &str,
    ) -> Result<Option<(String, i64)>, DbError> {
        sqlx::query_as(
            "UPDATE jobs SET status = ?, finished_at = ?, summary = ? WHERE id = ?
             RETURNING kind, finished_at - coalesce(started_at, finished_at)",
        )
        .bind(status)
        .bind(now_millis())
        .bind(summary)
        .bind(id)
        .fetch_optional(&self.writer)
        .await
    }

    /// At start-up, before any job runs: jobs left `running` by a process
    /// that stopped are reported `interrupted`, and the lifecycle applications
    /// and scans among them are queued again to run now. Returns how many were
    /// found.
    pub async fn recover_interrupted_jobs(&self) -> Result<u64, DbError> {
        let now = now_millis();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO jobs (kind, repository_id, manifest_id, status, run_after, created_at)
             SELECT kind, repository_id, manifest_id, 'pending', ?, ? FROM jobs
             WHERE status = 'running'
               AND (kind = 'lifecycle' OR (kind = 'scan' AND manifest_id IS NOT NULL))",
        )
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE jobs SET status = 'interrupted', finished_at = ?,
                 summary = coalesce(summary, 'the process stopped while it ran')
             WHERE status = 'running'",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// The newest jobs first, at most `limit`, optionally of one kind.
    pub async fn jobs(&self, kind: Option<&str>, limit: i64) -> Result<Vec<JobRow>, DbError> {
        sqlx::query_as(&format!(
            "{SELECT} WHERE ?1 IS NULL OR j.kind = ?1 ORDER BY j.id DESC LIMIT ?2"
        ))
        .bind(kind)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_restart_reports_running_jobs_interrupted_and_queues_lifecycle_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("berth.db"), crate::db::Schema::Migrate)
            .await
            .unwrap();
        let (repo, _) = db.get_or_create_repository("jobs/app").await.unwrap();
        db.queue_job("lifecycle", Some(repo.id), 0).await.unwrap();
        let claimed = db.claim_due_jobs().await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].status, "running");
        let gc = db.start_job("gc").await.unwrap();

        // The process stops here; the next one starts.
        assert_eq!(db.recover_interrupted_jobs().await.unwrap(), 2);
        let jobs = db.jobs(None, 10).await.unwrap();
        let status = |id: i64| jobs.iter().find(|j| j.id == id).unwrap().status.clone();
        assert_eq!(status(claimed[0].id), "interrupted");
        assert_eq!(status(gc), "interrupted");
        let again: Vec<&JobRow> = jobs.iter().filter(|j| j.status == "pending").collect();
        assert_eq!(again.len(), 1, "the lifecycle application is queued again");
        assert_eq!(again[0].repository.as_deref(), Some("jobs/app"));
        assert_eq!(db.claim_due_jobs().await.unwrap().len(), 1, "and due now");
    }

    #[tokio::test]
    async fn a_new_save_replaces_the_pending_application_of_the_same_repository() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("berth.db"), crate::db::Schema::Migrate)
            .await
            .unwrap();
        let (repo, _) = db.get_or_create_repository("jobs/app").await.unwrap();
        db.queue_job("lifecycle", Some(repo.id), i64::MAX)
            .await
            .unwrap();
        let second = db
            .queue_job("lifecycle", Some(repo.id), i64::MAX)
            .await
            .unwrap();
        let jobs = db.jobs(Some("lifecycle"), 10).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].id, second);
        assert!(db.claim_due_jobs().await.unwrap().is_empty(), "not due yet");
    }
}
