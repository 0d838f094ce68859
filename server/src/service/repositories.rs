//! Repository lifecycle and settings: create, delete, tag mutability (with
//! exclusion filters), scan on push, resource tags.

use super::{Registry, ServiceError, ServiceResult};
use crate::db::NewRepository;

/// The tag-mutability settings ECR knows.
pub const TAG_MUTABILITIES: &[&str] = &[
    "MUTABLE",
    "IMMUTABLE",
    "IMMUTABLE_WITH_EXCLUSION",
    "MUTABLE_WITH_EXCLUSION",
];

pub use crate::model::Repository;

pub use crate::model::RepositoryOrder;

/// The most resource tags a repository has (ECR's limit).
pub const MAX_RESOURCE_TAGS: usize = 50;

/// Tagging would leave a repository with more than [`MAX_RESOURCE_TAGS`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("a repository has at most {MAX_RESOURCE_TAGS} tags; with these it would have {count}")]
pub struct TooManyTags {
    /// The tags the repository would have had.
    pub count: usize,
}

/// Settings for a repository made by the API.
#[derive(Debug, Clone, Default)]
pub struct RepositorySettings {
    /// Tag mutability (default `MUTABLE`).
    pub tag_mutability: Option<String>,
    /// Exclusion filters (wildcard patterns).
    pub exclusions: Vec<String>,
    /// Scan on push.
    pub scan_on_push: bool,
    /// `AES256` (default), `KMS`, `KMS_DSSE`.
    pub encryption_type: Option<String>,
    /// KMS key for `KMS*`.
    pub kms_key: Option<String>,
    /// Resource tags.
    pub tags: Vec<(String, String)>,
}

/// Whether `pattern` (with `*` for any run of characters) matches `text`,
/// as ECR's tag-mutability exclusion and scanning filters do.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    berth_app::wildcard::matches(berth_app::wildcard::Syntax::Star, pattern, text)
}

/// Whether pushes may not move `tag` in `repo`.
pub fn tag_is_immutable(repo: &Repository, tag: &str) -> bool {
    let excluded = || repo.exclusions.iter().any(|f| wildcard_match(f, tag));
    match repo.tag_mutability.as_str() {
        "IMMUTABLE" => true,
        "IMMUTABLE_WITH_EXCLUSION" => !excluded(),
        "MUTABLE_WITH_EXCLUSION" => excluded(),
        _ => false,
    }
}

fn validate_mutability(mutability: &str, exclusions: &[String]) -> ServiceResult<()> {
    if !TAG_MUTABILITIES.contains(&mutability) {
        return Err(ServiceError::InvalidSetting(format!(
            "imageTagMutability must be one of {}, got {mutability:?}",
            TAG_MUTABILITIES.join(", ")
        )));
    }
    let with_exclusion = mutability.ends_with("_WITH_EXCLUSION");
    if with_exclusion && !(1..=5).contains(&exclusions.len()) {
        return Err(ServiceError::InvalidSetting(format!(
            "{mutability} needs 1 to 5 imageTagMutabilityExclusionFilters"
        )));
    }
    if !with_exclusion && !exclusions.is_empty() {
        return Err(ServiceError::InvalidSetting(format!(
            "imageTagMutabilityExclusionFilters apply only to the *_WITH_EXCLUSION settings, not {mutability}"
        )));
    }
    for filter in exclusions {
        let ok = (1..=128).contains(&filter.len())
            && filter
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'*' | b'-'));
        if !ok {
            return Err(ServiceError::InvalidSetting(format!(
                "exclusion filter {filter:?} must be 1 to 128 of letters, digits, '.', '_', '-' and '*'"
            )));
        }
    }
    Ok(())
}

fn exclusions_json(exclusions: &[String]) -> Option<String> {
    (!exclusions.is_empty()).then(|| serde_json::to_string(exclusions).expect("strings serialize"))
}

impl Registry {
    /// Creates a repository.
    pub async fn create_repository(
        &self,
        name: &str,
        settings: &RepositorySettings,
    ) -> ServiceResult<Repository> {
        let mutability = settings.tag_mutability.as_deref().unwrap_or("MUTABLE");
        validate_mutability(mutability, &settings.exclusions)?;
        let encryption = settings.encryption_type.as_deref().unwrap_or("AES256");
        if !matches!(encryption, "AES256" | "KMS" | "KMS_DSSE") {
            return Err(ServiceError::InvalidSetting(format!(
                "encryptionType must be AES256, KMS or KMS_DSSE, got {encryption:?}"
            )));
        }
        // The key is checked and stored by its ARN, as ECR shows it.
        let kms_key = self
            .kms_key_for_settings(encryption, settings.kms_key.as_deref())
            .await?;
        let new = NewRepository {
            name,
            tag_mutability: mutability,
            tag_mutability_exclusions: exclusions_json(&settings.exclusions),
            scan_on_push: settings.scan_on_push,
            encryption_type: encryption,
            kms_key: kms_key.as_deref(),
            tags: &settings.tags,
        };
        self.db
            .create_repository(&new)
            .await?
            .ok_or_else(|| ServiceError::RepositoryExists(name.to_owned()))
    }

