//! Metadata in SQLite: the only place SQL lives. One writer connection (SQLite
//! has one writer anyway; a pool of one turns lock contention into a queue)
//! and a pool of readers, all in WAL mode. Write transactions start with
//! `BEGIN IMMEDIATE`: a deferred one that reads first cannot wait for the write
//! lock when another process (an admin command) wrote in between, and fails
//! with "database is locked" instead.
//!
//! Only `serve` and `berth migrate` migrate the schema ([`Schema::Migrate`]);
//! admin commands open it as it is ([`Schema::Current`]) and refuse one that
//! is older or newer than this binary's, so a newer binary's admin command
//! never changes the schema under an older running server.

mod access;
mod blobs;
mod images;
mod jobs;
mod kms;
mod lifecycle;
mod manifests;
mod monitoring;
mod policies;
mod registry;
mod repositories;
mod scans;
mod sessions;
mod signing;
mod uploads;
mod users;
mod vulndb;

pub use access::AccessKeyRow;
pub use blobs::{BlobCopy, BlobRow, LinkedBlob};
pub use jobs::JobRow;
pub use kms::{KeyCreated, KmsMaterialRow, NewKmsKey};
pub use lifecycle::{Effects, LifecycleFactsRow, LifecycleRun, PreviewRow};
pub use manifests::{
    DeleteOutcome, ManifestRow, NewManifest, PutRejection, Reference, ReferrerRow,
};
pub use registry::RegistryRow;
pub use repositories::NewRepository;
pub use scans::{FindingEventRow, Rematched, ScanJobRow, ScanOutcome, ScanRow};
pub use signing::{ImageSignatureRow, SigningJobRow, SigningKeyRow, SigningProfileRow};
pub use uploads::UploadRow;
pub use users::{UserOverviewRow, UserRow};
pub use vulndb::{
    NewVulnKey, NewVulnRecord, VulnCandidateRow, VulndbImported, VulndbSnapshot, VulndbSourceRow,
    VulndbWriteError,
};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Connection as _;
use std::path::Path;
use std::time::Duration;

/// A database failure. Callers map it to their protocol's internal error.
pub type DbError = sqlx::Error;

/// SQLite's result code for a write that found the disk full (`SQLITE_FULL`).
const SQLITE_FULL: &str = "13";

/// Whether the database failed because its disk is full (`ENOSPC`, a quota,
/// or `SQLITE_FULL`).
pub fn is_storage_full(error: &DbError) -> bool {
    match error {
        DbError::Io(e) => matches!(
            e.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        ),
        DbError::Database(e) => e.code().as_deref() == Some(SQLITE_FULL),
        _ => false,
    }
}

/// The metadata database.
#[derive(Clone, Debug)]
pub struct Db {
    writer: SqlitePool,
    reader: SqlitePool,
}

/// The schema migrations this binary knows (`migrations/`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// What opening the database may do to its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Create the database if it is missing and apply the migrations it lacks
    /// (`serve` and `berth migrate`).
    Migrate,
    /// Use the database only if its schema is exactly this binary's: admin
    /// commands, which may run beside a server of another version and must
    /// not change the schema under it.
    Current,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite or a migration failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A newer Berth has migrated the database past what this one knows.
    #[error(
        "its schema is at version {found}, newer than this berth knows (version {known}): \
         use the Berth release that migrated it, or a newer one"
    )]
    NewerSchema {
        /// The highest migration applied.
        found: i64,
        /// The highest migration this binary has.
        known: i64,
    },
    /// The database lacks migrations, and the caller may not apply them.
    #[error(
        "its schema is at version {found} and this berth needs version {known}; admin commands \
         do not migrate (a server of the older version may be running on it): stop `berth serve`, \
         then run this berth's `berth migrate`, or start its `berth serve`, which migrates"
    )]
    OlderSchema {
        /// The highest migration applied.
        found: i64,
        /// The highest migration this binary has.
        known: i64,
    },
}

