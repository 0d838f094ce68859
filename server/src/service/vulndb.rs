//! The vulnerability database: OSV records imported from files or downloaded
//! from the configured sources, and matching inventories against them.
//!
//! An import reads a zip of OSV JSON files (osv.dev's per-ecosystem
//! `all.zip`) or a directory of `.json` files on a blocking thread, checks
//! each record against [`crate::scan::osv::Record`], and writes a new
//! generation of the source's records in short transactions; only when every
//! record is written is the source switched to it (see `db::vulndb`). A
//! malformed record (not JSON, the wrong shape, too large, a duplicate id) is
//! skipped and counted, with the first few reasons kept; an archive that
//! cannot be read fails the import, and the previous records stay in service.
//!
//! Each package a record names is indexed with the record's [`Entries`] for
//! it (what deciding whether the record affects a version needs), so
//! matching ([`Registry::matcher`]) looks an inventory's packages up in a few
//! queries, decides from those entries, and reads only the records that
//! apply, for their findings.

use super::{Registry, ServiceResult};
use crate::db::{NewVulnKey, NewVulnRecord, VulndbImported, VulndbWriteError};
use crate::scan::matching::{Candidate, Entries};
use crate::scan::osv::Record;
use crate::scan::{Finding, Inventory};
use serde::Deserialize as _;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest record accepted (osv.dev's largest are a few hundred KiB).
pub const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;
/// The most an archive may expand to, all records together.
pub const MAX_EXPANDED_BYTES: u64 = 16 * 1024 * 1024 * 1024;
/// The largest download accepted from a source.
pub const MAX_DOWNLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// How many reasons for skipped records are kept and reported.
pub const REASONS_KEPT: usize = 10;
/// Records written per transaction.
const BATCH: usize = 500;

/// An inventory's findings against the database in service.
#[derive(Debug, Clone, Default)]
pub struct Matched {
    /// The findings.
    pub findings: Vec<Finding>,
    /// When the database last changed (ms), `None` when it holds nothing.
    pub database_updated_at: Option<i64>,
}

/// Why an import or a download failed. The source's previous records stay in
/// service.
#[derive(Debug, thiserror::Error)]
pub enum VulndbError {
    /// The file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// What was read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a zip archive, or it is damaged or truncated.
    #[error("{path} is not a readable zip archive of OSV records: {message}")]
    Archive {
        /// The file.
        path: PathBuf,
        /// What the zip reader said.
        message: String,
    },
    /// The archive expands to more than [`MAX_EXPANDED_BYTES`].
    #[error("the archive expands to more than {MAX_EXPANDED_BYTES} bytes")]
    TooLarge,
    /// The download failed.
    #[error("download failed: {0}")]
    Download(String),
    /// The source is being imported by another process, or this import lost
    /// its lease.
    #[error(transparent)]
    Write(VulndbWriteError),
}

impl VulndbError {
    /// Whether the error is the source's (recorded on it as its last error),
    /// rather than another import of it running at the same time.
    pub fn is_source_failure(&self) -> bool {
        !matches!(self, Self::Write(VulndbWriteError::Busy(_)))
    }
}

impl From<VulndbWriteError> for VulndbError {
    fn from(error: VulndbWriteError) -> Self {
        Self::Write(error)
    }
}

impl From<crate::db::DbError> for VulndbError {
    fn from(error: crate::db::DbError) -> Self {
        Self::Write(VulndbWriteError::Db(error))
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The source it replaced the records of.
    pub source: String,
    /// Records now in service for it.
    pub records: u64,
    /// Malformed records skipped.
    pub skipped: u64,
    /// The first few reasons (`<file>: <why>`).
    pub skipped_reasons: Vec<String>,
}

/// What an update did to one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The export was downloaded and imported.
    Imported(ImportReport),
    /// The server said it has not changed (HTTP 304).
    NotModified,
    /// It failed; the error is recorded on the source.
    Failed(String),
}

/// One source as `berth vulndb status` and the console show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// URL, or `import:<file name>`.
    pub name: String,
    /// Whether it is one of the `vulndb_sources` (updated by `berth vulndb update`).
    pub configured: bool,
    /// When its records were last replaced (ms).
    pub updated_at: Option<i64>,
    /// When it was last imported or found unchanged (ms).
    pub checked_at: Option<i64>,
    /// Records in service.
    pub records: i64,
    /// Malformed records the last import skipped.
    pub skipped: i64,
    /// The first few reasons.
    pub skipped_reasons: Vec<String>,
    /// The last failed update's error, until an update succeeds.
    pub last_error: Option<String>,
    /// When it failed (ms).
    pub last_error_at: Option<i64>,
}

