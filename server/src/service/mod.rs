//! The logic every face shares: push, pull, delete, discovery, repository
//! resolution. Faces translate protocols into these calls and [`ServiceError`]
//! back into their protocol's errors; this layer calls only `db` and `storage`.

mod blobs;
mod discovery;
pub mod encryption;
pub mod fsck;
mod gc;
mod images;
pub mod jobs;
pub mod json;
pub mod kms;
pub mod lifecycle;
pub mod limits;
pub mod manifest_format;
mod manifests;
mod monitoring;
pub mod policies;
mod pulls;
mod push_settings;
mod referrers;
pub mod repositories;
pub mod scanning;
pub mod scans;
mod sessions;
pub mod settings;
pub mod signing;
mod upload_hash;
pub(crate) mod uploads;
pub mod vulndb;

pub use blobs::{BlobRead, ByteRange};
pub use discovery::{Page, Referrer};
pub use gc::GcReport;
pub use images::{Image, ImageFailure, ImageId, ImageResult, TagStatus};
pub use limits::{LimitExceeded, Limits};
pub use manifests::{ManifestPut, ManifestRef, StoredManifest};
pub use monitoring::{RepositoryUsage, StorageUsage, READY_WAIT};
pub use pulls::{check_gc_grace, Touches, LINK_REFRESH_AGE, MIN_GC_GRACE};
pub use repositories::{Repository, RepositoryOrder};
pub use sessions::{SessionRecords, Sessions};
pub use uploads::{ChunkHeaders, MountOutcome, UploadStatus, Uploader};

use crate::db::{Db, DbError};
use crate::storage::BlobStore;
use std::sync::Arc;

/// The largest manifest accepted, as the OCI spec asks registries to support.
pub const MANIFEST_LIMIT: usize = 4 * 1024 * 1024;

/// How long an idle upload session lives unless configured (the
/// `upload_expiry` setting).
pub const DEFAULT_UPLOAD_EXPIRY: std::time::Duration = std::time::Duration::from_secs(86_400);

