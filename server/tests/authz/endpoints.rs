//! What each cell expects, and the registry endpoints the matrix calls.

use super::*;

// ---------------------------------------------------------------------------
// Expectations and requests

/// The answer a cell should get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The endpoint's success status.
    Allowed,
    /// 403 DENIED because no policy allows the action.
    Denied(&'static str),
    /// 403 DENIED because the repository policy explicitly denies the action.
    DeniedByRepo(&'static str),
    /// 401 UNAUTHORIZED with the Basic challenge.
    Unauthorized,
}

pub(crate) const OK: Expect = Expect::Allowed;

pub(crate) fn deny(action: &'static str) -> Expect {
    Expect::Denied(action)
}

pub(crate) fn repo_deny(action: &'static str) -> Expect {
    Expect::DeniedByRepo(action)
}

/// Whether an allowed request changes the repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Reads,
    Writes,
}

/// An HTTP request, before credentials are added.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) body: Option<(&'static str, Vec<u8>)>,
}

impl Req {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Req {
            method,
            path: path.into(),
            body: None,
        }
    }

    pub(crate) fn body(mut self, content_type: &'static str, data: &[u8]) -> Self {
        self.body = Some((content_type, data.to_vec()));
        self
    }
}

/// A repository seeded for one cell.
pub(crate) struct Target {
    pub(crate) repo: String,
    /// The manifest tagged `v1`.
    pub(crate) manifest: Vec<u8>,
    pub(crate) manifest_digest: String,
    /// The image's layer.
    pub(crate) layer: String,
    /// A blob linked to the repository that no manifest references.
    pub(crate) loose_blob: String,
    /// The `Location` of an upload session admin opened.
    pub(crate) session: String,
    /// Content that is not in the registry yet, for uploads.
    pub(crate) new_blob: Vec<u8>,
}

/// One row of the matrix: an endpoint kind, how to call it, and the answer
/// each of the four policy-dependent callers gets. Anonymous, wrong-password
/// and expired-token callers always get 401; admin (by password, token or
/// access key) always gets `success`.
pub(crate) struct Endpoint {
    pub(crate) name: &'static str,
    pub(crate) success: StatusCode,
    pub(crate) effect: Effect,
    pub(crate) build: fn(&Target) -> Req,
    pub(crate) no_policy: Expect,
    pub(crate) pull_only: Expect,
    pub(crate) power_user: Expect,
    pub(crate) power_user_denied_by_repo: Expect,
}

impl Endpoint {
    pub(crate) fn new(
        name: &'static str,
        success: StatusCode,
        effect: Effect,
        build: fn(&Target) -> Req,
    ) -> Self {
        Endpoint {
            name,
            success,
            effect,
            build,
            no_policy: OK,
            pull_only: OK,
            power_user: OK,
            power_user_denied_by_repo: OK,
        }
    }

    /// The answers for: no policy, PullOnly, PowerUser, PowerUser denied by the repository policy.
    pub(crate) fn callers(
        mut self,
        no_policy: Expect,
        pull_only: Expect,
        power: Expect,
        power_rp: Expect,
    ) -> Self {
        self.no_policy = no_policy;
        self.pull_only = pull_only;
        self.power_user = power;
        self.power_user_denied_by_repo = power_rp;
        self
    }

    pub(crate) fn expect(&self, caller: Caller) -> Expect {
        match caller {
            Caller::Anonymous | Caller::WrongPassword | Caller::ExpiredToken => {
                Expect::Unauthorized
            }
            Caller::NoPolicy => self.no_policy,
            Caller::PullOnly => self.pull_only,
            Caller::PowerUser => self.power_user,
            Caller::PowerUserDeniedByRepo => self.power_user_denied_by_repo,
            Caller::Admin | Caller::AdminToken | Caller::AdminAccessKey => OK,
        }
    }
}

