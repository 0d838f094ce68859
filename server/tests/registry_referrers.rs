//! The referrers API (end-12): listing, filtering and pagination.

mod common;

use common::oci::{
    expect_error, header, random_bytes, sha256_digest, to_bytes, Descriptor, Registry,
    EMPTY_CONTENT, EMPTY_MEDIA_TYPE, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
use common::{unique, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

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
