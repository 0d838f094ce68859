//! Parsing and validating pushed manifests: Docker schema 2 image and list, OCI
//! image manifest and index, and OCI artifacts. Pure: bytes in, facts out.

use super::limits::LAYERS_PER_IMAGE;
use crate::http::essence;
use berth_app::oci::Digest;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Docker schema 2 image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema 2 manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Whether a manifest lists blobs (an image) or other manifests (an index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// Config and layers.
    Image,
    /// Child manifests.
    Index,
}

/// What a valid manifest says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedManifest {
    /// The media type it is stored and served with.
    pub media_type: String,
    /// Image or index.
    pub kind: ManifestKind,
    /// Blobs it needs in the repository (config first, then layers), without foreign layers.
    pub blobs: Vec<String>,
    /// Child manifests it needs in the repository.
    pub children: Vec<String>,
    /// Sum of the layer sizes.
    pub layers_size: i64,
    /// `artifactType`, else the config's media type.
    pub artifact_type: Option<String>,
    /// The `subject` digest.
    pub subject: Option<String>,
    /// The annotations, as JSON text.
    pub annotations: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    subject: Option<RawDescriptor>,
    annotations: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: Option<String>,
    size: Option<i64>,
    urls: Option<Vec<String>>,
}

fn known(media_type: &str) -> Option<ManifestKind> {
    match media_type {
        DOCKER_MANIFEST | OCI_MANIFEST => Some(ManifestKind::Image),
        DOCKER_MANIFEST_LIST | OCI_INDEX => Some(ManifestKind::Index),
        _ => None,
    }
}

/// Parses and validates a manifest pushed with `content_type`. The error is a
/// message for `MANIFEST_INVALID`.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<ParsedManifest, String> {
    let raw: RawManifest =
        serde_json::from_slice(body).map_err(|e| format!("manifest is not valid JSON: {e}"))?;
    // Clients parse the stored bytes again, each with its own parser.
    super::json::check_unique_keys(body).map_err(|e| format!("manifest is ambiguous: {e}"))?;
    if raw.schema_version != Some(2) {
        return Err(format!(
            "schemaVersion must be 2, got {}",
            raw.schema_version
                .map_or("nothing".into(), |v| v.to_string())
        ));
    }
    let header = content_type.map(essence).filter(|t| known(t).is_some());
    let media_type = match (header, raw.media_type.as_deref()) {
        (Some(h), Some(m)) if h != m => {
            return Err(format!(
                "Content-Type {h} does not match the manifest's mediaType {m}"
            ))
        }
        (Some(h), _) => h.to_owned(),
        (None, Some(m)) if known(m).is_some() => m.to_owned(),
        (None, Some(m)) => return Err(format!("unsupported manifest media type {m}")),
        (None, None) => match content_type.map(essence) {
            Some(t) if !t.is_empty() && t != "application/json" => {
                return Err(format!("unsupported manifest media type {t}"))
            }
            // No usable type anywhere: infer from the structure, as the OCI image spec allows.
            _ if raw.manifests.is_some() => OCI_INDEX.to_owned(),
            _ if raw.config.is_some() => OCI_MANIFEST.to_owned(),
            _ => return Err("manifest has no mediaType and no Content-Type".into()),
        },
    };
    let kind = known(&media_type).expect("media type checked above");
    let mut parsed = ParsedManifest {
        media_type,
        kind,
        blobs: Vec::new(),
        children: Vec::new(),
        layers_size: 0,
        artifact_type: raw.artifact_type.clone(),
        subject: None,
        annotations: raw
            .annotations
            .as_ref()
            .map(|a| Value::Object(a.clone()).to_string()),
    };
    if let Some(subject) = &raw.subject {
        parsed.subject = Some(descriptor_digest(subject, "subject")?);
    }
    match kind {
        ManifestKind::Image => {
            if raw.manifests.is_some() {
                return Err("an image manifest cannot have a manifests list".into());
            }
            let config = raw.config.as_ref().ok_or("image manifest has no config")?;
            parsed.blobs.push(descriptor_digest(config, "config")?);
            if parsed.artifact_type.is_none() {
                parsed.artifact_type = config.media_type.clone();
            }
            let layers = raw.layers.as_deref().unwrap_or_default();
            if raw.layers.is_none() && parsed.media_type == DOCKER_MANIFEST {
                return Err("image manifest has no layers list".into());
            }
            if layers.len() > LAYERS_PER_IMAGE {
                return Err(format!(
                    "image manifest has {} layers; an image may have at most {LAYERS_PER_IMAGE} \
                     (ECR's layers-per-image limit)",
                    layers.len()
                ));
            }
            for (i, layer) in layers.iter().enumerate() {
                let digest = descriptor_digest(layer, &format!("layers[{i}]"))?;
                // Each size is at least 0; their sum must still fit the i64 it is stored as.
                parsed.layers_size = parsed
                    .layers_size
                    .checked_add(layer.size.unwrap_or_default())
                    .ok_or_else(|| {
                        format!(
                            "layers[{i}]: the layer sizes add up to more than {} bytes",
                            i64::MAX
                        )
                    })?;
                // Foreign layers (with urls) live elsewhere and are not pushed.
                if layer.urls.as_ref().is_none_or(|u| u.is_empty()) {
                    parsed.blobs.push(digest);
                }
            }
        }
        ManifestKind::Index => {
            if raw.config.is_some() || raw.layers.is_some() {
                return Err("an index cannot have config or layers".into());
            }
            let manifests = raw
                .manifests
                .as_ref()
                .ok_or("index has no manifests list")?;
            for (i, child) in manifests.iter().enumerate() {
                parsed
                    .children
                    .push(descriptor_digest(child, &format!("manifests[{i}]"))?);
            }
        }
    }
    Ok(parsed)
}

