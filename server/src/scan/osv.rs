//! OSV records (<https://ossf.github.io/osv-schema/>), the part of the schema
//! that matching, severities and the findings' texts use. Unknown fields are
//! ignored; a record that does not fit these types is malformed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One OSV record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `CVE-2023-1234`, `DSA-5555-1`, `GHSA-…`, `PYSEC-…`, `GO-…`, …
    pub id: String,
    /// RFC 3339 time of the last change.
    #[serde(default)]
    pub modified: Option<String>,
    /// RFC 3339 time of publication.
    #[serde(default)]
    pub published: Option<String>,
    /// Set when the record was withdrawn: it must not match anything.
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// Other ids of the same vulnerability.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The upstream vulnerabilities a downstream record (a distribution's
    /// advisory) is about: one CVE for a per-CVE record, several for a
    /// bundled advisory (DSA, DLA, USN).
    #[serde(default)]
    pub upstream: Vec<String>,
    /// Related but different vulnerabilities.
    #[serde(default)]
    pub related: Vec<String>,
    /// One line.
    #[serde(default)]
    pub summary: Option<String>,
    /// Markdown.
    #[serde(default)]
    pub details: Option<String>,
    /// Severity vectors of the whole record.
    #[serde(default)]
    pub severity: Vec<SeverityScore>,
    /// The packages and versions affected.
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// Links.
    #[serde(default)]
    pub references: Vec<Reference>,
    /// Database-specific data (Ubuntu and Debian put their own rating here).
    #[serde(default)]
    pub database_specific: Option<Value>,
}

/// A severity entry: `{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector (or the distribution's rating word).
    pub score: String,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `WEB`, `FIX`, `REPORT`, `PACKAGE`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The address.
    pub url: String,
}

/// One affected package of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package; absent only in records that affect no package by name.
    #[serde(default)]
    pub package: Option<PackageId>,
    /// Severity for this package only.
    #[serde(default)]
    pub severity: Vec<SeverityScore>,
    /// Affected version ranges.
    #[serde(default)]
    pub ranges: Vec<Range>,
    /// Affected versions, listed one by one.
    #[serde(default)]
    pub versions: Vec<String>,
    /// Ecosystem-specific data (Debian's `urgency`, …).
    #[serde(default)]
    pub ecosystem_specific: Option<Value>,
    /// Database-specific data (Ubuntu's and Alpine's ratings, …).
    #[serde(default)]
    pub database_specific: Option<Value>,
}

/// `{"ecosystem": "Debian:12", "name": "openssl", "purl": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageId {
    /// `Debian:12`, `PyPI`, `npm`, …
    pub ecosystem: String,
    /// Name as the ecosystem spells it (Debian: the source package).
    pub name: String,
    /// Package URL, when given.
    #[serde(default)]
    pub purl: Option<String>,
}

/// A version range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT` (git ranges never match a package).
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository of a `GIT` range.
    #[serde(default)]
    pub repo: Option<String>,
    /// The events, in the order given.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// One range event: exactly one of its fields is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Event {
    /// Affected from this version (`0`: from the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// Fixed in this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Affected up to and including this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// Upper bound of where to look (git ranges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// The real OSV records of `testdata/osv/` (see its README), shared by the
/// tests of matching and severities.
#[cfg(test)]
pub(crate) mod testdata {
    use super::Record;

    /// The record in `testdata/osv/{file}`.
    pub(crate) fn record(file: &str) -> Record {
        let path = format!(
            "{}/src/scan/testdata/osv/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }
}
