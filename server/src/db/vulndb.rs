//! The vulnerability database's tables: sources, generations of their OSV
//! records, and the index by (ecosystem, package name).
//!
//! A source's records are replaced by generation: [`Db::vulndb_begin`] opens
//! a `writing` generation under a lease, [`Db::vulndb_write`] adds records in
//! short transactions (each renews the lease), [`Db::vulndb_switch`] puts it
//! in service in one small transaction, and [`Db::vulndb_delete_generation`]
//! removes the replaced one in chunks. Lookups only see `live` generations,
//! so a failed or half-written import is never visible.
//!
//! Each index row carries what matching needs of its record for that
//! package (`entries`, see migration 0016): lookups by package read those,
//! and [`VulndbSnapshot::records`] reads whole records only for the ones
//! that matched. Rows written before 0016 have none and give the record's
//! JSON instead.

use super::{now_millis, Db, DbError};
use sqlx::{Sqlite, Transaction};

/// How long a `writing` generation's lease lasts without a batch renewing it.
const LEASE_MS: i64 = 10 * 60 * 1000;

/// Rows deleted per statement when a generation is removed: small enough that
/// a push waiting for the writer never waits long.
const DELETE_CHUNK: i64 = 5_000;

/// A source as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct VulndbSourceRow {
    /// Row id.
    pub id: i64,
    /// URL, or `import:<file name>`.
    pub name: String,
    /// ETag of the last download.
    pub etag: Option<String>,
    /// Last-Modified of the last download.
    pub last_modified: Option<String>,
    /// When its records were last replaced (ms).
    pub updated_at: Option<i64>,
    /// When it was last imported or found unchanged (ms).
    pub checked_at: Option<i64>,
    /// Records in service.
    pub records: i64,
    /// Malformed records the last import skipped.
    pub skipped: i64,
    /// JSON array of the first few reasons.
    pub skipped_reasons: String,
    /// The last failed update's error, until an update succeeds.
    pub last_error: Option<String>,
    /// When it failed (ms).
    pub last_error_at: Option<i64>,
}

/// One record to store, with the package keys it is found by.
#[derive(Debug, Clone)]
pub struct NewVulnRecord {
    /// The OSV id.
    pub id: String,
    /// Its `modified` time, as written.
    pub modified: Option<String>,
    /// The record's JSON.
    pub json: String,
    /// Every package it names, without duplicates, with what matching needs
    /// of the record for that package.
    pub keys: Vec<NewVulnKey>,
}

/// One package a record names, as it is indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVulnKey {
    /// The ecosystem, as the record spells it.
    pub ecosystem: String,
    /// The name (PyPI names normalised).
    pub name: String,
    /// What matching needs of the record for this package (JSON).
    pub entries: String,
}

/// A record found by package: the package's name, the record's row, and
/// either what matching needs of it for the package or, for a row indexed
/// before migration 0016, its whole JSON.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VulnCandidateRow {
    /// The package's name (as indexed).
    pub name: String,
    /// The record's row id.
    pub record: i64,
    /// What matching needs of it for the package (JSON).
    pub entries: Option<String>,
    /// The record's JSON, only where `entries` is missing.
    pub json: Option<String>,
}

/// What a finished import puts on its source.
#[derive(Debug, Clone, Default)]
pub struct VulndbImported {
    /// Records written.
    pub records: i64,
    /// Malformed records skipped.
    pub skipped: i64,
    /// JSON array of the first few reasons.
    pub skipped_reasons: String,
    /// ETag of the download, if any.
    pub etag: Option<String>,
    /// Last-Modified of the download, if any.
    pub last_modified: Option<String>,
}