/// The key a package is indexed and looked up by: the record's ecosystem and
/// name, with PyPI names normalised as PEP 503 says (case and runs of `-_.`
/// do not matter there), so `Django` finds `django`.
pub fn index_key(ecosystem: &str, name: &str) -> (String, String) {
    if ecosystem == "PyPI" {
        let mut normal = String::with_capacity(name.len());
        let mut separator = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                separator = true;
            } else {
                if separator && !normal.is_empty() {
                    normal.push('-');
                }
                separator = false;
                normal.push(c.to_ascii_lowercase());
            }
        }
        (ecosystem.to_owned(), normal)
    } else {
        (ecosystem.to_owned(), name.to_owned())
    }
}

/// One entry read from an archive or directory, checked.
enum Parsed {
    Record(NewVulnRecord),
    Malformed(String),
}

/// Checks one file's bytes as an OSV record.
fn parse_record(bytes: &[u8]) -> Result<NewVulnRecord, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let record = Record::deserialize(&value).map_err(|e| format!("not an OSV record: {e}"))?;
    if record.id.trim().is_empty() {
        return Err("not an OSV record: empty `id`".into());
    }
    let mut names: Vec<(String, String)> = record
        .affected
        .iter()
        .filter_map(|a| a.package.as_ref())
        .map(|p| index_key(&p.ecosystem, &p.name))
        .collect();
    names.sort();
    names.dedup();
    let keys = names
        .into_iter()
        .map(|(ecosystem, name)| {
            let entries = Entries::of(&record, &ecosystem, &name);
            NewVulnKey {
                entries: serde_json::to_string(&entries).expect("entries serialize"),
                ecosystem,
                name,
            }
        })
        .collect();
    Ok(NewVulnRecord {
        id: record.id,
        modified: record.modified,
        json: value.to_string(),
        keys,
    })
}

/// Reads `reader` (at most [`MAX_RECORD_BYTES`]) and checks it as a record;
/// also returns how many bytes it read.
fn read_record(
    reader: impl Read,
    declared: Option<u64>,
) -> std::io::Result<(Result<NewVulnRecord, String>, u64)> {
    let too_large = || Err(format!("larger than {MAX_RECORD_BYTES} bytes"));
    if declared.is_some_and(|size| size > MAX_RECORD_BYTES) {
        return Ok((too_large(), 0));
    }
    let mut bytes = Vec::new();
    reader.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read > MAX_RECORD_BYTES {
        return Ok((too_large(), read));
    }
    Ok((parse_record(&bytes), read))
}

/// Reads every record of the zip at `path` or of the `.json` files under the
/// directory `path`, sending each, checked, to `out`. Duplicated ids are
/// malformed (the first is kept). Runs on a blocking thread.
fn read_records(path: &Path, out: &tokio::sync::mpsc::Sender<Parsed>) -> Result<(), VulndbError> {
    let read_error = |source| VulndbError::Read {
        path: path.to_owned(),
        source,
    };
    let mut seen = HashSet::new();
    let mut send = |name: &str, checked: Result<NewVulnRecord, String>| -> bool {
        let parsed = match checked {
            Ok(record) if !seen.insert(record.id.clone()) => Parsed::Malformed(format!(
                "{name}: duplicate id {} (the first is kept)",
                record.id
            )),
            Ok(record) => Parsed::Record(record),
            Err(reason) => Parsed::Malformed(format!("{name}: {reason}")),
        };
        // The receiver is gone only when the import already failed.
        out.blocking_send(parsed).is_ok()
    };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    if metadata.is_dir() {
        for file in json_files(path).map_err(read_error)? {
            let name = file
                .strip_prefix(path)
                .unwrap_or(&file)
                .display()
                .to_string();
            let reader = std::fs::File::open(&file).map_err(|source| VulndbError::Read {
                path: file.clone(),
                source,
            })?;
            let (checked, _) = read_record(reader, None).map_err(|source| VulndbError::Read {
                path: file.clone(),
                source,
            })?;
            if !send(&name, checked) {
                break;
            }
        }
        return Ok(());
    }
    let archive_error = |e: zip::result::ZipError| VulndbError::Archive {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(archive_error)?;
    let mut expanded = 0u64;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(archive_error)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry {index}"));
        let declared = entry.size();
        // A read error inside an entry (bad CRC, truncated data) is a damaged
        // archive, not a malformed record.
        let (checked, read) =
            read_record(entry, Some(declared)).map_err(|e| VulndbError::Archive {
                path: path.to_owned(),
                message: format!("{name}: {e}"),
            })?;
        // What was really expanded, whatever the headers declare.
        expanded = expanded.saturating_add(read);
        if expanded > MAX_EXPANDED_BYTES {
            return Err(VulndbError::TooLarge);
        }
        if !send(&name, checked) {
            break;
        }
    }
    Ok(())
}

/// The `.json` files under `dir`, at any depth, in path order.
fn json_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The most candidates and records a [`Lookup`] keeps parsed; past it, it
/// forgets them all and starts again. A candidate is a record's entries for
/// one package (a few hundred bytes parsed); a record, kept only for those
/// that matched and without its `affected` entries, is mostly its details
/// text (osv.dev's records average about 2 KiB of JSON in all). So the cache
/// is bounded by an estimated 100 MiB (not measured) however many
/// inventories one continuous scanning run matches.
const CACHED: usize = 50_000;

