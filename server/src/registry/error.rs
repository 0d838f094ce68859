//! The registry API's errors: one enum, one table of codes and statuses, one
//! place that renders `{"errors":[{"code","message","detail"}]}`.

use crate::auth::authorize::AuthzError;
use crate::service::{LimitExceeded, ServiceError};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered on `/v2/`.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but a policy does not allow the request.
    #[error("{0}")]
    Denied(String),
    /// The repository name breaks the grammar.
    #[error("{0}")]
    NameInvalid(String),
    /// The repository does not exist.
    #[error("{0}")]
    NameUnknown(String),
    /// The tag breaks the grammar.
    #[error("{0}")]
    TagInvalid(String),
    /// A digest is malformed, unsupported, or does not match the content.
    #[error("{0}")]
    DigestInvalid(String),
    /// The blob is unknown to the repository.
    #[error("{0}")]
    BlobUnknown(String),
    /// The upload session is unknown.
    #[error("{0}")]
    BlobUploadUnknown(String),
    /// The upload request is malformed.
    #[error("{0}")]
    BlobUploadInvalid(String),
    /// A chunk did not start where the upload ends (416, with the current `Range`).
    #[error("{message}")]
    ChunkOutOfOrder {
        /// What to tell the client.
        message: String,
        /// Bytes received so far.
        size: u64,
    },
    /// A blob `Range` outside the blob (416).
    #[error("{message}")]
    RangeNotSatisfiable {
        /// What to tell the client.
        message: String,
        /// The blob's size.
        size: u64,
    },
    /// The manifest is unknown.
    #[error("{0}")]
    ManifestUnknown(String),
    /// The manifest is malformed.
    #[error("{0}")]
    ManifestInvalid(String),
    /// The manifest references something missing.
    #[error("{0}")]
    ManifestBlobUnknown(String),
    /// The body (a manifest, a blob) is larger than its limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// The request's headers are larger than their limit (431).
    #[error("{0}")]
    HeadersTooLarge(String),
    /// The request conflicts with the repository's state (immutable tag, referenced manifest).
    #[error("{0}")]
    Conflict(String),
    /// `n` is not a number.
    #[error("{0}")]
    PaginationInvalid(String),
    /// No such endpoint.
    #[error("{0}")]
    NotFound(String),
    /// The endpoint does not support the method.
    #[error("{0}")]
    Unsupported(String),
    /// Too many requests (or failed logins); try again later.
    #[error("{message}")]
    TooManyRequests {
        /// What to tell the client.
        message: String,
        /// Seconds until trying again makes sense.
        retry_after: u64,
    },
    /// The blob store cannot be reached for now (S3 down or timing out); the
    /// request changed nothing and can be tried again.
    #[error("blob storage is unavailable; nothing was changed, try again shortly")]
    Unavailable,
    /// The disk holding the blobs or the database is full (507): the request
    /// stored nothing, and pushes work again once space is freed.
    #[error("the registry's storage is full (no space left on device): nothing was stored; push again once space is freed")]
    StorageFull,
    /// Something failed inside the server; details are logged, not sent.
    #[error("internal error; see the registry's log")]
    Internal,
}

