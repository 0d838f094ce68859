//! Limits on what one client can make the registry hold: layers per image,
//! tags per image, open upload sessions per user, and bytes per blob. Each
//! refusal names the limit and the setting that raises it; the faces turn it
//! into their protocol's error (OCI codes on `/v2/`, `LimitExceededException`
//! on the ECR API).

/// Layers in one image manifest: ECR's fixed quota.
pub const LAYERS_PER_IMAGE: usize = 127;

/// The configurable limits, with ECR's quotas as defaults where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Tags that may point at one image (ECR: 1,000).
    pub tags_per_image: u32,
    /// Upload sessions one user may have open at once.
    pub uploads_per_user: u32,
    /// Bytes in one blob (ECR's largest layer: 52,000 MiB).
    pub blob_size: u64,
}

impl Limits {
    /// ECR's quotas, and 1,000 open uploads per user (docker opens 5 at a time).
    pub const DEFAULT: Limits = Limits {
        tags_per_image: 1_000,
        uploads_per_user: 1_000,
        blob_size: 52_000 * 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A request that would go over one of the [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// The image already has as many tags as allowed.
    #[error(
        "image {digest} already has {limit} tags, the most one image may have \
         (the max_tags_per_image setting); delete a tag first"
    )]
    TagsPerImage {
        /// The image's digest.
        digest: String,
        /// The limit.
        limit: u32,
    },
    /// The user has as many uploads open as allowed.
    #[error(
        "user {user} already has {limit} uploads in progress, the most one user may have \
         open at once (the max_uploads_per_user setting); finish or cancel one, or wait for \
         abandoned ones to expire"
    )]
    UploadsPerUser {
        /// The user's name.
        user: String,
        /// The limit.
        limit: u32,
    },
    /// The blob would be larger than allowed.
    #[error(
        "the blob would be larger than {limit} bytes, the largest blob this registry takes \
         (the max_blob_size setting)"
    )]
    BlobSize {
        /// The limit, in bytes.
        limit: u64,
    },
}

/// Whether a blob that holds `held` bytes may take `more`.
pub fn check_blob_size(limits: &Limits, held: u64, more: u64) -> Result<(), LimitExceeded> {
    match held.checked_add(more) {
        Some(total) if total <= limits.blob_size => Ok(()),
        _ => Err(LimitExceeded::BlobSize {
            limit: limits.blob_size,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_may_reach_the_limit_but_not_pass_it() {
        let limits = Limits {
            blob_size: 10,
            ..Limits::DEFAULT
        };
        assert_eq!(check_blob_size(&limits, 4, 6), Ok(()));
        assert_eq!(
            check_blob_size(&limits, 4, 7),
            Err(LimitExceeded::BlobSize { limit: 10 })
        );
        assert!(
            check_blob_size(&limits, u64::MAX, 1).is_err(),
            "no overflow"
        );
    }

    #[test]
    fn each_refusal_names_its_setting() {
        let refusals = [
            LimitExceeded::TagsPerImage {
                digest: "sha256:ab".into(),
                limit: 3,
            }
            .to_string(),
            LimitExceeded::UploadsPerUser {
                user: "ci".into(),
                limit: 2,
            }
            .to_string(),
            LimitExceeded::BlobSize { limit: 5 }.to_string(),
        ];
        for (message, setting) in refusals.iter().zip([
            "max_tags_per_image",
            "max_uploads_per_user",
            "max_blob_size",
        ]) {
            assert!(message.contains(setting), "{message}");
        }
    }
}
