//! Repositories and their images: listing, creating, deleting, settings,
//! image details.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows per page of the repositories table.
pub const REPOSITORY_PAGE_SIZE: u32 = 50;

/// One row of the repositories table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositorySummary {
    /// Repository name, with namespaces (`team-a/web-app`).
    pub name: String,
    /// What `docker push` uses: `<host>/<name>`.
    pub uri: String,
    /// Creation time, `YYYY-MM-DD HH:MM:SS UTC`.
    pub created_at: String,
    /// `MUTABLE`, `IMMUTABLE`, or an exclusion variant.
    pub tag_mutability: String,
    /// Scan on push.
    pub scan_on_push: bool,
    /// `AES256`, `KMS` or `KMS_DSSE`.
    pub encryption_type: String,
    /// Number of images (manifests) stored.
    pub image_count: u64,
}

/// How the repositories table is searched, sorted and paged (the page's URL query).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryQuery {
    /// Substring of the name to look for.
    pub q: String,
    /// `name` (default) or `created`.
    pub sort: String,
    /// `asc` (default) or `desc`.
    pub order: String,
    /// 1-based page number.
    pub page: u32,
}

/// One page of the repositories table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryPage {
    /// The rows of this page.
    pub rows: Vec<RepositorySummary>,
    /// Repositories matching the search, on every page.
    pub total: u64,
    /// This page's number, 1-based.
    pub page: u32,
    /// How many pages the search fills (at least 1).
    pub pages: u32,
}

/// A repository's settings and facts, for its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryDetail {
    /// The summary row.
    pub summary: RepositorySummary,
    /// `arn:aws:ecr:…:repository/<name>`.
    pub arn: String,
    /// Tag-mutability exclusion filters.
    pub exclusions: Vec<String>,
    /// KMS key, when the encryption uses one.
    pub kms_key: Option<String>,
}

/// One row of a repository's images table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSummary {
    /// Manifest digest.
    pub digest: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Size as ECR counts it (manifest, config and layers), in bytes.
    pub size: u64,
    /// Push time, `YYYY-MM-DD HH:MM:SS UTC`.
    pub pushed_at: String,
    /// Last recorded pull, if any.
    pub last_pulled_at: Option<String>,
    /// Manifest media type.
    pub media_type: String,
    /// Artifact type (signatures, SBOMs, …), if any.
    pub artifact_type: Option<String>,
    /// Digest of the image this one refers to (a signature's subject).
    pub subject: Option<String>,
    /// The latest scan, in short; `None` when it was never scanned.
    pub scan: Option<super::scans::ScanSummary>,
}

/// One content descriptor of a manifest (a layer, the config, a child manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptorSummary {
    /// Digest.
    pub digest: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// `os/architecture[/variant]`, for an index's children.
    pub platform: Option<String>,
}

/// Everything the image page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetail {
    /// The row the images table shows.
    pub image: ImageSummary,
    /// The manifest, pretty-printed when it is JSON.
    pub manifest: String,
    /// The config blob's descriptor, for image manifests.
    pub config: Option<DescriptorSummary>,
    /// Layers, for image manifests.
    pub layers: Vec<DescriptorSummary>,
    /// Child manifests, for indexes.
    pub manifests: Vec<DescriptorSummary>,
    /// Images whose subject is this one (signatures, SBOMs, attestations).
    pub referrers: Vec<ImageSummary>,
}

/// The server side of this module's functions.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait RepositoryBackend {
    /// One page of the repositories the user may see.
    async fn list_repositories(
        &self,
        query: RepositoryQuery,
    ) -> Result<RepositoryPage, ConsoleError>;
    /// Creates a repository and redirects to its page.
    async fn create_repository(&self, form: RepositoryForm) -> Result<(), ConsoleError>;
    /// Deletes repositories (with their images when `force`), then shows the list.
    async fn delete_repositories(
        &self,
        names: Vec<String>,
        force: bool,
    ) -> Result<(), ConsoleError>;
    /// One repository's settings.
    async fn repository(&self, name: &str) -> Result<RepositoryDetail, ConsoleError>;
    /// Changes a repository's tag mutability and scan on push.
    async fn update_repository(&self, form: RepositoryForm) -> Result<(), ConsoleError>;
    /// A repository's images, newest first; `status` is `any`, `tagged` or `untagged`.
    async fn list_images(
        &self,
        name: &str,
        status: &str,
    ) -> Result<Vec<ImageSummary>, ConsoleError>;
    /// Deletes images by digest.
    async fn delete_images(&self, name: &str, digests: Vec<String>) -> Result<u32, ConsoleError>;
    /// One image's manifest, layers and referrers.
    async fn image(&self, name: &str, digest: &str) -> Result<ImageDetail, ConsoleError>;
}

