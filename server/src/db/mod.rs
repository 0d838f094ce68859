//! Metadata in SQLite: the only place SQL lives. One writer connection (SQLite
//! has one writer anyway; a pool of one turns lock contention into a queue)
//! and a pool of readers, all in WAL mode. Write transactions start with
//! `BEGIN IMMEDIATE`: a deferred one that reads first cannot wait for the write
//! lock when another process (an admin command) wrote in between, and fails
//! with "database is locked" instead.

mod access;
mod blobs;
mod images;
mod jobs;
mod lifecycle;
mod manifests;
mod policies;
mod registry;
mod repositories;
mod sessions;
mod uploads;
mod users;

pub use access::AccessKeyRow;
pub use blobs::BlobRow;
pub use images::{ImageRow, TagStatus};
pub use jobs::JobRow;
pub use lifecycle::{Effects, LifecycleFactsRow, LifecycleRun, PreviewRow};
pub use manifests::{
    DeleteOutcome, ManifestRow, NewManifest, PutRejection, Reference, ReferrerRow,
};
pub use registry::RegistryRow;
pub use repositories::{NewRepository, RepositoryOrder, RepositoryRow};
pub use uploads::UploadRow;
pub use users::{UserOverviewRow, UserRow};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Connection as _;
use std::path::Path;
use std::time::Duration;

/// A database failure. Callers map it to their protocol's internal error.
pub type DbError = sqlx::Error;

/// The metadata database.
#[derive(Clone, Debug)]
pub struct Db {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A write that fails its COMMIT with the disk full is rolled back by
            // SQLite itself; sqlx's ROLLBACK then fails too and it counts the
            // transaction open for good, so every later `BEGIN` would fail even
            // after space returns. Such a connection is replaced. The ping
            // first lets a rollback still queued on the connection finish.
            .before_acquire(|conn, _| {
                Box::pin(async move {
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    /// Closes both pools, flushing the WAL.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Milliseconds since the Unix epoch, the unit of every time column.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
