//! The Docker CLI against a real `berth serve`: login, push, pull, pull by digest.
//!
//! Needs a Docker daemon named by `DOCKER_HOST` (the Makefile starts a private
//! one and exports it); without it these tests fail, they never skip. Images
//! are built `FROM scratch` with the legacy builder, so no network is needed,
//! and every layer holds fresh random bytes, so no two tests share an image.

mod common;

use common::docker::{describe, write_build_context, DockerCli};
use common::{TestServer, ADMIN_PASSWORD};

/// The big layer's size: a little over 50 MiB of random (incompressible) bytes.
const BIG_LAYER_BYTES: usize = 50 * 1024 * 1024 + 4321;

/// Every manifest type a pull may ask for, for the HTTP checks.
const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json";

/// Runs one HTTP request against the server with admin's Basic credentials.
fn http(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let url = format!("{}{path}", server.url);
    let request = format!("{method} {url}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .request(method, &url)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header(reqwest::header::ACCEPT, MANIFEST_TYPES)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{request}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("response body").to_vec();
        (status, headers, body)
    })
}

/// `HEAD /v2/<repo>/manifests/<reference>` and its `Docker-Content-Digest`.
fn manifest_digest_over_http(server: &TestServer, repo: &str, reference: &str) -> String {
    let path = format!("/v2/{repo}/manifests/{reference}");
    let (status, headers, _) = http(server, reqwest::Method::HEAD, &path);
    assert_eq!(status, 200, "HEAD {path} status");
    headers
        .get("docker-content-digest")
        .unwrap_or_else(|| panic!("HEAD {path} has no Docker-Content-Digest header"))
        .to_str()
        .expect("ASCII Docker-Content-Digest")
        .to_string()
}

/// The tags `GET /v2/<repo>/tags/list` returns.
fn tags_over_http(server: &TestServer, repo: &str) -> Vec<String> {
    let path = format!("/v2/{repo}/tags/list");
    let (status, _, body) = http(server, reqwest::Method::GET, &path);
    assert_eq!(
        status,
        200,
        "GET {path} status, body: {}",
        String::from_utf8_lossy(&body)
    );
    let list: serde_json::Value = serde_json::from_slice(&body).expect("tags list is JSON");
    list["tags"]
        .as_array()
        .unwrap_or_else(|| panic!("no `tags` array in {list}"))
        .iter()
        .map(|tag| tag.as_str().expect("tags are strings").to_string())
        .collect()
}

#[test]
fn login_succeeds_with_the_admin_password() {
    let docker = DockerCli::new();
    let server = TestServer::start();

    let output = docker.login(&server.host, ADMIN_PASSWORD);

    assert!(
        output.status.success(),
        "docker login with the right password failed:\n{}",
        describe(&output)
    );
    let config = std::fs::read_to_string(docker.config_dir().join("config.json"))
        .expect("docker login wrote config.json into DOCKER_CONFIG");
    assert!(
        config.contains(&server.host),
        "config.json has no credentials for {}: {config}",
        server.host
    );
}

#[test]
fn login_fails_with_a_wrong_password() {
    let docker = DockerCli::new();
    let server = TestServer::start();

    let output = docker.login(&server.host, "not-the-admin-password");

    assert!(
        !output.status.success(),
        "docker login with a wrong password succeeded:\n{}",
        describe(&output)
    );
    let text = describe(&output).to_lowercase();
    assert!(
        text.contains("401") || text.contains("unauthorized"),
        "docker login's failure does not mention 401/unauthorized:\n{text}"
    );
}

#[test]
fn push_remove_and_pull_back_a_multi_layer_image() {
    let docker = DockerCli::new();
    let server = TestServer::start();
    docker.login_as_admin(&server);
    let context = tempfile::tempdir().expect("build context dir");
    write_build_context(
        context.path(),
        &[
            ("small-a.txt", 1000),
            ("big.bin", BIG_LAYER_BYTES),
            ("small-b.txt", 20_000),
        ],
    );
    let repo = "team-a/web-app";
    let reference = format!("{}/{repo}:v1", server.host);

    let built_id = docker.build(context.path(), &reference);
    let pushed = docker.push(&reference);
    docker.remove(&[reference.as_str()]);
    let pulled_id = docker.pull(&reference);

    assert_eq!(
        pulled_id, built_id,
        "the pulled image id differs from the pushed one"
    );
    assert_eq!(
        manifest_digest_over_http(&server, repo, "v1"),
        pushed,
        "the registry's Docker-Content-Digest for {repo}:v1 differs from the digest docker pushed"
    );
}

#[test]
fn second_tag_shares_the_manifest_and_pull_by_digest_works() {
    let docker = DockerCli::new();
    let server = TestServer::start();
    docker.login_as_admin(&server);
    let context = tempfile::tempdir().expect("build context dir");
    write_build_context(
        context.path(),
        &[("one.txt", 100), ("two.txt", 2_000), ("three.bin", 300_000)],
    );
    let repo = "team-a/web-app";
    let image = format!("{}/{repo}", server.host);
    let v1 = format!("{image}:v1");
    let v2 = format!("{image}:v2");

    let built_id = docker.build(context.path(), &v1);
    let digest_v1 = docker.push(&v1);
    docker.tag(&v1, &v2);
    let digest_v2 = docker.push(&v2);
    assert_eq!(
        digest_v2, digest_v1,
        "pushing a second tag of the same image produced another manifest digest"
    );
    let mut tags = tags_over_http(&server, repo);
    tags.sort();
    assert_eq!(tags, ["v1", "v2"], "tags of {repo} after pushing v1 and v2");
    assert_eq!(
        manifest_digest_over_http(&server, repo, &digest_v1),
        digest_v1,
        "HEAD of the manifest by digest returns another Docker-Content-Digest"
    );

    docker.remove(&[v1.as_str(), v2.as_str()]);
    let by_digest = format!("{image}@{digest_v1}");
    let pulled_id = docker.pull(&by_digest);

    assert_eq!(
        pulled_id, built_id,
        "the image pulled by digest has another image id than the one pushed"
    );
}