/// Why a generation could not be written.
#[derive(Debug, thiserror::Error)]
pub enum VulndbWriteError {
    /// Another import of the same source holds a live lease.
    #[error("another import of this source is running (started {0} ms ago)")]
    Busy(i64),
    /// This import's lease ran out and another import took the source over.
    #[error("this import was idle too long and another import of the source took over")]
    LeaseLost,
    /// SQLite failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

const SOURCE_COLUMNS: &str = "id, name, etag, last_modified, updated_at, checked_at, records, \
     skipped, skipped_reasons, last_error, last_error_at";

impl Db {
    /// The source named `name`, made if it is missing.
    pub async fn vulndb_source_ensure(&self, name: &str) -> Result<VulndbSourceRow, DbError> {
        sqlx::query("INSERT INTO vulndb_sources (name) VALUES (?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .execute(&self.writer)
            .await?;
        sqlx::query_as(&format!(
            "SELECT {SOURCE_COLUMNS} FROM vulndb_sources WHERE name = ?"
        ))
        .bind(name)
        .fetch_one(&self.writer)
        .await
    }

    /// Every source, by name.
    pub async fn vulndb_sources(&self) -> Result<Vec<VulndbSourceRow>, DbError> {
        sqlx::query_as(&format!(
            "SELECT {SOURCE_COLUMNS} FROM vulndb_sources ORDER BY name"
        ))
        .fetch_all(&self.reader)
        .await
    }

    /// When the records in service last changed (ms): the latest switch of
    /// any source that has records in service.
    pub async fn vulndb_updated_at(&self) -> Result<Option<i64>, DbError> {
        sqlx::query_scalar(
            "SELECT MAX(s.updated_at) FROM vulndb_sources s
             WHERE EXISTS (SELECT 1 FROM vulndb_generations g
                           WHERE g.source_id = s.id AND g.state = 'live')",
        )
        .fetch_one(&self.reader)
        .await
    }

    /// Opens a `writing` generation of `source_id` under a lease, and
    /// returns it with the generations to delete first (replaced ones, and
    /// those whose import stopped and whose lease ran out).
    pub async fn vulndb_begin(&self, source_id: i64) -> Result<(i64, Vec<i64>), VulndbWriteError> {
        let now = now_millis();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let holder: Option<i64> = sqlx::query_scalar(
            "SELECT created_at FROM vulndb_generations
             WHERE source_id = ? AND state = 'writing' AND lease_until > ?",
        )
        .bind(source_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(created_at) = holder {
            return Err(VulndbWriteError::Busy(now - created_at));
        }
        sqlx::query(
            "UPDATE vulndb_generations SET state = 'old' WHERE source_id = ? AND state = 'writing'",
        )
        .bind(source_id)
        .execute(&mut *tx)
        .await?;
        let generation = sqlx::query_scalar(
            "INSERT INTO vulndb_generations (source_id, state, created_at, lease_until)
             VALUES (?, 'writing', ?, ?) RETURNING id",
        )
        .bind(source_id)
        .bind(now)
        .bind(now + LEASE_MS)
        .fetch_one(&mut *tx)
        .await?;
        let stale = sqlx::query_scalar(
            "SELECT id FROM vulndb_generations WHERE source_id = ? AND state = 'old' ORDER BY id",
        )
        .bind(source_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((generation, stale))
    }

    /// Adds `records` to the `writing` generation, in one transaction that
    /// renews its lease.
    pub async fn vulndb_write(
        &self,
        generation: i64,
        records: &[NewVulnRecord],
    ) -> Result<(), VulndbWriteError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        renew(&mut tx, generation).await?;
        for record in records {
            let row: i64 = sqlx::query_scalar(
                "INSERT INTO vulndb_records (generation, record_id, modified, json)
                 VALUES (?, ?, ?, ?) RETURNING id",
            )
            .bind(generation)
            .bind(&record.id)
            .bind(&record.modified)
            .bind(&record.json)
            .fetch_one(&mut *tx)
            .await?;
            for key in &record.keys {
                sqlx::query(
                    "INSERT INTO vulndb_packages (ecosystem, name, record, generation, entries)
                     VALUES (?, ?, ?, ?, ?)",
                )
                .bind(&key.ecosystem)
                .bind(&key.name)
                .bind(row)
                .bind(generation)
                .bind(&key.entries)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Puts the `writing` generation in service in place of the source's
    /// live one, records `imported` on the source, and returns the replaced
    /// generation (to delete), if there was one.
    pub async fn vulndb_switch(
        &self,
        source_id: i64,
        generation: i64,
        imported: &VulndbImported,
    ) -> Result<Option<i64>, VulndbWriteError> {
        let now = now_millis();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        renew(&mut tx, generation).await?;
        let replaced: Option<i64> = sqlx::query_scalar(
            "UPDATE vulndb_generations SET state = 'old'
             WHERE source_id = ? AND state = 'live' RETURNING id",
        )
        .bind(source_id)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("UPDATE vulndb_generations SET state = 'live' WHERE id = ?")
            .bind(generation)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE vulndb_sources SET etag = ?, last_modified = ?, updated_at = ?,
                 checked_at = ?, records = ?, skipped = ?, skipped_reasons = ?,
                 last_error = NULL, last_error_at = NULL
             WHERE id = ?",
        )
        .bind(&imported.etag)
        .bind(&imported.last_modified)
        .bind(now)
        .bind(now)
        .bind(imported.records)
        .bind(imported.skipped)
        .bind(&imported.skipped_reasons)
        .bind(source_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(replaced)
    }

    /// Marks a generation whose import failed as `old`, to be deleted.
    pub async fn vulndb_abandon(&self, generation: i64) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE vulndb_generations SET state = 'old' WHERE id = ? AND state = 'writing'",
        )
        .bind(generation)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Deletes an `old` generation's rows, a chunk per statement, then the
    /// generation. A live or writing generation is left alone.
    pub async fn vulndb_delete_generation(&self, generation: i64) -> Result<(), DbError> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM vulndb_generations WHERE id = ?")
                .bind(generation)
                .fetch_optional(&self.writer)
                .await?;
        if state.as_deref() != Some("old") {
            return Ok(());
        }
        for table in ["vulndb_packages", "vulndb_records"] {
            loop {
                let deleted = sqlx::query(&format!(
                    "DELETE FROM {table} WHERE rowid IN
                     (SELECT rowid FROM {table} WHERE generation = ? LIMIT ?)"
                ))
                .bind(generation)
                .bind(DELETE_CHUNK)
                .execute(&self.writer)
                .await?
                .rows_affected();
                if deleted == 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        sqlx::query("DELETE FROM vulndb_generations WHERE id = ? AND state = 'old'")
            .bind(generation)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Records that the source was checked and found unchanged (HTTP 304).
    pub async fn vulndb_checked(&self, source_id: i64) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE vulndb_sources SET checked_at = ?, last_error = NULL, last_error_at = NULL
             WHERE id = ?",
        )
        .bind(now_millis())
        .bind(source_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Records a failed update of the source; its records stay as they are.
    pub async fn vulndb_failed(&self, source_id: i64, error: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE vulndb_sources SET last_error = ?, last_error_at = ? WHERE id = ?")
            .bind(error)
            .bind(now_millis())
            .bind(source_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// A consistent view of the records in service, for many lookups: a
    /// generation switched in meanwhile is not seen half-way.
    pub async fn vulndb_snapshot(&self) -> Result<VulndbSnapshot, DbError> {
        let mut tx = self.reader.begin().await?;
        // A deferred transaction takes its snapshot at its first read.
        sqlx::query("SELECT 1 FROM vulndb_sources LIMIT 1")
            .execute(&mut *tx)
            .await?;
        Ok(VulndbSnapshot { tx })
    }
}

#[cfg(test)]
impl Db {
    /// Removes every index row's entries, as in a database indexed before
    /// migration 0016.
    pub async fn vulndb_forget_entries(&self) -> Result<(), DbError> {
        sqlx::query("UPDATE vulndb_packages SET entries = NULL")
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

/// Renews the lease of a `writing` generation, or fails when it is no longer
/// this import's.
async fn renew(
    tx: &mut Transaction<'static, Sqlite>,
    generation: i64,
) -> Result<(), VulndbWriteError> {
    let renewed = sqlx::query(
        "UPDATE vulndb_generations SET lease_until = ? WHERE id = ? AND state = 'writing'",
    )
    .bind(now_millis() + LEASE_MS)
    .bind(generation)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if renewed == 1 {
        Ok(())
    } else {
        Err(VulndbWriteError::LeaseLost)
    }
}

/// A read transaction over the records in service.
#[derive(Debug)]
pub struct VulndbSnapshot {
    tx: Transaction<'static, Sqlite>,
}

/// Records, or package names, read per statement.
const RECORDS_PER_QUERY: usize = 500;

impl VulndbSnapshot {
    /// The records in service that name any of `names` in `ecosystem`, by
    /// name, each name's in index order (a record names a package once:
    /// its keys are deduplicated when it is written).
    pub async fn candidates_of(
        &mut self,
        ecosystem: &str,
        names: &[&str],
    ) -> Result<Vec<VulnCandidateRow>, DbError> {
        let mut found = Vec::new();
        for chunk in names.chunks(RECORDS_PER_QUERY) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT p.name, p.record, p.entries,
                        (SELECT r.json FROM vulndb_records r
                         WHERE r.id = p.record AND p.entries IS NULL) AS json
                 FROM vulndb_packages p
                 JOIN vulndb_generations g ON g.id = p.generation AND g.state = 'live'
                 WHERE p.ecosystem = ? AND p.name IN ({marks})"
            );
            let mut query = sqlx::query_as(&sql).bind(ecosystem);
            for name in chunk {
                query = query.bind(name);
            }
            found.extend(query.fetch_all(&mut *self.tx).await?);
        }
        Ok(found)
    }

    /// The JSON of the records with row ids `rows` (those that exist).
    pub async fn records(&mut self, rows: &[i64]) -> Result<Vec<(i64, String)>, DbError> {
        let mut found = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(RECORDS_PER_QUERY) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT id, json FROM vulndb_records WHERE id IN ({marks})");
            let mut query = sqlx::query_as(&sql);
            for row in chunk {
                query = query.bind(row);
            }
            found.extend(query.fetch_all(&mut *self.tx).await?);
        }
        Ok(found)
    }
}