/// Lookups of the records in service by package, over one read snapshot
/// (an import switching a source meanwhile is not seen half-way), for
/// `scan::matching` on a blocking thread: each key is queried once, each
/// candidate's entries and each matched record parsed once, up to
/// [`CACHED`].
struct Lookup {
    snapshot: crate::db::VulndbSnapshot,
    runtime: tokio::runtime::Handle,
    by_key: HashMap<(String, String), Vec<Candidate>>,
    by_row: HashMap<i64, Arc<Record>>,
    /// Candidates in `by_key` and records in `by_row`.
    cached: usize,
    /// The first database failure; later lookups then find nothing.
    failure: Option<crate::db::DbError>,
}

impl Lookup {
    /// Must be made inside the runtime.
    fn new(snapshot: crate::db::VulndbSnapshot) -> Self {
        Self {
            snapshot,
            runtime: tokio::runtime::Handle::current(),
            by_key: HashMap::new(),
            by_row: HashMap::new(),
            cached: 0,
            failure: None,
        }
    }

    /// Keeps `added` more parsed items: first forgets everything when the
    /// cache would grow past [`CACHED`].
    fn keep(&mut self, added: usize) {
        if self.cached + added > CACHED {
            self.by_key.clear();
            self.by_row.clear();
            self.cached = 0;
        }
        self.cached += added;
    }

