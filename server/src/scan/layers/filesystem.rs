//! The union file system of the layers read so far, kept only for the files
//! that matter (whiteouts and opaque directories applied by the walker), and
//! the inventory it yields once every layer is read.

use super::Limits;
use crate::scan::packages::os_release;
use crate::scan::{Distro, Found, Inventory, Package, PackageKind, ScanError};
use std::collections::{BTreeMap, VecDeque};

/// What is kept of one file that matters.
#[derive(Debug, Clone)]
pub(super) enum Content {
    /// An `os-release` file.
    OsRelease(Distro),
    /// Packages, each with the suffix its path gets (`!/inner.jar` for a
    /// nested Java archive, else empty).
    Packages(Vec<(String, Found)>),
    /// A symbolic link on the way to `os-release`, with its target.
    Symlink(String),
}

/// A kept file and the layer that wrote it.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) layer: usize,
    pub(super) content: Content,
}

/// The files that matter, as the union of the layers read so far shows them.
#[derive(Default)]
pub(super) struct FileSystem {
    pub(super) files: BTreeMap<String, Record>,
}

impl FileSystem {
    /// Removes `path` and everything below it written by layers below
    /// `below` (every layer when `below` is `usize::MAX`).
    pub(super) fn remove_tree(&mut self, path: &str, below: usize) {
        if self.files.get(path).is_some_and(|r| r.layer < below) {
            self.files.remove(path);
        }
        self.remove_children(path, below);
    }

    /// Removes what is below the directory `dir` written by layers below
    /// `below`.
    pub(super) fn remove_children(&mut self, dir: &str, below: usize) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(_, r)| r.layer < below)
            .map(|(p, _)| p.clone())
            .collect();
        for path in doomed {
            self.files.remove(&path);
        }
    }

    /// Where `path` leads once every kept symbolic link on the way is
    /// followed (relative targets from the link's folder, absolute ones from
    /// the image root).
    pub(super) fn resolve(&self, path: &str, max_hops: usize) -> Result<String, String> {
        let mut pending: VecDeque<String> = path.split('/').map(str::to_string).collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    if resolved.pop().is_none() {
                        return Err(format!(
                            "a symbolic link on the way to /{path} leads outside the image root"
                        ));
                    }
                    continue;
                }
                _ => resolved.push(part),
            }
            let here = resolved.join("/");
            if let Some(Record {
                content: Content::Symlink(target),
                ..
            }) = self.files.get(&here)
            {
                hops += 1;
                if hops > max_hops {
                    return Err(format!(
                        "the symbolic links at /{path} loop (more than {max_hops} followed)"
                    ));
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                for part in target.split('/').rev() {
                    pending.push_front(part.to_string());
                }
            }
        }
        Ok(resolved.join("/"))
    }

    pub(super) fn distro(&self, limits: &Limits) -> Result<Option<Distro>, ScanError> {
        // os-release(5): /etc/os-release first, /usr/lib/os-release if none.
        for candidate in ["etc/os-release", "usr/lib/os-release"] {
            let path = self
                .resolve(candidate, limits.max_symlink_hops)
                .map_err(ScanError::Rejected)?;
            if let Some(Record {
                content: Content::OsRelease(distro),
                ..
            }) = self.files.get(&path)
            {
                return Ok(Some(distro.clone()));
            }
        }
        Ok(None)
    }

    pub(super) fn into_inventory(
        self,
        digests: &[String],
        notes: Notes,
        limits: &Limits,
    ) -> Result<Inventory, ScanError> {
        let distro = self.distro(limits)?;
        let os_ecosystem = distro.as_ref().and_then(os_release::ecosystem);
        let mut kept: Vec<KeptPackages> = self
            .files
            .into_iter()
            .filter_map(|(path, record)| match record.content {
                Content::Packages(found) => Some((record.layer, path, found)),
                _ => None,
            })
            .collect();
        kept.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let packages: Vec<Package> = kept
            .into_iter()
            .flat_map(|(layer, path, found)| {
                let os_ecosystem = os_ecosystem.clone();
                found.into_iter().map(move |(suffix, found)| Package {
                    ecosystem: match found.kind {
                        PackageKind::Dpkg | PackageKind::Apk | PackageKind::Rpm => {
                            os_ecosystem.clone()
                        }
                        PackageKind::Python => Some("PyPI".into()),
                        PackageKind::Npm => Some("npm".into()),
                        PackageKind::Go => Some("Go".into()),
                        PackageKind::Rust => Some("crates.io".into()),
                        PackageKind::Maven => Some("Maven".into()),
                    },
                    found,
                    layer: digests[layer].clone(),
                    path: format!("{path}{suffix}"),
                })
            })
            .collect();
        if packages.is_empty() && os_ecosystem.is_none() {
            let os = match &distro {
                Some(d) => format!(
                    "The image's operating system, {}, is not one Berth has advisories for",
                    d.pretty_name
                        .clone()
                        .unwrap_or_else(|| format!("{} {}", d.id, d.version_id))
                ),
                None => "The image has no /etc/os-release or /usr/lib/os-release naming its operating system".into(),
            };
            return Err(ScanError::Unsupported(format!(
                "{os}, and no package was found in its layers (Berth reads dpkg, apk and rpm databases, Python, npm and Java packages, and Go and Rust binaries)"
            )));
        }
        Ok(Inventory {
            distro,
            packages,
            notes: notes.into_vec(),
        })
    }
}

/// The packages of one kept file: its layer, its path, and each package
/// with the suffix of its path.
pub(super) type KeptPackages = (usize, String, Vec<(String, Found)>);

/// Notes about files that yielded nothing, the first few kept.
pub(super) struct Notes {
    kept: Vec<String>,
    dropped: usize,
    max: usize,
}

impl Notes {
    pub(super) fn new(max: usize) -> Self {
        Self {
            kept: Vec::new(),
            dropped: 0,
            max,
        }
    }

    pub(super) fn push(&mut self, note: String) {
        if self.kept.len() < self.max {
            self.kept.push(note);
        } else {
            self.dropped += 1;
        }
    }

    pub(super) fn into_vec(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.kept
                .push(format!("… and {} more notes like these", self.dropped));
        }
        self.kept
    }
}
