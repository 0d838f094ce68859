//! The API base, authentication and error format (end-1), repository-name
//! validation, and content discovery: tags list (end-8), catalog and
//! referrers (end-12).

mod common;

use common::oci::{
    expect_error, header, parse_error, random_bytes, sha256_digest, string_list, to_bytes,
    Descriptor, Registry, API_VERSION_HEADER, EMPTY_CONTENT, EMPTY_MEDIA_TYPE, OCI_CONFIG,
    OCI_INDEX, OCI_MANIFEST,
};
use common::{unique, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Base endpoint, authentication, error format

/// Asserts a 401 with the Basic challenge and an UNAUTHORIZED body.
async fn assert_unauthorized(resp: reqwest::Response, context: &str) {
    let challenge = header(resp.headers(), "WWW-Authenticate");
    expect_error(resp, StatusCode::UNAUTHORIZED, "UNAUTHORIZED", context).await;
    assert_eq!(
        challenge.as_deref(),
        Some("Basic realm=\"Berth\""),
        "{context}: WWW-Authenticate challenge"
    );
}

#[tokio::test]
async fn base_without_credentials_is_401_with_challenge() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let resp = reg.send(reg.anonymous(Method::GET, "/v2/")).await;
    assert_unauthorized(resp, "GET /v2/ without credentials").await;
}

#[tokio::test]
async fn wrong_credentials_are_401() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    for (user, password) in [
        ("admin", "wrong-password"),
        ("nobody", "test-admin-password-1"),
    ] {
        let resp = reg
            .send(
                reg.anonymous(Method::GET, "/v2/")
                    .basic_auth(user, Some(password)),
            )
            .await;
        assert_unauthorized(resp, &format!("GET /v2/ as {user}:{password}")).await;
    }
    let resp = reg
        .send(
            reg.anonymous(Method::GET, "/v2/")
                .header("Authorization", "Basic not-base64!"),
        )
        .await;
    assert_unauthorized(resp, "GET /v2/ with a malformed Authorization header").await;
}

#[tokio::test]
async fn every_v2_path_requires_credentials() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-auth");
    let image = reg.push_image(&repo, Some("v1")).await;
    let blob = &image.layers[0].digest;
    let cases = [
        (Method::GET, "/v2/_catalog".to_string()),
        (Method::GET, format!("/v2/{repo}/tags/list")),
        (Method::GET, format!("/v2/{repo}/manifests/v1")),
        (Method::HEAD, format!("/v2/{repo}/manifests/v1")),
        (Method::DELETE, format!("/v2/{repo}/manifests/v1")),
        (Method::PUT, format!("/v2/{repo}/manifests/v2")),
        (Method::GET, format!("/v2/{repo}/blobs/{blob}")),
        (Method::DELETE, format!("/v2/{repo}/blobs/{blob}")),
        (Method::POST, format!("/v2/{repo}/blobs/uploads/")),
        (
            Method::GET,
            format!("/v2/{repo}/referrers/{}", image.digest),
        ),
        (Method::GET, "/v2/no/such/endpoint".to_string()),
    ];
    for (method, path) in cases {
        let resp = reg.send(reg.anonymous(method.clone(), &path)).await;
        if method == Method::HEAD {
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "HEAD {path} without credentials"
            );
            assert_eq!(
                header(resp.headers(), "WWW-Authenticate").as_deref(),
                Some("Basic realm=\"Berth\""),
                "HEAD {path}: challenge"
            );
        } else {
            assert_unauthorized(resp, &format!("{method} {path} without credentials")).await;
        }
    }
    // The unauthenticated DELETE changed nothing.
    let resp = reg
        .send(reg.head(&format!("/v2/{repo}/manifests/v1")))
        .await;
    assert_eq!(
        header(resp.headers(), "Docker-Content-Digest"),
        Some(image.digest.clone()),
        "unauthenticated DELETE did not remove the manifest"
    );
}

#[tokio::test]
async fn base_with_credentials_is_200_empty_object() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let resp = reg.send(reg.get("/v2/")).await;
    assert_eq!(resp.status(), StatusCode::OK, "GET /v2/ with credentials");
    assert_eq!(
        header(resp.headers(), API_VERSION_HEADER).as_deref(),
        Some("registry/2.0"),
        "GET /v2/ carries the API version header"
    );
    let body: Value = resp.json().await.expect("GET /v2/ body is JSON");
    assert_eq!(body, json!({}), "GET /v2/ body is an empty object");
}