    /// The records that name each of the packages `keys` (see
    /// [`index_key`]), as candidates: one list per key, in order. Blocks:
    /// call it from a blocking thread, not from the runtime.
    fn candidates(&mut self, keys: &[(String, String)]) -> Vec<Vec<Candidate>> {
        let keys: Vec<(String, String)> = keys.iter().map(|(e, n)| index_key(e, n)).collect();
        let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (ecosystem, name) in &keys {
            if !self.by_key.contains_key(&(ecosystem.clone(), name.clone())) {
                missing.entry(ecosystem).or_default().push(name);
            }
        }
        let mut fetched: HashMap<(String, String), Vec<Candidate>> = HashMap::new();
        let mut records: Vec<(i64, Arc<Record>)> = Vec::new();
        for (ecosystem, mut names) in missing {
            if self.failure.is_some() {
                break;
            }
            names.sort_unstable();
            names.dedup();
            let rows = match self
                .runtime
                .block_on(self.snapshot.candidates_of(ecosystem, &names))
            {
                Ok(rows) => rows,
                Err(error) => {
                    self.failure = Some(error);
                    break;
                }
            };
            for name in names {
                fetched.insert((ecosystem.to_owned(), name.to_owned()), Vec::new());
            }
            // Stored records and entries were checked when they were imported.
            for row in rows {
                let entries = match (&row.entries, &row.json) {
                    (Some(entries), _) => match serde_json::from_str::<Entries>(entries) {
                        Ok(entries) => entries,
                        Err(_) => continue,
                    },
                    // Indexed before the entries were stored: from the record.
                    (None, Some(json)) => match serde_json::from_str::<Record>(json) {
                        Ok(record) => {
                            let entries = Entries::of(&record, ecosystem, &row.name);
                            records.push((row.record, Arc::new(record)));
                            entries
                        }
                        Err(_) => continue,
                    },
                    (None, None) => continue,
                };
                if let Some(list) = fetched.get_mut(&(ecosystem.to_owned(), row.name)) {
                    list.push(Candidate {
                        record: row.record,
                        entries: Arc::new(entries),
                    });
                }
            }
        }
        let found: Vec<Vec<Candidate>> = keys
            .iter()
            .map(|key| {
                fetched
                    .get(key)
                    .or_else(|| self.by_key.get(key))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        self.keep(fetched.values().map(Vec::len).sum::<usize>() + records.len());
        self.by_key.extend(fetched);
        self.by_row.extend(records);
        found
    }

    /// The records of row ids `rows` (without their `affected` entries: see
    /// [`ForFinding`]), in that order. Blocks.
    fn records(&mut self, rows: &[i64]) -> Vec<Option<Arc<Record>>> {
        let missing: Vec<i64> = rows
            .iter()
            .copied()
            .filter(|row| !self.by_row.contains_key(row))
            .collect();
        let mut fetched: HashMap<i64, Arc<Record>> = HashMap::new();
        if !missing.is_empty() && self.failure.is_none() {
            match self.runtime.block_on(self.snapshot.records(&missing)) {
                Ok(found) => {
                    for (row, json) in found {
                        if let Ok(record) = serde_json::from_str::<ForFinding>(&json) {
                            fetched.insert(row, Arc::new(record.into()));
                        }
                    }
                }
                Err(error) => self.failure = Some(error),
            }
        }
        let found = rows
            .iter()
            .map(|row| fetched.get(row).or_else(|| self.by_row.get(row)).cloned())
            .collect();
        self.keep(fetched.len());
        self.by_row.extend(fetched);
        found
    }
}

/// A record as a finding reads it, once its entries for the package said
/// it applies: every field but `affected` (the entries give those), so the
/// largest part of a record is skipped rather than parsed, allocated and
/// freed again.
#[derive(serde::Deserialize)]
struct ForFinding {
    id: String,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    upstream: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Vec<crate::scan::osv::SeverityScore>,
    #[serde(default)]
    references: Vec<crate::scan::osv::Reference>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

impl From<ForFinding> for Record {
    fn from(r: ForFinding) -> Record {
        Record {
            id: r.id,
            modified: r.modified,
            published: r.published,
            withdrawn: r.withdrawn,
            aliases: r.aliases,
            upstream: r.upstream,
            related: r.related,
            summary: r.summary,
            details: r.details,
            severity: r.severity,
            affected: Vec::new(),
            references: r.references,
            database_specific: r.database_specific,
        }
    }
}

/// Options of [`Registry::vulndb_update`].
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Where downloads are written before they are imported.
    pub temp_dir: PathBuf,
    /// The largest download accepted.
    pub max_download: u64,
}

/// Matches inventories, one after another, against one read snapshot of the
/// database in service, sharing what was fetched and parsed: continuous
/// scanning matches every stored inventory of a run with one (see
/// [`Registry::matcher`]).
pub struct Matcher {
    /// `None` only while a match runs on a blocking thread.
    lookup: Option<Lookup>,
    database_updated_at: Option<i64>,
}

impl Matcher {
    /// When the database last changed (ms) as of the snapshot's start, `None`
    /// when it held nothing.
    pub fn database_updated_at(&self) -> Option<i64> {
        self.database_updated_at
    }

    /// The findings of `packages`, matched on the calling thread. It blocks
    /// on the database: call it off the runtime's threads (a blocking
    /// thread, or the scanner's own), inside the runtime's context.
    pub fn findings_blocking(
        &mut self,
        packages: &[crate::scan::Package],
    ) -> ServiceResult<Matched> {
        let lookup = self
            .lookup
            .as_mut()
            .ok_or_else(|| std::io::Error::other("matching failed before"))?;
        let lookup = std::cell::RefCell::new(lookup);
        let findings = crate::scan::matching::findings_of_candidates(
            packages,
            |keys| lookup.borrow_mut().candidates(keys),
            |rows| lookup.borrow_mut().records(rows),
        );
        if let Some(error) = lookup.into_inner().failure.take() {
            self.lookup = None;
            return Err(error.into());
        }
        Ok(Matched {
            findings,
            database_updated_at: self.database_updated_at,
        })
    }

    /// The findings of `packages`, on a blocking thread.
    pub async fn findings(
        &mut self,
        packages: Vec<crate::scan::Package>,
    ) -> ServiceResult<Matched> {
        let mut alone = Matcher {
            lookup: self.lookup.take(),
            database_updated_at: self.database_updated_at,
        };
        let (matched, alone) = tokio::task::spawn_blocking(move || {
            let matched = alone.findings_blocking(&packages);
            (matched, alone)
        })
        .await
        .map_err(|e| std::io::Error::other(format!("matching failed: {e}")))?;
        self.lookup = alone.lookup;
        matched
    }
}

impl Registry {
    /// A [`Matcher`] over the database in service now. It holds a read
    /// snapshot (SQLite keeps the WAL from being checkpointed past it):
    /// drop it when its run is done.
    pub async fn matcher(&self) -> ServiceResult<Matcher> {
        // Read before the snapshot: a database changed in between is newer
        // than what is recorded, so the inventories are matched again later.
        let database_updated_at = self.db.vulndb_updated_at().await?;
        Ok(Matcher {
            lookup: Some(Lookup::new(self.db.vulndb_snapshot().await?)),
            database_updated_at,
        })
    }

    /// The findings of `inventory` against the database in service.
    /// `scan::matching` decides which keys a package is looked up by; each
    /// is fetched once from one read snapshot, on a blocking thread.
    pub async fn match_inventory(&self, inventory: &Inventory) -> ServiceResult<Matched> {
        let mut matcher = self.matcher().await?;
        let matched = matcher.findings(inventory.packages.clone()).await;
        // Freeing tens of thousands of parsed records took a tenth of a
        // 2,000-package scan (perf): do it on a blocking thread, off the
        // path of the scan's result.
        tokio::task::spawn_blocking(move || drop(matcher));
        matched
    }

    /// When the database last changed (ms), `None` when it holds nothing.
    pub async fn vulndb_updated_at(&self) -> ServiceResult<Option<i64>> {
        Ok(self.db.vulndb_updated_at().await?)
    }

    /// Replaces the records of `source` with those of the zip or directory at
    /// `path`. On failure the error is recorded on the source and its
    /// previous records stay in service.
    pub async fn vulndb_import(
        &self,
        path: &Path,
        source: &str,
    ) -> Result<ImportReport, VulndbError> {
        // A path that is not there is a typo, not a failure of the source:
        // no source is made for it.
        std::fs::metadata(path).map_err(|source| VulndbError::Read {
            path: path.to_owned(),
            source,
        })?;
        let row = self.db.vulndb_source_ensure(source).await?;
        let result = self.import_into(row.id, source, path, None, None).await;
        if let Err(error) = &result {
            if error.is_source_failure() {
                self.db.vulndb_failed(row.id, &error.to_string()).await?;
            }
        }
        result
    }

    /// Writes a new generation of source `source_id` from `path` and
    /// switches the source to it.
    async fn import_into(
        &self,
        source_id: i64,
        source: &str,
        path: &Path,
        etag: Option<String>,
        last_modified: Option<String>,
    ) -> Result<ImportReport, VulndbError> {
        let (generation, stale) = self.db.vulndb_begin(source_id).await?;
        for old in stale {
            self.db.vulndb_delete_generation(old).await?;
        }
        match self.write_generation(generation, path).await {
            Ok((records, skipped, reasons)) => {
                let imported = VulndbImported {
                    records: records as i64,
                    skipped: skipped as i64,
                    skipped_reasons: serde_json::to_string(&reasons)
                        .unwrap_or_else(|_| "[]".into()),
                    etag,
                    last_modified,
                };
                match self
                    .db
                    .vulndb_switch(source_id, generation, &imported)
                    .await
                {
                    Ok(replaced) => {
                        if let Some(old) = replaced {
                            self.db.vulndb_delete_generation(old).await?;
                        }
                        tracing::info!(source, records, skipped, "imported vulnerability records");
                        Ok(ImportReport {
                            source: source.to_owned(),
                            records,
                            skipped,
                            skipped_reasons: reasons,
                        })
                    }
                    Err(error) => {
                        self.discard_generation(generation).await;
                        Err(error.into())
                    }
                }
            }
            Err(error) => {
                self.discard_generation(generation).await;
                Err(error)
            }
        }
    }

    /// Removes a generation whose import failed.
    async fn discard_generation(&self, generation: i64) {
        let removed = async {
            self.db.vulndb_abandon(generation).await?;
            self.db.vulndb_delete_generation(generation).await
        };
        if let Err(error) = removed.await {
            tracing::warn!(%error, generation, "could not remove a failed import's records (the next import of the source removes them)");
        }
    }

    /// Reads `path` on a blocking thread and writes its records in batches;
    /// returns the records written, the records skipped and the first reasons.
    async fn write_generation(
        &self,
        generation: i64,
        path: &Path,
    ) -> Result<(u64, u64, Vec<String>), VulndbError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Parsed>(BATCH * 2);
        let reading = {
            let path = path.to_owned();
            tokio::task::spawn_blocking(move || read_records(&path, &tx))
        };
        let (mut records, mut skipped, mut reasons) = (0u64, 0u64, Vec::new());
        let mut batch = Vec::with_capacity(BATCH);
        let mut written = Ok(());
        while let Some(parsed) = rx.recv().await {
            match parsed {
                Parsed::Record(record) => batch.push(record),
                Parsed::Malformed(reason) => {
                    skipped += 1;
                    if reasons.len() < REASONS_KEPT {
                        reasons.push(reason);
                    }
                }
            }
            if batch.len() >= BATCH {
                records += batch.len() as u64;
                written = self.db.vulndb_write(generation, &batch).await;
                batch.clear();
                if written.is_err() {
                    break;
                }
            }
        }
        // Dropping the receiver stops the reader if writing failed.
        drop(rx);
        let read = reading.await.map_err(|e| VulndbError::Read {
            path: path.to_owned(),
            source: std::io::Error::other(e.to_string()),
        })?;
        written?;
        read?;
        if !batch.is_empty() {
            records += batch.len() as u64;
            self.db.vulndb_write(generation, &batch).await?;
        }
        Ok((records, skipped, reasons))
    }

    /// Downloads every source in `sources` (conditionally, when it was
    /// downloaded before) and imports what changed. Each source's outcome is
    /// recorded on it; a failed one keeps its previous records.
    pub async fn vulndb_update(
        &self,
        sources: &[String],
        options: &UpdateOptions,
    ) -> Vec<(String, UpdateOutcome)> {
        let mut outcomes = Vec::new();
        for url in sources {
            let outcome = match self.update_source(url, options).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    let message = error.to_string();
                    tracing::warn!(source = %url, error = %message, "could not update a vulnerability source");
                    UpdateOutcome::Failed(message)
                }
            };
            outcomes.push((url.clone(), outcome));
        }
        outcomes
    }

    async fn update_source(
        &self,
        url: &str,
        options: &UpdateOptions,
    ) -> Result<UpdateOutcome, VulndbError> {
        let row = self.db.vulndb_source_ensure(url).await?;
        let result = self.download_and_import(&row, url, options).await;
        match &result {
            Ok(UpdateOutcome::NotModified) => self.db.vulndb_checked(row.id).await?,
            Ok(_) => {}
            Err(error) if error.is_source_failure() => {
                self.db.vulndb_failed(row.id, &error.to_string()).await?
            }
            Err(_) => {}
        }
        result
    }

    async fn download_and_import(
        &self,
        row: &crate::db::VulndbSourceRow,
        url: &str,
        options: &UpdateOptions,
    ) -> Result<UpdateOutcome, VulndbError> {
        use tokio::io::AsyncWriteExt as _;
        let failed = |e: &dyn std::fmt::Display| VulndbError::Download(e.to_string());
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(30))
            .read_timeout(std::time::Duration::from_secs(120))
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| failed(&e))?;
        let mut request = client.get(url);
        // Conditional only when the records it would keep are in service.
        if row.updated_at.is_some() {
            if let Some(etag) = &row.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &row.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
            }
        }
        let mut response = request.send().await.map_err(|e| failed(&error_chain(&e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(UpdateOutcome::NotModified);
        }
        if !status.is_success() {
            return Err(VulndbError::Download(format!(
                "{url} answered HTTP {status}"
            )));
        }
        if response
            .content_length()
            .is_some_and(|length| length > options.max_download)
        {
            return Err(VulndbError::Download(format!(
                "{url} is larger than the {}-byte limit",
                options.max_download
            )));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        std::fs::create_dir_all(&options.temp_dir).map_err(|source| VulndbError::Read {
            path: options.temp_dir.clone(),
            source,
        })?;
        let temp = tempfile::Builder::new()
            .prefix("vulndb-download-")
            .suffix(".zip")
            .tempfile_in(&options.temp_dir)
            .map_err(|source| VulndbError::Read {
                path: options.temp_dir.clone(),
                source,
            })?;
        let write_error = |source| VulndbError::Read {
            path: temp.path().to_owned(),
            source,
        };
        let mut file = tokio::fs::File::from_std(temp.reopen().map_err(write_error)?);
        let mut received = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failed(&format!("reading {url}: {}", error_chain(&e))))?
        {
            received += chunk.len() as u64;
            if received > options.max_download {
                return Err(VulndbError::Download(format!(
                    "{url} is larger than the {}-byte limit",
                    options.max_download
                )));
            }
            file.write_all(&chunk).await.map_err(write_error)?;
        }
        file.flush().await.map_err(write_error)?;
        drop(file);
        let report = self
            .import_into(row.id, url, temp.path(), etag, last_modified)
            .await?;
        Ok(UpdateOutcome::Imported(report))
    }

    /// Every source: those in `configured` (`vulndb_sources`) first, in that
    /// order, whether or not they were ever updated, then the others (imports
    /// by hand, sources no longer configured) by name.
    pub async fn vulndb_status(&self, configured: &[String]) -> ServiceResult<Vec<SourceStatus>> {
        let rows = self.db.vulndb_sources().await?;
        let status = |row: &crate::db::VulndbSourceRow, configured: bool| SourceStatus {
            name: row.name.clone(),
            configured,
            updated_at: row.updated_at,
            checked_at: row.checked_at,
            records: row.records,
            skipped: row.skipped,
            skipped_reasons: serde_json::from_str(&row.skipped_reasons).unwrap_or_default(),
            last_error: row.last_error.clone(),
            last_error_at: row.last_error_at,
        };
        let mut list = Vec::new();
        for name in configured {
            list.push(match rows.iter().find(|r| &r.name == name) {
                Some(row) => status(row, true),
                None => SourceStatus {
                    name: name.clone(),
                    configured: true,
                    updated_at: None,
                    checked_at: None,
                    records: 0,
                    skipped: 0,
                    skipped_reasons: Vec::new(),
                    last_error: None,
                    last_error_at: None,
                },
            });
        }
        for row in rows.iter().filter(|r| !configured.contains(&r.name)) {
            list.push(status(row, false));
        }
        Ok(list)
    }
}