impl Db {
    /// Opens the database at `path`, migrating it or only checking its schema
    /// as `schema` says. With [`Schema::Current`] a missing file is an error.
    pub async fn open(path: &Path, schema: Schema) -> Result<Self, OpenError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(schema == Schema::Migrate)
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
        let applied = applied_migrations(&writer).await?;
        let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let found = applied.iter().copied().max().unwrap_or(0);
        let is_known = |version: &i64| MIGRATOR.iter().any(|m| m.version == *version);
        if !applied.iter().all(is_known) {
            writer.close().await;
            return Err(OpenError::NewerSchema { found, known });
        }
        let missing = MIGRATOR.iter().any(|m| !applied.contains(&m.version));
        match schema {
            Schema::Current if missing => {
                writer.close().await;
                return Err(OpenError::OlderSchema { found, known });
            }
            Schema::Current => {}
            Schema::Migrate => {
                MIGRATOR.run(&writer).await.map_err(sqlx::Error::from)?;
                if missing {
                    tracing::info!(from = found, to = known, "migrated the database schema");
                }
            }
        }
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    /// The highest schema migration applied.
    pub async fn schema_version(&self) -> Result<i64, DbError> {
        Ok(applied_migrations(&self.reader)
            .await?
            .into_iter()
            .max()
            .unwrap_or(0))
    }

    /// A private copy of the database for a dry run, in a new temporary
    /// directory (removed when the returned guard drops): the real code runs
    /// against it and whatever it writes is thrown away. `VACUUM INTO` copies
    /// from a read snapshot, so no writer waits for it.
    pub async fn dry_run_copy(&self) -> Result<(Db, tempfile::TempDir), OpenError> {
        let dir = tempfile::Builder::new()
            .prefix("berth-dry-run-")
            .tempdir()
            .map_err(sqlx::Error::Io)?;
        let path = dir.path().join("berth.db");
        sqlx::query("VACUUM INTO ?")
            .bind(path.to_string_lossy().into_owned())
            .execute(&self.reader)
            .await?;
        let copy = Db::open(&path, Schema::Current).await?;
        Ok((copy, dir))
    }

    /// Closes both pools, flushing the WAL. Waits at most [`CLOSE_WAIT`] per
    /// pool: sqlx's `Pool::close` can wait forever for a connection whose
    /// return raced the close (sqlx issues #3217, #1773), which once hung
    /// `berth gc` after its work was done. Every commit is already durable
    /// (`synchronous = FULL`), so a connection left open loses nothing; SQLite
    /// checkpoints the WAL at the next open.
    pub async fn close(&self) {
        self.close_within(CLOSE_WAIT).await
    }

    async fn close_within(&self, wait: Duration) {
        for (name, pool) in [("writer", &self.writer), ("reader", &self.reader)] {
            if tokio::time::timeout(wait, pool.close()).await.is_err() {
                tracing::warn!(
                    pool = name,
                    "a database connection was still checked out after {wait:?}; closing without it"
                );
            }
        }
    }
}

/// How long [`Db::close`] waits for each pool's connections to come back.
pub const CLOSE_WAIT: Duration = Duration::from_secs(10);

pub use crate::clock::now_millis;

/// The versions of the migrations applied to the database, none for a new one.
async fn applied_migrations(pool: &SqlitePool) -> Result<Vec<i64>, DbError> {
    let tracked: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if tracked.is_none() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
}

#[cfg(test)]
mod close_tests {
    use super::*;

    /// A connection that never comes back does not hold the close forever,
    /// and what was committed before is there at the next open.
    #[tokio::test]
    async fn close_gives_up_on_a_connection_that_never_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let db = Db::open(&path, Schema::Migrate).await.unwrap();
        sqlx::query("CREATE TABLE kept (x INTEGER) STRICT")
            .execute(&db.writer)
            .await
            .unwrap();
        let held = db.reader.acquire().await.unwrap();
        let closed = tokio::time::timeout(
            Duration::from_secs(60),
            db.close_within(Duration::from_millis(200)),
        )
        .await;
        assert!(closed.is_ok(), "close waited for the held connection");
        drop(held);
        let again = Db::open(&path, Schema::Current).await.unwrap();
        let tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'kept'")
                .fetch_one(&again.reader)
                .await
                .unwrap();
        assert_eq!(tables, 1);
    }
}
