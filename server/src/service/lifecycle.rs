//! Lifecycle policies: storing them, applying them, and previewing what they
//! would expire. The preview runs the same evaluator a real run will, and
//! writes only the preview itself; a dry run of an application runs the real
//! application's code in a transaction that is rolled back.

use super::{Registry, ServiceError, ServiceResult};
use crate::db::{now_millis, DeleteOutcome, Effects, LifecycleFactsRow};
use berth_app::lifecycle::{self, Action, ImageFacts, LifecycleDecision};

/// One image a preview would expire, as it was when the preview ran.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PreviewEntry {
    /// Image digest.
    pub digest: String,
    /// Its tags then.
    pub tags: Vec<String>,
    /// Its push time (ms).
    pub pushed_at: i64,
    /// The rule that expires it.
    pub rule: Option<u32>,
}

/// The images the decisions expire, with their tags and push times.
fn expiring_entries(images: &[ImageFacts], decisions: &[LifecycleDecision]) -> Vec<PreviewEntry> {
    decisions
        .iter()
        .filter(|d| d.action == Action::Expire)
        .filter_map(|d| {
            let image = images.iter().find(|i| i.digest == d.digest)?;
            Some(PreviewEntry {
                digest: d.digest.clone(),
                tags: image.tags.clone(),
                pushed_at: image.pushed_at_ms,
                rule: d.rule,
            })
        })
        .collect()
}

fn facts(row: LifecycleFactsRow) -> ImageFacts {
    ImageFacts {
        digest: row.digest,
        tags: row
            .tags
            .map(|t| t.split('\n').map(str::to_owned).collect())
            .unwrap_or_default(),
        pushed_at_ms: row.pushed_at,
        last_pulled_at_ms: row.last_pulled_at,
        referenced_by_index: row.referenced_by_index,
        subject: row.subject_digest,
    }
}

/// A parsed-and-validated policy, or the evaluator's message.
pub fn check_policy(text: &str) -> ServiceResult<()> {
    lifecycle::parse(text).map(|_| ()).map_err(|e| {
        ServiceError::InvalidSetting(format!("Lifecycle policy validation failure: {e}"))
    })
}

/// An image a lifecycle policy expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiration {
    /// Its repository.
    pub repository: String,
    /// Its digest.
    pub digest: String,
    /// The tags it had.
    pub tags: Vec<String>,
    /// The rule that expired it.
    pub rule: Option<i64>,
    /// When (ms).
    pub expired_at: i64,
}

impl Registry {
    /// The repository's lifecycle policy text.
    pub async fn lifecycle_policy(&self, name: &str) -> ServiceResult<Option<String>> {
        let repo = self.repository(name).await?;
        Ok(self.db.lifecycle_policy(repo.id).await?)
    }

    /// Validates and saves (or with `None` removes) a lifecycle policy.
    pub async fn set_lifecycle_policy(&self, name: &str, text: Option<&str>) -> ServiceResult<()> {
        if let Some(text) = text {
            check_policy(text)?;
        }
        let repo = self.repository(name).await?;
        Ok(self.db.set_lifecycle_policy(repo.id, text).await?)
    }

    /// Saves a policy (PutLifecyclePolicy, from any face) and queues its
    /// application `delay` later, leaving time to preview first; the hourly
    /// run applies it too. The queued application is a persisted job: a
    /// restart before it runs does not lose it.
    pub async fn put_lifecycle_policy(
        &self,
        name: &str,
        text: &str,
        delay: std::time::Duration,
    ) -> ServiceResult<()> {
        self.set_lifecycle_policy(name, Some(text)).await?;
        self.queue_lifecycle_application(name, delay).await?;
        Ok(())
    }

    /// The repository's images as the lifecycle evaluator sees them.
    pub async fn lifecycle_images(&self, name: &str) -> ServiceResult<Vec<ImageFacts>> {
        let repo = self.repository(name).await?;
        Ok(self
            .db
            .lifecycle_facts(repo.id)
            .await?
            .into_iter()
            .map(facts)
            .collect())
    }

    /// Past expirations in the repository, newest first: (digest, tags, rule, when (ms)).
    pub async fn lifecycle_history(
        &self,
        name: &str,
        limit: usize,
    ) -> ServiceResult<Vec<(String, Vec<String>, Option<u32>, i64)>> {
        self.repository(name).await?;
        let rows = self.db.expirations(Some(name), limit as i64).await?;
        Ok(rows
            .into_iter()
            .map(|(_, digest, tags, rule, at)| {
                (
                    digest,
                    serde_json::from_str(&tags).unwrap_or_default(),
                    rule.and_then(|r| u32::try_from(r).ok()),
                    at,
                )
            })
            .collect())
    }