#[tokio::test]
async fn unknown_v2_path_is_404_with_oci_error() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    for path in ["/v2/foo/bar", "/v2/foo/blobs"] {
        let resp = reg.send(reg.get(path)).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "GET {path}: 404; body {text}"
        );
        parse_error(&headers, &text, &format!("GET {path}"));
    }
}

#[tokio::test]
async fn unsupported_method_is_405_unsupported() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-405");
    reg.push_image(&repo, Some("v1")).await;
    let cases = [
        (Method::POST, format!("/v2/{repo}/manifests/v1")),
        (Method::PATCH, format!("/v2/{repo}/manifests/v1")),
        (Method::DELETE, format!("/v2/{repo}/tags/list")),
        (Method::POST, "/v2/_catalog".to_string()),
    ];
    for (method, path) in cases {
        let resp = reg.send(reg.request(method.clone(), &path)).await;
        expect_error(
            resp,
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            &format!("{method} {path}"),
        )
        .await;
    }
}

// ---------------------------------------------------------------------------
// Repository names

#[tokio::test]
async fn invalid_repository_names_are_name_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let names = [
        "UpperCase".to_string(),
        "foo..bar".to_string(),
        "a".to_string(),
        "n".repeat(257),
        "trailing-".to_string(),
    ];
    for name in names {
        let short: String = name.chars().take(20).collect();
        for (method, path) in [
            (Method::POST, format!("/v2/{name}/blobs/uploads/")),
            (Method::GET, format!("/v2/{name}/tags/list")),
            (Method::GET, format!("/v2/{name}/manifests/latest")),
        ] {
            let resp = reg.send(reg.request(method.clone(), &path)).await;
            expect_error(
                resp,
                StatusCode::BAD_REQUEST,
                "NAME_INVALID",
                &format!("{method} with name {short:?} ({} chars)", name.len()),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn long_and_nested_repository_names_are_valid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let long = "n".repeat(256);
    let nested = "team/sub.project/app_1-x";
    for name in [long.as_str(), nested, "ab"] {
        let digest = reg.push_blob(name, b"named").await;
        let resp = reg
            .send(reg.head(&format!("/v2/{name}/blobs/{digest}")))
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "blob pushed to {} ({} chars) is readable",
            &name[..name.len().min(20)],
            name.len()
        );
    }
}

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

// ---------------------------------------------------------------------------
// Referrers

/// GETs a referrers list and checks the index envelope; returns headers
/// and the `manifests` array.
async fn referrers(reg: &Registry, path: &str) -> (reqwest::header::HeaderMap, Vec<Value>) {
    let resp = reg.send(reg.get(path)).await;
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("referrers body");
    assert_eq!(status, StatusCode::OK, "GET {path} is 200; body {text}");
    assert_eq!(
        header(&headers, "Content-Type").as_deref(),
        Some(OCI_INDEX),
        "GET {path}: Content-Type is an OCI index"
    );
    let body: Value = serde_json::from_str(&text).expect("referrers body is JSON");
    assert_eq!(body["schemaVersion"], 2, "GET {path}: schemaVersion 2");
    assert_eq!(body["mediaType"], OCI_INDEX, "GET {path}: mediaType index");
    let manifests = body["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("GET {path}: `manifests` is an array: {text}"))
        .clone();
    (headers, manifests)
}

fn digests_of(manifests: &[Value]) -> Vec<String> {
    let mut digests: Vec<String> = manifests
        .iter()
        .map(|m| m["digest"].as_str().expect("descriptor digest").to_string())
        .collect();
    digests.sort();
    digests
}

#[tokio::test]
async fn referrers_lists_manifests_with_subject() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-ref");
    let image = reg.push_image(&repo, Some("v1")).await;
    let annotations = json!({"org.example.signed-by": "tests", "org.opencontainers.image.created": "2024-01-01T00:00:00Z"});
    let (sig, sig_digest) = reg
        .push_referrer(
            &repo,
            &image.descriptor(),
            Some("application/vnd.example.sig"),
            Some(annotations.clone()),
        )
        .await;
    let (sbom, sbom_digest) = reg
        .push_referrer(
            &repo,
            &image.descriptor(),
            Some("application/vnd.example.sbom"),
            None,
        )
        .await;
    // A manifest with another subject is not listed.
    let other = reg.push_image(&repo, Some("v2")).await;
    reg.push_referrer(
        &repo,
        &other.descriptor(),
        Some("application/vnd.example.sig"),
        None,
    )
    .await;

    let (headers, manifests) =
        referrers(&reg, &format!("/v2/{repo}/referrers/{}", image.digest)).await;
    assert!(
        header(&headers, "OCI-Filters-Applied").is_none(),
        "no filter applied without artifactType"
    );
    let mut expected = vec![sig_digest.clone(), sbom_digest.clone()];
    expected.sort();
    assert_eq!(digests_of(&manifests), expected, "both referrers listed");
    let find = |d: &str| {
        manifests
            .iter()
            .find(|m| m["digest"] == d)
            .cloned()
            .expect("descriptor present")
    };
    let sig_desc = find(&sig_digest);
    assert_eq!(sig_desc["mediaType"], OCI_MANIFEST, "descriptor mediaType");
    assert_eq!(
        sig_desc["size"],
        sig.len(),
        "descriptor size is the manifest's"
    );
    assert_eq!(
        sig_desc["artifactType"], "application/vnd.example.sig",
        "descriptor artifactType is the manifest's"
    );
    assert_eq!(
        sig_desc["annotations"], annotations,
        "descriptor carries the manifest's annotations"
    );
    let sbom_desc = find(&sbom_digest);
    assert_eq!(sbom_desc["size"], sbom.len(), "sbom descriptor size");
    assert_eq!(
        sbom_desc["artifactType"], "application/vnd.example.sbom",
        "sbom artifactType"
    );
    assert!(
        sbom_desc
            .get("annotations")
            .is_none_or(|a| a.is_null() || a.as_object().is_some_and(|o| o.is_empty())),
        "no annotations on a descriptor whose manifest has none: {sbom_desc}"
    );
}

#[tokio::test]
async fn referrer_without_artifact_type_uses_config_media_type() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-refcfg");
    let image = reg.push_image(&repo, None).await;
    // An image manifest (with a real config) that refers to `image`.
    let config_data = to_bytes(&json!({"os": "linux", "n": hex::encode(random_bytes(4))}));
    reg.push_blob(&repo, &config_data).await;
    let config = Descriptor::of(OCI_CONFIG, &config_data);
    let body = to_bytes(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.json(),
        "layers": [],
        "subject": image.descriptor().json(),
    }));
    let digest = reg
        .push_manifest(&repo, &sha256_digest(&body), OCI_MANIFEST, &body)
        .await;
    let (_, manifests) = referrers(&reg, &format!("/v2/{repo}/referrers/{}", image.digest)).await;
    assert_eq!(manifests.len(), 1, "one referrer: {manifests:?}");
    assert_eq!(manifests[0]["digest"], digest, "the referrer");
    assert_eq!(
        manifests[0]["artifactType"], OCI_CONFIG,
        "artifactType falls back to the config media type"
    );

    // The same for an artifact whose config is the empty descriptor.
    reg.push_blob(&repo, EMPTY_CONTENT).await;
    let other = reg.push_image(&repo, None).await;
    let body = to_bytes(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": Descriptor::empty().json(),
        "layers": [Descriptor::empty().json()],
        "subject": other.descriptor().json(),
    }));
    reg.push_manifest(&repo, &sha256_digest(&body), OCI_MANIFEST, &body)
        .await;
    let (_, manifests) = referrers(&reg, &format!("/v2/{repo}/referrers/{}", other.digest)).await;
    assert_eq!(manifests.len(), 1, "one referrer: {manifests:?}");
    assert_eq!(
        manifests[0]["artifactType"], EMPTY_MEDIA_TYPE,
        "artifactType falls back to the empty config media type"
    );
}

