//! Parses a `/v2/*` request (method and path) into an [`Endpoint`] once,
//! before any logic runs: the operation it asks for, with its arguments.
//! Repository names contain `/`, so the path is matched from the right.
//! Dispatch and the permission table are each one exhaustive `match` on it.

use super::error::RegistryError;
use crate::service::ManifestRef;
use axum::http::Method;
use berth_app::oci::{validate_repository_name, validate_tag, Digest};

/// A registry API operation (OCI Distribution Spec v1.1, end-1 … end-13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET`/`HEAD /v2/` (end-1).
    ApiVersion,
    /// `GET /v2/_catalog`.
    Catalog,
    /// `GET /v2/<name>/tags/list` (end-8).
    ListTags {
        /// Repository.
        name: String,
    },
    /// `GET /v2/<name>/referrers/<digest>` (end-12).
    ListReferrers {
        /// Repository.
        name: String,
        /// Subject digest.
        digest: Digest,
    },
    /// `GET`/`HEAD /v2/<name>/manifests/<reference>` (end-3).
    GetManifest {
        /// Repository.
        name: String,
        /// Tag or digest.
        reference: ManifestRef,
        /// `GET` (true) or `HEAD` (false).
        body: bool,
    },
    /// `PUT /v2/<name>/manifests/<reference>` (end-7).
    PutManifest {
        /// Repository.
        name: String,
        /// Tag or digest.
        reference: ManifestRef,
    },
    /// `DELETE /v2/<name>/manifests/<reference>` (end-9).
    DeleteManifest {
        /// Repository.
        name: String,
        /// Tag or digest.
        reference: ManifestRef,
    },
    /// `GET`/`HEAD /v2/<name>/blobs/<digest>` (end-2).
    GetBlob {
        /// Repository.
        name: String,
        /// Blob digest.
        digest: Digest,
        /// `GET` (true) or `HEAD` (false).
        body: bool,
    },
    /// `DELETE /v2/<name>/blobs/<digest>` (end-10).
    DeleteBlob {
        /// Repository.
        name: String,
        /// Blob digest.
        digest: Digest,
    },
    /// `POST /v2/<name>/blobs/uploads/` (end-4, end-11).
    StartUpload {
        /// Repository.
        name: String,
    },
    /// `GET /v2/<name>/blobs/uploads/<id>` (end-13).
    UploadStatus {
        /// Repository.
        name: String,
        /// Session id.
        id: String,
    },
    /// `PATCH /v2/<name>/blobs/uploads/<id>` (end-5).
    PatchUpload {
        /// Repository.
        name: String,
        /// Session id.
        id: String,
    },
    /// `PUT /v2/<name>/blobs/uploads/<id>` (end-6).
    FinishUpload {
        /// Repository.
        name: String,
        /// Session id.
        id: String,
    },
    /// `DELETE /v2/<name>/blobs/uploads/<id>`.
    CancelUpload {
        /// Repository.
        name: String,
        /// Session id.
        id: String,
    },
}

impl Endpoint {
    /// The repository the operation is in; `None` for `/v2/` and the catalog.
    pub fn repository(&self) -> Option<&str> {
        match self {
            Self::ApiVersion | Self::Catalog => None,
            Self::ListTags { name }
            | Self::ListReferrers { name, .. }
            | Self::GetManifest { name, .. }
            | Self::PutManifest { name, .. }
            | Self::DeleteManifest { name, .. }
            | Self::GetBlob { name, .. }
            | Self::DeleteBlob { name, .. }
            | Self::StartUpload { name }
            | Self::UploadStatus { name, .. }
            | Self::PatchUpload { name, .. }
            | Self::FinishUpload { name, .. }
            | Self::CancelUpload { name, .. } => Some(name),
        }
    }

    /// The endpoint's name in metrics and the access log: one of a fixed set
    /// (a `HEAD` named apart from its `GET`), never anything from the path.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::ApiVersion => "ApiVersion",
            Self::Catalog => "Catalog",
            Self::ListTags { .. } => "ListTags",
            Self::ListReferrers { .. } => "ListReferrers",
            Self::GetManifest { body: true, .. } => "GetManifest",
            Self::GetManifest { body: false, .. } => "HeadManifest",
            Self::PutManifest { .. } => "PutManifest",
            Self::DeleteManifest { .. } => "DeleteManifest",
            Self::GetBlob { body: true, .. } => "GetBlob",
            Self::GetBlob { body: false, .. } => "HeadBlob",
            Self::DeleteBlob { .. } => "DeleteBlob",
            Self::StartUpload { .. } => "StartUpload",
            Self::UploadStatus { .. } => "UploadStatus",
            Self::PatchUpload { .. } => "PatchUpload",
            Self::FinishUpload { .. } => "FinishUpload",
            Self::CancelUpload { .. } => "CancelUpload",
        }
    }
}

