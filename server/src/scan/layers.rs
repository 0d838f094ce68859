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

mod filesystem;
mod limits;
mod routing;
mod stream;
mod tar;
#[cfg(test)]
mod tests;
mod walker;

pub use limits::Limits;

use super::{Inventory, ScanError};
use filesystem::{FileSystem, Notes};
use std::io::Read;
use stream::{declared_compression, Meter};
use walker::Walker;

/// One layer to read, lowest first.
pub struct LayerInput {
    /// The layer's digest (recorded on each package found in it).
    pub digest: String,
    /// The layer's media type (gzip, zstd or uncompressed tar).
    pub media_type: String,
    /// The layer's bytes as stored.
    pub reader: Box<dyn Read + Send>,
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