    /// Deletes a repository; with images only when `force`.
    pub async fn delete_repository(&self, name: &str, force: bool) -> ServiceResult<Repository> {
        let repo = self.repository(name).await?;
        if !force && self.db.image_count(repo.id).await? > 0 {
            return Err(ServiceError::RepositoryNotEmpty(name.to_owned()));
        }
        self.db.delete_repository(repo.id).await?;
        Ok(repo)
    }

    /// Repositories after `last` by name.
    pub async fn repositories_after(
        &self,
        last: Option<&str>,
        limit: usize,
    ) -> ServiceResult<Vec<Repository>> {
        Ok(self.db.repositories_after(last, limit as i64).await?)
    }

    /// Sets tag mutability and exclusion filters.
    pub async fn set_tag_mutability(
        &self,
        name: &str,
        mutability: &str,
        exclusions: &[String],
    ) -> ServiceResult<Repository> {
        validate_mutability(mutability, exclusions)?;
        let repo = self.repository(name).await?;
        self.db
            .set_tag_mutability(repo.id, mutability, exclusions_json(exclusions))
            .await?;
        self.repository(name).await
    }

    /// Sets scan on push.
    pub async fn set_scan_on_push(
        &self,
        name: &str,
        scan_on_push: bool,
    ) -> ServiceResult<Repository> {
        let repo = self.repository(name).await?;
        self.db.set_scan_on_push(repo.id, scan_on_push).await?;
        self.repository(name).await
    }

    /// The name of the repository with row id `id` (as jobs' reports name
    /// repositories), if it still exists.
    pub async fn repository_name_by_id(&self, id: i64) -> ServiceResult<Option<String>> {
        Ok(self.db.repository_name_by_id(id).await?)
    }

    /// The number of images in a repository.
    pub async fn image_count(&self, name: &str) -> ServiceResult<u64> {
        let repo = self.repository(name).await?;
        Ok(self.db.image_count(repo.id).await?.max(0) as u64)
    }

    /// A repository's resource tags.
    pub async fn repository_tags(&self, name: &str) -> ServiceResult<Vec<(String, String)>> {
        let repo = self.repository(name).await?;
        Ok(self.db.repository_tags(repo.id).await?)
    }

    /// Adds or replaces resource tags.
    pub async fn tag_repository(
        &self,
        name: &str,
        tags: &[(String, String)],
    ) -> ServiceResult<Result<(), TooManyTags>> {
        let repo = self.repository(name).await?;
        Ok(
            match self
                .db
                .tag_repository(repo.id, tags, MAX_RESOURCE_TAGS)
                .await?
            {
                None => Ok(()),
                Some(count) => Err(TooManyTags { count }),
            },
        )
    }

    /// Removes resource tags.
    pub async fn untag_repository(&self, name: &str, keys: &[String]) -> ServiceResult<()> {
        let repo = self.repository(name).await?;
        Ok(self.db.untag_repository(repo.id, keys).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(mutability: &str, exclusions: &[&str]) -> Repository {
        Repository {
            id: 1,
            name: "r".into(),
            created_at: 0,
            tag_mutability: mutability.into(),
            exclusions: exclusions.iter().map(|e| e.to_string()).collect(),
            scan_on_push: false,
            encryption_type: "AES256".into(),
            kms_key: None,
            image_count: 0,
        }
    }

    #[test]
    fn exclusions_flip_the_rule_for_matching_tags() {
        assert!(!tag_is_immutable(&repo("MUTABLE", &[]), "v1"));
        assert!(tag_is_immutable(&repo("IMMUTABLE", &[]), "v1"));
        let r = repo("IMMUTABLE_WITH_EXCLUSION", &["latest", "dev-*"]);
        assert!(tag_is_immutable(&r, "v1"));
        assert!(!tag_is_immutable(&r, "latest"));
        assert!(!tag_is_immutable(&r, "dev-42"));
        let r = repo("MUTABLE_WITH_EXCLUSION", &["release-*"]);
        assert!(!tag_is_immutable(&r, "latest"));
        assert!(tag_is_immutable(&r, "release-1"));
    }

    #[test]
    fn settings_are_validated() {
        assert!(validate_mutability("MUTABLE", &[]).is_ok());
        assert!(validate_mutability("SOMETIMES", &[]).is_err());
        assert!(validate_mutability("IMMUTABLE_WITH_EXCLUSION", &[]).is_err());
        assert!(validate_mutability("IMMUTABLE", &["x".into()]).is_err());
        assert!(validate_mutability("IMMUTABLE_WITH_EXCLUSION", &["bad/char".into()]).is_err());
        let six: Vec<String> = (0..6).map(|i| format!("t{i}")).collect();
        assert!(validate_mutability("MUTABLE_WITH_EXCLUSION", &six).is_err());
    }
}
