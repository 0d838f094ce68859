//! Parses `/v2/*` paths into an [`Endpoint`] once, before any logic runs.
//! Repository names contain `/`, so the path is matched from the right.

use super::error::RegistryError;
use crate::service::ManifestRef;
use berth_app::oci::{validate_repository_name, validate_tag, Digest};

/// A registry API endpoint (OCI Distribution Spec v1.1, end-1 … end-13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v2/` (end-1).
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// `/v2/<name>/tags/list` (end-8).
    Tags {
        /// Repository.
        name: String,
    },
    /// `/v2/<name>/manifests/<reference>` (end-3, end-7, end-9).
    Manifest {
        /// Repository.
        name: String,
        /// Tag or digest.
        reference: ManifestRef,
    },
    /// `/v2/<name>/blobs/<digest>` (end-2, end-10).
    Blob {
        /// Repository.
        name: String,
        /// Blob digest.
        digest: Digest,
    },
    /// `/v2/<name>/blobs/uploads/` (end-4, end-11).
    UploadStart {
        /// Repository.
        name: String,
    },
    /// `/v2/<name>/blobs/uploads/<id>` (end-5, end-6, end-13, cancel).
    Upload {
        /// Repository.
        name: String,
        /// Session id.
        id: String,
    },
    /// `/v2/<name>/referrers/<digest>` (end-12).
    Referrers {
        /// Repository.
        name: String,
        /// Subject digest.
        digest: Digest,
    },
}

impl Endpoint {
    /// The repository the endpoint is in; `None` for `/v2/` and the catalog.
    pub fn repository(&self) -> Option<&str> {
        match self {
            Self::Base | Self::Catalog => None,
            Self::Tags { name }
            | Self::Manifest { name, .. }
            | Self::Blob { name, .. }
            | Self::UploadStart { name }
            | Self::Upload { name, .. }
            | Self::Referrers { name, .. } => Some(name),
        }
    }
}

/// Parses a request path (without query).
pub fn parse(path: &str) -> Result<Endpoint, RegistryError> {
    let rest = match path {
        "/v2" | "/v2/" => return Ok(Endpoint::Base),
        "/v2/_catalog" => return Ok(Endpoint::Catalog),
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
        return Ok(Endpoint::Tags {
            name: name_of(n - 2)?,
        });
    }
    if n >= 3 && last(3) == "blobs" && last(2) == "uploads" {
        let name = name_of(n - 3)?;
        return Ok(match last(1) {
            "" => Endpoint::UploadStart { name },
            id => Endpoint::Upload {
                name,
                id: id.to_owned(),
            },
        });
    }
    if n >= 3 && last(2) == "blobs" && last(1) == "uploads" {
        return Ok(Endpoint::UploadStart {
            name: name_of(n - 2)?,
        });
    }
    if n >= 3 && last(2) == "blobs" {
        let name = name_of(n - 2)?;
        return Ok(Endpoint::Blob {
            name,
            digest: digest(last(1))?,
        });
    }
    if n >= 3 && last(2) == "referrers" {
        let name = name_of(n - 2)?;
        return Ok(Endpoint::Referrers {
            name,
            digest: digest(last(1))?,
        });
    }
    if n >= 3 && last(2) == "manifests" {
        let name = name_of(n - 2)?;
        return Ok(Endpoint::Manifest {
            name,
            reference: reference(last(1))?,
        });
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

    #[test]
    fn the_spec_endpoints_parse() {
        let name = || "team-a/web-app".to_string();
        let cases = vec![
            ("/v2/".to_string(), Endpoint::Base),
            ("/v2".to_string(), Endpoint::Base),
            ("/v2/_catalog".to_string(), Endpoint::Catalog),
            (
                "/v2/team-a/web-app/tags/list".to_string(),
                Endpoint::Tags { name: name() },
            ),
            (
                "/v2/team-a/web-app/manifests/v1".to_string(),
                Endpoint::Manifest {
                    name: name(),
                    reference: ManifestRef::Tag("v1".into()),
                },
            ),
            (
                format!("/v2/team-a/web-app/manifests/{D}"),
                Endpoint::Manifest {
                    name: name(),
                    reference: ManifestRef::Digest(d()),
                },
            ),
            (
                format!("/v2/team-a/web-app/blobs/{D}"),
                Endpoint::Blob {
                    name: name(),
                    digest: d(),
                },
            ),
            (
                "/v2/team-a/web-app/blobs/uploads/".to_string(),
                Endpoint::UploadStart { name: name() },
            ),
            (
                "/v2/team-a/web-app/blobs/uploads".to_string(),
                Endpoint::UploadStart { name: name() },
            ),
            (
                "/v2/team-a/web-app/blobs/uploads/5f3c6a1e-0000-4000-8000-000000000000".to_string(),
                Endpoint::Upload {
                    name: name(),
                    id: "5f3c6a1e-0000-4000-8000-000000000000".into(),
                },
            ),
            (
                format!("/v2/team-a/web-app/referrers/{D}"),
                Endpoint::Referrers {
                    name: name(),
                    digest: d(),
                },
            ),
        ];
        for (path, want) in cases {
            assert_eq!(parse(&path).unwrap(), want, "{path}");
        }
    }

    #[test]
    fn names_that_look_like_keywords_parse_from_the_right() {
        assert_eq!(
            parse("/v2/a/blobs/manifests/latest").unwrap(),
            Endpoint::Manifest {
                name: "a/blobs".into(),
                reference: ManifestRef::Tag("latest".into())
            }
        );
        assert_eq!(
            parse("/v2/tags/list/tags/list").unwrap(),
            Endpoint::Tags {
                name: "tags/list".into()
            }
        );
        assert_eq!(
            parse("/v2/x/blobs/blobs/uploads/").unwrap(),
            Endpoint::UploadStart {
                name: "x/blobs".into()
            }
        );
    }

    #[test]
    fn bad_paths_get_the_right_error() {
        let code = |p: &str| parse(p).unwrap_err().code();
        assert_eq!(code("/v2/UPPER/tags/list"), "NAME_INVALID");
        assert_eq!(code("/v2/a/../b/tags/list"), "NAME_INVALID");
        assert_eq!(
            code("/v2/a/tags/list"),
            "NAME_INVALID",
            "one character is too short"
        );
        assert_eq!(code("/v2/ok-name/manifests/-bad"), "TAG_INVALID");
        assert_eq!(code("/v2/ok-name/manifests/sha256:xyz"), "DIGEST_INVALID");
        assert_eq!(code("/v2/ok-name/blobs/not-a-digest"), "DIGEST_INVALID");
        assert_eq!(code("/v2/ok-name/referrers/sha256:1"), "DIGEST_INVALID");
        assert_eq!(code("/v2/ok-name/unknown"), "NOT_FOUND");
        assert_eq!(code("/v2/manifests/x"), "NOT_FOUND");
        assert_eq!(code("/other"), "NOT_FOUND");
    }
}
