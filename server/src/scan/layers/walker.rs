//! The reader loop: one layer's tar entries, front to back, applied to the
//! file system (whiteouts, opaque directories, replacements) and each file
//! that matters handed to its parser.

use super::filesystem::{Content, FileSystem, Notes, Record};
use super::routing::{keep_symlink, normalise, Interest};
use super::stream::{
    sniffed_compression, Compression, CountCompressed, CountExpanded, LimitCrossed, Meter,
    StoreFailed,
};
use super::tar::{self, Kind, TarError, TarReader};
use super::Limits;
use crate::scan::packages::java::{self, JarError};
use crate::scan::packages::{apk, binary, dpkg, npm, os_release, python, rpm};
use crate::scan::{Found, ScanError};
use std::io::{self, BufRead, BufReader, Read, Seek, Write};

/// Reads one layer into the file system.
pub(super) struct Walker<'a> {
    pub(super) layer: usize,
    pub(super) digest: &'a str,
    pub(super) limits: &'a Limits,
    pub(super) fs: &'a mut FileSystem,
    pub(super) notes: &'a mut Notes,
    pub(super) meter: &'a Meter,
}

impl Walker<'_> {
    pub(super) fn read_layer(
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

    pub(super) fn rejected(&self, reason: String) -> ScanError {
        ScanError::Rejected(format!("layer {}: {reason}", self.digest))
    }

    /// A reading error, told apart: a limit, a truncated or corrupt stream
    /// (the layer's fault), or the store failing.
    pub(super) fn io_error(&self, e: io::Error, compression: Compression) -> ScanError {
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

    pub(super) fn entry(
        &mut self,
        header: &tar::Header,
        data: &mut dyn Read,
    ) -> Result<(), ScanError> {
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

    pub(super) fn keep(&mut self, path: String, content: Content) {
        self.fs.files.insert(
            path,
            Record {
                layer: self.layer,
                content,
            },
        );
    }

    pub(super) fn file(
        &mut self,
        path: String,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<(), ScanError> {
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
pub(super) fn read_capped(r: &mut dyn Read, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    r.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

/// Fills `buf` as far as `r` has bytes.
pub(super) fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
