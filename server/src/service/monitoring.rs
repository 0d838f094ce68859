//! What monitoring asks of the registry: whether the database and the blob
//! store answer (`/readyz`), and how much is stored (`/metrics`).

use super::{Registry, ServiceResult};
use berth_app::oci::Digest;
use std::time::Duration;

/// How long `/readyz` waits for the database, then for the blob store,
/// before it calls them unreachable.
pub const READY_WAIT: Duration = Duration::from_secs(5);

/// What is stored, read from the metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageUsage {
    /// Blobs stored, each once.
    pub blobs: i64,
    /// Their bytes, each blob once.
    pub bytes: i64,
    /// Open upload sessions.
    pub uploads: i64,
    /// Each repository's linked blobs.
    pub repositories: Vec<RepositoryUsage>,
}

/// The blobs one repository links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryUsage {
    /// The repository's name.
    pub name: String,
    /// Blobs linked to it.
    pub blobs: i64,
    /// Their bytes (a blob shared with another repository counts in both).
    pub bytes: i64,
}

/// A digest no blob has in practice: the store is asked whether it holds
/// it, which reaches the store without reading or writing anything.
const PROBE: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

impl Registry {
    /// `Ok` when the database answers a query and the blob store answers a
    /// lookup, each within [`READY_WAIT`]; otherwise why not, for the operator.
    pub async fn readiness(&self) -> Result<(), String> {
        match tokio::time::timeout(READY_WAIT, self.db.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(format!("the database failed: {error}")),
            Err(_) => {
                return Err(format!(
                    "the database did not answer within {} seconds",
                    READY_WAIT.as_secs()
                ))
            }
        }
        let probe = Digest::parse(PROBE).expect("a valid digest");
        match tokio::time::timeout(READY_WAIT, self.store.stat(&probe)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(format!(
                "the blob store ({}) failed: {error}",
                self.store.describe()
            )),
            Err(_) => Err(format!(
                "the blob store ({}) did not answer within {} seconds",
                self.store.describe(),
                READY_WAIT.as_secs()
            )),
        }
    }

    /// Blobs and bytes stored, in all and per repository, and open uploads.
    pub async fn storage_usage(&self) -> ServiceResult<StorageUsage> {
        let (blobs, bytes, uploads) = self.db.storage_totals().await?;
        let repositories = self
            .db
            .repository_usage()
            .await?
            .into_iter()
            .map(|(name, blobs, bytes)| RepositoryUsage { name, blobs, bytes })
            .collect();
        Ok(StorageUsage {
            blobs,
            bytes,
            uploads,
            repositories,
        })
    }
}
