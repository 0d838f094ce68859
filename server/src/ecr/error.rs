//! The ECR API's errors: one enum, rendered once as AWS JSON 1.1
//! `{"__type": "<Shape>", "message": "…"}` with AWS's status codes.

use crate::auth::authorize::AuthzError;
use crate::service::ServiceError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error answered on the ECR API. Each variant is named after its AWS shape.
#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    /// No `Authorization` header.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// The `Authorization` header is malformed.
    #[error("{0}")]
    IncompleteSignature(String),
    /// The signature does not verify, or is too old.
    #[error("{0}")]
    InvalidSignature(String),
    /// Unknown access key id.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// Authenticated but not allowed.
    #[error("{0}")]
    AccessDenied(String),
    /// `X-Amz-Target` names no operation Berth serves.
    #[error("{0}")]
    UnknownOperation(String),
    /// The body is not the JSON the operation takes.
    #[error("{0}")]
    Serialization(String),
    /// A parameter is invalid.
    #[error("{0}")]
    InvalidParameter(String),
    /// A parameter breaks a constraint.
    #[error("{0}")]
    Validation(String),
    /// A resource tag is invalid.
    #[error("{0}")]
    InvalidTagParameter(String),
    /// A repository would have more resource tags than ECR allows.
    #[error("{0}")]
    TooManyTags(String),
    /// No such repository.
    #[error("{0}")]
    RepositoryNotFound(String),
    /// The repository exists.
    #[error("{0}")]
    RepositoryAlreadyExists(String),
    /// The repository has images.
    #[error("{0}")]
    RepositoryNotEmpty(String),
    /// No such image.
    #[error("{0}")]
    ImageNotFound(String),
    /// Nothing would change.
    #[error("{0}")]
    ImageAlreadyExists(String),
    /// The tag is immutable.
    #[error("{0}")]
    ImageTagAlreadyExists(String),
    /// The digest does not match the manifest.
    #[error("{0}")]
    ImageDigestDoesNotMatch(String),
    /// Referenced layers are missing.
    #[error("{0}")]
    LayersNotFound(String),
    /// The manifest list references missing images.
    #[error("{0}")]
    ReferencedImagesNotFound(String),
    /// No such upload.
    #[error("{0}")]
    UploadNotFound(String),
    /// The uploaded layer does not have the digest given.
    #[error("{0}")]
    InvalidLayer(String),
    /// A part is out of order.
    #[error("{0}")]
    InvalidLayerPart(String),
    /// An upload with no bytes.
    #[error("{0}")]
    EmptyUpload(String),
    /// The repository has no lifecycle policy.
    #[error("{0}")]
    LifecyclePolicyNotFound(String),
    /// No preview was started for the repository.
    #[error("{0}")]
    LifecyclePolicyPreviewNotFound(String),
    /// The repository has no policy.
    #[error("{0}")]
    RepositoryPolicyNotFound(String),
    /// The registry has no policy.
    #[error("{0}")]
    RegistryPolicyNotFound(String),
    /// Too many requests (or failed signatures); try again later.
    #[error("{0}")]
    Throttling(String),
    /// A request limit was exceeded.
    #[error("{0}")]
    LimitExceeded(String),
    /// The image was never scanned.
    #[error("{0}")]
    ScanNotFound(String),
    /// The artifact is not an image a scan can read.
    #[error("{0}")]
    UnsupportedImageType(String),
    /// The registry has no signing configuration.
    #[error("{0}")]
    SigningConfigurationNotFound(String),
    /// The repository's KMS key cannot be used: the message, and KMS's own
    /// error (`NotFoundException`, `DisabledException`, …) sent as `kmsError`.
    #[error("{0}")]
    Kms(String, &'static str),
    /// The disk holding the blobs or the database is full.
    #[error("The registry's storage is full (no space left on device): nothing was stored; try again once space is freed")]
    StorageFull,
    /// Something failed inside the server; details are logged, not sent.
    #[error("The server could not complete the request; see its log")]
    Server,
}

