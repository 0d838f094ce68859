//! A layer's bytes on their way to the tar reader: the compression a media
//! type declares or the first bytes show, and the meters that stop a
//! decompression bomb. A crossed limit or a failing store travels inside an
//! `io::Error` ([`LimitCrossed`], [`StoreFailed`]) so the walker can tell it
//! from a corrupt stream.

use super::Limits;
use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};

/// Compression, as a media type declares it or the first bytes show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
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
pub(super) fn declared_compression(media_type: &str) -> Option<Compression> {
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
pub(super) fn sniffed_compression(head: &[u8]) -> Option<Compression> {
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
pub(super) struct Meter {
    /// This layer's compressed bytes read so far.
    pub(super) compressed: Cell<u64>,
    /// This layer's tar bytes so far.
    pub(super) expanded: Cell<u64>,
    /// All layers' tar bytes so far.
    pub(super) total_expanded: Cell<u64>,
    /// All layers' tar entries so far.
    pub(super) entries: Cell<u64>,
}

/// A limit crossed while reading, carried inside an `io::Error` out of the
/// decompressor and the tar reader.
#[derive(Debug)]
pub(super) struct LimitCrossed(pub(super) String);

impl fmt::Display for LimitCrossed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitCrossed {}

/// An error of the reader the layer came from (the blob store), not of the
/// layer's bytes: the scan fails with it rather than blame the image.
#[derive(Debug)]
pub(super) struct StoreFailed(io::Error);

impl fmt::Display for StoreFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoreFailed {}

/// Counts the compressed bytes a layer's decompressor reads.
pub(super) struct CountCompressed<'m, R> {
    pub(super) inner: R,
    pub(super) meter: &'m Meter,
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
pub(super) struct CountExpanded<'m, 'l, R> {
    pub(super) inner: R,
    pub(super) meter: &'m Meter,
    pub(super) limits: &'l Limits,
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
