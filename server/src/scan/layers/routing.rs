//! Which files matter to the scan, told by their path alone: the routing of
//! each tar entry to the reader of its package database or metadata.

use crate::scan::packages::npm;

/// What a file is to the scan, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Interest {
    OsRelease,
    /// `status_optional` for the files of `status.d`.
    Dpkg {
        status_optional: bool,
    },
    Apk,
    Rpmdb,
    Python,
    Npm,
    Jar,
    /// Any other regular file: an executable if it starts with `\x7fELF`.
    MaybeExecutable,
}

impl Interest {
    pub(super) fn of(path: &str) -> Interest {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let lower = name.to_ascii_lowercase();
        match path {
            "var/lib/dpkg/status" => {
                return Interest::Dpkg {
                    status_optional: false,
                }
            }
            "lib/apk/db/installed" | "usr/lib/apk/db/installed" => return Interest::Apk,
            // Fedora 36+ and RHEL 9 keep it in /usr/lib/sysimage/rpm, with
            // /var/lib/rpm a symbolic link to it.
            "var/lib/rpm/rpmdb.sqlite" | "usr/lib/sysimage/rpm/rpmdb.sqlite" => {
                return Interest::Rpmdb
            }
            _ => {}
        }
        if is_os_release(path) {
            Interest::OsRelease
        } else if dir == "var/lib/dpkg/status.d" && !name.ends_with(".md5sums") {
            Interest::Dpkg {
                status_optional: true,
            }
        } else if (name == "METADATA" && dir.ends_with(".dist-info"))
            || (name == "PKG-INFO" && dir.ends_with(".egg-info"))
            || name.ends_with(".egg-info")
        {
            Interest::Python
        } else if name == "package.json" && npm::is_installed_manifest(path) {
            Interest::Npm
        } else if [".jar", ".war", ".ear"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            Interest::Jar
        } else {
            Interest::MaybeExecutable
        }
    }
}

/// Symbolic links kept for resolving `os-release`: those to an
/// `os-release` and the folders on the way to one.
pub(super) fn keep_symlink(path: &str) -> bool {
    is_os_release(path) || matches!(path, "etc" | "usr" | "lib" | "usr/lib")
}

/// Files that may hold an `os-release`: those named so, and the variants
/// that Fedora's `/usr/lib/os-release` links to
/// (`/usr/lib/os.release.d/os-release-container`, …).
fn is_os_release(path: &str) -> bool {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    name.starts_with("os-release") || dir.ends_with("os.release.d")
}

/// A path inside the image: no leading `/`, no `.` or empty parts, `..`
/// applied; an error if it climbs above the root.
pub(super) fn normalise(name: &str) -> Result<String, ()> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or(())?;
            }
            _ => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}