/// The create-repository (and settings) form, as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryForm {
    /// Repository name.
    pub name: String,
    /// `MUTABLE` or `IMMUTABLE`.
    pub tag_mutability: String,
    /// Exclusion filters, one per line or comma-separated; they turn the
    /// setting into its `*_WITH_EXCLUSION` variant.
    pub exclusions: String,
    /// Scan on push.
    pub scan_on_push: bool,
    /// `AES256` or `KMS`.
    pub encryption_type: String,
    /// KMS key for `KMS`.
    pub kms_key: String,
}

impl RepositoryForm {
    /// The exclusion filters, trimmed, without empties.
    pub fn exclusion_list(&self) -> Vec<String> {
        self.exclusions
            .split([',', '\n'])
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The ECR tag-mutability setting the form describes.
    pub fn mutability_setting(&self) -> String {
        let base = if self.tag_mutability == "IMMUTABLE" {
            "IMMUTABLE"
        } else {
            "MUTABLE"
        };
        if self.exclusion_list().is_empty() {
            base.to_owned()
        } else {
            format!("{base}_WITH_EXCLUSION")
        }
    }
}

/// What the name field says as the user types: `Ok` with the counter text, or
/// the rule the name breaks. The same check the server makes.
pub fn describe_name(name: &str) -> Result<String, String> {
    let counter = format!(
        "{} out of {} characters maximum ({} minimum)",
        name.chars().count(),
        crate::oci::NAME_MAX_LEN,
        crate::oci::NAME_MIN_LEN
    );
    match crate::oci::validate_repository_name(name) {
        Ok(()) => Ok(counter),
        Err(_) if name.is_empty() => Err(format!("Enter a repository name. {counter}")),
        Err(crate::oci::GrammarError::NameLength(_)) => Err(format!(
            "The name must be {} to {} characters. {counter}",
            crate::oci::NAME_MIN_LEN,
            crate::oci::NAME_MAX_LEN
        )),
        Err(_) => Err(format!("{NAME_RULE} {counter}")),
    }
}

/// ECR's naming rule, in words.
pub const NAME_RULE: &str = "The name must start with a letter or digit and can only contain \
    lowercase letters, numbers, hyphens, underscores, periods and forward slashes; separators \
    ('.', '_', '__', '-') and '/' must sit between letters or digits.";

#[cfg_attr(
    not(feature = "ssr"),
    expect(dead_code, reason = "server functions run on the server")
)]
fn checkbox(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| !v.is_empty() && v != "false")
}

/// Lists repositories, searched, sorted and paged.
#[server(endpoint = "list_repositories")]
pub async fn list_repositories(query: RepositoryQuery) -> Result<RepositoryPage, ConsoleError> {
    super::backend()?.list_repositories(query).await
}

/// Creates a repository (the create-repository form).
#[server(endpoint = "create_repository")]
pub async fn create_repository(
    name: String,
    tag_mutability: Option<String>,
    exclusions: Option<String>,
    scan_on_push: Option<String>,
    encryption_type: Option<String>,
    kms_key: Option<String>,
) -> Result<(), ConsoleError> {
    let form = RepositoryForm {
        name: name.trim().to_owned(),
        tag_mutability: tag_mutability.unwrap_or_default(),
        exclusions: exclusions.unwrap_or_default(),
        scan_on_push: checkbox(&scan_on_push),
        encryption_type: encryption_type.unwrap_or_else(|| "AES256".into()),
        kms_key: kms_key.unwrap_or_default(),
    };
    if let Err(message) = describe_name(&form.name) {
        return Err(ConsoleError::invalid("name", message));
    }
    super::backend()?.create_repository(form).await
}

