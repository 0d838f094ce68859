//! Scanning: what is inside an image (package inventories read from its
//! layers, streaming, as the container sees its file system), the OSV
//! advisory records, each ecosystem's version order, matching inventories
//! against advisories, and the CycloneDX SBOM of an inventory.
//!
//! Rule of this module: it is pure. It reads bytes from the readers it is
//! given and returns values; it never touches the database, the blob store or
//! the network (`service::scans` and `service::vulndb` do, and call it).

pub mod layers;
pub mod matching;
pub mod osv;
pub mod packages;
pub mod sbom;
pub mod severity;
pub mod version;

use serde::{Deserialize, Serialize};

/// The distribution an image is built on, from its `os-release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    /// `ID` (`debian`, `ubuntu`, `alpine`, `fedora`, `rhel`, `rocky`, …).
    pub id: String,
    /// `VERSION_ID` (`12`, `22.04`, `3.19.1`, …), empty when absent.
    pub version_id: String,
    /// `PRETTY_NAME`, when present.
    pub pretty_name: Option<String>,
}

/// Which package database (or binary) a package was read from. It fixes the
/// version order and, for OS packages, which distribution ecosystem applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    /// `/var/lib/dpkg/status`, `/var/lib/dpkg/status.d/*`.
    Dpkg,
    /// `/lib/apk/db/installed`.
    Apk,
    /// The SQLite rpmdb.
    Rpm,
    /// `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`.
    Python,
    /// `node_modules/**/package.json`.
    Npm,
    /// A Go binary's build info (modules, and `stdlib` at the Go version).
    Go,
    /// A Rust binary's `cargo auditable` dependency list.
    Rust,
    /// `META-INF/maven/**/pom.properties` inside a jar.
    Maven,
}

/// One package as a parser reads it, before the walker adds where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// The database it came from.
    pub kind: PackageKind,
    /// Package name as its ecosystem spells it (Maven: `group:artifact`).
    pub name: String,
    /// Installed version, as the database records it (dpkg with epoch and
    /// revision, rpm `[epoch:]version-release`, apk `version-rN`).
    pub version: String,
    /// The source package, when the database records one (dpkg `Source:`,
    /// apk origin, rpm source rpm's name).
    pub source_name: Option<String>,
    /// The source package's version, when it differs from `version`.
    pub source_version: Option<String>,
}

/// One package in an image's inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// What the parser read.
    #[serde(flatten)]
    pub found: Found,
    /// The OSV ecosystem its advisories are published under: `Debian:12`,
    /// `Ubuntu:22.04:LTS`, `Alpine:v3.19`, `Red Hat`, `PyPI`, `npm`, `Go`,
    /// `crates.io`, `Maven`; `None` for an OS package whose distribution is
    /// not recognised.
    pub ecosystem: Option<String>,
    /// Digest of the layer whose file recorded it.
    pub layer: String,
    /// Path of that file inside the image, without a leading `/`.
    pub path: String,
}

/// What a scan found inside an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Inventory {
    /// The distribution, when `os-release` names one.
    pub distro: Option<Distro>,
    /// Every package found, in layer order then path order.
    pub packages: Vec<Package>,
    /// Files that looked like package data but yielded nothing, each with
    /// why (an rpmdb or executable that could not be read, metadata without
    /// a version, …): shown with the scan so a missing package is explained.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// ECR's finding severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// CVSS 9.0–10.0, or the distribution says critical.
    Critical,
    /// CVSS 7.0–8.9.
    High,
    /// CVSS 4.0–6.9.
    Medium,
    /// CVSS 0.1–3.9.
    Low,
    /// The distribution rates it negligible or unimportant.
    Informational,
    /// No rating anywhere in the record.
    Undefined,
}

/// One vulnerability affecting one package of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The CVE id when one of the folded records has one, else the record id.
    pub name: String,
    /// Every id folded into this finding (record ids and aliases), sorted.
    pub ids: Vec<String>,
    /// The record's summary, else the start of its details.
    pub description: String,
    /// A link to read more (the record's advisory or web reference).
    pub uri: Option<String>,
    /// ECR's severity.
    pub severity: Severity,
    /// CVSS v3 base score, when the record has a v3 vector.
    pub cvss3_score: Option<f64>,
    /// That vector.
    pub cvss3_vector: Option<String>,
    /// The affected package (as installed: the binary package's name).
    pub package_name: String,
    /// Its installed version.
    pub package_version: String,
    /// Its OSV ecosystem.
    pub ecosystem: String,
    /// The lowest version that fixes it, when the record names one.
    pub fixed_version: Option<String>,
    /// Where the package was found.
    pub layer: String,
    /// The file that recorded the package.
    pub path: String,
}

/// Why a scan could not produce an inventory.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// ECR's `UNSUPPORTED_IMAGE`: neither an OS nor any package was recognised
    /// (or the media type is not an image's).
    #[error("{0}")]
    Unsupported(String),
    /// The image is malformed or hostile (a decompression bomb, absurd
    /// headers, path traversal, …): the scan fails with this reason.
    #[error("{0}")]
    Rejected(String),
    /// Reading a layer failed.
    #[error("reading a layer failed: {0}")]
    Io(#[from] std::io::Error),
}