/// An error with its causes (reqwest's own message hides "connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vulndb/records")
    }

    async fn registry(dir: &Path) -> Registry {
        crate::service::tests::registry_in(dir).await
    }

    /// The ids of the records a lookup finds for a package.
    fn ids(lookup: &mut Lookup, ecosystem: &str, name: &str) -> Vec<String> {
        let rows: Vec<i64> = lookup.candidates(&[(ecosystem.to_owned(), name.to_owned())])[0]
            .iter()
            .map(|c| c.record)
            .collect();
        lookup
            .records(&rows)
            .into_iter()
            .map(|r| r.expect("a stored record").id.clone())
            .collect()
    }

    /// What matching will look up: records in service by package, over the
    /// snapshot taken when matching started, even if a source is replaced
    /// meanwhile.
    #[tokio::test(flavor = "multi_thread")]
    async fn lookups_find_records_by_package_in_one_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path()).await;
        let empty = registry
            .match_inventory(&Inventory::default())
            .await
            .unwrap();
        assert_eq!(empty.database_updated_at, None);
        let report = registry
            .vulndb_import(&records_dir(), "test")
            .await
            .unwrap();
        assert_eq!((report.records, report.skipped), (4, 0));
        let matched = registry
            .match_inventory(&Inventory::default())
            .await
            .unwrap();
        assert!(matched.database_updated_at.is_some());

        let before = Lookup::new(registry.db.vulndb_snapshot().await.unwrap());
        // The source is replaced by an export of the Maven record only.
        let only_ghsa = dir.path().join("only-ghsa");
        std::fs::create_dir(&only_ghsa).unwrap();
        std::fs::copy(
            records_dir().join("GHSA-838r-hvwh-24h8.json"),
            only_ghsa.join("GHSA-838r-hvwh-24h8.json"),
        )
        .unwrap();
        registry.vulndb_import(&only_ghsa, "test").await.unwrap();
        let after = Lookup::new(registry.db.vulndb_snapshot().await.unwrap());

        let (before, after) = tokio::task::spawn_blocking(move || {
            let look = |mut lookup: Lookup| {
                [
                    ids(&mut lookup, "PyPI", "Cryptography"),
                    ids(&mut lookup, "Debian:7", "nginx"),
                    ids(&mut lookup, "Debian:12", "nginx"),
                    ids(&mut lookup, "Maven", "org.apache.any23:apache-any23"),
                    // Asked twice: served from what was fetched.
                    ids(&mut lookup, "Debian:7", "nginx"),
                ]
            };
            (look(before), look(after))
        })
        .await
        .unwrap();
        let v = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            before,
            [
                v(&["PYSEC-2021-63"]),
                v(&["DSA-3029-1"]),
                v(&[]),
                v(&["GHSA-838r-hvwh-24h8"]),
                v(&["DSA-3029-1"]),
            ]
        );
        assert_eq!(
            after,
            [v(&[]), v(&[]), v(&[]), v(&["GHSA-838r-hvwh-24h8"]), v(&[])]
        );
    }

    /// An inventory of packages the test records name, in and out of
    /// their ranges, as a scan stores it.
    fn inventory() -> Inventory {
        let package = |kind: &str, name: &str, version: &str, ecosystem: &str| {
            serde_json::json!({"kind": kind, "name": name, "version": version,
                "ecosystem": ecosystem, "layer": "sha256:00", "path": "x"})
        };
        serde_json::from_value(serde_json::json!({"packages": [
            package("python", "Cryptography", "3.2", "PyPI"),
            package("python", "cryptography", "3.3.2", "PyPI"),
            package("dpkg", "nginx", "1.2.1-2.2+wheezy2", "Debian:7"),
            package("dpkg", "nginx", "1.2.1-2.2+wheezy2", "Debian:12"),
            package("maven", "org.apache.any23:apache-any23", "2.4", "Maven"),
        ]}))
        .unwrap()
    }

    /// Matching decides from each index row's entries and reads whole
    /// records only for those that match; rows indexed before the entries
    /// were stored (migration 0016) are matched from the whole record, with
    /// the same findings.
    #[tokio::test(flavor = "multi_thread")]
    async fn rows_indexed_with_or_without_entries_give_the_same_findings() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path()).await;
        registry
            .vulndb_import(&records_dir(), "test")
            .await
            .unwrap();
        let with = registry.match_inventory(&inventory()).await.unwrap();
        let found: Vec<(&str, &str, &str)> = with
            .findings
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.package_name.as_str(),
                    f.package_version.as_str(),
                )
            })
            .collect();
        // PYSEC-2021-63 covers cryptography 3.2 but was withdrawn.
        assert_eq!(
            found,
            [
                ("CVE-2014-3616", "nginx", "1.2.1-2.2+wheezy2"),
                ("CVE-2021-38555", "org.apache.any23:apache-any23", "2.4"),
            ]
        );
        registry.db.vulndb_forget_entries().await.unwrap();
        let without = registry.match_inventory(&inventory()).await.unwrap();
        assert_eq!(with.findings, without.findings);
    }

    /// A download over the size limit fails whether the server announces
    /// its length or streams it, leaves no file behind, and is recorded on
    /// the source.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_download_over_the_limit_fails_and_leaves_nothing() {
        use axum::body::{Body, Bytes};
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route(
                "/sized.zip",
                axum::routing::get(|| async { vec![b'x'; 1000] }),
            )
            .route(
                "/streamed.zip",
                axum::routing::get(|| async {
                    let chunks =
                        (0..10).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 100])));
                    Body::from_stream(futures_util::stream::iter(chunks))
                }),
            );
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let options = UpdateOptions {
            temp_dir: dir.path().join("downloads"),
            max_download: 500,
        };
        let sources = [
            format!("http://{addr}/sized.zip"),
            format!("http://{addr}/streamed.zip"),
        ];
        let outcomes = registry.vulndb_update(&sources, &options).await;
        for (source, outcome) in &outcomes {
            match outcome {
                UpdateOutcome::Failed(error) => assert!(
                    error.contains("is larger than the 500-byte limit"),
                    "{source}: {error}"
                ),
                other => panic!("{source}: {other:?}"),
            }
        }
        assert_eq!(
            std::fs::read_dir(&options.temp_dir).unwrap().count(),
            0,
            "a download was left behind"
        );
        let status = registry.vulndb_status(&sources).await.unwrap();
        for source in &status {
            assert!(
                source
                    .last_error
                    .as_deref()
                    .unwrap_or_default()
                    .contains("limit"),
                "{source:?}"
            );
        }
        server.abort();
    }

    /// Another import of the same source running is no failure of the
    /// source; a path that is not there makes no source.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_busy_source_or_a_missing_path_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path()).await;
        let row = registry.db.vulndb_source_ensure("busy").await.unwrap();
        let (held, _) = registry.db.vulndb_begin(row.id).await.unwrap();
        let error = registry
            .vulndb_import(&records_dir(), "busy")
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("another import of this source is running"),
            "{error}"
        );
        let error = registry
            .vulndb_import(&dir.path().join("no-such.zip"), "typo")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("no-such.zip"), "{error}");
        let status = registry.vulndb_status(&[]).await.unwrap();
        assert_eq!(status.len(), 1, "{status:?}");
        assert_eq!(
            (status[0].name.as_str(), &status[0].last_error),
            ("busy", &None)
        );
        // The holder finishes: its (empty) generation goes into service.
        registry
            .db
            .vulndb_switch(row.id, held, &VulndbImported::default())
            .await
            .unwrap();
        let report = registry
            .vulndb_import(&records_dir(), "busy")
            .await
            .unwrap();
        assert_eq!(report.records, 4);
    }

    /// A record over the size limit is one malformed record, found by what
    /// the entry expands to (a zip's headers may understate it).
    #[tokio::test(flavor = "multi_thread")]
    async fn a_record_over_the_size_limit_is_skipped() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path()).await;
        let zip_path = dir.path().join("all.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("huge.json", options).unwrap();
        zip.write_all(b"{\"id\": \"HUGE-1\", \"details\": \"")
            .unwrap();
        zip.write_all(&vec![b' '; MAX_RECORD_BYTES as usize])
            .unwrap();
        zip.write_all(b"\"}").unwrap();
        zip.start_file("GHSA-838r-hvwh-24h8.json", options).unwrap();
        zip.write_all(&std::fs::read(records_dir().join("GHSA-838r-hvwh-24h8.json")).unwrap())
            .unwrap();
        zip.finish().unwrap();
        let report = registry.vulndb_import(&zip_path, "big").await.unwrap();
        assert_eq!((report.records, report.skipped), (1, 1));
        assert_eq!(
            report.skipped_reasons,
            [format!("huge.json: larger than {MAX_RECORD_BYTES} bytes")]
        );
    }

    #[test]
    fn pypi_names_are_normalised_as_pep_503_says() {
        assert_eq!(index_key("PyPI", "Django").1, "django");
        assert_eq!(index_key("PyPI", "zope.interface").1, "zope-interface");
        assert_eq!(index_key("PyPI", "Foo__Bar-.baz").1, "foo-bar-baz");
        assert_eq!(index_key("npm", "Foo_Bar").1, "Foo_Bar");
    }

    #[test]
    fn a_record_is_checked_and_indexed_by_its_packages() {
        let record = parse_record(
            br#"{"id":"X-1","affected":[{"package":{"ecosystem":"PyPI","name":"Jinja2"}},
                {"package":{"ecosystem":"PyPI","name":"jinja2"}},
                {"package":{"ecosystem":"npm","name":"jinja"}}]}"#,
        )
        .unwrap();
        let keys: Vec<(&str, &str)> = record
            .keys
            .iter()
            .map(|k| (k.ecosystem.as_str(), k.name.as_str()))
            .collect();
        assert_eq!(keys, [("PyPI", "jinja2"), ("npm", "jinja")]);
        // Each key carries the entries naming that package, and only those.
        let entries: Entries = serde_json::from_str(&record.keys[0].entries).unwrap();
        assert!(!entries.withdrawn);
        let named: Vec<&str> = entries
            .affected
            .iter()
            .map(|a| a.package.as_ref().unwrap().name.as_str())
            .collect();
        assert_eq!(named, ["Jinja2", "jinja2"]);
        let entries: Entries = serde_json::from_str(&record.keys[1].entries).unwrap();
        assert_eq!(entries.affected.len(), 1);
        assert!(parse_record(b"not json")
            .unwrap_err()
            .starts_with("not JSON"));
        assert!(parse_record(br#"{"id": 5}"#)
            .unwrap_err()
            .starts_with("not an OSV record"));
        assert!(parse_record(br#"{"id": " "}"#).is_err());
    }
}
