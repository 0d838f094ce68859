//! Markup that users control, on its way to the console: repository names and
//! tags that carry it are refused at the door (`NAME_INVALID`, `TAG_INVALID`,
//! the console's own check) and nothing is created; text that may hold it
//! (lifecycle rule descriptions, policy `Sid`s, manifest annotations, artifact
//! and media types, the search box, the sign-in page's `next`) reaches the
//! server-rendered HTML escaped, both in the page and in the data it hydrates
//! from. The browser's view of the same pages is end2end/tests/xss.spec.ts.

mod common;

use common::console::Console;
use common::oci::{expect_error, to_bytes, Descriptor, Registry, OCI_MANIFEST};
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::{header, StatusCode};
use serde_json::json;

/// Markup that would run script if a page let it through as HTML, out of a
/// text node, an attribute, a `<textarea>` or a `<script>` block alike.
const MARKUP: &str =
    "\"'></textarea></script><img src=x onerror=window.__xss=1><script>window.__xss=2</script>";
/// What must never appear in a page's HTML.
const RAW: [&str; 2] = ["<img src=x", "<script>window.__xss"];
/// How [`MARKUP`]'s `<img` shows in a text node or an attribute, escaped.
const ESCAPED: &str = "&lt;img src=x onerror=window.__xss=1&gt;";

const REPO: &str = "markup/app";

#[tokio::test]
async fn names_and_tags_made_of_markup_are_refused_and_nothing_is_created() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let image = reg.push_image(REPO, Some("v1")).await;
    let markup = "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E";

    let response = reg
        .put_manifest(REPO, markup, OCI_MANIFEST, &image.manifest)
        .await;
    expect_error(
        response,
        StatusCode::BAD_REQUEST,
        "TAG_INVALID",
        "markup tag",
    )
    .await;
    for name in [markup.to_owned(), format!("markup/{markup}")] {
        let response = reg
            .send(reg.post(&format!("/v2/{name}/blobs/uploads/")))
            .await;
        expect_error(response, StatusCode::BAD_REQUEST, "NAME_INVALID", &name).await;
        let response = reg
            .put_manifest(&name, "v1", OCI_MANIFEST, &image.manifest)
            .await;
        expect_error(response, StatusCode::BAD_REQUEST, "NAME_INVALID", &name).await;
    }
    let console = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    let answer = console
        .call(
            "create_repository",
            &[("name", "<img src=x onerror=alert(1)>")],
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    assert_eq!(answer.body["Invalid"]["field"], "name");

    assert_eq!(reg.tags(REPO).await, ["v1"]);
    let (_, catalog) = reg.get_json("/v2/_catalog").await;
    assert_eq!(catalog["repositories"], json!([REPO]));
}

/// Stores [`MARKUP`] everywhere a user can put free text that the console
/// shows; returns the digest of the artifact that carries it.
async fn store_markup(server: &TestServer, console: &Console) -> String {
    let reg = Registry::new(server);
    let image = reg.push_image(REPO, Some("v1")).await;
    let data = b"markup".to_vec();
    reg.push_blob(REPO, &data).await;
    reg.push_blob(REPO, b"{}").await;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": format!("application/x.{MARKUP}"),
        "config": Descriptor::empty().json(),
        "layers": [Descriptor::of(&format!("text/{MARKUP}"), &data).json()],
        "subject": image.descriptor().json(),
        "annotations": {"org.opencontainers.image.description": MARKUP},
    });
    let digest = reg
        .push_manifest(REPO, "markup", OCI_MANIFEST, &to_bytes(&manifest))
        .await;

    let lifecycle = json!({"rules": [{
        "rulePriority": 1,
        "description": MARKUP,
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
        "action": {"type": "expire"},
    }]});
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": MARKUP,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "ecr:BatchGetImage",
    }]});
    for (endpoint, form) in [
        (
            "save_lifecycle",
            vec![("name", REPO), ("policy", &lifecycle.to_string())],
        ),
        (
            "save_policy",
            vec![
                ("scope", "repository"),
                ("name", REPO),
                ("policy", &policy.to_string()),
            ],
        ),
    ] {
        let answer = console.call(endpoint, &form).await;
        assert!(answer.status.is_success(), "{endpoint}: {}", answer.body);
    }
    digest
}

#[tokio::test]
async fn markup_in_stored_and_reflected_text_reaches_the_html_escaped() {
    let server = TestServer::start();
    let console = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    let digest = store_markup(&server, &console).await;
    let query: String = form_urlencoded::byte_serialize(MARKUP.as_bytes()).collect();
    let pages = [
        format!("/repositories/{REPO}"),
        format!("/repositories/{REPO}?tab=lifecycle"),
        format!("/repositories/{REPO}?tab=permissions"),
        // A link to a policy draft (what a reload of the builder keeps).
        format!("/repositories/{REPO}?tab=permissions&add=1&policy={query}"),
        format!("/image/{REPO}?digest={digest}"),
        format!("/?q={query}"),
        format!("/login?next={query}"),
    ];
    let client = reqwest::Client::new();
    for page in &pages {
        let response = client
            .get(format!("{}{page}", server.url))
            .header(header::COOKIE, console.cookie())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let html = response.text().await.unwrap();
        for raw in RAW {
            assert!(!html.contains(raw), "{page} lets {raw:?} through:\n{html}");
        }
        assert!(
            html.contains(ESCAPED),
            "{page} does not show the markup:\n{html}"
        );
    }
}
