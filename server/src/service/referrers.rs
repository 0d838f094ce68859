//! Artifacts Berth itself stores as referrers of an image (the scanner's
//! CycloneDX SBOM, managed signing's Notary Project signatures): an untagged
//! OCI image manifest with an empty config, one layer and the image as its
//! `subject`, so the Referrers API, `oras discover` and `notation` find it.

use super::manifests::sha256_of;
use super::{ManifestRef, Registry, ServiceResult, Uploader};

/// The image a referrer is about.
#[derive(Debug, Clone, Copy)]
pub(super) struct Subject<'a> {
    /// Its digest.
    pub digest: &'a str,
    /// Its media type.
    pub media_type: &'a str,
    /// Its size in bytes.
    pub size: usize,
}

/// A referrer to store: its one layer and its annotations.
pub(super) struct Artifact<'a> {
    /// The manifest's `artifactType`.
    pub artifact_type: &'a str,
    /// Who pushes it, for messages.
    pub pusher: &'a str,
    /// The layer's media type.
    pub layer_media_type: &'a str,
    /// The layer's bytes.
    pub layer: Vec<u8>,
    /// The layer descriptor's annotations (a JSON object, or null for none).
    pub layer_annotations: serde_json::Value,
    /// The manifest's annotations (a JSON object).
    pub annotations: serde_json::Value,
}

impl Registry {
    /// Stores `artifact` in repository `name` as an untagged referrer of
    /// `subject`; returns its manifest's digest.
    pub(super) async fn store_referrer(
        &self,
        name: &str,
        subject: Subject<'_>,
        artifact: Artifact<'_>,
    ) -> ServiceResult<String> {
        let pusher = Uploader {
            user_id: 0,
            name: artifact.pusher,
        };
        let mut descriptors = Vec::new();
        for bytes in [b"{}".to_vec(), artifact.layer] {
            let digest = sha256_of(&bytes);
            let size = bytes.len();
            let body =
                futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
            self.upload_monolithic(name, pusher, &digest, Some(size as u64), body)
                .await?;
            descriptors.push((digest, size));
        }
        let mut layer = serde_json::json!({
            "mediaType": artifact.layer_media_type,
            "digest": descriptors[1].0.as_str(),
            "size": descriptors[1].1,
        });
        if artifact.layer_annotations.is_object() {
            layer["annotations"] = artifact.layer_annotations;
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": artifact.artifact_type,
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": descriptors[0].0.as_str(),
                "size": descriptors[0].1,
                "data": "e30=",
            },
            "layers": [layer],
            "subject": {
                "mediaType": subject.media_type,
                "digest": subject.digest,
                "size": subject.size,
            },
            "annotations": artifact.annotations,
        });
        let body = serde_json::to_vec(&manifest).expect("a manifest serializes");
        let digest = sha256_of(&body);
        self.put_manifest(
            name,
            &ManifestRef::Digest(digest.clone()),
            Some("application/vnd.oci.image.manifest.v1+json"),
            &body,
        )
        .await?;
        Ok(digest.to_string())
    }
}
