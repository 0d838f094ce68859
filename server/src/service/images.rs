//! Images as the ECR API sees them: listing, describing, fetching and deleting
//! by tag or digest, with per-image failures instead of whole-request errors.

use super::{ManifestRef, Registry, ServiceError, ServiceResult};
use crate::db::DeleteOutcome;
use berth_app::oci::{validate_tag, Digest};

pub use crate::model::Image;

pub use crate::model::TagStatus;

/// An image named by tag, digest, or both, as ECR's `ImageIdentifier`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageId {
    /// `imageDigest`.
    pub digest: Option<String>,
    /// `imageTag`.
    pub tag: Option<String>,
}

/// Why one image of a batch failed, as ECR's `ImageFailureCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFailure {
    /// The digest is malformed.
    InvalidImageDigest,
    /// The tag is malformed.
    InvalidImageTag,
    /// Tag and digest name different images.
    ImageTagDoesNotMatchDigest,
    /// No such image.
    ImageNotFound,
    /// Neither tag nor digest given.
    MissingDigestAndTag,
    /// An index in the repository references the image.
    ImageReferencedByManifestList,
}

impl ImageFailure {
    /// The code's name.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidImageDigest => "InvalidImageDigest",
            Self::InvalidImageTag => "InvalidImageTag",
            Self::ImageTagDoesNotMatchDigest => "ImageTagDoesNotMatchDigest",
            Self::ImageNotFound => "ImageNotFound",
            Self::MissingDigestAndTag => "MissingDigestAndTag",
            Self::ImageReferencedByManifestList => "ImageReferencedByManifestList",
        }
    }

    /// A reason in words.
    pub fn reason(self) -> &'static str {
        match self {
            Self::InvalidImageDigest => "Invalid image digest",
            Self::InvalidImageTag => "Invalid image tag",
            Self::ImageTagDoesNotMatchDigest => "The image tag does not match the image digest",
            Self::ImageNotFound => "Requested image not found",
            Self::MissingDigestAndTag => "Either an image tag or an image digest is required",
            Self::ImageReferencedByManifestList => {
                "The image is referenced by a manifest list in this repository"
            }
        }
    }
}

/// Resolves one identifier to an image, or the reason it cannot be.
async fn resolve(
    registry: &Registry,
    repository_id: i64,
    id: &ImageId,
) -> ServiceResult<Result<Image, ImageFailure>> {
    let db = &registry.db;
    let by_digest = match &id.digest {
        Some(d) if Digest::parse(d).is_err() => return Ok(Err(ImageFailure::InvalidImageDigest)),
        Some(d) => Some(db.image_by_digest(repository_id, d).await?),
        None => None,
    };
    let by_tag = match &id.tag {
        Some(t) if validate_tag(t).is_err() => return Ok(Err(ImageFailure::InvalidImageTag)),
        Some(t) => Some(db.image_by_tag(repository_id, t).await?),
        None => None,
    };
    Ok(match (by_digest, by_tag) {
        (None, None) => Err(ImageFailure::MissingDigestAndTag),
        (Some(Some(a)), Some(Some(b))) if a.id != b.id => {
            Err(ImageFailure::ImageTagDoesNotMatchDigest)
        }
        (Some(Some(image)), None | Some(Some(_))) | (None, Some(Some(image))) => Ok(image),
        _ => Err(ImageFailure::ImageNotFound),
    })
}

/// The outcome of one image in a batch.
pub type ImageResult<T> = Result<T, (ImageId, ImageFailure)>;

impl Registry {
    /// Images of a repository after manifest id `after`.
    pub async fn images_after(
        &self,
        name: &str,
        status: TagStatus,
        after: i64,
        limit: usize,
    ) -> ServiceResult<Vec<Image>> {
        let repo = self.repository(name).await?;
        Ok(self
            .db
            .images_after(repo.id, status, after, limit as i64)
            .await?)
    }

    /// ListImages entries after the cursor `(manifest id, tag)`.
    pub async fn image_ids_after(
        &self,
        name: &str,
        status: TagStatus,
        after: (i64, &str),
        limit: usize,
    ) -> ServiceResult<Vec<(i64, String, Option<String>)>> {
        let repo = self.repository(name).await?;
        Ok(self
            .db
            .image_ids_after(repo.id, status, after, limit as i64)
            .await?)
    }

