//! An image's file system as the container sees it, read from its layers in
//! order, streaming, and the package inventory found in it.
//!
//! Each layer is a tar stream (gzip, zstd or uncompressed, told apart by its
//! first bytes; the media type only has to be a layer's). Entries are read
//! once, front to back, through fixed buffers: a layer of any size is read in
//! constant memory. Only the files that matter are kept, parsed, keyed by
//! path with the layer that wrote them: `os-release`, the dpkg, apk and rpm
//! databases, Python and npm metadata, Java archives, and executables (ELF
//! files, for Go build info and `cargo auditable` lists). The union file
//! system is applied as the layers are read: a whiteout `.wh.NAME` removes
//! `NAME` and everything under it from lower layers, an opaque marker
//! `DIR/.wh..wh..opq` hides lower layers' entries under `DIR`, and any entry
//! replaces what lower layers had at its path (a non-directory also replaces
//! everything below it).
//!
//! Hostile layers are refused with [`ScanError::Rejected`] and a reason, never
//! a panic, unbounded memory or an endless loop: every limit is in
//! [`Limits`].

mod tar;

use super::packages::java::{self, JarError, JarLimits};
use super::packages::{apk, binary, dpkg, npm, os_release, python, rpm};
use super::{Distro, Found, Inventory, Package, PackageKind, ScanError};
use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::PathBuf;
use tar::{Kind, TarError, TarReader};

/// One layer to read, lowest first.
pub struct LayerInput {
    /// The layer's digest (recorded on each package found in it).
    pub digest: String,
    /// The layer's media type (gzip, zstd or uncompressed tar).
    pub media_type: String,
    /// The layer's bytes as stored.
    pub reader: Box<dyn Read + Send>,
}

/// The bounds a scan keeps to, whatever the layers hold. The defaults suit
/// real images (a few GiB, a few hundred thousand files) with a wide margin.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes of tar stream that may be decompressed, all layers together
    /// (default 64 GiB).
    pub max_expanded_bytes: u64,
    /// How many times its compressed size a layer may expand to (default
    /// 200; real layers expand 2–10 times)…
    pub max_ratio: u64,
    /// …once it has expanded to more than this (default 256 MiB), so a
    /// small layer of zeros is not refused.
    pub ratio_grace_bytes: u64,
    /// Tar entries, all layers together (default 4,000,000).
    pub max_entries: u64,
    /// The largest GNU long name or long link, or PAX extended header
    /// (default 1 MiB; a path is at most 4 KiB on Linux).
    pub max_header_bytes: u64,
    /// The largest text file (package database, metadata) read into memory
    /// (default 32 MiB). A dpkg or apk database above it is refused; other
    /// files above it are passed over with a note.
    pub max_text_bytes: u64,
    /// The largest executable or rpmdb copied to a temporary file to be read
    /// (default 1 GiB); larger ones are passed over with a note.
    pub max_spool_bytes: u64,
    /// Symbolic links followed to resolve one path (default 40, as Linux).
    pub max_symlink_hops: usize,
    /// The largest zstd window accepted, as a power of two (default 27,
    /// 128 MiB: zstd's own decoder default, so every layer a container
    /// runtime can pull is read; zstd's normal levels use 8 MiB or less).
    pub zstd_window_log_max: u32,
    /// Java archives: nesting depth, expansion and entries.
    pub jar: JarLimits,
    /// Where temporary copies go (default: the system's temporary folder).
    pub spool_dir: Option<PathBuf>,
    /// How many notes about files that yielded nothing are kept (default 100).
    pub max_notes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_expanded_bytes: 64 << 30,
            max_ratio: 200,
            ratio_grace_bytes: 256 << 20,
            max_entries: 4_000_000,
            max_header_bytes: 1 << 20,
            max_text_bytes: 32 << 20,
            max_spool_bytes: 1 << 30,
            max_symlink_hops: 40,
            zstd_window_log_max: 27,
            jar: JarLimits::default(),
            spool_dir: None,
            max_notes: 100,
        }
    }
}

/// The inventory of the image made of `layers`, lowest layer first, within
/// the default [`Limits`].
pub fn inventory(layers: Vec<LayerInput>) -> Result<Inventory, ScanError> {
    inventory_with_limits(layers, &Limits::default())
}

/// The inventory of the image made of `layers`, lowest layer first.
///
/// [`ScanError::Unsupported`] when neither a supported distribution nor any
/// package is found, or a layer's media type is not an image layer's;
/// [`ScanError::Rejected`] for a malformed or hostile layer.
pub fn inventory_with_limits(
    layers: Vec<LayerInput>,
    limits: &Limits,
) -> Result<Inventory, ScanError> {
    let mut fs = FileSystem::default();
    let mut notes = Notes::new(limits.max_notes);
    let meter = Meter::default();
    let mut digests = Vec::with_capacity(layers.len());
    for (index, layer) in layers.into_iter().enumerate() {
        let declared = declared_compression(&layer.media_type).ok_or_else(|| {
            ScanError::Unsupported(format!(
                "layer {} has media type {}, which is not a container image layer",
                layer.digest, layer.media_type
            ))
        })?;
        digests.push(layer.digest.clone());
        let mut walker = Walker {
            layer: index,
            digest: &layer.digest,
            limits,
            fs: &mut fs,
            notes: &mut notes,
            meter: &meter,
        };
        walker.read_layer(layer.reader, declared)?;
    }
    fs.into_inventory(&digests, notes, limits)
}