/// The resource a path names, before the method picks an operation on it.
enum Resource<'a> {
    Base,
    Catalog,
    Tags(String),
    Referrers(String, &'a str),
    Manifest(String, &'a str),
    Blob(String, &'a str),
    Uploads(String),
    Upload(String, &'a str),
}

impl Resource<'_> {
    fn label(&self) -> &'static str {
        match self {
            Self::Base => "/v2/",
            Self::Catalog => "the catalog",
            Self::Tags(_) => "the tags list",
            Self::Referrers(..) => "referrers",
            Self::Manifest(..) => "manifests",
            Self::Blob(..) => "blobs",
            Self::Uploads(_) => "the upload start URL",
            Self::Upload(..) => "upload sessions",
        }
    }
}

/// Parses a request's method and path (without query) into the operation it
/// asks for.
pub fn parse(method: &Method, path: &str) -> Result<Endpoint, RegistryError> {
    let resource = resource(path)?;
    let read = method == Method::GET || method == Method::HEAD;
    let body = method == Method::GET;
    Ok(match (resource, method.clone()) {
        (Resource::Base, _) if read => Endpoint::ApiVersion,
        (Resource::Catalog, Method::GET) => Endpoint::Catalog,
        (Resource::Tags(name), Method::GET) => Endpoint::ListTags { name },
        (Resource::Referrers(name, d), Method::GET) => Endpoint::ListReferrers {
            name,
            digest: digest(d)?,
        },
        (Resource::Manifest(name, r), _) if read => Endpoint::GetManifest {
            name,
            // A reference no manifest can have is one this registry cannot
            // find, as Distribution answers; only a PUT is told it is invalid.
            reference: reference(r)
                .map_err(|e| RegistryError::ManifestUnknown(format!("manifest unknown: {e}")))?,
            body,
        },
        (Resource::Manifest(name, r), Method::PUT) => Endpoint::PutManifest {
            name,
            reference: reference(r)?,
        },
        (Resource::Manifest(name, r), Method::DELETE) => Endpoint::DeleteManifest {
            name,
            reference: reference(r)?,
        },
        (Resource::Blob(name, d), _) if read => Endpoint::GetBlob {
            name,
            digest: digest(d)?,
            body,
        },
        (Resource::Blob(name, d), Method::DELETE) => Endpoint::DeleteBlob {
            name,
            digest: digest(d)?,
        },
        (Resource::Uploads(name), Method::POST) => Endpoint::StartUpload { name },
        (Resource::Upload(name, id), Method::GET) => Endpoint::UploadStatus {
            name,
            id: id.to_owned(),
        },
        (Resource::Upload(name, id), Method::PATCH) => Endpoint::PatchUpload {
            name,
            id: id.to_owned(),
        },
        (Resource::Upload(name, id), Method::PUT) => Endpoint::FinishUpload {
            name,
            id: id.to_owned(),
        },
        (Resource::Upload(name, id), Method::DELETE) => Endpoint::CancelUpload {
            name,
            id: id.to_owned(),
        },
        (resource, method) => {
            return Err(RegistryError::Unsupported(format!(
                "{method} is not supported on {}",
                resource.label()
            )))
        }
    })
}

/// The resource a path names; the repository name is validated here.
fn resource(path: &str) -> Result<Resource<'_>, RegistryError> {
    let rest = match path {
        "/v2" | "/v2/" => return Ok(Resource::Base),
        "/v2/_catalog" => return Ok(Resource::Catalog),
        _ => path.strip_prefix("/v2/").ok_or_else(|| not_found(path))?,
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let n = segments.len();
    let name_of = |k: usize| -> Result<String, RegistryError> {
        if k == 0 {
            return Err(not_found(path));
        }
        let name = segments[..k].join("/");
        validate_repository_name(&name).map_err(|e| RegistryError::NameInvalid(e.to_string()))?;
        Ok(name)
    };
    let last = |k: usize| segments[n - k];
    if n >= 3 && last(2) == "tags" && last(1) == "list" {
        return Ok(Resource::Tags(name_of(n - 2)?));
    }
    if n >= 3 && last(3) == "blobs" && last(2) == "uploads" {
        let name = name_of(n - 3)?;
        return Ok(match last(1) {
            "" => Resource::Uploads(name),
            id => Resource::Upload(name, id),
        });
    }
    if n >= 3 && last(2) == "blobs" && last(1) == "uploads" {
        return Ok(Resource::Uploads(name_of(n - 2)?));
    }
    if n >= 3 && last(2) == "blobs" {
        return Ok(Resource::Blob(name_of(n - 2)?, last(1)));
    }
    if n >= 3 && last(2) == "referrers" {
        return Ok(Resource::Referrers(name_of(n - 2)?, last(1)));
    }
    if n >= 3 && last(2) == "manifests" {
        return Ok(Resource::Manifest(name_of(n - 2)?, last(1)));
    }
    Err(not_found(path))
}

fn not_found(path: &str) -> RegistryError {
    RegistryError::NotFound(format!("no registry endpoint at {path}"))
}

fn digest(text: &str) -> Result<Digest, RegistryError> {
    Digest::parse(text).map_err(|e| RegistryError::DigestInvalid(e.to_string()))
}

/// A manifest reference: a digest if it contains `:`, else a tag.
pub fn reference(text: &str) -> Result<ManifestRef, RegistryError> {
    if text.contains(':') {
        Ok(ManifestRef::Digest(digest(text)?))
    } else {
        validate_tag(text).map_err(|e| RegistryError::TagInvalid(e.to_string()))?;
        Ok(ManifestRef::Tag(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:6c892d52c7e15437c52c8f1d3207687f2a28be02823c1e633c22a1e6f3336a4c";

    fn d() -> Digest {
        Digest::parse(D).unwrap()
    }

    fn get(path: &str) -> Result<Endpoint, RegistryError> {
        parse(&Method::GET, path)
    }

    #[test]
    fn the_spec_endpoints_parse() {
        let name = || "team-a/web-app".to_string();
        let id = "5f3c6a1e-0000-4000-8000-000000000000";
        let upload = format!("/v2/team-a/web-app/blobs/uploads/{id}");
        let cases = vec![
            (Method::GET, "/v2/".to_string(), Endpoint::ApiVersion),
            (Method::HEAD, "/v2".to_string(), Endpoint::ApiVersion),
            (Method::GET, "/v2/_catalog".to_string(), Endpoint::Catalog),
            (
                Method::GET,
                "/v2/team-a/web-app/tags/list".to_string(),
                Endpoint::ListTags { name: name() },
            ),
            (
                Method::GET,
                "/v2/team-a/web-app/manifests/v1".to_string(),
                Endpoint::GetManifest {
                    name: name(),
                    reference: ManifestRef::Tag("v1".into()),
                    body: true,
                },
            ),
            (
                Method::HEAD,
                format!("/v2/team-a/web-app/manifests/{D}"),
                Endpoint::GetManifest {
                    name: name(),
                    reference: ManifestRef::Digest(d()),
                    body: false,
                },
            ),
            (
                Method::PUT,
                "/v2/team-a/web-app/manifests/v1".to_string(),
                Endpoint::PutManifest {
                    name: name(),
                    reference: ManifestRef::Tag("v1".into()),
                },
            ),
            (
                Method::DELETE,
                format!("/v2/team-a/web-app/manifests/{D}"),
                Endpoint::DeleteManifest {
                    name: name(),
                    reference: ManifestRef::Digest(d()),
                },
            ),
            (
                Method::GET,
                format!("/v2/team-a/web-app/blobs/{D}"),
                Endpoint::GetBlob {
                    name: name(),
                    digest: d(),
                    body: true,
                },
            ),
            (
                Method::HEAD,
                format!("/v2/team-a/web-app/blobs/{D}"),
                Endpoint::GetBlob {
                    name: name(),
                    digest: d(),
                    body: false,
                },
            ),
            (
                Method::DELETE,
                format!("/v2/team-a/web-app/blobs/{D}"),
                Endpoint::DeleteBlob {
                    name: name(),
                    digest: d(),
                },
            ),
            (
                Method::POST,
                "/v2/team-a/web-app/blobs/uploads/".to_string(),
                Endpoint::StartUpload { name: name() },
            ),
            (
                Method::POST,
                "/v2/team-a/web-app/blobs/uploads".to_string(),
                Endpoint::StartUpload { name: name() },
            ),
            (
                Method::GET,
                upload.clone(),
                Endpoint::UploadStatus {
                    name: name(),
                    id: id.into(),
                },
            ),
            (
                Method::PATCH,
                upload.clone(),
                Endpoint::PatchUpload {
                    name: name(),
                    id: id.into(),
                },
            ),
            (
                Method::PUT,
                upload.clone(),
                Endpoint::FinishUpload {
                    name: name(),
                    id: id.into(),
                },
            ),
            (
                Method::DELETE,
                upload,
                Endpoint::CancelUpload {
                    name: name(),
                    id: id.into(),
                },
            ),
            (
                Method::GET,
                format!("/v2/team-a/web-app/referrers/{D}"),
                Endpoint::ListReferrers {
                    name: name(),
                    digest: d(),
                },
            ),
        ];
        for (method, path, want) in cases {
            assert_eq!(parse(&method, &path).unwrap(), want, "{method} {path}");
        }
    }

    #[test]
    fn names_that_look_like_keywords_parse_from_the_right() {
        assert_eq!(
            get("/v2/a/blobs/manifests/latest").unwrap(),
            Endpoint::GetManifest {
                name: "a/blobs".into(),
                reference: ManifestRef::Tag("latest".into()),
                body: true,
            }
        );
        assert_eq!(
            get("/v2/tags/list/tags/list").unwrap(),
            Endpoint::ListTags {
                name: "tags/list".into()
            }
        );
        assert_eq!(
            parse(&Method::POST, "/v2/x/blobs/blobs/uploads/").unwrap(),
            Endpoint::StartUpload {
                name: "x/blobs".into()
            }
        );
    }

    #[test]
    fn bad_paths_get_the_right_error() {
        let code = |m: Method, p: &str| parse(&m, p).unwrap_err().code();
        assert_eq!(code(Method::GET, "/v2/UPPER/tags/list"), "NAME_INVALID");
        assert_eq!(code(Method::GET, "/v2/a/../b/tags/list"), "NAME_INVALID");
        assert_eq!(
            code(Method::GET, "/v2/a/tags/list"),
            "NAME_INVALID",
            "one character is too short"
        );
        assert_eq!(
            code(Method::PUT, "/v2/ok-name/manifests/-bad"),
            "TAG_INVALID"
        );
        assert_eq!(
            code(Method::DELETE, "/v2/ok-name/manifests/-bad"),
            "TAG_INVALID"
        );
        assert_eq!(
            code(Method::PUT, "/v2/ok-name/manifests/sha256:xyz"),
            "DIGEST_INVALID"
        );
        assert_eq!(
            code(Method::GET, "/v2/ok-name/blobs/not-a-digest"),
            "DIGEST_INVALID"
        );
        assert_eq!(
            code(Method::GET, "/v2/ok-name/referrers/sha256:1"),
            "DIGEST_INVALID"
        );
        assert_eq!(code(Method::GET, "/v2/ok-name/unknown"), "NOT_FOUND");
        assert_eq!(code(Method::GET, "/v2/manifests/x"), "NOT_FOUND");
        assert_eq!(code(Method::GET, "/other"), "NOT_FOUND");
    }

    #[test]
    fn a_reference_no_manifest_can_have_is_unknown_to_get_and_head() {
        for method in [Method::GET, Method::HEAD] {
            for reference in [".INVALID_MANIFEST_NAME", "-bad", "sha256:xyz"] {
                let error =
                    parse(&method, &format!("/v2/ok-name/manifests/{reference}")).unwrap_err();
                assert_eq!(error.code(), "MANIFEST_UNKNOWN", "{method} {reference}");
            }
        }
    }

    #[test]
    fn a_method_the_resource_does_not_take_is_unsupported() {
        for (method, path) in [
            (Method::POST, "/v2/ok-name/manifests/v1"),
            (Method::PATCH, "/v2/ok-name/manifests/v1"),
            (Method::DELETE, "/v2/ok-name/tags/list"),
            (Method::POST, "/v2/_catalog"),
            (Method::PUT, "/v2/"),
            (Method::PUT, &format!("/v2/ok-name/blobs/{D}")),
            (Method::GET, "/v2/ok-name/blobs/uploads/"),
        ] {
            let error = parse(&method, path).unwrap_err();
            assert_eq!(error.code(), "UNSUPPORTED", "{method} {path}");
        }
    }
}