    /// Looks up each identifier.
    pub async fn find_images(
        &self,
        name: &str,
        ids: &[ImageId],
    ) -> ServiceResult<Vec<ImageResult<(ImageId, Image)>>> {
        let repo = self.repository(name).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(match resolve(self, repo.id, id).await? {
                Ok(image) => Ok((id.clone(), image)),
                Err(failure) => Err((id.clone(), failure)),
            });
        }
        Ok(out)
    }

    /// Deletes each identified image: by digest the image and its tags; by tag only
    /// the tag, and the image too when that was its last tag (ECR's rule).
    pub async fn delete_images(
        &self,
        name: &str,
        ids: &[ImageId],
    ) -> ServiceResult<Vec<ImageResult<ImageId>>> {
        let repo = self.repository(name).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let image = match resolve(self, repo.id, id).await? {
                Ok(image) => image,
                Err(failure) => {
                    out.push(Err((id.clone(), failure)));
                    continue;
                }
            };
            let digest = Digest::parse(&image.digest).expect("stored digests are valid");
            let by_tag_only = id.digest.is_none() && image.tags.len() > 1;
            let outcome = match (&id.tag, by_tag_only) {
                (Some(tag), true) => self.db.delete_tag(repo.id, tag).await?,
                _ => self.db.delete_manifest(repo.id, digest.as_str()).await?,
            };
            out.push(match outcome {
                DeleteOutcome::Deleted => Ok(ImageId {
                    digest: Some(image.digest.clone()),
                    tag: id.tag.clone(),
                }),
                DeleteOutcome::NotFound => Err((id.clone(), ImageFailure::ImageNotFound)),
                DeleteOutcome::ReferencedBy(_) => {
                    Err((id.clone(), ImageFailure::ImageReferencedByManifestList))
                }
            });
        }
        Ok(out)
    }

    /// Referrers of a subject in a repository, after digest `last`.
    pub async fn referrer_images(
        &self,
        name: &str,
        subject: &Digest,
        last: &str,
        limit: usize,
    ) -> ServiceResult<Vec<Image>> {
        let repo = self.repository(name).await?;
        Ok(self
            .db
            .referrer_images(repo.id, subject.as_str(), last, limit as i64)
            .await?)
    }

    /// ECR's PutImage: stores a manifest under a tag (or digest only), refusing a
    /// push that changes nothing.
    pub async fn put_image(
        &self,
        name: &str,
        manifest: &[u8],
        media_type: Option<&str>,
        tag: Option<&str>,
        digest: Option<&Digest>,
    ) -> ServiceResult<(super::ManifestPut, Image)> {
        let repo = self.repository(name).await?;
        if let Some(tag) = tag {
            validate_tag(tag).map_err(|e| ServiceError::InvalidSetting(e.to_string()))?;
        }
        let reference = match (tag, digest) {
            (Some(t), _) => ManifestRef::Tag(t.to_owned()),
            (None, Some(d)) => ManifestRef::Digest(d.clone()),
            (None, None) => ManifestRef::Digest(super::manifests::sha256_of(manifest)),
        };
        let computed = super::manifests::sha256_of(manifest);
        if let Some(claimed) = digest {
            if claimed != &computed {
                return Err(ServiceError::DigestMismatch {
                    claimed: claimed.to_string(),
                    computed: computed.to_string(),
                });
            }
        }
        let existing = match tag {
            Some(t) => self.db.image_by_tag(repo.id, t).await?,
            None => self.db.image_by_digest(repo.id, computed.as_str()).await?,
        };
        if existing.is_some_and(|image| image.digest == computed.as_str()) {
            return Err(ServiceError::ImageAlreadyExists(computed.to_string()));
        }
        let put = self
            .put_manifest(name, &reference, media_type, manifest)
            .await?;
        let image = self
            .db
            .image_by_digest(repo.id, put.digest.as_str())
            .await?
            .ok_or_else(|| ServiceError::ManifestUnknown(put.digest.to_string()))?;
        Ok((put, image))
    }
}
