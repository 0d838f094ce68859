//! Opening an installation: the data directory, the database, the registry's
//! identity and the first admin user. `serve` and every admin subcommand start
//! here: `serve` and `berth migrate` create the installation or migrate its
//! database ([`Open::CreateOrMigrate`]); admin commands need one that exists
//! and is at this binary's schema ([`Open::Existing`]).

use crate::auth::secrets::SecretBox;
use crate::auth::{generate_password, hash_password};
use crate::config::{Settings, StorageKind};
use crate::db::{Db, RegistryRow, Schema};
use crate::service::Registry;
use crate::storage::{BlobStore, FsBlobStore, S3BlobStore};
use rand::Rng;
use std::sync::Arc;

/// Why an installation could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory could not be prepared.
    #[error("cannot use data directory {dir}: {source}")]
    DataDir {
        /// The directory.
        dir: String,
        /// What failed.
        source: std::io::Error,
    },
    /// An admin command was pointed at a directory with no installation.
    #[error(
        "no Berth installation in {dir} (it has no berth.db): give the --data-dir or --config \
         of an installation, or create one there with `berth serve` or `berth migrate`"
    )]
    NoInstallation {
        /// The directory.
        dir: String,
    },
    /// The database could not be opened or migrated.
    #[error("cannot open the database {path}: {source}")]
    Schema {
        /// The database file.
        path: String,
        /// Why.
        source: crate::db::OpenError,
    },
    /// The database failed.
    #[error("cannot open the database: {0}")]
    Database(#[from] sqlx::Error),
    /// The blob store could not be reached.
    #[error("cannot use the blob store: {0}")]
    Store(std::io::Error),
}

/// How long a presigned download URL works when blob reads are redirected.
const REDIRECT_LIFETIME: std::time::Duration = std::time::Duration::from_secs(900);

/// Opens a blob store of the given kind, as the settings describe it.
pub async fn open_store(
    settings: &Settings,
    kind: StorageKind,
) -> Result<Arc<dyn BlobStore>, OpenError> {
    Ok(match (kind, &settings.s3) {
        (StorageKind::Filesystem, _) => Arc::new(
            FsBlobStore::open(&settings.data_dir)
                .await
                .map_err(|source| OpenError::DataDir {
                    dir: settings.data_dir.display().to_string(),
                    source,
                })?,
        ),
        (StorageKind::S3, Some(s3)) => {
            Arc::new(S3BlobStore::open(s3).await.map_err(OpenError::Store)?)
        }
        (StorageKind::S3, None) => {
            return Err(OpenError::Store(std::io::Error::other(
                "no S3 bucket is configured: set storage.bucket or BERTH_S3_BUCKET",
            )))
        }
    })
}

/// An opened installation.
pub struct Installation {
    /// Its settings.
    pub settings: Settings,
    /// Its metadata database.
    pub db: Db,
    /// Its registry id and region.
    pub identity: RegistryRow,
    /// The registry service over its database and blob store.
    pub registry: Arc<Registry>,
    /// The installation's key for secrets kept at rest.
    pub secrets: Arc<SecretBox>,
    /// The admin password, when this open created the admin user with a generated one.
    pub generated_admin_password: Option<String>,
}

/// How to open an installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Create it if the data directory has none, and migrate its database to
    /// this binary's schema (`serve`, `berth migrate`).
    CreateOrMigrate,
    /// Only an installation that exists, at this binary's schema (admin commands).
    Existing,
}

impl Installation {
    /// Opens the installation described by `settings`, creating or migrating
    /// it only if `how` allows.
    pub async fn open(settings: Settings, how: Open) -> Result<Self, OpenError> {
        let data_error = |source| OpenError::DataDir {
            dir: settings.data_dir.display().to_string(),
            source,
        };
        let path = settings.database_path();
        let schema = match how {
            Open::CreateOrMigrate => {
                std::fs::create_dir_all(&settings.data_dir).map_err(data_error)?;
                Schema::Migrate
            }
            Open::Existing if !path.is_file() => {
                return Err(OpenError::NoInstallation {
                    dir: settings.data_dir.display().to_string(),
                })
            }
            Open::Existing => Schema::Current,
        };
        let db = Db::open(&path, schema)
            .await
            .map_err(|source| OpenError::Schema {
                path: path.display().to_string(),
                source,
            })?;
        let identity = db
            .ensure_registry(&new_registry_id(), &settings.region)
            .await?;
        let generated_admin_password = ensure_admin(&db).await?;
        let store = open_store(&settings, settings.storage).await?;
        let secrets =
            Arc::new(
                SecretBox::load(&settings.data_dir).map_err(|source| OpenError::DataDir {
                    dir: settings.data_dir.display().to_string(),
                    source,
                })?,
            );
        let mut registry = Registry::new(
            db.clone(),
            store,
            identity.registry_id.clone(),
            settings.create_on_push,
        )
        .with_limits(settings.limits)
        .with_upload_expiry(settings.upload_expiry)
        .with_scan_concurrency(settings.scan_concurrency)
        .with_key_sealer(Arc::new(secrets.kms_material_sealer()))
        .with_signing(secrets.clone(), settings.region.clone());
        if settings.storage_redirect {
            registry = registry.redirect_blob_reads(REDIRECT_LIFETIME);
        }
        let registry = Arc::new(registry);
        Ok(Self {
            settings,
            db,
            identity,
            registry,
            secrets,
            generated_admin_password,
        })
    }
}

/// A 12-digit registry id that does not start with 0.
fn new_registry_id() -> String {
    let mut rng = rand::thread_rng();
    let first = rng.gen_range(1..=9);
    let rest: String = (0..11)
        .map(|_| char::from(b'0' + rng.gen_range(0..10)))
        .collect();
    format!("{first}{rest}")
}

/// Creates the `admin` user when there are no users at all. The password comes
/// from `BERTH_ADMIN_PASSWORD`, else it is generated and returned to be shown once.
async fn ensure_admin(db: &Db) -> Result<Option<String>, sqlx::Error> {
    if !db.list_users().await?.is_empty() {
        return Ok(None);
    }
    let (password, generated) = match std::env::var("BERTH_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (generate_password(), true),
    };
    let hash = tokio::task::spawn_blocking({
        let password = password.clone();
        move || hash_password(&password)
    })
    .await
    .expect("hashing does not panic");
    let created = db.create_user("admin", &hash).await?;
    if created {
        if let Some(admin) = db.user_by_name("admin").await? {
            db.attach_user_policy(admin.id, "AmazonEC2ContainerRegistryFullAccess", None)
                .await?;
        }
    }
    Ok((created && generated).then_some(password))
}

#[cfg(test)]
mod tests {
    #[test]
    fn registry_ids_have_twelve_digits() {
        for _ in 0..100 {
            let id = super::new_registry_id();
            assert_eq!(id.len(), 12);
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
            assert_ne!(id.as_bytes()[0], b'0');
        }
    }
}