/// Deletes the named repositories; `confirm` must be `delete`.
#[server(endpoint = "delete_repositories")]
pub async fn delete_repositories(
    #[server(default)] names: Vec<String>,
    force: Option<String>,
    #[server(default)] confirm: String,
) -> Result<(), ConsoleError> {
    if confirm.trim() != "delete" {
        return Err(ConsoleError::invalid(
            "confirm",
            "To confirm the deletion, type delete in the field.",
        ));
    }
    if names.is_empty() {
        return Err(ConsoleError::invalid(
            "names",
            "Select at least one repository.",
        ));
    }
    super::backend()?
        .delete_repositories(names, checkbox(&force))
        .await
}

/// One repository's settings.
#[server(endpoint = "repository")]
pub async fn repository(name: String) -> Result<RepositoryDetail, ConsoleError> {
    super::backend()?.repository(&name).await
}

/// Saves a repository's settings (tag immutability, exclusions, scan on push).
#[server(endpoint = "update_repository")]
pub async fn update_repository(
    name: String,
    tag_mutability: Option<String>,
    exclusions: Option<String>,
    scan_on_push: Option<String>,
) -> Result<(), ConsoleError> {
    let form = RepositoryForm {
        name,
        tag_mutability: tag_mutability.unwrap_or_default(),
        exclusions: exclusions.unwrap_or_default(),
        scan_on_push: checkbox(&scan_on_push),
        ..RepositoryForm::default()
    };
    super::backend()?.update_repository(form).await
}

/// A repository's images; `status` is `any`, `tagged` or `untagged`.
#[server(endpoint = "list_images")]
pub async fn list_images(name: String, status: String) -> Result<Vec<ImageSummary>, ConsoleError> {
    super::backend()?.list_images(&name, &status).await
}

/// Deletes images of a repository by digest; returns how many went.
#[server(endpoint = "delete_images")]
pub async fn delete_images(
    name: String,
    #[server(default)] digests: Vec<String>,
) -> Result<u32, ConsoleError> {
    if digests.is_empty() {
        return Err(ConsoleError::invalid(
            "digests",
            "Select at least one image.",
        ));
    }
    super::backend()?.delete_images(&name, digests).await
}

/// One image's details.
#[server(endpoint = "image")]
pub async fn image(name: String, digest: String) -> Result<ImageDetail, ConsoleError> {
    super::backend()?.image(&name, &digest).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_field_counts_and_explains() {
        assert_eq!(
            describe_name("team-a/web-app"),
            Ok("14 out of 256 characters maximum (2 minimum)".into())
        );
        let short = describe_name("a").unwrap_err();
        assert!(
            short.starts_with("The name must be 2 to 256 characters."),
            "{short}"
        );
        let upper = describe_name("Team-A").unwrap_err();
        assert!(upper.starts_with(NAME_RULE), "{upper}");
        assert!(
            upper.ends_with("6 out of 256 characters maximum (2 minimum)"),
            "{upper}"
        );
        assert!(describe_name("")
            .unwrap_err()
            .starts_with("Enter a repository name."));
        assert!(describe_name(&"a".repeat(257)).is_err());
    }

    #[test]
    fn exclusions_pick_the_with_exclusion_setting() {
        let mut form = RepositoryForm {
            tag_mutability: "IMMUTABLE".into(),
            ..Default::default()
        };
        assert_eq!(form.mutability_setting(), "IMMUTABLE");
        form.exclusions = "latest, dev-*\n\n release-* ".into();
        assert_eq!(form.exclusion_list(), ["latest", "dev-*", "release-*"]);
        assert_eq!(form.mutability_setting(), "IMMUTABLE_WITH_EXCLUSION");
        form.tag_mutability = "MUTABLE".into();
        assert_eq!(form.mutability_setting(), "MUTABLE_WITH_EXCLUSION");
        form.tag_mutability = "anything else".into();
        form.exclusions.clear();
        assert_eq!(form.mutability_setting(), "MUTABLE");
    }
}