    /// Evaluates `text` against the repository's images as of now.
    pub async fn evaluate_lifecycle(
        &self,
        name: &str,
        text: &str,
    ) -> ServiceResult<(Vec<ImageFacts>, Vec<LifecycleDecision>)> {
        let policy = lifecycle::parse(text).map_err(|e| {
            ServiceError::InvalidSetting(format!("Lifecycle policy validation failure: {e}"))
        })?;
        let repo = self.repository(name).await?;
        let images: Vec<ImageFacts> = self
            .db
            .lifecycle_facts(repo.id)
            .await?
            .into_iter()
            .map(facts)
            .collect();
        let decisions = lifecycle::evaluate(&policy, &images, now_millis());
        Ok((images, decisions))
    }

    /// The repositories that have a lifecycle policy, by name.
    pub async fn repositories_with_lifecycle(&self) -> ServiceResult<Vec<String>> {
        Ok(self.db.repositories_with_lifecycle().await?)
    }

    /// Past expirations, newest first, of one repository or all, at most `limit`.
    pub async fn expirations(
        &self,
        repository: Option<&str>,
        limit: i64,
    ) -> ServiceResult<Vec<Expiration>> {
        let rows = self.db.expirations(repository, limit).await?;
        Ok(rows
            .into_iter()
            .map(|(repository, digest, tags, rule, expired_at)| Expiration {
                repository,
                digest,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
                rule,
                expired_at,
            })
            .collect())
    }

    /// Applies the repository's saved policy: expires what it selects and records
    /// each expiration, all in one write transaction (facts, deletions,
    /// records). A dry run runs exactly that code with the transaction rolled
    /// back at the end ([`Effects::DryRun`], the one switch, which the database
    /// honours), so it reports what the real run deletes, including any image
    /// a delete refuses, and writes nothing. Returns what was (or would be)
    /// expired.
    pub async fn apply_lifecycle(
        &self,
        name: &str,
        dry_run: bool,
    ) -> ServiceResult<Vec<PreviewEntry>> {
        let repo = self.repository(name).await?;
        let Some(text) = self.db.lifecycle_policy(repo.id).await? else {
            return Ok(Vec::new());
        };
        let policy = lifecycle::parse(&text).map_err(|e| {
            ServiceError::InvalidSetting(format!("Lifecycle policy validation failure: {e}"))
        })?;
        let effects = if dry_run {
            Effects::DryRun
        } else {
            Effects::Apply
        };
        let mut run = self.db.begin_lifecycle_run(repo.id, effects).await?;
        let images: Vec<ImageFacts> = run.facts().await?.into_iter().map(facts).collect();
        let decisions = lifecycle::evaluate(&policy, &images, now_millis());
        let expiring = expiring_entries(&images, &decisions);
        // Referrers first, so no subject disappears before what points at it.
        let mut order: Vec<&PreviewEntry> = expiring.iter().collect();
        order.sort_by_key(|e| {
            !images
                .iter()
                .any(|i| i.digest == e.digest && i.subject.is_some())
        });
        let mut done = Vec::new();
        for entry in order {
            match run.delete_manifest(&entry.digest).await? {
                DeleteOutcome::Deleted => {
                    let tags = serde_json::to_string(&entry.tags).expect("tags serialize");
                    run.record_expiration(
                        &entry.digest,
                        &tags,
                        entry.pushed_at,
                        entry.rule.map(i64::from),
                    )
                    .await?;
                    if !dry_run {
                        tracing::info!(repository = name, digest = %entry.digest, rule = ?entry.rule, "lifecycle expired an image");
                    }
                    done.push(entry.clone());
                }
                other => {
                    tracing::info!(repository = name, digest = %entry.digest, ?other, dry_run, "lifecycle left an image")
                }
            }
        }
        run.finish().await?;
        Ok(done)
    }

    /// When the repository's policy was last applied (ms).
    pub async fn lifecycle_evaluated_at(&self, name: &str) -> ServiceResult<Option<i64>> {
        let repo = self.repository(name).await?;
        Ok(self.db.lifecycle_evaluated_at(repo.id).await?)
    }

    /// Runs a preview (a dry run: the evaluation a real run makes, with no
    /// deletion) and stores what would expire.
    pub async fn start_lifecycle_preview(
        &self,
        name: &str,
        text: &str,
    ) -> ServiceResult<Vec<PreviewEntry>> {
        let (images, decisions) = self.evaluate_lifecycle(name, text).await?;
        let expiring = expiring_entries(&images, &decisions);
        let repo = self.repository(name).await?;
        let json = serde_json::to_string(&expiring).expect("preview entries serialize");
        self.db.save_preview(repo.id, text, &json).await?;
        Ok(expiring)
    }

    /// The latest preview: its policy text, status and the images it would expire.
    pub async fn lifecycle_preview(
        &self,
        name: &str,
    ) -> ServiceResult<Option<(String, String, Vec<PreviewEntry>)>> {
        let repo = self.repository(name).await?;
        let Some(row) = self.db.preview(repo.id).await? else {
            return Ok(None);
        };
        let entries = serde_json::from_str(&row.decisions).unwrap_or_default();
        Ok(Some((row.policy_text, row.status, entries)))
    }
}
