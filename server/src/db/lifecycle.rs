//! Lifecycle policies, the facts their evaluation needs, and previews.

use super::{now_millis, Db, DbError, DeleteOutcome};
use sqlx::{Sqlite, Transaction};

/// Whether a [`LifecycleRun`] keeps what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effects {
    /// Commit: the real run.
    Apply,
    /// Roll back: a dry run. The same statements run, their outcomes (what
    /// a delete would refuse, too) are real, and nothing is kept.
    DryRun,
}

/// One application of a repository's lifecycle policy, in one write
/// transaction: the facts it evaluates, the deletions and their records all
/// see one state, which no push can change half-way. [`Effects`] is the one
/// switch between a real run and a dry run; the caller runs the same code
/// either way. Dropping it rolls back.
pub struct LifecycleRun {
    tx: Transaction<'static, Sqlite>,
    repository_id: i64,
    effects: Effects,
}

impl LifecycleRun {
    /// The repository's images as the evaluator sees them, inside the run.
    pub async fn facts(&mut self) -> Result<Vec<LifecycleFactsRow>, DbError> {
        sqlx::query_as(FACTS)
            .bind(self.repository_id)
            .fetch_all(&mut *self.tx)
            .await
    }

    /// Deletes a manifest unless an index of the repository references it,
    /// as every delete does (see [`Db::delete_manifest`]).
    pub async fn delete_manifest(&mut self, digest: &str) -> Result<DeleteOutcome, DbError> {
        super::manifests::delete_manifest_in(&mut self.tx, self.repository_id, digest).await
    }

    /// Records an expiration in the history.
    pub async fn record_expiration(
        &mut self,
        digest: &str,
        tags_json: &str,
        pushed_at: i64,
        rule: Option<i64>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO lifecycle_expirations (repository_id, digest, tags, pushed_at, rule_priority, expired_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(self.repository_id)
        .bind(digest)
        .bind(tags_json)
        .bind(pushed_at)
        .bind(rule)
        .bind(now_millis())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Ends the run: commits a real one, rolls back a dry one.
    pub async fn finish(mut self) -> Result<(), DbError> {
        sqlx::query("UPDATE repositories SET lifecycle_evaluated_at = ? WHERE id = ?")
            .bind(now_millis())
            .bind(self.repository_id)
            .execute(&mut *self.tx)
            .await?;
        match self.effects {
            Effects::Apply => self.tx.commit().await,
            Effects::DryRun => self.tx.rollback().await,
        }
    }
}

/// The evaluator's facts about each image of a repository.
const FACTS: &str = "SELECT m.digest,
        (SELECT group_concat(name, char(10)) FROM tags t WHERE t.manifest_id = m.id) AS tags,
        m.pushed_at, m.last_pulled_at,
        EXISTS (SELECT 1 FROM manifest_refs r JOIN manifests p ON p.id = r.manifest_id
                WHERE p.repository_id = m.repository_id AND r.digest = m.digest
                  AND r.kind = 'manifest') AS referenced_by_index,
        m.subject_digest
 FROM manifests m WHERE m.repository_id = ? ORDER BY m.digest";

/// One image as the lifecycle evaluator sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LifecycleFactsRow {
    /// Manifest digest.
    pub digest: String,
    /// Tags, newline-separated.
    pub tags: Option<String>,
    /// Push time (ms).
    pub pushed_at: i64,
    /// Last pull (ms).
    pub last_pulled_at: Option<i64>,
    /// Whether an index in the repository references it.
    pub referenced_by_index: bool,
    /// Its `subject`, if it is a referrer.
    pub subject_digest: Option<String>,
}

/// A stored preview.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PreviewRow {
    /// The policy evaluated.
    pub policy_text: String,
    /// `COMPLETE`, …
    pub status: String,
    /// The decisions that expire, as JSON.
    pub decisions: String,
}

impl Db {
    /// The repository's lifecycle policy text.
    pub async fn lifecycle_policy(&self, repository_id: i64) -> Result<Option<String>, DbError> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT lifecycle_policy FROM repositories WHERE id = ?")
                .bind(repository_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.flatten())
    }

    /// Sets (or with `None` removes) the repository's lifecycle policy.
    pub async fn set_lifecycle_policy(
        &self,
        repository_id: i64,
        text: Option<&str>,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE repositories SET lifecycle_policy = ? WHERE id = ?")
            .bind(text)
            .bind(repository_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Every image of a repository with what lifecycle rules look at.
    pub async fn lifecycle_facts(
        &self,
        repository_id: i64,
    ) -> Result<Vec<LifecycleFactsRow>, DbError> {
        sqlx::query_as(FACTS)
            .bind(repository_id)
            .fetch_all(&self.reader)
            .await
    }

    /// Replaces the repository's preview.
    pub async fn save_preview(
        &self,
        repository_id: i64,
        policy_text: &str,
        decisions: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO lifecycle_previews (repository_id, policy_text, status, decisions, created_at)
             VALUES (?, ?, 'COMPLETE', ?, ?)
             ON CONFLICT (repository_id) DO UPDATE SET policy_text = excluded.policy_text,
                 status = excluded.status, decisions = excluded.decisions, created_at = excluded.created_at",
        )
        .bind(repository_id)
        .bind(policy_text)
        .bind(decisions)
        .bind(now_millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The repository's latest preview.
    pub async fn preview(&self, repository_id: i64) -> Result<Option<PreviewRow>, DbError> {
        sqlx::query_as(
            "SELECT policy_text, status, decisions FROM lifecycle_previews WHERE repository_id = ?",
        )
        .bind(repository_id)
        .fetch_optional(&self.reader)
        .await
    }

    /// Starts a [`LifecycleRun`] on the repository: takes the write lock.
    pub async fn begin_lifecycle_run(
        &self,
        repository_id: i64,
        effects: Effects,
    ) -> Result<LifecycleRun, DbError> {
        Ok(LifecycleRun {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
            repository_id,
            effects,
        })
    }

    /// When the repository's policy was last applied (ms).
    pub async fn lifecycle_evaluated_at(&self, repository_id: i64) -> Result<Option<i64>, DbError> {
        let row: Option<Option<i64>> =
            sqlx::query_scalar("SELECT lifecycle_evaluated_at FROM repositories WHERE id = ?")
                .bind(repository_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.flatten())
    }

    /// Names of repositories that have a lifecycle policy.
    pub async fn repositories_with_lifecycle(&self) -> Result<Vec<String>, DbError> {
        sqlx::query_scalar(
            "SELECT name FROM repositories WHERE lifecycle_policy IS NOT NULL ORDER BY name",
        )
        .fetch_all(&self.reader)
        .await
    }

    /// Past expirations, newest first: (repository, digest, tags JSON, rule, expired at).
    pub async fn expirations(
        &self,
        repository: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, String, String, Option<i64>, i64)>, DbError> {
        sqlx::query_as(
            "SELECT r.name, e.digest, e.tags, e.rule_priority, e.expired_at
             FROM lifecycle_expirations e JOIN repositories r ON r.id = e.repository_id
             WHERE ?1 IS NULL OR r.name = ?1 ORDER BY e.expired_at DESC, e.id DESC LIMIT ?2",
        )
        .bind(repository)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }
}