#[tokio::test]
async fn referrers_of_unknown_subject_is_empty() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-refnone");
    reg.push_image(&repo, Some("v1")).await;
    let (headers, manifests) = referrers(
        &reg,
        &format!(
            "/v2/{repo}/referrers/{}",
            sha256_digest(b"nothing refers to me")
        ),
    )
    .await;
    assert!(manifests.is_empty(), "no referrers: {manifests:?}");
    assert!(
        header(&headers, "Link").is_none(),
        "no Link for an empty list"
    );
}

#[tokio::test]
async fn referrers_are_listed_before_the_subject_exists() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-refearly");
    let subject = Descriptor::of(OCI_MANIFEST, &random_bytes(300));
    let (_, digest) = reg
        .push_referrer(&repo, &subject, Some("application/vnd.example.sig"), None)
        .await;
    let (_, manifests) = referrers(&reg, &format!("/v2/{repo}/referrers/{}", subject.digest)).await;
    assert_eq!(
        digests_of(&manifests),
        vec![digest],
        "a referrer of a missing subject is listed"
    );
}

#[tokio::test]
async fn referrers_are_scoped_to_the_repository() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-refscope");
    let other = unique("disc-refscope-other");
    let image = reg.push_image(&repo, Some("v1")).await;
    // The same subject digest, referred to from another repository.
    reg.push_referrer(
        &other,
        &image.descriptor(),
        Some("application/vnd.example.sig"),
        None,
    )
    .await;
    let (_, manifests) = referrers(&reg, &format!("/v2/{repo}/referrers/{}", image.digest)).await;
    assert!(
        manifests.is_empty(),
        "referrers in another repository are not listed: {manifests:?}"
    );
    let (_, manifests) = referrers(&reg, &format!("/v2/{other}/referrers/{}", image.digest)).await;
    assert_eq!(manifests.len(), 1, "listed in its own repository");
}