/// A failure of a registry operation, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The repository does not exist (and is not created by this call).
    #[error(
        "The repository with name '{name}' does not exist in the registry with id '{registry_id}'"
    )]
    RepositoryUnknown {
        /// Repository name.
        name: String,
        /// This registry's id.
        registry_id: String,
    },
    /// Pushing would create a repository, and create-on-push is off.
    #[error("The repository with name '{name}' does not exist in the registry with id '{registry_id}'. Create it first with `aws ecr create-repository --repository-name {name}` (or in the console), or turn on create_on_push")]
    RepositoryNotCreated {
        /// Repository name.
        name: String,
        /// This registry's id.
        registry_id: String,
    },
    /// A repository of that name already exists.
    #[error("The repository with name '{0}' already exists in the registry")]
    RepositoryExists(String),
    /// The repository still has images and the delete was not forced.
    #[error("The repository with name '{0}' cannot be deleted because it still contains images")]
    RepositoryNotEmpty(String),
    /// The image (manifest and tag) was already pushed; nothing would change.
    #[error("Image with digest '{0}' and the given tag already exists in the repository")]
    ImageAlreadyExists(String),
    /// The repository's KMS key cannot be used (unknown, disabled, pending deletion).
    #[error("{0}")]
    Kms(kms::KmsError),
    /// The artifact cannot be scanned: it is not a container image.
    #[error("{0}")]
    UnsupportedImageType(String),
    /// A repository setting has a value Berth does not accept.
    #[error("{0}")]
    InvalidSetting(String),
    /// The blob is not linked to the repository.
    #[error("blob {0} is not known to this repository")]
    BlobUnknown(String),
    /// No such upload session in this repository.
    #[error("upload {0} is not known to this repository")]
    UploadUnknown(String),
    /// The upload session was idle for longer than the upload expiry.
    #[error(
        "upload {id} has expired: it was idle for more than {} seconds (the upload_expiry \
         setting); start the upload again",
        expiry.as_secs()
    )]
    UploadExpired {
        /// The session id.
        id: String,
        /// How long a session may be idle.
        expiry: std::time::Duration,
    },
    /// The session's bytes are gone from the store (the server stopped between
    /// committing them and recording it); the session is removed.
    #[error("upload {0} lost its bytes when the registry stopped while committing it; start the upload again")]
    UploadLost(String),
    /// Garbage collection removed an earlier copy of the blob at the moment
    /// the upload committed it; the session is removed.
    #[error("upload {0} was committed while garbage collection removed an earlier copy of the same blob; start the upload again")]
    UploadCollected(String),
    /// A chunk did not start where the upload ends.
    #[error("chunk must start at byte {size}, where the upload ends")]
    UploadOutOfOrder {
        /// Bytes received so far.
        size: u64,
    },
    /// The chunk's headers contradict each other.
    #[error("{0}")]
    UploadInvalid(String),
    /// The bytes do not have the digest the client claimed.
    #[error("digest {claimed} does not match the content, whose digest is {computed}")]
    DigestMismatch {
        /// What the client said.
        claimed: String,
        /// What the bytes hash to.
        computed: String,
    },
    /// No such manifest or tag.
    #[error("manifest {0} is not known to this repository")]
    ManifestUnknown(String),
    /// The manifest cannot be parsed or breaks the image spec.
    #[error("{0}")]
    ManifestInvalid(String),
    /// The manifest references a blob or manifest the repository does not hold.
    #[error("manifest references {0}, which is not in this repository; push it first")]
    ManifestBlobUnknown(String),
    /// The manifest exceeds [`MANIFEST_LIMIT`].
    #[error("manifest is larger than the {MANIFEST_LIMIT}-byte limit")]
    ManifestTooLarge,
    /// The tag is immutable and points at another manifest.
    #[error("tag '{tag}' already points at {current} and this repository's tags are immutable")]
    TagImmutable {
        /// The tag.
        tag: String,
        /// Its current digest.
        current: String,
    },
    /// An image in the repository still uses the blob.
    #[error("blob is used by image {0} in this repository; delete the image first")]
    BlobInUse(String),
    /// An index in the repository still references the manifest.
    #[error(
        "manifest is referenced by image index {0} in this repository; delete the index first"
    )]
    ManifestReferenced(String),
    /// The requested byte range lies outside the blob.
    #[error("requested range is not satisfiable for a blob of {size} bytes")]
    RangeNotSatisfiable {
        /// The blob's size.
        size: u64,
    },
    /// The request would go over one of the registry's [`Limits`].
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    /// Blob storage failed.
    #[error("storage: {0}")]
    Storage(#[from] std::io::Error),
    /// The metadata database failed.
    #[error("database: {0}")]
    Database(#[from] DbError),
}

/// Result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// Whether the disk holding the blobs or the database is out of space
    /// (`ENOSPC`, a quota, or `SQLITE_FULL`): nothing the client can fix, but
    /// worth saying plainly rather than as an internal error.
    pub fn is_storage_full(&self) -> bool {
        let io_full = |e: &std::io::Error| {
            matches!(
                e.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        };
        match self {
            Self::Storage(e) => io_full(e),
            Self::Database(e) => crate::db::is_storage_full(e),
            _ => false,
        }
    }

    /// Whether the blob store could not be reached (a remote store that is
    /// down or timing out): worth retrying, not an internal fault.
    pub fn is_store_unavailable(&self) -> bool {
        matches!(self, Self::Storage(e) if crate::storage::is_unavailable(e))
    }
}

/// The registry: metadata, blob bytes, and the state shared across requests.
pub struct Registry {
    db: Db,
    store: Arc<dyn BlobStore>,
    registry_id: String,
    create_on_push: bool,
    uploads: uploads::UploadProgressMap,
    touches: Touches,
    redirect_lifetime: Option<std::time::Duration>,
    limits: Limits,
    upload_expiry: std::time::Duration,
    scans: scans::ScanSlots,
    /// Seals KMS key material (see [`Registry::with_key_sealer`]).
    key_sealer: Arc<crate::keys::material::MaterialSealer>,
    signing: signing::SigningState,
    /// The scanning and signing configurations as of their generation.
    push_settings: push_settings::PushSettingsCache,
}

impl Registry {
    /// A registry over `db` and `store`. KMS key material it makes is sealed
    /// with a random key of this process until [`Registry::with_key_sealer`]
    /// gives it the installation's.
    pub fn new(
        db: Db,
        store: Arc<dyn BlobStore>,
        registry_id: String,
        create_on_push: bool,
    ) -> Self {
        Self {
            db,
            store,
            registry_id,
            create_on_push,
            uploads: Default::default(),
            touches: Touches::default(),
            redirect_lifetime: None,
            limits: Limits::DEFAULT,
            upload_expiry: DEFAULT_UPLOAD_EXPIRY,
            scans: scans::ScanSlots::new(scans::DEFAULT_SCAN_CONCURRENCY),
            key_sealer: Arc::new(crate::keys::material::MaterialSealer::ephemeral()),
            signing: signing::SigningState::default(),
            push_settings: Default::default(),
        }
    }

    /// Enforces `limits` instead of the defaults.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Treats upload sessions idle for longer than `expiry` as gone, even
    /// before the expiry job removes them.
    pub fn with_upload_expiry(mut self, expiry: std::time::Duration) -> Self {
        self.upload_expiry = expiry;
        self
    }

    /// Sends blob downloads to the store's presigned URLs, valid for `lifetime`,
    /// instead of streaming them through Berth.
    pub fn redirect_blob_reads(mut self, lifetime: std::time::Duration) -> Self {
        self.redirect_lifetime = Some(lifetime);
        self
    }

    /// Where the blobs are, in words (for the start-up banner).
    pub fn describe_store(&self) -> String {
        self.store.describe()
    }

    /// Writes the coalesced last-pulled times; those that fail stay pending.
    pub async fn flush_pull_times(&self) -> ServiceResult<()> {
        self.touches.flush(&self.db).await?;
        Ok(())
    }

    /// The coalesced last-pulled times waiting to be written.
    pub fn touches(&self) -> &Touches {
        &self.touches
    }

    /// A repository that must exist.
    pub async fn repository(&self, name: &str) -> ServiceResult<Repository> {
        self.db
            .repository(name)
            .await?
            .ok_or_else(|| ServiceError::RepositoryUnknown {
                name: name.to_owned(),
                registry_id: self.registry_id.clone(),
            })
    }

    /// Whether a repository of that name exists.
    pub async fn repository_exists(&self, name: &str) -> ServiceResult<bool> {
        Ok(self.db.repository(name).await?.is_some())
    }

    /// A repository a push writes to: created on first push when create-on-push is on.
    pub async fn repository_for_push(&self, name: &str) -> ServiceResult<Repository> {
        if let Some(repo) = self.db.repository(name).await? {
            return Ok(repo);
        }
        if !self.create_on_push {
            return Err(ServiceError::RepositoryNotCreated {
                name: name.to_owned(),
                registry_id: self.registry_id.clone(),
            });
        }
        let (repo, created) = self.db.get_or_create_repository(name).await?;
        if created {
            tracing::info!(repository = name, "created repository on push");
        }
        Ok(repo)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::ServiceError;
    use crate::registry::error::RegistryError;
    use axum::http::StatusCode;

    /// A registry on a new database and filesystem store in `dir`, for
    /// service unit tests.
    pub(crate) async fn registry_in(dir: &std::path::Path) -> super::Registry {
        let db = crate::db::Db::open(&dir.join("berth.db"), crate::db::Schema::Migrate)
            .await
            .unwrap();
        let store: std::sync::Arc<dyn crate::storage::BlobStore> = std::sync::Arc::new(
            crate::storage::FsBlobStore::open(&dir.join("store"))
                .await
                .unwrap(),
        );
        // KMS material sealed by one fixed key, as an installation's secret
        // does: registries opened on the same directory share their keys
        // (every blob is encrypted under one).
        super::Registry::new(db, store, "123456789012".into(), true).with_key_sealer(
            std::sync::Arc::new(crate::keys::material::MaterialSealer::new(&[7; 32])),
        )
    }

    /// A write that found the disk full.
    pub(crate) fn enospc() -> ServiceError {
        ServiceError::Storage(std::io::Error::from_raw_os_error(libc::ENOSPC))
    }

    #[test]
    fn a_full_disk_is_named_as_such_and_other_faults_are_not() {
        assert!(enospc().is_storage_full());
        let edquot = ServiceError::Storage(std::io::Error::from_raw_os_error(libc::EDQUOT));
        assert!(edquot.is_storage_full());
        let eio = ServiceError::Storage(std::io::Error::from_raw_os_error(libc::EIO));
        assert!(!eio.is_storage_full());

        let registry = RegistryError::from(enospc());
        assert_eq!(registry.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(registry.code(), "UNAVAILABLE");
        assert!(registry.to_string().contains("storage is full"));
    }
}
