//! Content discovery: tags list (end-8), catalog, referrers (end-12), with
//! `n`/`last` pagination and `Link` headers.

use super::error::RegistryError;
use super::{access, Query};
use crate::auth::Identity;
use crate::service::{Page, Registry};
use crate::AppState;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use berth_app::oci::Digest;
use serde_json::{json, Value};

/// The most entries one page returns, whatever `n` asks.
pub const PAGE_MAX: usize = 10_000;

const FILTERS_HEADER: HeaderName = HeaderName::from_static("oci-filters-applied");

fn page_size(query: &Query) -> Result<usize, RegistryError> {
    match query.get("n") {
        None => Ok(PAGE_MAX),
        Some(text) => text.parse::<usize>().map(|n| n.min(PAGE_MAX)).map_err(|_| {
            RegistryError::PaginationInvalid(format!(
                "n must be a non-negative integer, got {text:?}"
            ))
        }),
    }
}

/// Adds `Link: <next>; rel="next"` when another page follows.
fn with_link<T>(mut response: Response, page: &Page<T>, next: impl FnOnce() -> String) -> Response {
    if page.more {
        if let Ok(value) = HeaderValue::from_str(&format!("<{}>; rel=\"next\"", next())) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `GET /v2/_catalog`.
pub async fn catalog(
    state: &AppState,
    identity: &Identity,
    query: &Query,
) -> Result<Response, RegistryError> {
    let n = page_size(query)?;
    // Only repositories the caller may describe are listed; pages are filled by
    // reading on past the ones it may not see.
    let mut names = Vec::new();
    let mut cursor = query.get("last").map(str::to_owned);
    let mut more = false;
    while names.len() < n {
        let page = state
            .registry
            .list_repositories(cursor.as_deref(), n - names.len())
            .await?;
        for name in &page.items {
            if access::allowed(state, identity, "ecr:DescribeRepositories", name).await? {
                names.push(name.clone());
            }
        }
        cursor = page.items.last().cloned();
        more = page.more;
        if !page.more {
            break;
        }
    }
    let page = Page {
        items: names,
        more: more && n > 0,
    };
    let last = cursor.unwrap_or_default();
    let response = axum::Json(json!({ "repositories": page.items })).into_response();
    Ok(with_link(response, &page, || {
        format!("/v2/_catalog?n={n}&last={}", encode(&last))
    }))
}

/// `GET /v2/<name>/tags/list`.
pub async fn tags(
    registry: &Registry,
    name: &str,
    query: &Query,
) -> Result<Response, RegistryError> {
    let n = page_size(query)?;
    let page = registry.list_tags(name, query.get("last"), n).await?;
    let last = page.items.last().cloned().unwrap_or_default();
    let response = axum::Json(json!({ "name": name, "tags": page.items })).into_response();
    Ok(with_link(response, &page, || {
        format!("/v2/{name}/tags/list?n={n}&last={}", encode(&last))
    }))
}

/// `GET /v2/<name>/referrers/<digest>`.
pub async fn referrers(
    registry: &Registry,
    name: &str,
    subject: &Digest,
    query: &Query,
) -> Result<Response, RegistryError> {
    let n = page_size(query)?;
    let artifact_type = query.get("artifactType").filter(|t| !t.is_empty());
    let page = registry
        .list_referrers(name, subject, artifact_type, query.get("last"), n)
        .await?;
    let manifests: Vec<Value> = page
        .items
        .iter()
        .map(|r| {
            let mut descriptor =
                json!({ "mediaType": r.media_type, "digest": r.digest, "size": r.size });
            if let Some(t) = &r.artifact_type {
                descriptor["artifactType"] = json!(t);
            }
            if let Some(a) = r
                .annotations
                .as_deref()
                .and_then(|a| serde_json::from_str::<Value>(a).ok())
            {
                descriptor["annotations"] = a;
            }
            descriptor
        })
        .collect();
    let body = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.oci.image.index.v1+json"),
    );
    if artifact_type.is_some() {
        response
            .headers_mut()
            .insert(FILTERS_HEADER, HeaderValue::from_static("artifactType"));
    }
    let last = page
        .items
        .last()
        .map(|r| r.digest.clone())
        .unwrap_or_default();
    let filter = artifact_type
        .map(|t| format!("&artifactType={}", encode(t)))
        .unwrap_or_default();
    Ok(with_link(response, &page, || {
        format!(
            "/v2/{name}/referrers/{subject}?n={n}&last={}{filter}",
            encode(&last)
        )
    }))
}
