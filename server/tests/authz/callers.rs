//! The callers of the authorization matrix, and the ECR actions that matter to them.

/// The password of every user these tests create.
pub(crate) const USER_PASSWORD: &str = "authz-user-password-1";

pub(crate) const FULL_ACCESS: &str = "AmazonEC2ContainerRegistryFullAccess";
pub(crate) const POWER_USER: &str = "AmazonEC2ContainerRegistryPowerUser";
pub(crate) const PULL_ONLY: &str = "AmazonEC2ContainerRegistryPullOnly";

pub(crate) const LIST_IMAGES: &str = "ecr:ListImages";
pub(crate) const BATCH_GET_IMAGE: &str = "ecr:BatchGetImage";
pub(crate) const PUT_IMAGE: &str = "ecr:PutImage";
pub(crate) const BATCH_DELETE_IMAGE: &str = "ecr:BatchDeleteImage";
pub(crate) const GET_DOWNLOAD_URL: &str = "ecr:GetDownloadUrlForLayer";
pub(crate) const INITIATE_UPLOAD: &str = "ecr:InitiateLayerUpload";
pub(crate) const UPLOAD_PART: &str = "ecr:UploadLayerPart";
pub(crate) const COMPLETE_UPLOAD: &str = "ecr:CompleteLayerUpload";
pub(crate) const CREATE_REPOSITORY: &str = "ecr:CreateRepository";

/// What every seeded repository's policy denies to bob (a PowerUser).
pub(crate) const PUSH_ACTIONS: [&str; 4] =
    [PUT_IMAGE, INITIATE_UPLOAD, UPLOAD_PART, COMPLETE_UPLOAD];

// ---------------------------------------------------------------------------
// Callers

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No `Authorization` header.
    Anonymous,
    /// `admin` with a wrong password.
    WrongPassword,
    /// `AWS` and an authorization token of admin's that has expired.
    ExpiredToken,
    /// `nobody`, a user with no policy at all.
    NoPolicy,
    /// `puller`, with AmazonEC2ContainerRegistryPullOnly.
    PullOnly,
    /// `pat`, with AmazonEC2ContainerRegistryPowerUser.
    PowerUser,
    /// `bob`, a PowerUser whose pushes the repository's policy denies.
    PowerUserDeniedByRepo,
    /// `admin` (FullAccess) with its password.
    Admin,
    /// `AWS` and a valid authorization token of admin's.
    AdminToken,
    /// admin's access key id and secret.
    AdminAccessKey,
}

impl Caller {
    pub(crate) const ALL: [Caller; 10] = [
        Caller::Anonymous,
        Caller::WrongPassword,
        Caller::ExpiredToken,
        Caller::NoPolicy,
        Caller::PullOnly,
        Caller::PowerUser,
        Caller::PowerUserDeniedByRepo,
        Caller::Admin,
        Caller::AdminToken,
        Caller::AdminAccessKey,
    ];

    /// The column header in the printed matrix.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Caller::Anonymous => "anon",
            Caller::WrongPassword => "badpw",
            Caller::ExpiredToken => "expired",
            Caller::NoPolicy => "nopolicy",
            Caller::PullOnly => "pullonly",
            Caller::PowerUser => "power",
            Caller::PowerUserDeniedByRepo => "power-rp",
            Caller::Admin => "admin",
            Caller::AdminToken => "token",
            Caller::AdminAccessKey => "akey",
        }
    }

    /// The user the server should name in a refusal.
    pub(crate) fn user(self) -> &'static str {
        match self {
            Caller::NoPolicy => "nobody",
            Caller::PullOnly => "puller",
            Caller::PowerUser => "pat",
            Caller::PowerUserDeniedByRepo => "bob",
            _ => "admin",
        }
    }
}