/// Compression, as a media type declares it or the first bytes show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// The compression a layer media type declares, `None` for a media type that
/// is not a layer's. OCI (`application/vnd.oci.image.layer.v1.tar`,
/// `+gzip`, `+zstd`, and the `nondistributable` variants) and Docker
/// (`application/vnd.docker.image.rootfs.diff.tar.gzip`, `…foreign…`).
fn declared_compression(media_type: &str) -> Option<Compression> {
    let oci = media_type.strip_prefix("application/vnd.oci.image.layer.");
    let docker = media_type.strip_prefix("application/vnd.docker.image.rootfs.");
    let rest = oci.or(docker)?;
    if rest.ends_with("+gzip") || rest.ends_with(".tar.gzip") {
        Some(Compression::Gzip)
    } else if rest.ends_with("+zstd") || rest.ends_with(".tar.zstd") {
        Some(Compression::Zstd)
    } else if rest.ends_with(".tar") {
        Some(Compression::None)
    } else {
        None
    }
}

/// What the first bytes of a stream show.
fn sniffed_compression(head: &[u8]) -> Option<Compression> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Compression::Zstd)
    } else {
        None
    }
}

/// Bytes read, compressed and expanded, for the decompression-bomb limits.
#[derive(Default)]
struct Meter {
    /// This layer's compressed bytes read so far.
    compressed: Cell<u64>,
    /// This layer's tar bytes so far.
    expanded: Cell<u64>,
    /// All layers' tar bytes so far.
    total_expanded: Cell<u64>,
    /// All layers' tar entries so far.
    entries: Cell<u64>,
}

/// A limit crossed while reading, carried inside an `io::Error` out of the
/// decompressor and the tar reader.
#[derive(Debug)]
struct LimitCrossed(String);

impl fmt::Display for LimitCrossed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitCrossed {}

/// An error of the reader the layer came from (the blob store), not of the
/// layer's bytes: the scan fails with it rather than blame the image.
#[derive(Debug)]
struct StoreFailed(io::Error);

impl fmt::Display for StoreFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoreFailed {}

/// Counts the compressed bytes a layer's decompressor reads.
struct CountCompressed<'m, R> {
    inner: R,
    meter: &'m Meter,
}

impl<R: Read> Read for CountCompressed<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), StoreFailed(e)))?;
        self.meter
            .compressed
            .set(self.meter.compressed.get() + n as u64);
        Ok(n)
    }
}

/// Counts the tar bytes a layer expands to, and stops a bomb.
struct CountExpanded<'m, 'l, R> {
    inner: R,
    meter: &'m Meter,
    limits: &'l Limits,
}

impl<R: Read> Read for CountExpanded<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let (meter, limits) = (self.meter, self.limits);
        let expanded = meter.expanded.get() + n as u64;
        let total = meter.total_expanded.get() + n as u64;
        meter.expanded.set(expanded);
        meter.total_expanded.set(total);
        if total > limits.max_expanded_bytes {
            return Err(io::Error::other(LimitCrossed(format!(
                "the image's layers expand to more than {} bytes (a decompression bomb?)",
                limits.max_expanded_bytes
            ))));
        }
        let compressed = meter.compressed.get().max(1);
        if expanded > limits.ratio_grace_bytes && expanded / compressed > limits.max_ratio {
            return Err(io::Error::other(LimitCrossed(format!(
                "it expands more than {} times its compressed size (a decompression bomb?)",
                limits.max_ratio
            ))));
        }
        Ok(n)
    }
}

/// What is kept of one file that matters.
#[derive(Debug, Clone)]
enum Content {
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
struct Record {
    layer: usize,
    content: Content,
}

/// The files that matter, as the union of the layers read so far shows them.
#[derive(Default)]
struct FileSystem {
    files: BTreeMap<String, Record>,
}

impl FileSystem {
    /// Removes `path` and everything below it written by layers below
    /// `below` (every layer when `below` is `usize::MAX`).
    fn remove_tree(&mut self, path: &str, below: usize) {
        if self.files.get(path).is_some_and(|r| r.layer < below) {
            self.files.remove(path);
        }
        self.remove_children(path, below);
    }

