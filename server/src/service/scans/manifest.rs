//! Which stored manifests a scan reads: images whose layers are tar
//! archives, and indexes (scanned per platform child).

use serde::Deserialize;

/// The layer media types a scan reads (tar, gzip or zstd; Docker's and OCI's,
/// distributable or not). A manifest with none of these is not an image.
const TAR_LAYERS: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Descriptor {
    pub(super) media_type: Option<String>,
    pub(super) digest: String,
}

#[derive(Deserialize)]
struct ManifestShape {
    manifests: Option<Vec<serde_json::Value>>,
    layers: Option<Vec<Descriptor>>,
}

/// What a stored manifest is to the scanner.
pub(super) enum Scannable {
    /// An index: its children are scanned.
    Index,
    /// An image, with the layers to read, lowest first.
    Image(Vec<Descriptor>),
    /// Anything else (an artifact such as an SBOM or a signature), and why.
    Not(String),
}

pub(super) fn scannable(body: &[u8]) -> Scannable {
    let Ok(shape) = serde_json::from_slice::<ManifestShape>(body) else {
        return Scannable::Not("the manifest cannot be read".into());
    };
    if shape.manifests.is_some() {
        return Scannable::Index;
    }
    let layers = shape.layers.unwrap_or_default();
    if !layers.is_empty()
        && layers
            .iter()
            .all(|l| TAR_LAYERS.contains(&l.media_type.as_deref().unwrap_or("")))
    {
        return Scannable::Image(layers);
    }
    let types: Vec<&str> = layers
        .iter()
        .map(|l| l.media_type.as_deref().unwrap_or("(none)"))
        .collect();
    Scannable::Not(format!(
        "the artifact is not a container image: its layers are not tar archives (layer media types: {})",
        if types.is_empty() {
            "none".into()
        } else {
            types.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_manifests_with_tar_layers_are_images() {
        let image = br#"{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:aa","size":1}]}"#;
        assert!(matches!(scannable(image), Scannable::Image(l) if l.len() == 1));
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(scannable(index), Scannable::Index));
        let sbom = br#"{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.cyclonedx+json","digest":"sha256:aa","size":1}]}"#;
        assert!(
            matches!(scannable(sbom), Scannable::Not(why) if why.contains("application/vnd.cyclonedx+json"))
        );
        let empty = br#"{"schemaVersion":2,"layers":[]}"#;
        assert!(matches!(scannable(empty), Scannable::Not(_)));
    }
}
