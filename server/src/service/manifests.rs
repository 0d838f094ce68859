//! Pushing, pulling and deleting manifests (images) and tags.

use super::manifest_format::{self, ManifestKind};
use super::{LimitExceeded, Registry, ServiceError, ServiceResult, MANIFEST_LIMIT};
use crate::db::{DeleteOutcome, NewManifest, PutRejection, Reference};
use berth_app::oci::{Digest, DigestAlgorithm};
use sha2::{Digest as _, Sha256, Sha512};

/// A manifest as served.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    /// Its digest.
    pub digest: String,
    /// Its media type as pushed.
    pub media_type: String,
    /// Its exact bytes.
    pub body: Vec<u8>,
}

/// What a manifest push stored.
#[derive(Debug, Clone)]
pub struct ManifestPut {
    /// The manifest's digest.
    pub digest: Digest,
    /// Its `subject`, if it has one.
    pub subject: Option<String>,
}

/// How a manifest is addressed in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRef {
    /// A tag (validated).
    Tag(String),
    /// A digest.
    Digest(Digest),
}

impl ManifestRef {
    pub(super) fn as_db(&self) -> Reference<'_> {
        match self {
            Self::Tag(t) => Reference::Tag(t),
            Self::Digest(d) => Reference::Digest(d.as_str()),
        }
    }

    pub(super) fn text(&self) -> &str {
        match self {
            Self::Tag(t) => t,
            Self::Digest(d) => d.as_str(),
        }
    }
}

/// The SHA-256 digest of `body`.
pub fn sha256_of(body: &[u8]) -> Digest {
    digest_of(DigestAlgorithm::Sha256, body)
}

fn digest_of(algorithm: DigestAlgorithm, body: &[u8]) -> Digest {
    match algorithm {
        DigestAlgorithm::Sha256 => Digest::from_hash(algorithm, &Sha256::digest(body)),
        DigestAlgorithm::Sha512 => Digest::from_hash(algorithm, &Sha512::digest(body)),
    }
}

impl Registry {
    /// The repository `name` and its manifest `reference` names; the
    /// repository's or the manifest's absence as their errors.
    pub(super) async fn repository_manifest(
        &self,
        name: &str,
        reference: &ManifestRef,
    ) -> ServiceResult<(super::Repository, crate::db::ManifestRow)> {
        let repo = self.repository(name).await?;
        let row = self
            .db
            .manifest(repo.id, reference.as_db())
            .await?
            .ok_or_else(|| ServiceError::ManifestUnknown(reference.text().to_owned()))?;
        Ok((repo, row))
    }

    /// Resolves a manifest by tag or digest; `pulled` records a pull (for `GET`, not `HEAD`).
    pub async fn get_manifest(
        &self,
        name: &str,
        reference: &ManifestRef,
        pulled: bool,
    ) -> ServiceResult<StoredManifest> {
        let (_, row) = self.repository_manifest(name, reference).await?;
        if pulled {
            self.touches.pulled(row.id);
        }
        Ok(StoredManifest {
            digest: row.digest,
            media_type: row.media_type,
            body: row.body,
        })
    }

    /// Validates and stores a manifest byte for byte, and points the tag at it.
    pub async fn put_manifest(
        &self,
        name: &str,
        reference: &ManifestRef,
        content_type: Option<&str>,
        body: &[u8],
    ) -> ServiceResult<ManifestPut> {
        if body.len() > MANIFEST_LIMIT {
            return Err(ServiceError::ManifestTooLarge);
        }
        let parsed =
            manifest_format::parse(content_type, body).map_err(ServiceError::ManifestInvalid)?;
        let digest = match reference {
            ManifestRef::Digest(claimed) => {
                let computed = digest_of(claimed.algorithm(), body);
                if &computed != claimed {
                    return Err(ServiceError::DigestMismatch {
                        claimed: claimed.to_string(),
                        computed: computed.to_string(),
                    });
                }
                computed
            }
            ManifestRef::Tag(_) => digest_of(DigestAlgorithm::Sha256, body),
        };
        let repo = self.repository_for_push(name).await?;
        let tag = match reference {
            ManifestRef::Tag(t) => Some(t.as_str()),
            ManifestRef::Digest(_) => None,
        };
        // What the push queues in its own transaction (a scan, signings),
        // decided on the push settings read once; failing to read them never
        // fails the push.
        let (scan, sign_with) = match self.push_settings().await {
            Ok(settings) => {
                let sign_with = Registry::signing_profiles_for_push(
                    settings.signing.as_ref(),
                    &repo.name,
                    parsed.subject.is_some(),
                );
                let scan = self
                    .with_push_settings(settings, self.scan_on_push(&repo, body))
                    .await;
                (scan, sign_with)
            }
            Err(error) => {
                tracing::warn!(repository = %repo.name, %error, "could not read the scanning and signing configurations: the push is neither scanned nor signed");
                (None, Vec::new())
            }
        };
        let new = NewManifest {
            repository_id: repo.id,
            digest: digest.as_str(),
            media_type: &parsed.media_type,
            artifact_type: parsed.artifact_type.as_deref(),
            subject_digest: parsed.subject.as_deref(),
            annotations: parsed.annotations.clone(),
            body,
            layers_size: if parsed.kind == ManifestKind::Image {
                parsed.layers_size
            } else {
                0
            },
            blobs: parsed.blobs,
            children: parsed.children,
            tag,
            tags_immutable: tag.is_some_and(|t| super::repositories::tag_is_immutable(&repo, t)),
            max_tags: self.limits.tags_per_image,
            scan,
            sign_with: &sign_with,
        };
        match self.db.put_manifest(&new).await? {
            Ok(()) => {
                if scan.is_some() {
                    self.pushed_scan_queued();
                }
                if !sign_with.is_empty() {
                    self.pushed_signing_queued();
                }
                Ok(ManifestPut {
                    digest,
                    subject: parsed.subject,
                })
            }
            Err(PutRejection::BlobUnknown(d) | PutRejection::ManifestUnknown(d)) => {
                Err(ServiceError::ManifestBlobUnknown(d))
            }
            Err(PutRejection::TagImmutable { tag, current }) => {
                Err(ServiceError::TagImmutable { tag, current })
            }
            Err(PutRejection::TooManyTags) => Err(LimitExceeded::TagsPerImage {
                digest: digest.to_string(),
                limit: self.limits.tags_per_image,
            }
            .into()),
        }
    }

    /// Deletes a manifest by digest (with its tags) or just a tag.
    pub async fn delete_manifest(&self, name: &str, reference: &ManifestRef) -> ServiceResult<()> {
        let repo = self.repository(name).await?;
        let outcome = match reference {
            ManifestRef::Digest(d) => self.db.delete_manifest(repo.id, d.as_str()).await?,
            ManifestRef::Tag(t) => self.db.delete_tag(repo.id, t).await?,
        };
        match outcome {
            DeleteOutcome::Deleted => Ok(()),
            DeleteOutcome::NotFound => {
                Err(ServiceError::ManifestUnknown(reference.text().to_owned()))
            }
            DeleteOutcome::ReferencedBy(index) => Err(ServiceError::ManifestReferenced(index)),
        }
    }
}
