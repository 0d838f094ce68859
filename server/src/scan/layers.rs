//! An image's file system as the container sees it, read from its layers in
//! order, streaming.

use super::{Inventory, ScanError};
use std::io::Read;

/// One layer to read, lowest first.
pub struct LayerInput {
    /// The layer's digest (recorded on each package found in it).
    pub digest: String,
    /// The layer's media type (gzip, zstd or uncompressed tar).
    pub media_type: String,
    /// The layer's bytes as stored.
    pub reader: Box<dyn Read + Send>,
}

/// The inventory of the image made of `layers`, lowest layer first.
pub fn inventory(layers: Vec<LayerInput>) -> Result<Inventory, ScanError> {
    let _ = layers;
    Err(ScanError::Unsupported(
        "layer reading is not built yet".into(),
    ))
}
