//! Content discovery: tags list (end-8) and catalog, with `n`/`last` pagination.

mod common;

use common::oci::{expect_error, header, string_list, Registry, OCI_MANIFEST};
use common::{unique, TestServer};
use reqwest::StatusCode;
use serde_json::json;

// ---------------------------------------------------------------------------
// Tags list

/// Pushes one image to `repo` and tags it with each of `tags`.
async fn push_tags(reg: &Registry, repo: &str, tags: &[&str]) {
    let image = reg.push_image(repo, None).await;
    for tag in tags {
        reg.push_manifest(repo, tag, OCI_MANIFEST, &image.manifest)
            .await;
    }
}

#[tokio::test]
async fn tags_list_is_lexically_sorted() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-tags");
    push_tags(
        &reg,
        &repo,
        &["v1.0", "latest", "B", "a", "10", "9", "_x", "A1", "v1.0-rc"],
    )
    .await;
    let (headers, body) = reg.get_json(&format!("/v2/{repo}/tags/list")).await;
    assert_eq!(body["name"], repo, "tags list names the repository");
    assert_eq!(
        string_list(&body["tags"], "tags"),
        ["10", "9", "A1", "B", "_x", "a", "latest", "v1.0", "v1.0-rc"],
        "tags in byte order"
    );
    assert!(
        header(&headers, "Link").is_none(),
        "no Link header without pagination"
    );
}

#[tokio::test]
async fn tags_list_of_repository_without_tags_is_empty() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-notags");
    reg.push_image(&repo, None).await;
    let (_, body) = reg.get_json(&format!("/v2/{repo}/tags/list")).await;
    assert_eq!(
        body,
        json!({"name": repo, "tags": []}),
        "a repository with no tags lists an empty array"
    );
}

#[tokio::test]
async fn tags_list_of_unknown_repository_is_name_unknown() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let resp = reg
        .send(reg.get(&format!("/v2/{}/tags/list", unique("disc-norepo"))))
        .await;
    expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "NAME_UNKNOWN",
        "tags list of a repository that does not exist",
    )
    .await;
}

#[tokio::test]
async fn tags_list_n_limits_and_links_to_next_page() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-tagpage");
    push_tags(&reg, &repo, &["e", "d", "c", "b", "a"]).await;
    let (headers, body) = reg.get_json(&format!("/v2/{repo}/tags/list?n=2")).await;
    assert_eq!(
        string_list(&body["tags"], "tags"),
        ["a", "b"],
        "n=2 returns the first two tags"
    );
    assert_eq!(
        header(&headers, "Link"),
        Some(format!("</v2/{repo}/tags/list?n=2&last=b>; rel=\"next\"")),
        "Link points at the next page"
    );
}

#[tokio::test]
async fn tags_list_last_starts_after_the_given_tag() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-taglast");
    push_tags(&reg, &repo, &["e", "d", "c", "b", "a"]).await;
    let (headers, body) = reg
        .get_json(&format!("/v2/{repo}/tags/list?n=2&last=b"))
        .await;
    assert_eq!(
        string_list(&body["tags"], "tags"),
        ["c", "d"],
        "last=b starts at c"
    );
    assert_eq!(
        header(&headers, "Link"),
        Some(format!("</v2/{repo}/tags/list?n=2&last=d>; rel=\"next\"")),
        "Link to the third page"
    );
    let (headers, body) = reg
        .get_json(&format!("/v2/{repo}/tags/list?n=2&last=d"))
        .await;
    assert_eq!(string_list(&body["tags"], "tags"), ["e"], "last page");
    assert!(
        header(&headers, "Link").is_none(),
        "no Link on the last page"
    );

    let (headers, body) = reg.get_json(&format!("/v2/{repo}/tags/list?last=bb")).await;
    assert_eq!(
        string_list(&body["tags"], "tags"),
        ["c", "d", "e"],
        "last need not be an existing tag; without n all the rest come back"
    );
    assert!(header(&headers, "Link").is_none(), "no Link without n");
}

#[tokio::test]
async fn tags_list_n_exactly_remaining_has_no_link() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-tagexact");
    push_tags(&reg, &repo, &["a", "b", "c"]).await;
    let (headers, body) = reg.get_json(&format!("/v2/{repo}/tags/list?n=3")).await;
    assert_eq!(
        string_list(&body["tags"], "tags"),
        ["a", "b", "c"],
        "all tags"
    );
    assert!(
        header(&headers, "Link").is_none(),
        "no Link when nothing remains"
    );
}

