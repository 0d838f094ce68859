//! The registry's records as every layer passes them: `db` decodes its rows
//! straight into them, `service` hands them to the faces. One definition
//! each, below both, so no layer keeps a copy of another's.

/// An image: one manifest in a repository, and its tags.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Image {
    /// The image's place in its repository's listings (a pagination key).
    pub id: i64,
    /// Manifest digest.
    pub digest: String,
    /// Manifest media type.
    pub media_type: String,
    /// Artifact media type.
    pub artifact_type: Option<String>,
    /// Subject digest, for referrers.
    pub subject_digest: Option<String>,
    /// Size as ECR counts it.
    pub size: i64,
    /// Length of the manifest itself.
    pub manifest_size: i64,
    /// The manifest's annotations, as JSON text.
    pub annotations: Option<String>,
    /// Push time (ms).
    pub pushed_at: i64,
    /// Last recorded pull (ms).
    pub last_pulled_at: Option<i64>,
    /// Tags, sorted (selected as a JSON array).
    #[sqlx(json)]
    pub tags: Vec<String>,
}

/// A repository and its settings.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Repository {
    /// Row id: what `service` and `db` name the repository by inside.
    pub(crate) id: i64,
    /// Name with namespaces.
    pub name: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// `MUTABLE`, `IMMUTABLE`, `IMMUTABLE_WITH_EXCLUSION`, `MUTABLE_WITH_EXCLUSION`.
    pub tag_mutability: String,
    /// Tag-mutability exclusion filters (wildcard patterns; selected as a
    /// JSON array).
    #[sqlx(json)]
    pub exclusions: Vec<String>,
    /// Scan on push.
    pub scan_on_push: bool,
    /// `AES256`, `KMS`, `KMS_DSSE`.
    pub encryption_type: String,
    /// KMS key, when the encryption type uses one.
    pub kms_key: Option<String>,
    /// Number of images; filled by listings only (0 elsewhere).
    #[sqlx(default)]
    pub image_count: i64,
}

/// Which images a listing includes (ECR's `tagStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    /// Images with at least one tag.
    Tagged,
    /// Images without tags.
    Untagged,
    /// All images.
    Any,
}

/// How a repository listing is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryOrder {
    /// By name, A to Z.
    NameAscending,
    /// By name, Z to A.
    NameDescending,
    /// Oldest first.
    CreatedAscending,
    /// Newest first.
    CreatedDescending,
}

/// A KMS key of the key service standing in for AWS KMS (issue 18), without
/// its material.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KmsKey {
    /// The key id, a UUID.
    pub id: String,
    /// What the administrator wrote about it.
    pub description: String,
    /// `CUSTOMER`, `AWS` (the default key for `KMS`, `alias/aws/ecr`) or
    /// `BERTH` (the registry's own key for `AES256`).
    pub manager: String,
    /// `Enabled`, `Disabled`, `PendingDeletion` or `Deleted`.
    pub state: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// When a key pending deletion is deleted (ms).
    pub deletion_date: Option<i64>,
    /// The waiting period of a pending deletion (days).
    pub pending_window_days: Option<i64>,
    /// When a deleted key's material was erased (ms).
    pub deleted_at: Option<i64>,
    /// Whether automatic rotation is on.
    pub rotation_enabled: bool,
    /// Days between automatic rotations.
    pub rotation_period_days: i64,
    /// When automatic rotation next adds a version (ms).
    pub next_rotation_at: Option<i64>,
    /// Its aliases (`alias/NAME`), sorted (selected as a JSON array).
    #[sqlx(json)]
    pub aliases: Vec<String>,
    /// How many versions of material it has (0 once deleted).
    pub versions: i64,
    /// When the newest rotation added a version (ms), if one has.
    pub last_rotated_at: Option<i64>,
}
