//! The bounds a scan keeps to: every limit that stops a hostile layer.

use crate::scan::packages::java::JarLimits;
use std::path::PathBuf;

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