    /// Removes what is below the directory `dir` written by layers below
    /// `below`.
    fn remove_children(&mut self, dir: &str, below: usize) {
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
    fn resolve(&self, path: &str, max_hops: usize) -> Result<String, String> {
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

    fn distro(&self, limits: &Limits) -> Result<Option<Distro>, ScanError> {
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

    fn into_inventory(
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
type KeptPackages = (usize, String, Vec<(String, Found)>);

/// Notes about files that yielded nothing, the first few kept.
struct Notes {
    kept: Vec<String>,
    dropped: usize,
    max: usize,
}

impl Notes {
    fn new(max: usize) -> Self {
        Self {
            kept: Vec::new(),
            dropped: 0,
            max,
        }
    }

    fn push(&mut self, note: String) {
        if self.kept.len() < self.max {
            self.kept.push(note);
        } else {
            self.dropped += 1;
        }
    }

    fn into_vec(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.kept
                .push(format!("… and {} more notes like these", self.dropped));
        }
        self.kept
    }
}

/// What a file is to the scan, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interest {
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
    fn of(path: &str) -> Interest {
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
fn keep_symlink(path: &str) -> bool {
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
fn normalise(name: &str) -> Result<String, ()> {
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

/// Reads one layer into the file system.
struct Walker<'a> {
    layer: usize,
    digest: &'a str,
    limits: &'a Limits,
    fs: &'a mut FileSystem,
    notes: &'a mut Notes,
    meter: &'a Meter,
}

impl Walker<'_> {
    fn read_layer(
        &mut self,
        reader: Box<dyn Read + Send>,
        declared: Compression,
    ) -> Result<(), ScanError> {
        let meter = self.meter;
        meter.compressed.set(0);
        meter.expanded.set(0);
        let mut source = BufReader::with_capacity(
            64 << 10,
            CountCompressed {
                inner: reader,
                meter,
            },
        );
        let head = source.fill_buf().map_err(|e| self.io_error(e, declared))?;
        let compression = match sniffed_compression(head) {
            Some(found) => found,
            // Not compressed, whatever the media type says: Docker has long
            // labelled uncompressed layers `tar.gzip`.
            None => Compression::None,
        };
        let decompressed: Box<dyn Read + '_> = match compression {
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(source)),
            Compression::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(source)?;
                decoder.window_log_max(self.limits.zstd_window_log_max)?;
                Box::new(decoder)
            }
            Compression::None => Box::new(source),
        };
        let expanded = CountExpanded {
            inner: decompressed,
            meter,
            limits: self.limits,
        };
        let mut tar = TarReader::new(
            BufReader::with_capacity(64 << 10, expanded),
            self.limits.max_header_bytes,
        );
        let mut first = true;
        loop {
            let header = match tar.next() {
                Ok(Some(header)) => header,
                Ok(None) => break,
                Err(TarError::Io(e)) => return Err(self.io_error(e, compression)),
                Err(TarError::Malformed(_)) if first && compression != declared => {
                    return Err(self.rejected(format!(
                        "its media type says {declared}, and it is neither {declared} nor tar"
                    )));
                }
                Err(TarError::Malformed(reason)) => return Err(self.rejected(reason)),
            };
            first = false;
            let entries = meter.entries.get() + 1;
            meter.entries.set(entries);
            if entries > self.limits.max_entries {
                return Err(self.rejected(format!(
                    "the image has more than {} files",
                    self.limits.max_entries
                )));
            }
            self.entry(&header, &mut tar.data()).map_err(|e| match e {
                ScanError::Io(e) => self.io_error(e, compression),
                other => other,
            })?;
        }
        Ok(())
    }

    fn rejected(&self, reason: String) -> ScanError {
        ScanError::Rejected(format!("layer {}: {reason}", self.digest))
    }

    /// A reading error, told apart: a limit, a truncated or corrupt stream
    /// (the layer's fault), or the store failing.
    fn io_error(&self, e: io::Error, compression: Compression) -> ScanError {
        if let Some(limit) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<LimitCrossed>())
        {
            return self.rejected(limit.to_string());
        }
        if e.get_ref().is_some_and(|inner| inner.is::<StoreFailed>()) {
            return ScanError::Io(e);
        }
        match e.kind() {
            io::ErrorKind::UnexpectedEof => self.rejected(format!("it is truncated ({e})")),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::Other => {
                self.rejected(format!("it is not valid {compression} data ({e})"))
            }
            _ => ScanError::Io(e),
        }
    }

    fn entry(&mut self, header: &tar::Header, data: &mut dyn Read) -> Result<(), ScanError> {
        let path = normalise(&header.path).map_err(|()| {
            self.rejected(format!(
                "the entry {:?} leads outside the image root",
                header.path
            ))
        })?;
        if path.is_empty() {
            return Ok(());
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        if let Some(hidden) = name.strip_prefix(".wh.") {
            if hidden == ".wh..opq" {
                self.fs.remove_children(dir, self.layer);
            } else if !hidden.starts_with(".wh.") {
                let target = if dir.is_empty() {
                    hidden.to_string()
                } else {
                    format!("{dir}/{hidden}")
                };
                self.fs.remove_tree(&target, self.layer);
            }
            // Other `.wh..wh.` names are aufs's own bookkeeping.
            return Ok(());
        }
        if header.kind == Kind::Dir {
            // A directory replaces a file at its path, and merges with a
            // directory there.
            if self.fs.files.contains_key(&path) {
                self.fs.files.remove(&path);
            }
            return Ok(());
        }
        self.fs.remove_tree(&path, usize::MAX);
        match header.kind {
            Kind::Symlink if keep_symlink(&path) => {
                self.keep(path, Content::Symlink(header.link.clone()));
            }
            Kind::Hardlink => {
                let target = normalise(&header.link).map_err(|()| {
                    self.rejected(format!(
                        "the hard link {path} points outside the image root ({:?})",
                        header.link
                    ))
                })?;
                if let Some(record) = self.fs.files.get(&target).cloned() {
                    self.keep(path, record.content);
                }
            }
            Kind::File => self.file(path, header.size, data)?,
            _ => {}
        }
        Ok(())
    }

    fn keep(&mut self, path: String, content: Content) {
        self.fs.files.insert(
            path,
            Record {
                layer: self.layer,
                content,
            },
        );
    }

    fn file(&mut self, path: String, size: u64, data: &mut dyn Read) -> Result<(), ScanError> {
        let interest = Interest::of(&path);
        let packages = |found: Vec<Found>| {
            Content::Packages(found.into_iter().map(|f| (String::new(), f)).collect())
        };
        match interest {
            Interest::OsRelease
            | Interest::Dpkg { .. }
            | Interest::Apk
            | Interest::Python
            | Interest::Npm => {
                let Some(bytes) = read_capped(data, self.limits.max_text_bytes)? else {
                    let too_big = format!(
                        "/{path} is larger than {} bytes",
                        self.limits.max_text_bytes
                    );
                    if matches!(interest, Interest::Dpkg { .. } | Interest::Apk) {
                        return Err(self.rejected(too_big));
                    }
                    self.notes.push(format!("{too_big}: not read"));
                    return Ok(());
                };
                let text = || String::from_utf8_lossy(&bytes);
                match interest {
                    Interest::OsRelease => {
                        self.keep(path, Content::OsRelease(os_release::parse(&text())))
                    }
                    Interest::Dpkg { status_optional } => {
                        match dpkg::parse(&text(), status_optional) {
                            Ok(found) => self.keep(path, packages(found)),
                            Err(e) => {
                                return Err(
                                    self.rejected(format!("/{path} is not a dpkg database: {e}"))
                                )
                            }
                        }
                    }
                    Interest::Apk => match apk::parse(&text()) {
                        Ok(found) => self.keep(path, packages(found)),
                        Err(e) => {
                            return Err(
                                self.rejected(format!("/{path} is not an apk database: {e}"))
                            )
                        }
                    },
                    Interest::Python => match python::parse(&text()) {
                        Ok(found) => self.keep(path, packages(vec![found])),
                        Err(e) => self.notes.push(format!("/{path}: {e}")),
                    },
                    Interest::Npm => match npm::parse(&bytes) {
                        Ok(Some(found)) => self.keep(path, packages(vec![found])),
                        Ok(None) => {}
                        Err(e) => self.notes.push(format!("/{path}: {e}")),
                    },
                    _ => unreachable!("only text files reach here"),
                }
            }
            Interest::Jar => {
                let mut jar_notes = Vec::new();
                match java::read(data, &self.limits.jar, &mut jar_notes) {
                    Ok(found) => {
                        if !found.is_empty() {
                            self.keep(
                                path.clone(),
                                Content::Packages(
                                    found.into_iter().map(|p| (p.within, p.found)).collect(),
                                ),
                            );
                        }
                    }
                    Err(JarError::Hostile(reason)) => {
                        return Err(self.rejected(format!("/{path}: {reason}")))
                    }
                    Err(JarError::Unreadable(reason)) => {
                        self.notes.push(format!("/{path}: {reason}"))
                    }
                }
                for note in jar_notes {
                    self.notes.push(format!("/{path}{note}"));
                }
            }
            Interest::Rpmdb => {
                if size > self.limits.max_spool_bytes {
                    self.notes.push(format!(
                        "/{path} is larger than {} bytes: not read",
                        self.limits.max_spool_bytes
                    ));
                    return Ok(());
                }
                let mut builder = tempfile::Builder::new();
                builder.prefix("berth-rpmdb-").suffix(".sqlite");
                let mut spool = match &self.limits.spool_dir {
                    Some(dir) => builder.tempfile_in(dir)?,
                    None => builder.tempfile()?,
                };
                io::copy(
                    &mut data.take(self.limits.max_spool_bytes),
                    spool.as_file_mut(),
                )?;
                spool.as_file_mut().flush()?;
                match rpm::rpmdb(spool.path()) {
                    Ok(found) => self.keep(path, packages(found)),
                    Err(e) => self.notes.push(format!("/{path}: {e}")),
                }
            }
            Interest::MaybeExecutable => {
                let mut head = [0u8; 4];
                let got = read_up_to(data, &mut head)?;
                if got < 4 || head != *b"\x7fELF" {
                    return Ok(());
                }
                if size > self.limits.max_spool_bytes {
                    self.notes.push(format!(
                        "/{path}: an executable larger than {} bytes, not read",
                        self.limits.max_spool_bytes
                    ));
                    return Ok(());
                }
                let mut spool = match &self.limits.spool_dir {
                    Some(dir) => tempfile::tempfile_in(dir)?,
                    None => tempfile::tempfile()?,
                };
                spool.write_all(&head)?;
                io::copy(&mut data.take(self.limits.max_spool_bytes), &mut spool)?;
                spool.rewind()?;
                match binary::executable(&mut spool) {
                    Ok(found) if found.is_empty() => {}
                    Ok(found) => self.keep(path, packages(found)),
                    Err(e) => self.notes.push(format!("/{path}: {e}")),
                }
            }
        }
        Ok(())
    }
}

/// All of `r`, or `None` if it holds more than `max` bytes.
fn read_capped(r: &mut dyn Read, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    r.take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

/// Fills `buf` as far as `r` has bytes.
fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::tar::build::Tar;
    use super::*;
    use crate::scan::packages::java::testzip::{self, Method};

    const OCI_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    const OCI_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    const OCI_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    const OCI_NONDISTRIBUTABLE: &str =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    const DOCKER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    const DOCKER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    const METADATA: &[u8] = include_bytes!("packages/testdata/jmespath-1.1.0.METADATA");
    const PKG_INFO: &[u8] = include_bytes!("packages/testdata/PyJWT-2.6.0.PKG-INFO");
    const PACKAGE_JSON: &[u8] =
        include_bytes!("packages/testdata/util-deprecate-1.0.2.package.json");
    const JAR: &[u8] = include_bytes!("packages/testdata/slf4j-nop-1.7.32.jar");
    const APK_DB: &[u8] = include_bytes!("packages/testdata/alpine-3.18-aarch64.installed");
    /// `/etc/os-release` of the `alpine:3.18.4` image.
    const ALPINE_OS_RELEASE: &[u8] = b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME=\"Alpine Linux v3.18\"\nHOME_URL=\"https://alpinelinux.org/\"\nBUG_REPORT_URL=\"https://gitlab.alpinelinux.org/alpine/aports/-/issues\"\n";

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn layer(digest: &str, media_type: &str, bytes: Vec<u8>) -> LayerInput {
        LayerInput {
            digest: digest.into(),
            media_type: media_type.into(),
            reader: Box::new(io::Cursor::new(bytes)),
        }
    }

    /// Gzipped OCI layers `sha256:0`, `sha256:1`, … of these tars.
    fn scan(tars: &[Vec<u8>]) -> Result<Inventory, ScanError> {
        scan_limited(tars, &Limits::default())
    }

    fn scan_limited(tars: &[Vec<u8>], limits: &Limits) -> Result<Inventory, ScanError> {
        let layers = tars
            .iter()
            .enumerate()
            .map(|(i, tar)| layer(&format!("sha256:{i}"), OCI_GZIP, gzip(tar)))
            .collect();
        inventory_with_limits(layers, limits)
    }

    fn rejected(result: Result<Inventory, ScanError>) -> String {
        match result {
            Err(ScanError::Rejected(reason)) => reason,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    /// The test machine's own os-release and dpkg database, laid out as in
    /// a Debian image (`/etc/os-release` a link to `../usr/lib/os-release`).
    fn this_machine() -> Vec<u8> {
        Tar::new()
            .dir("etc/")
            .symlink("etc/os-release", "../usr/lib/os-release")
            .dir("usr/lib/")
            .file(
                "usr/lib/os-release",
                &std::fs::read("/etc/os-release").unwrap(),
            )
            .dir("var/lib/dpkg/")
            .file(
                "./var/lib/dpkg/status",
                &std::fs::read("/var/lib/dpkg/status").unwrap(),
            )
            .finish()
    }

    fn summary(inventory: &Inventory) -> Vec<(String, String, Option<String>, String, String)> {
        inventory
            .packages
            .iter()
            .map(|p| {
                (
                    p.found.name.clone(),
                    p.found.version.clone(),
                    p.ecosystem.clone(),
                    p.layer.clone(),
                    p.path.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn this_machines_own_files_in_every_compression_and_media_type() {
        let tar = this_machine();
        let distro = os_release::parse(&std::fs::read_to_string("/etc/os-release").unwrap());
        let expected = dpkg::parse(
            &std::fs::read_to_string("/var/lib/dpkg/status").unwrap(),
            false,
        )
        .unwrap();
        let variants = [
            (OCI_GZIP, gzip(&tar)),
            (OCI_ZSTD, zstd::encode_all(&tar[..], 3).unwrap()),
            (OCI_TAR, tar.clone()),
            (OCI_NONDISTRIBUTABLE, gzip(&tar)),
            (DOCKER_GZIP, gzip(&tar)),
            (DOCKER_FOREIGN, gzip(&tar)),
            // Docker has labelled uncompressed layers tar.gzip.
            (DOCKER_GZIP, tar.clone()),
            // Whatever the label, the bytes say zstd.
            (OCI_GZIP, zstd::encode_all(&tar[..], 3).unwrap()),
        ];
        for (media_type, bytes) in variants {
            let inventory = inventory(vec![layer("sha256:base", media_type, bytes)])
                .unwrap_or_else(|e| panic!("{media_type}: {e}"));
            assert_eq!(inventory.distro.as_ref(), Some(&distro), "{media_type}");
            assert_eq!(inventory.packages.len(), expected.len(), "{media_type}");
            for (package, found) in inventory.packages.iter().zip(&expected) {
                assert_eq!(&package.found, found);
                assert_eq!(package.ecosystem, os_release::ecosystem(&distro));
                assert_eq!(package.layer, "sha256:base");
                assert_eq!(package.path, "var/lib/dpkg/status");
            }
            assert!(inventory.notes.is_empty(), "{:?}", inventory.notes);
        }
        if distro.id == "debian" {
            let major = distro.version_id.split('.').next().unwrap();
            assert_eq!(
                inventory(vec![layer("sha256:base", OCI_TAR, tar.clone())])
                    .unwrap()
                    .packages[0]
                    .ecosystem,
                Some(format!("Debian:{major}"))
            );
        }
    }

    #[test]
    fn whiteouts_opaque_directories_and_replacements() {
        let site = "usr/lib/python3/site-packages";
        let base = Tar::new()
            .file(
                &format!("{site}/jmespath-1.1.0.dist-info/METADATA"),
                METADATA,
            )
            .file(&format!("{site}/PyJWT-2.6.0.egg-info/PKG-INFO"), PKG_INFO)
            .file("app/node_modules/util-deprecate/package.json", PACKAGE_JSON)
            .file("app/lib/slf4j-nop-1.7.32.jar", JAR)
            .file("srv/node_modules/util-deprecate/package.json", PACKAGE_JSON)
            .file(
                "opt/a/node_modules/util-deprecate/package.json",
                PACKAGE_JSON,
            )
            // Not installs: a project's own manifest, one inside a package.
            .file("app/package.json", PACKAGE_JSON)
            .file(
                "app/node_modules/util-deprecate/lib/package.json",
                PACKAGE_JSON,
            )
            .finish();
        let upper = Tar::new()
            // Removes the directory and everything in it.
            .file(&format!("{site}/.wh.jmespath-1.1.0.dist-info"), b"")
            // This layer's own entry under srv stays; the lower ones go.
            .file("srv/node_modules/util-deprecate/package.json", PACKAGE_JSON)
            .file("srv/.wh..wh..opq", b"")
            // A non-package file where a package file was.
            .symlink("app/lib/slf4j-nop-1.7.32.jar", "/dev/null")
            // A file where a package's directory was.
            .file("opt/a/node_modules/util-deprecate", b"plain file")
            .finish();
        let inventory = scan(&[base.clone(), upper]).unwrap();
        let s = |x: &str| x.to_string();
        assert_eq!(
            summary(&inventory),
            [
                (
                    s("util-deprecate"),
                    s("1.0.2"),
                    Some(s("npm")),
                    s("sha256:0"),
                    s("app/node_modules/util-deprecate/package.json")
                ),
                (
                    s("PyJWT"),
                    s("2.6.0"),
                    Some(s("PyPI")),
                    s("sha256:0"),
                    format!("{site}/PyJWT-2.6.0.egg-info/PKG-INFO")
                ),
                (
                    s("util-deprecate"),
                    s("1.0.2"),
                    Some(s("npm")),
                    s("sha256:1"),
                    s("srv/node_modules/util-deprecate/package.json")
                ),
            ]
        );
        assert_eq!(inventory.distro, None);

        // The base alone has them all, in path order.
        let all = scan(&[base]).unwrap();
        let paths: Vec<&str> = all.packages.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "app/lib/slf4j-nop-1.7.32.jar",
                "app/node_modules/util-deprecate/package.json",
                "opt/a/node_modules/util-deprecate/package.json",
                "srv/node_modules/util-deprecate/package.json",
                "usr/lib/python3/site-packages/PyJWT-2.6.0.egg-info/PKG-INFO",
                "usr/lib/python3/site-packages/jmespath-1.1.0.dist-info/METADATA",
            ]
        );

        // A whiteout of a whole tree, and an opaque root.
        let gone = Tar::new().file("usr/.wh.lib", b"").finish();
        assert!(scan(&[
            Tar::new()
                .file(&format!("{site}/PyJWT-2.6.0.egg-info/PKG-INFO"), PKG_INFO)
                .finish(),
            gone
        ])
        .is_err());
    }

    #[test]
    fn alpine_with_java_archives() {
        let lib = testzip::zip(&[(
            "META-INF/maven/com.example/lib/pom.properties",
            b"groupId=com.example\nartifactId=lib\nversion=0.9\n",
            Method::DeflatedLater,
        )]);
        let war = testzip::zip(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\n",
                Method::DeflatedLater,
            ),
            ("WEB-INF/lib/slf4j-nop-1.7.32.jar", JAR, Method::Stored),
            ("WEB-INF/lib/lib.jar", &lib, Method::DeflatedLater),
        ]);
        let base = Tar::new()
            .file("etc/os-release", ALPINE_OS_RELEASE)
            .file("lib/apk/db/installed", APK_DB)
            .finish();
        let app = Tar::new()
            .file("srv/app.war", &war)
            .hardlink("srv/same.war", "srv/app.war")
            .finish();
        let inventory = scan(&[base, app]).unwrap();
        assert_eq!(
            inventory.distro.as_ref().map(|d| d.id.as_str()),
            Some("alpine")
        );
        let got = summary(&inventory);
        assert_eq!(got.len(), 8 + 4);
        assert!(got[..8]
            .iter()
            .all(|p| p.2.as_deref() == Some("Alpine:v3.18") && p.3 == "sha256:0"));
        assert_eq!(got[2].0, "libssl3");
        assert_eq!(
            inventory.packages[2].found.source_name.as_deref(),
            Some("openssl")
        );
        let s = |x: &str| x.to_string();
        assert_eq!(
            got[8..],
            [
                (
                    s("org.slf4j:slf4j-nop"),
                    s("1.7.32"),
                    Some(s("Maven")),
                    s("sha256:1"),
                    s("srv/app.war!/WEB-INF/lib/slf4j-nop-1.7.32.jar")
                ),
                (
                    s("com.example:lib"),
                    s("0.9"),
                    Some(s("Maven")),
                    s("sha256:1"),
                    s("srv/app.war!/WEB-INF/lib/lib.jar")
                ),
                (
                    s("org.slf4j:slf4j-nop"),
                    s("1.7.32"),
                    Some(s("Maven")),
                    s("sha256:1"),
                    s("srv/same.war!/WEB-INF/lib/slf4j-nop-1.7.32.jar")
                ),
                (
                    s("com.example:lib"),
                    s("0.9"),
                    Some(s("Maven")),
                    s("sha256:1"),
                    s("srv/same.war!/WEB-INF/lib/lib.jar")
                ),
            ]
        );
    }

    #[test]
    fn distroless_status_d() {
        let tar = Tar::new()
            .file("etc/os-release", &std::fs::read("/etc/os-release").unwrap())
            .file(
                "var/lib/dpkg/status.d/base-files",
                b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
            )
            .file(
                "var/lib/dpkg/status.d/base-files.md5sums",
                b"0123  etc/debian_version\n",
            )
            .file(
                "var/lib/dpkg/status.d/tzdata",
                b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
            )
            .finish();
        let inventory = scan(&[tar]).unwrap();
        let names: Vec<&str> = inventory
            .packages
            .iter()
            .map(|p| p.found.name.as_str())
            .collect();
        assert_eq!(names, ["base-files", "tzdata"]);
    }

    #[test]
    fn files_the_other_readers_cannot_read_are_notes() {
        let tar = Tar::new()
            .file("etc/os-release", &std::fs::read("/etc/os-release").unwrap())
            .file(
                "var/lib/rpm/rpmdb.sqlite",
                b"this is not an SQLite database",
            )
            .file("usr/bin/tool", b"\x7fELF not really an executable")
            .file("usr/bin/script", b"#!/bin/sh\n")
            .file("app/node_modules/broken/package.json", b"{ not json")
            .finish();
        let inventory = scan(&[tar]).unwrap();
        assert!(inventory.packages.is_empty(), "{:?}", inventory.packages);
        assert!(
            inventory
                .notes
                .iter()
                .any(|n| n.starts_with("/var/lib/rpm/rpmdb.sqlite: ")),
            "{:?}",
            inventory.notes
        );
        assert!(
            inventory
                .notes
                .iter()
                .any(|n| n.starts_with("/app/node_modules/broken/package.json: not JSON")),
            "{:?}",
            inventory.notes
        );
        assert!(!inventory.notes.iter().any(|n| n.contains("usr/bin/script")));
    }

    #[test]
    fn nothing_recognised_is_unsupported() {
        let tar = Tar::new()
            .file("hello.txt", b"hello")
            .file("bin/busybox", b"#!")
            .finish();
        let Err(ScanError::Unsupported(reason)) = scan(&[tar]) else {
            panic!("expected UNSUPPORTED_IMAGE")
        };
        assert!(
            reason.starts_with("The image has no /etc/os-release or /usr/lib/os-release"),
            "{reason}"
        );
        let tar = Tar::new()
            .file("etc/os-release", b"ID=plan9\nPRETTY_NAME=\"Plan 9\"\n")
            .finish();
        let Err(ScanError::Unsupported(reason)) = scan(&[tar]) else {
            panic!("expected UNSUPPORTED_IMAGE")
        };
        assert!(
            reason.starts_with("The image's operating system, Plan 9, is not one Berth has advisories for, and no package"),
            "{reason}"
        );
        let helm = layer(
            "sha256:c",
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
            gzip(&this_machine()),
        );
        let Err(ScanError::Unsupported(reason)) = inventory(vec![helm]) else {
            panic!("expected UNSUPPORTED_IMAGE")
        };
        assert!(
            reason.contains("is not a container image layer"),
            "{reason}"
        );
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        // 16 MiB of zeros in a layer of a few KiB.
        let tar = Tar::new().file("zeros", &vec![0u8; 16 << 20]).finish();
        let limits = Limits {
            ratio_grace_bytes: 1 << 20,
            max_ratio: 100,
            ..Limits::default()
        };
        let reason = rejected(scan_limited(std::slice::from_ref(&tar), &limits));
        assert_eq!(reason, "layer sha256:0: it expands more than 100 times its compressed size (a decompression bomb?)");
        let limits = Limits {
            max_expanded_bytes: 8 << 20,
            ..Limits::default()
        };
        let reason = rejected(inventory_with_limits(
            vec![layer("sha256:z", OCI_TAR, tar)],
            &limits,
        ));
        assert_eq!(reason, "layer sha256:z: the image's layers expand to more than 8388608 bytes (a decompression bomb?)");
    }

    #[test]
    fn millions_of_tiny_entries_are_refused() {
        let mut tar = Tar::new();
        for i in 0..3000 {
            tar.file(&format!("f/{i}"), b"");
        }
        let limits = Limits {
            max_entries: 2000,
            ..Limits::default()
        };
        // Counted over all layers together.
        let tar = tar.finish();
        assert!(scan_limited(std::slice::from_ref(&tar), &Limits::default())
            .is_err_and(|e| matches!(e, ScanError::Unsupported(_))));
        let reason = rejected(scan_limited(&[tar], &limits));
        assert_eq!(reason, "layer sha256:0: the image has more than 2000 files");
    }

    #[test]
    fn absurd_header_sizes_are_refused() {
        let mut tar = Tar::new();
        tar.header(b'L', "././@LongLink", "", 1 << 40);
        let reason = rejected(scan(&[tar.bytes.clone()]));
        assert_eq!(
            reason,
            "layer sha256:0: a GNU long name of 1099511627776 bytes (the limit is 1048576)"
        );
        let mut tar = Tar::new();
        tar.header(b'x', "PaxHeaders/x", "", 1 << 30);
        assert!(rejected(scan(&[tar.bytes.clone()]))
            .contains("a PAX extended header of 1073741824 bytes"));
        // A file claiming 1 TiB that the stream does not have.
        let mut tar = Tar::new();
        tar.header(b'0', "big", "", 1 << 40).data(b"short");
        assert!(rejected(scan(&[tar.bytes.clone()])).contains("truncated"));
    }

    #[test]
    fn path_traversal_is_refused() {
        let tar = Tar::new().file("../../etc/passwd", b"root:x:0:0").finish();
        assert_eq!(
            rejected(scan(&[tar])),
            "layer sha256:0: the entry \"../../etc/passwd\" leads outside the image root"
        );
        let tar = Tar::new().file("a/../../b", b"").finish();
        assert!(rejected(scan(&[tar])).contains("leads outside the image root"));
        let tar = Tar::new()
            .hardlink("etc/shadow", "../../../etc/shadow")
            .finish();
        assert!(rejected(scan(&[tar]))
            .contains("the hard link etc/shadow points outside the image root"));
        let tar = Tar::new()
            .symlink("etc/os-release", "../../../../../../etc/os-release")
            .file(
                "var/lib/dpkg/status",
                &std::fs::read("/var/lib/dpkg/status").unwrap(),
            )
            .finish();
        assert_eq!(
            rejected(scan(&[tar])),
            "a symbolic link on the way to /etc/os-release leads outside the image root"
        );
        // Fedora's chain of links to a variant's file.
        let tar = Tar::new()
            .symlink("etc/os-release", "../usr/lib/os-release")
            .symlink("usr/lib/os-release", "os.release.d/os-release-container")
            .file(
                "usr/lib/os.release.d/os-release-container",
                b"NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=40\nVARIANT_ID=container\n",
            )
            .file(
                "usr/lib/os.release.d/os-release-workstation",
                b"ID=fedora\nVERSION_ID=40\nVARIANT_ID=workstation\n",
            )
            .file(
                "usr/lib/python3.12/site-packages/PyJWT-2.6.0.egg-info/PKG-INFO",
                PKG_INFO,
            )
            .finish();
        let distro = scan(&[tar]).unwrap().distro.unwrap();
        assert_eq!(
            (distro.id.as_str(), distro.version_id.as_str()),
            ("fedora", "40")
        );
        // Inside the root, `..` and absolute targets are fine.
        let tar = Tar::new()
            .symlink("etc/os-release", "/usr/lib/../lib/os-release")
            .file("usr/lib/os-release", ALPINE_OS_RELEASE)
            .finish();
        let inventory = scan(&[tar]).unwrap();
        assert_eq!(inventory.distro.unwrap().version_id, "3.18.4");
    }

    #[test]
    fn symlink_loops_end() {
        let tar = Tar::new()
            .symlink("etc/os-release", "../usr/lib/os-release")
            .symlink("usr/lib/os-release", "../../etc/os-release")
            .finish();
        assert_eq!(
            rejected(scan(&[tar])),
            "the symbolic links at /etc/os-release loop (more than 40 followed)"
        );
        let tar = Tar::new().symlink("etc/os-release", "os-release").finish();
        assert!(rejected(scan(&[tar])).contains("loop"));
        // A folder on the way that links to itself.
        let tar = Tar::new().symlink("etc", "etc").finish();
        assert!(rejected(scan(&[tar])).contains("loop"));
    }

    #[test]
    fn package_databases_of_garbage_are_refused() {
        let mut x = 0x9e37_79b9_u32;
        let garbage: Vec<u8> = (0..8192)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x.to_le_bytes()[1]
            })
            .collect();
        let tar = Tar::new().file("var/lib/dpkg/status", &garbage).finish();
        let reason = rejected(scan(&[tar]));
        assert!(
            reason
                .starts_with("layer sha256:0: /var/lib/dpkg/status is not a dpkg database: line "),
            "{reason}"
        );
        let tar = Tar::new().file("lib/apk/db/installed", &garbage).finish();
        let reason = rejected(scan(&[tar]));
        assert!(
            reason
                .starts_with("layer sha256:0: /lib/apk/db/installed is not an apk database: line "),
            "{reason}"
        );
        let limits = Limits {
            max_text_bytes: 1000,
            ..Limits::default()
        };
        let tar = Tar::new()
            .file("var/lib/dpkg/status", &vec![b'a'; 2000])
            .finish();
        assert_eq!(
            rejected(scan_limited(&[tar], &limits)),
            "layer sha256:0: /var/lib/dpkg/status is larger than 1000 bytes"
        );
    }

    #[test]
    fn truncated_and_corrupt_streams_are_refused() {
        let tar = this_machine();
        let gz = gzip(&tar);
        let reason = rejected(inventory(vec![layer(
            "sha256:t",
            OCI_GZIP,
            gz[..gz.len() / 2].to_vec(),
        )]));
        assert!(
            reason.starts_with("layer sha256:t: it is truncated"),
            "{reason}"
        );
        let zst = zstd::encode_all(&tar[..], 3).unwrap();
        let reason = rejected(inventory(vec![layer(
            "sha256:t",
            OCI_ZSTD,
            zst[..zst.len() / 2].to_vec(),
        )]));
        assert!(
            reason.starts_with("layer sha256:t: it is truncated"),
            "{reason}"
        );
        let reason = rejected(inventory(vec![layer(
            "sha256:t",
            OCI_TAR,
            tar[..tar.len() / 2 + 100].to_vec(),
        )]));
        assert!(
            reason.starts_with("layer sha256:t: it is truncated"),
            "{reason}"
        );
        let mut corrupt = gz.clone();
        for b in &mut corrupt[20..200] {
            *b ^= 0x5a;
        }
        let reason = rejected(inventory(vec![layer("sha256:c", OCI_GZIP, corrupt)]));
        assert!(
            reason.starts_with("layer sha256:c: it is not valid gzip data")
                || reason.contains("not a tar archive"),
            "{reason}"
        );
        let reason = rejected(inventory(vec![layer(
            "sha256:g",
            OCI_GZIP,
            vec![b'x'; 4096],
        )]));
        assert_eq!(
            reason,
            "layer sha256:g: its media type says gzip, and it is neither gzip nor tar"
        );
        let reason = rejected(inventory(vec![layer(
            "sha256:g",
            OCI_TAR,
            vec![b'x'; 4096],
        )]));
        assert!(
            reason.starts_with("layer sha256:g: not a tar archive"),
            "{reason}"
        );
        // The store failing is not the image's fault.
        struct Failing(io::Cursor<Vec<u8>>);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match self.0.read(buf)? {
                    0 => Err(io::Error::other("the disk is on fire")),
                    n => Ok(n),
                }
            }
        }
        for bytes in [gz[..gz.len() / 2].to_vec(), tar[..tar.len() / 2].to_vec()] {
            let failing = LayerInput {
                digest: "sha256:f".into(),
                media_type: OCI_GZIP.into(),
                reader: Box::new(Failing(io::Cursor::new(bytes))),
            };
            match inventory(vec![failing]) {
                Err(ScanError::Io(e)) => assert_eq!(e.to_string(), "the disk is on fire"),
                other => panic!("expected the store's error, got {other:?}"),
            }
        }
        // An empty layer is an empty file system.
        let empty = inventory(vec![
            layer("sha256:e", OCI_TAR, vec![]),
            layer("sha256:d", OCI_GZIP, gzip(&this_machine())),
        ]);
        assert!(empty.is_ok());
    }

    #[test]
    fn a_java_archive_bomb_is_refused() {
        let mut jar = JAR.to_vec();
        for _ in 0..6 {
            jar = testzip::zip(&[("inner.jar", &jar, Method::DeflatedLater)]);
        }
        let tar = Tar::new().file("app.jar", &jar).finish();
        assert_eq!(
            rejected(scan(&[tar])),
            "layer sha256:0: /app.jar: Java archives nested more than 4 deep"
        );
    }
}
