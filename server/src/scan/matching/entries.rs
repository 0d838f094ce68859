//! What deciding whether a record affects a package needs of it, digested
//! at import, and the candidates a lookup finds.

use super::names::names;
use crate::scan::osv::{Affected, Record};
use std::sync::Arc;

/// What matching needs of one record to decide whether it affects one
/// package: whether it was withdrawn, and its affected entries that name
/// the package.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entries {
    /// Whether the record was withdrawn (see [`withdrawn`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
    /// Its affected entries that name the package.
    #[serde(default)]
    pub affected: Vec<Affected>,
}

impl Entries {
    /// What matching needs of `record` for the package `name` of
    /// `ecosystem` (PyPI names compared as PEP 503 says).
    pub fn of(record: &Record, ecosystem: &str, name: &str) -> Entries {
        Entries {
            withdrawn: withdrawn(record),
            affected: record
                .affected
                .iter()
                .filter(|a| names(a, ecosystem, name))
                .cloned()
                .collect(),
        }
    }
}

/// A record a lookup found for a package: what deciding whether it affects
/// the package needs, and the handle its whole record is fetched by when
/// it does.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The handle (the database's row id).
    pub record: i64,
    /// Its entries for the package.
    pub entries: Arc<Entries>,
}

/// Whether a record was withdrawn. Debian's converter writes the zero time
/// (`0001-01-01T00:00:00Z`) where nothing was withdrawn, so that is not one.
pub(super) fn withdrawn(record: &Record) -> bool {
    record
        .withdrawn
        .as_deref()
        .is_some_and(|w| !w.trim().is_empty() && !w.starts_with("0001-01-01"))
}