impl RegistryError {
    /// The error code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "UNAUTHORIZED",
            Self::Denied(_) => "DENIED",
            Self::NameInvalid(_) => "NAME_INVALID",
            Self::NameUnknown(_) => "NAME_UNKNOWN",
            Self::TagInvalid(_) => "TAG_INVALID",
            Self::DigestInvalid(_) => "DIGEST_INVALID",
            Self::BlobUnknown(_) => "BLOB_UNKNOWN",
            Self::BlobUploadUnknown(_) => "BLOB_UPLOAD_UNKNOWN",
            Self::BlobUploadInvalid(_) | Self::ChunkOutOfOrder { .. } => "BLOB_UPLOAD_INVALID",
            Self::RangeNotSatisfiable { .. } => "RANGE_INVALID",
            Self::ManifestUnknown(_) => "MANIFEST_UNKNOWN",
            Self::ManifestInvalid(_) => "MANIFEST_INVALID",
            Self::ManifestBlobUnknown(_) => "MANIFEST_BLOB_UNKNOWN",
            Self::TooLarge(_) | Self::HeadersTooLarge(_) => "SIZE_INVALID",
            Self::Conflict(_) => "DENIED",
            Self::PaginationInvalid(_) => "PAGINATION_NUMBER_INVALID",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Unsupported(_) => "UNSUPPORTED",
            Self::TooManyRequests { .. } => "TOOMANYREQUESTS",
            Self::Unavailable | Self::StorageFull => "UNAVAILABLE",
            Self::Internal => "UNKNOWN",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Denied(_) => StatusCode::FORBIDDEN,
            Self::NameUnknown(_)
            | Self::BlobUnknown(_)
            | Self::BlobUploadUnknown(_)
            | Self::ManifestUnknown(_)
            | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::ChunkOutOfOrder { .. } | Self::RangeNotSatisfiable { .. } => {
                StatusCode::RANGE_NOT_SATISFIABLE
            }
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unsupported(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Self::NameInvalid(_)
            | Self::TagInvalid(_)
            | Self::DigestInvalid(_)
            | Self::BlobUploadInvalid(_)
            | Self::ManifestInvalid(_)
            | Self::ManifestBlobUnknown(_)
            | Self::PaginationInvalid(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// `Range: 0-<last byte>` as registries report upload progress ("0-0" when empty).
pub fn upload_range(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body =
            json!({"errors": [{"code": self.code(), "message": self.to_string(), "detail": null}]});
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"Berth\""),
                );
            }
            Self::ChunkOutOfOrder { size, .. } => {
                if let Ok(v) = HeaderValue::from_str(&upload_range(*size)) {
                    headers.insert(header::RANGE, v);
                }
            }
            Self::TooManyRequests { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Self::RangeNotSatisfiable { size, .. } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<AuthzError> for RegistryError {
    fn from(error: AuthzError) -> Self {
        match error {
            AuthzError::Denied(denied) => Self::Denied(denied.0),
            AuthzError::Database(_) => Self::Internal,
        }
    }
}

impl From<ServiceError> for RegistryError {
    fn from(error: ServiceError) -> Self {
        crate::telemetry::metrics::record_failure(&error);
        let message = error.to_string();
        match error {
            ServiceError::RepositoryUnknown { .. } | ServiceError::RepositoryNotCreated { .. } => {
                Self::NameUnknown(message)
            }
            ServiceError::BlobUnknown(_) => Self::BlobUnknown(message),
            ServiceError::UploadUnknown(_)
            | ServiceError::UploadExpired { .. }
            | ServiceError::UploadLost(_)
            | ServiceError::UploadCollected(_) => Self::BlobUploadUnknown(message),
            ServiceError::UploadOutOfOrder { size } => Self::ChunkOutOfOrder { message, size },
            ServiceError::UploadInvalid(_) => Self::BlobUploadInvalid(message),
            ServiceError::DigestMismatch { .. } => Self::DigestInvalid(message),
            ServiceError::ManifestUnknown(_) => Self::ManifestUnknown(message),
            ServiceError::ManifestInvalid(_) => Self::ManifestInvalid(message),
            ServiceError::ManifestBlobUnknown(_) => Self::ManifestBlobUnknown(message),
            ServiceError::ManifestTooLarge => Self::TooLarge(message),
            ServiceError::Limit(limit) => match limit {
                LimitExceeded::TagsPerImage { .. } => Self::Denied(message),
                // Open uploads finish or expire: trying again later can work.
                LimitExceeded::UploadsPerUser { .. } => Self::TooManyRequests {
                    message,
                    retry_after: 60,
                },
                LimitExceeded::BlobSize { .. } => Self::TooLarge(message),
            },
            ServiceError::TagImmutable { .. }
            | ServiceError::ManifestReferenced(_)
            | ServiceError::BlobInUse(_) => Self::Conflict(message),
            ServiceError::RepositoryExists(_)
            | ServiceError::RepositoryNotEmpty(_)
            | ServiceError::ImageAlreadyExists(_) => Self::Conflict(message),
            ServiceError::InvalidSetting(_) | ServiceError::UnsupportedImageType(_) => {
                Self::Unsupported(message)
            }
            ServiceError::Kms(_) => Self::Denied(message),
            ServiceError::RangeNotSatisfiable { size } => {
                Self::RangeNotSatisfiable { message, size }
            }
            error if error.is_storage_full() => {
                tracing::error!(%error, "the disk is full");
                Self::StorageFull
            }
            error if error.is_store_unavailable() => {
                tracing::error!(%error, "blob storage is unavailable");
                Self::Unavailable
            }
            ServiceError::Storage(e) => {
                tracing::error!(error = %e, "blob storage failed");
                Self::Internal
            }
            ServiceError::Database(e) => {
                tracing::error!(error = %e, "database failed");
                Self::Internal
            }
        }
    }
}