#[tokio::test]
async fn tags_list_n_zero_is_empty_without_link() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-tagzero");
    push_tags(&reg, &repo, &["a", "b"]).await;
    let (headers, body) = reg.get_json(&format!("/v2/{repo}/tags/list?n=0")).await;
    assert_eq!(
        string_list(&body["tags"], "tags"),
        Vec::<String>::new(),
        "n=0 lists nothing"
    );
    assert!(header(&headers, "Link").is_none(), "n=0 has no Link");
}

#[tokio::test]
async fn tags_list_non_numeric_n_is_pagination_number_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-tagbad");
    push_tags(&reg, &repo, &["a"]).await;
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/tags/list?n=abc")))
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "PAGINATION_NUMBER_INVALID",
        "tags list with n=abc",
    )
    .await;
}

// ---------------------------------------------------------------------------
// Catalog

/// Creates the given repositories by pushing a blob to each.
async fn create_repos(reg: &Registry, names: &[&str]) {
    for name in names {
        reg.push_blob(name, name.as_bytes()).await;
    }
}

#[tokio::test]
async fn catalog_lists_repositories_sorted() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    create_repos(
        &reg,
        &["zeta", "team/app", "alpha", "team-b", "team/app/sub"],
    )
    .await;
    let (headers, body) = reg.get_json("/v2/_catalog").await;
    assert_eq!(
        string_list(&body["repositories"], "repositories"),
        ["alpha", "team-b", "team/app", "team/app/sub", "zeta"],
        "catalog in byte order"
    );
    assert!(header(&headers, "Link").is_none(), "no Link without n");
}

#[tokio::test]
async fn catalog_of_empty_registry_is_empty() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let (_, body) = reg.get_json("/v2/_catalog").await;
    assert_eq!(body, json!({"repositories": []}), "no repositories yet");
}

#[tokio::test]
async fn catalog_paginates_with_n_and_last() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    create_repos(&reg, &["dd", "bb", "ee", "aa", "cc"]).await;
    let (headers, body) = reg.get_json("/v2/_catalog?n=2").await;
    assert_eq!(
        string_list(&body["repositories"], "repositories"),
        ["aa", "bb"],
        "first page"
    );
    assert_eq!(
        header(&headers, "Link").as_deref(),
        Some("</v2/_catalog?n=2&last=bb>; rel=\"next\""),
        "Link to the second page"
    );
    let (headers, body) = reg.get_json("/v2/_catalog?n=2&last=bb").await;
    assert_eq!(
        string_list(&body["repositories"], "repositories"),
        ["cc", "dd"],
        "second page"
    );
    assert_eq!(
        header(&headers, "Link").as_deref(),
        Some("</v2/_catalog?n=2&last=dd>; rel=\"next\""),
        "Link to the third page"
    );
    let (headers, body) = reg.get_json("/v2/_catalog?n=2&last=dd").await;
    assert_eq!(
        string_list(&body["repositories"], "repositories"),
        ["ee"],
        "last page"
    );
    assert!(
        header(&headers, "Link").is_none(),
        "no Link on the last page"
    );
}

#[tokio::test]
async fn catalog_link_pages_through_nested_names() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let names = ["n/a", "n/b", "n-c", "n/a/x", "mm"];
    create_repos(&reg, &names).await;
    let mut path = "/v2/_catalog?n=2".to_string();
    let mut seen = Vec::new();
    for page in 1.. {
        assert!(page <= 5, "catalog pagination terminates");
        let (headers, body) = reg.get_json(&path).await;
        let repos = string_list(&body["repositories"], "repositories");
        assert!(
            repos.len() <= 2,
            "page {page} has at most 2 entries: {repos:?}"
        );
        seen.extend(repos);
        let Some(link) = header(&headers, "Link") else {
            break;
        };
        path = link
            .strip_prefix('<')
            .and_then(|l| l.strip_suffix(">; rel=\"next\""))
            .unwrap_or_else(|| panic!("Link has the form <url>; rel=\"next\": {link}"))
            .to_string();
        assert!(
            path.starts_with("/v2/_catalog?"),
            "Link points at the catalog: {path}"
        );
    }
    assert_eq!(
        seen,
        ["mm", "n-c", "n/a", "n/a/x", "n/b"],
        "following Link lists every repository once, in byte order"
    );
}

#[tokio::test]
async fn catalog_n_zero_is_empty_without_link() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    create_repos(&reg, &["aa", "bb"]).await;
    let (headers, body) = reg.get_json("/v2/_catalog?n=0").await;
    assert_eq!(body, json!({"repositories": []}), "n=0 lists nothing");
    assert!(header(&headers, "Link").is_none(), "n=0 has no Link");
}

#[tokio::test]
async fn catalog_non_numeric_n_is_pagination_number_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let resp = reg.send(reg.get("/v2/_catalog?n=abc")).await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "PAGINATION_NUMBER_INVALID",
        "catalog with n=abc",
    )
    .await;
}