#[tokio::test]
async fn referrers_filter_by_artifact_type() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-reffilter");
    let image = reg.push_image(&repo, Some("v1")).await;
    let subject = image.descriptor();
    let (_, sig) = reg
        .push_referrer(&repo, &subject, Some("application/vnd.example.sig"), None)
        .await;
    reg.push_referrer(&repo, &subject, Some("application/vnd.example.sbom"), None)
        .await;
    let (headers, manifests) = referrers(
        &reg,
        &format!(
            "/v2/{repo}/referrers/{}?artifactType=application/vnd.example.sig",
            image.digest
        ),
    )
    .await;
    assert_eq!(digests_of(&manifests), vec![sig], "only the signature");
    assert_eq!(
        header(&headers, "OCI-Filters-Applied").as_deref(),
        Some("artifactType"),
        "the applied filter is reported"
    );
    let (headers, manifests) = referrers(
        &reg,
        &format!(
            "/v2/{repo}/referrers/{}?artifactType=application/vnd.example.none",
            image.digest
        ),
    )
    .await;
    assert!(manifests.is_empty(), "no referrer of an unused type");
    assert_eq!(
        header(&headers, "OCI-Filters-Applied").as_deref(),
        Some("artifactType"),
        "filter reported even when nothing matches"
    );
}

#[tokio::test]
async fn referrers_paginate_with_link() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-refpage");
    let image = reg.push_image(&repo, Some("v1")).await;
    let mut expected = Vec::new();
    for i in 0..5 {
        let (_, digest) = reg
            .push_referrer(
                &repo,
                &image.descriptor(),
                Some("application/vnd.example.sig"),
                Some(json!({"i": i.to_string()})),
            )
            .await;
        expected.push(digest);
    }
    expected.sort();
    let base = format!("/v2/{repo}/referrers/{}", image.digest);
    let mut path = format!("{base}?n=2");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (headers, manifests) = referrers(&reg, &path).await;
        pages += 1;
        assert!(pages <= 5, "pagination terminates");
        assert!(
            manifests.len() <= 2,
            "page {pages} has at most n=2 descriptors: {manifests:?}"
        );
        seen.extend(digests_of(&manifests));
        match header(&headers, "Link") {
            Some(link) => {
                let next = link
                    .strip_prefix('<')
                    .and_then(|l| l.strip_suffix(">; rel=\"next\""))
                    .unwrap_or_else(|| panic!("Link has the form <url>; rel=\"next\": {link}"));
                assert!(
                    next.starts_with(&format!("{base}?")) && next.contains("n=2"),
                    "Link keeps the path and n: {next}"
                );
                assert!(next.contains("last="), "Link carries last=: {next}");
                path = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3, "5 referrers in pages of 2 take 3 pages");
    seen.sort();
    assert_eq!(seen, expected, "pages together list every referrer once");
}

#[tokio::test]
async fn referrers_with_malformed_digest_is_digest_invalid() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-refbad");
    reg.push_image(&repo, Some("v1")).await;
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/referrers/sha256:xyz")))
        .await;
    expect_error(
        resp,
        StatusCode::BAD_REQUEST,
        "DIGEST_INVALID",
        "referrers of sha256:xyz",
    )
    .await;
}

#[tokio::test]
async fn error_responses_carry_api_version_and_json() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("disc-errfmt");
    reg.push_image(&repo, Some("v1")).await;
    // expect_error checks the header, JSON content type and body shape.
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/manifests/missing")))
        .await;
    let err = expect_error(
        resp,
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
        "missing tag",
    )
    .await;
    assert!(!err.message.is_empty(), "error message is not empty");
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/blobs/{}", sha256_digest(b"x"))))
        .await;
    expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "missing blob").await;
}

#[tokio::test]
async fn referrers_of_unknown_repository_is_empty_not_404() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let (headers, manifests) = referrers(
        &reg,
        &format!("/v2/no-such/repository/referrers/{}", sha256_digest(b"x")),
    )
    .await;
    assert!(manifests.is_empty(), "no referrers: {manifests:?}");
    assert!(header(&headers, "Link").is_none());
}
