//! Content discovery: tags, the catalog and referrers, paginated by `last`.

use super::{Registry, ServiceResult};
use berth_app::oci::Digest;

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The entries, in order.
    pub items: Vec<T>,
    /// Whether more entries follow the last one.
    pub more: bool,
}

/// A manifest that names a subject, as the referrers API describes it.
#[derive(Debug, Clone)]
pub struct Referrer {
    /// Its media type.
    pub media_type: String,
    /// Its digest.
    pub digest: String,
    /// Its size in bytes.
    pub size: i64,
    /// Its artifact type.
    pub artifact_type: Option<String>,
    /// Its annotations, as JSON text.
    pub annotations: Option<String>,
}

/// Fetches `limit + 1` rows to learn whether another page follows.
fn page<T>(mut rows: Vec<T>, limit: usize) -> Page<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    Page { items: rows, more }
}

impl Registry {
    /// Tags of a repository after `last`, at most `limit`.
    pub async fn list_tags(
        &self,
        name: &str,
        last: Option<&str>,
        limit: usize,
    ) -> ServiceResult<Page<String>> {
        let repo = self.repository(name).await?;
        if limit == 0 {
            return Ok(Page {
                items: vec![],
                more: false,
            });
        }
        let rows = self.db.tags(repo.id, last, limit as i64 + 1).await?;
        Ok(page(rows, limit))
    }

    /// Repository names after `last`, at most `limit`.
    pub async fn list_repositories(
        &self,
        last: Option<&str>,
        limit: usize,
    ) -> ServiceResult<Page<String>> {
        if limit == 0 {
            return Ok(Page {
                items: vec![],
                more: false,
            });
        }
        let rows = self.db.repository_names(last, limit as i64 + 1).await?;
        Ok(page(rows, limit))
    }

    /// Manifests in the repository whose subject is `subject`.
    pub async fn list_referrers(
        &self,
        name: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
        last: Option<&str>,
        limit: usize,
    ) -> ServiceResult<Page<Referrer>> {
        // The referrers API never answers 404 (clients read that as "unsupported"):
        // a repository that does not exist simply has no referrers yet.
        let Some(repo) = self.db.repository(name).await? else {
            return Ok(Page {
                items: vec![],
                more: false,
            });
        };
        if limit == 0 {
            return Ok(Page {
                items: vec![],
                more: false,
            });
        }
        let rows = self
            .db
            .referrers(
                repo.id,
                subject.as_str(),
                artifact_type,
                last,
                limit as i64 + 1,
            )
            .await?;
        let items = rows
            .into_iter()
            .map(|r| Referrer {
                media_type: r.media_type,
                digest: r.digest,
                size: r.size,
                artifact_type: r.artifact_type,
                annotations: r.annotations,
            })
            .collect();
        Ok(page(items, limit))
    }
}

impl Registry {
    /// Every repository with its image count, for the console.
    pub async fn repository_overview(&self) -> ServiceResult<Vec<super::Repository>> {
        Ok(self.db.list_repositories().await?)
    }

    /// One page of the repositories whose names contain `needle`, and the
    /// number that match in all.
    pub async fn search_repositories(
        &self,
        needle: &str,
        order: super::RepositoryOrder,
        limit: usize,
        offset: usize,
    ) -> ServiceResult<(Vec<super::Repository>, u64)> {
        let (rows, total) = self
            .db
            .search_repositories(needle, order, limit as i64, offset as i64)
            .await?;
        Ok((rows, total.max(0) as u64))
    }
}