fn descriptor_digest(d: &RawDescriptor, field: &str) -> Result<String, String> {
    if d.media_type.as_deref().is_none_or(str::is_empty) {
        return Err(format!("{field} has no mediaType"));
    }
    match d.size {
        Some(size) if size >= 0 => {}
        _ => return Err(format!("{field} needs a size of 0 or more")),
    }
    let text = d
        .digest
        .as_deref()
        .ok_or_else(|| format!("{field} has no digest"))?;
    Digest::parse(text)
        .map(String::from)
        .map_err(|e| format!("{field}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

    fn image(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":7}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{D2}","size":100}},{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{D3}","size":23}}]{extra}}}"#
        )
    }

    #[test]
    fn an_oci_image_lists_its_blobs_and_size() {
        let p = parse(Some(OCI_MANIFEST), image("").as_bytes()).unwrap();
        assert_eq!(p.kind, ManifestKind::Image);
        assert_eq!(p.blobs, vec![D1, D2, D3]);
        assert_eq!(p.layers_size, 123);
        assert_eq!(
            p.artifact_type.as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
        assert_eq!(p.subject, None);
    }

    #[test]
    fn an_artifact_with_subject_and_annotations() {
        let body = image(&format!(
            r#","artifactType":"application/vnd.example.sbom","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{D3}","size":1}},"annotations":{{"a":"b"}}"#
        ));
        let p = parse(Some(OCI_MANIFEST), body.as_bytes()).unwrap();
        assert_eq!(
            p.artifact_type.as_deref(),
            Some("application/vnd.example.sbom")
        );
        assert_eq!(p.subject.as_deref(), Some(D3));
        assert_eq!(p.annotations.as_deref(), Some(r#"{"a":"b"}"#));
    }

    #[test]
    fn an_index_lists_its_children() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_LIST}","manifests":[{{"mediaType":"{DOCKER_MANIFEST}","digest":"{D1}","size":5,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
        );
        let p = parse(Some(DOCKER_MANIFEST_LIST), body.as_bytes()).unwrap();
        assert_eq!(p.kind, ManifestKind::Index);
        assert_eq!(p.children, vec![D1]);
        assert!(p.blobs.is_empty());
    }

    #[test]
    fn the_media_type_comes_from_the_header_or_the_body() {
        let p = parse(None, image("").as_bytes()).unwrap();
        assert_eq!(p.media_type, OCI_MANIFEST);
        let p = parse(
            Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            image("").as_bytes(),
        )
        .unwrap();
        assert_eq!(p.media_type, OCI_MANIFEST);
    }

    #[test]
    fn foreign_layers_are_not_required() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{D1}","size":7}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{D2}","size":9,"urls":["https://example.com/l"]}}]}}"#
        );
        let p = parse(Some(DOCKER_MANIFEST), body.as_bytes()).unwrap();
        assert_eq!(p.blobs, vec![D1]);
    }

    #[test]
    fn an_image_may_have_127_layers_but_not_128() {
        let layer = format!(
            r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{D2}","size":1}}"#
        );
        let with = |n: usize| {
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":7}},"layers":[{}]}}"#,
                vec![layer.as_str(); n].join(",")
            )
        };
        assert!(parse(None, with(127).as_bytes()).is_ok());
        let err = parse(None, with(128).as_bytes()).unwrap_err();
        assert!(
            err.contains("128 layers") && err.contains("at most 127"),
            "{err}"
        );
    }

    /// Two layers of 2^63 - 1 bytes overflowed the total (a panic in debug builds).
    #[test]
    fn layer_sizes_that_overflow_are_refused() {
        let huge = image("").replace("\"size\":100", &format!("\"size\":{}", i64::MAX));
        let huge = huge.replace("\"size\":23", &format!("\"size\":{}", i64::MAX));
        let err = parse(Some(OCI_MANIFEST), huge.as_bytes()).unwrap_err();
        assert!(err.contains("layers[1]: the layer sizes add up"), "{err}");
    }

    #[test]
    fn invalid_manifests_say_why() {
        let cases: Vec<(Option<&str>, String, &str)> = vec![
            (Some(OCI_MANIFEST), "not json".into(), "not valid JSON"),
            (
                Some(OCI_MANIFEST),
                image("").replace("\"schemaVersion\":2", "\"schemaVersion\":1"),
                "schemaVersion must be 2",
            ),
            (Some(OCI_INDEX), image(""), "does not match"),
            (
                Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
                r#"{"schemaVersion":2}"#.into(),
                "unsupported manifest media type",
            ),
            (
                Some(OCI_MANIFEST),
                image("").replace(D2, "sha256:zz"),
                "layers[0]",
            ),
            (
                Some(OCI_MANIFEST),
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","layers":[]}}"#),
                "no config",
            ),
            (
                Some(OCI_MANIFEST),
                image("").replace("\"size\":100", "\"size\":-1"),
                "size",
            ),
            (
                Some(OCI_INDEX),
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}"}}"#),
                "no manifests",
            ),
            (None, r#"{"schemaVersion":2}"#.into(), "no mediaType"),
            (
                Some(OCI_MANIFEST),
                image(r#","annotations":{"a":"1","a":"2"}"#),
                "\"a\" appears twice",
            ),
        ];
        for (ct, body, want) in cases {
            let err = parse(ct, body.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{body}: {err} (wanted {want})");
        }
    }
}