/// Every `/v2` endpoint kind, with who may call it.
pub(crate) fn endpoints() -> Vec<Endpoint> {
    use Effect::{Reads, Writes};
    use Method as M;
    vec![
        Endpoint::new("GET /v2/", StatusCode::OK, Reads, |_| {
            Req::new(M::GET, "/v2/")
        })
        .callers(OK, OK, OK, OK),
        Endpoint::new("GET catalog", StatusCode::OK, Reads, |_| {
            Req::new(M::GET, "/v2/_catalog")
        })
        .callers(OK, OK, OK, OK),
        Endpoint::new("GET tags/list", StatusCode::OK, Reads, |t| {
            Req::new(M::GET, format!("/v2/{}/tags/list", t.repo))
        })
        .callers(deny(LIST_IMAGES), deny(LIST_IMAGES), OK, OK),
        Endpoint::new("GET manifest", StatusCode::OK, Reads, |t| {
            Req::new(M::GET, format!("/v2/{}/manifests/v1", t.repo))
        })
        .callers(deny(BATCH_GET_IMAGE), OK, OK, OK),
        Endpoint::new("HEAD manifest", StatusCode::OK, Reads, |t| {
            Req::new(M::HEAD, format!("/v2/{}/manifests/v1", t.repo))
        })
        .callers(deny(BATCH_GET_IMAGE), OK, OK, OK),
        Endpoint::new("PUT manifest", StatusCode::CREATED, Writes, |t| {
            Req::new(M::PUT, format!("/v2/{}/manifests/pushed", t.repo))
                .body(OCI_MANIFEST, &t.manifest)
        })
        .callers(deny(PUT_IMAGE), deny(PUT_IMAGE), OK, repo_deny(PUT_IMAGE)),
        Endpoint::new("DELETE manifest", StatusCode::ACCEPTED, Writes, |t| {
            Req::new(
                M::DELETE,
                format!("/v2/{}/manifests/{}", t.repo, t.manifest_digest),
            )
        })
        .callers(
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
        ),
        Endpoint::new("GET blob", StatusCode::OK, Reads, |t| {
            Req::new(M::GET, format!("/v2/{}/blobs/{}", t.repo, t.layer))
        })
        .callers(deny(GET_DOWNLOAD_URL), OK, OK, OK),
        Endpoint::new("HEAD blob", StatusCode::OK, Reads, |t| {
            Req::new(M::HEAD, format!("/v2/{}/blobs/{}", t.repo, t.layer))
        })
        .callers(deny(GET_DOWNLOAD_URL), OK, OK, OK),
        Endpoint::new("DELETE blob", StatusCode::ACCEPTED, Writes, |t| {
            Req::new(M::DELETE, format!("/v2/{}/blobs/{}", t.repo, t.loose_blob))
        })
        .callers(
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
        ),
        Endpoint::new("POST upload", StatusCode::ACCEPTED, Writes, |t| {
            Req::new(M::POST, format!("/v2/{}/blobs/uploads/", t.repo))
        })
        .callers(
            deny(INITIATE_UPLOAD),
            deny(INITIATE_UPLOAD),
            OK,
            repo_deny(INITIATE_UPLOAD),
        ),
        Endpoint::new("POST upload ?digest=", StatusCode::CREATED, Writes, |t| {
            let digest = sha256_digest(&t.new_blob);
            Req::new(
                M::POST,
                format!("/v2/{}/blobs/uploads/?digest={digest}", t.repo),
            )
            .body("application/octet-stream", &t.new_blob)
        })
        .callers(
            deny(INITIATE_UPLOAD),
            deny(INITIATE_UPLOAD),
            OK,
            repo_deny(INITIATE_UPLOAD),
        ),
        Endpoint::new("PATCH upload", StatusCode::ACCEPTED, Writes, |t| {
            Req::new(M::PATCH, t.session.clone()).body("application/octet-stream", &t.new_blob)
        })
        .callers(
            deny(UPLOAD_PART),
            deny(UPLOAD_PART),
            OK,
            repo_deny(UPLOAD_PART),
        ),
        Endpoint::new("GET upload", StatusCode::NO_CONTENT, Reads, |t| {
            Req::new(M::GET, t.session.clone())
        })
        .callers(
            deny(UPLOAD_PART),
            deny(UPLOAD_PART),
            OK,
            repo_deny(UPLOAD_PART),
        ),
        Endpoint::new("PUT upload ?digest=", StatusCode::CREATED, Writes, |t| {
            let digest = sha256_digest(&t.new_blob);
            Req::new(M::PUT, Registry::with_digest(&t.session, &digest))
                .body("application/octet-stream", &t.new_blob)
        })
        .callers(
            deny(COMPLETE_UPLOAD),
            deny(COMPLETE_UPLOAD),
            OK,
            repo_deny(COMPLETE_UPLOAD),
        ),
        Endpoint::new("DELETE upload", StatusCode::NO_CONTENT, Writes, |t| {
            Req::new(M::DELETE, t.session.clone())
        })
        .callers(
            deny(UPLOAD_PART),
            deny(UPLOAD_PART),
            OK,
            repo_deny(UPLOAD_PART),
        ),
        Endpoint::new("GET referrers", StatusCode::OK, Reads, |t| {
            Req::new(
                M::GET,
                format!("/v2/{}/referrers/{}", t.repo, t.manifest_digest),
            )
        })
        // ecr:BatchGetImage, the action ECR documents for ListImageReferrers:
        // whoever may pull an image may list what refers to it.
        .callers(deny(BATCH_GET_IMAGE), OK, OK, OK),
    ]
}