impl EcrError {
    /// The AWS shape name sent as `__type`.
    pub fn shape(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::IncompleteSignature(_) => "IncompleteSignatureException",
            Self::InvalidSignature(_) => "InvalidSignatureException",
            Self::UnrecognizedClient => "UnrecognizedClientException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::UnknownOperation(_) => "UnknownOperationException",
            Self::Serialization(_) => "SerializationException",
            Self::InvalidParameter(_) => "InvalidParameterException",
            Self::Validation(_) => "ValidationException",
            Self::InvalidTagParameter(_) => "InvalidTagParameterException",
            Self::TooManyTags(_) => "TooManyTagsException",
            Self::RepositoryNotFound(_) => "RepositoryNotFoundException",
            Self::RepositoryAlreadyExists(_) => "RepositoryAlreadyExistsException",
            Self::RepositoryNotEmpty(_) => "RepositoryNotEmptyException",
            Self::ImageNotFound(_) => "ImageNotFoundException",
            Self::ImageAlreadyExists(_) => "ImageAlreadyExistsException",
            Self::ImageTagAlreadyExists(_) => "ImageTagAlreadyExistsException",
            Self::ImageDigestDoesNotMatch(_) => "ImageDigestDoesNotMatchException",
            Self::LayersNotFound(_) => "LayersNotFoundException",
            Self::ReferencedImagesNotFound(_) => "ReferencedImagesNotFoundException",
            Self::UploadNotFound(_) => "UploadNotFoundException",
            Self::InvalidLayer(_) => "InvalidLayerException",
            Self::InvalidLayerPart(_) => "InvalidLayerPartException",
            Self::EmptyUpload(_) => "EmptyUploadException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::ScanNotFound(_) => "ScanNotFoundException",
            Self::UnsupportedImageType(_) => "UnsupportedImageTypeException",
            Self::Kms(..) => "KmsException",
            Self::SigningConfigurationNotFound(_) => "SigningConfigurationNotFoundException",
            Self::Throttling(_) => "ThrottlingException",
            Self::RepositoryPolicyNotFound(_) => "RepositoryPolicyNotFoundException",
            Self::LifecyclePolicyNotFound(_) => "LifecyclePolicyNotFoundException",
            Self::LifecyclePolicyPreviewNotFound(_) => "LifecyclePolicyPreviewNotFoundException",
            Self::RegistryPolicyNotFound(_) => "RegistryPolicyNotFoundException",
            Self::Server | Self::StorageFull => "ServerException",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingAuthenticationToken
            | Self::IncompleteSignature(_)
            | Self::InvalidSignature(_)
            | Self::UnrecognizedClient
            | Self::AccessDenied(_) => StatusCode::FORBIDDEN,
            Self::Server | Self::StorageFull => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for EcrError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({"__type": self.shape(), "message": self.to_string()});
        if let Self::Kms(_, kms_error) = &self {
            body["kmsError"] = (*kms_error).into();
        }
        let mut response = (self.status(), body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        response
    }
}

impl From<AuthzError> for EcrError {
    fn from(error: AuthzError) -> Self {
        match error {
            AuthzError::Denied(denied) => Self::AccessDenied(denied.0),
            AuthzError::Database(_) => Self::Server,
        }
    }
}

impl From<ServiceError> for EcrError {
    fn from(error: ServiceError) -> Self {
        crate::telemetry::metrics::record_failure(&error);
        let message = error.to_string();
        match error {
            ServiceError::RepositoryUnknown { .. } | ServiceError::RepositoryNotCreated { .. } => {
                Self::RepositoryNotFound(message)
            }
            ServiceError::RepositoryExists(_) => Self::RepositoryAlreadyExists(message),
            ServiceError::RepositoryNotEmpty(_) => Self::RepositoryNotEmpty(message),
            ServiceError::InvalidSetting(_) => Self::InvalidParameter(message),
            ServiceError::UnsupportedImageType(_) => Self::UnsupportedImageType(message),
            ServiceError::Kms(e) => Self::Kms(message, e.kms_error()),
            ServiceError::ImageAlreadyExists(_) => Self::ImageAlreadyExists(message),
            ServiceError::TagImmutable { .. } => Self::ImageTagAlreadyExists(message),
            ServiceError::ManifestBlobUnknown(_) => Self::LayersNotFound(message),
            ServiceError::ManifestInvalid(_) | ServiceError::ManifestTooLarge => {
                Self::InvalidParameter(message)
            }
            ServiceError::DigestMismatch { .. } => Self::ImageDigestDoesNotMatch(message),
            ServiceError::ManifestUnknown(_) => Self::ImageNotFound(message),
            ServiceError::ManifestReferenced(_) | ServiceError::BlobInUse(_) => {
                Self::InvalidParameter(message)
            }
            ServiceError::UploadUnknown(_)
            | ServiceError::UploadExpired { .. }
            | ServiceError::UploadLost(_)
            | ServiceError::UploadCollected(_) => Self::UploadNotFound(message),
            ServiceError::Limit(_) => Self::LimitExceeded(message),
            ServiceError::UploadOutOfOrder { .. } | ServiceError::UploadInvalid(_) => {
                Self::InvalidLayerPart(message)
            }
            ServiceError::BlobUnknown(_) => Self::LayersNotFound(message),
            ServiceError::RangeNotSatisfiable { .. } => Self::InvalidParameter(message),
            error if error.is_storage_full() => {
                tracing::error!(%error, "the disk is full");
                Self::StorageFull
            }
            ServiceError::Storage(e) => {
                tracing::error!(error = %e, "blob storage failed");
                Self::Server
            }
            ServiceError::Database(e) => {
                tracing::error!(error = %e, "database failed");
                Self::Server
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EcrError;
    use axum::http::StatusCode;

    #[test]
    fn a_full_disk_is_a_server_exception_that_says_so() {
        let ecr = EcrError::from(crate::service::tests::enospc());
        assert_eq!(ecr.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(ecr.shape(), "ServerException");
        assert!(ecr.to_string().contains("storage is full"));
    }
}
