//! Which name and version a package's advisories are published under, and
//! whether a record's affected entry names it.

use crate::scan::osv::Affected;
use crate::scan::{Package, PackageKind};
use std::borrow::Cow;

/// PEP 503's normalized project name: PyPI compares names this way.
pub(super) fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !out.is_empty() {
            out.push('-');
        }
        separator = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A Go toolchain version (`go1.20.2`, `go1.21rc2`, `go1.22.1 X:boringcrypto`)
/// as OSV writes it (`1.20.2`, `1.21.0-rc.2`, `1.22.1`); a module version
/// without its `v`.
pub(super) fn go_version(name: &str, version: &str) -> String {
    if name != "stdlib" {
        return version.strip_prefix('v').unwrap_or(version).to_owned();
    }
    let version = version.split_whitespace().next().unwrap_or_default();
    let version = version.strip_prefix("go").unwrap_or(version);
    match version.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => {
            let (core, pre) = version.split_at(i);
            let digits = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
            let core = if core.matches('.').count() == 1 {
                format!("{core}.0")
            } else {
                core.to_owned()
            };
            format!("{core}-{}.{}", &pre[..digits], &pre[digits..])
                .trim_end_matches('.')
                .to_owned()
        }
        None => version.to_owned(),
    }
}

/// The name and version a package's advisories are published under.
pub(super) fn advisory_key(package: &Package) -> (&str, Cow<'_, str>) {
    let found = &package.found;
    match found.kind {
        PackageKind::Dpkg => (
            found.source_name.as_deref().unwrap_or(&found.name),
            Cow::Borrowed(found.source_version.as_deref().unwrap_or(&found.version)),
        ),
        PackageKind::Apk => (
            found.source_name.as_deref().unwrap_or(&found.name),
            Cow::Borrowed(&found.version),
        ),
        PackageKind::Go => (
            &found.name,
            Cow::Owned(go_version(&found.name, &found.version)),
        ),
        _ => (&found.name, Cow::Borrowed(&found.version)),
    }
}

/// Whether the record names the package `name` in `ecosystem`.
pub(super) fn names(affected: &Affected, ecosystem: &str, name: &str) -> bool {
    affected.package.as_ref().is_some_and(|p| {
        p.ecosystem == ecosystem
            && if ecosystem == "PyPI" {
                p.name == name || pep503(&p.name) == pep503(name)
            } else {
                p.name == name
            }
    })
}
