//! The Docker CLI against a real `berth serve`: login, push, pull, pull by digest.
//!
//! Needs a Docker daemon named by `DOCKER_HOST` (the Makefile starts a private
//! one and exports it); without it these tests fail, they never skip. Images
//! are built `FROM scratch` with the legacy builder, so no network is needed,
//! and every layer holds fresh random bytes, so no two tests share an image.

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{TestServer, ADMIN_PASSWORD};
use rand::RngCore;

/// The big layer's size: a little over 50 MiB of random (incompressible) bytes.
const BIG_LAYER_BYTES: usize = 50 * 1024 * 1024 + 4321;

/// Every manifest type a pull may ask for, for the HTTP checks.
const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json";

/// The docker CLI with a config directory of its own (so logins do not leak
/// between tests), removing the images it built or pulled when dropped.
struct DockerCli {
    config_dir: tempfile::TempDir,
    images: RefCell<Vec<String>>,
}

impl DockerCli {
    /// Checks that `DOCKER_HOST` names a running daemon.
    fn new() -> Self {
        let host = std::env::var("DOCKER_HOST").unwrap_or_default();
        assert!(
            !host.is_empty(),
            "DOCKER_HOST is not set: the docker tests need a Docker daemon. Run them through the Makefile \
             (which starts a private dockerd), or start one and \
             `export DOCKER_HOST=unix:///path/to/docker.sock`"
        );
        let docker = DockerCli {
            config_dir: tempfile::tempdir().expect("temp docker config dir"),
            images: RefCell::new(Vec::new()),
        };
        let version = docker.run(&["version", "--format", "{{.Server.Version}}"]);
        assert!(
            version.status.success(),
            "no Docker daemon answers at DOCKER_HOST={host}:\n{}",
            describe(&version)
        );
        docker
    }

    /// `docker ARGS…` with this test's config directory.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .args(args)
            .env("DOCKER_CONFIG", self.config_dir.path())
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("DOCKER_CONTEXT");
        command
    }

    /// Runs `docker ARGS…` and returns its output, whatever its exit status.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("could not run `docker {}`: {e}", args.join(" ")))
    }

    /// Runs `docker ARGS…`, asserts that it succeeded and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "`docker {}` failed:\n{}",
            args.join(" "),
            describe(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `docker login HOST -u admin --password-stdin`, with `password` on stdin.
    fn login(&self, host: &str, password: &str) -> Output {
        let mut child = self
            .command(&["login", host, "-u", "admin", "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start docker login");
        child
            .stdin
            .take()
            .expect("docker login stdin")
            .write_all(password.as_bytes())
            .expect("write the password to docker login");
        child.wait_with_output().expect("wait for docker login")
    }

    /// Logs in as admin and asserts that it worked.
    fn login_as_admin(&self, server: &TestServer) {
        let output = self.login(&server.host, ADMIN_PASSWORD);
        assert!(
            output.status.success(),
            "docker login {} as admin failed:\n{}",
            server.host,
            describe(&output)
        );
    }

    /// Builds the context in `dir` as `tag` and returns the image id.
    fn build(&self, dir: &Path, tag: &str) -> String {
        let dir = dir.to_str().expect("UTF-8 build context path");
        self.ok(&["build", "--quiet", "-t", tag, dir]);
        let id = self.image_id(tag).expect("the image just built exists");
        self.images.borrow_mut().push(id.clone());
        id
    }

    /// Pushes `reference` and returns the manifest digest docker reports.
    fn push(&self, reference: &str) -> String {
        let stdout = self.ok(&["push", reference]);
        pushed_digest(&stdout)
            .unwrap_or_else(|| panic!("no `digest: sha256:…` in `docker push` output:\n{stdout}"))
    }

    /// Pulls `reference` and returns the image id it resolves to.
    fn pull(&self, reference: &str) -> String {
        self.ok(&["pull", reference]);
        let id = self
            .image_id(reference)
            .expect("the image just pulled exists");
        self.images.borrow_mut().push(id.clone());
        id
    }

    /// `docker tag SOURCE TARGET`.
    fn tag(&self, source: &str, target: &str) {
        self.ok(&["tag", source, target]);
    }

    /// `docker rmi REFERENCE…`, asserting that each reference is gone afterwards.
    fn remove(&self, references: &[&str]) {
        let mut args = vec!["rmi"];
        args.extend_from_slice(references);
        self.ok(&args);
        for reference in references {
            assert_eq!(
                self.image_id(reference),
                None,
                "{reference} is still present after `docker rmi`"
            );
        }
    }

    /// The local image id of `reference`, or `None` if there is no such image.
    fn image_id(&self, reference: &str) -> Option<String> {
        let output = self.run(&["image", "inspect", "--format", "{{.Id}}", reference]);
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    }
}

impl Drop for DockerCli {
    fn drop(&mut self) {
        for id in self.images.borrow().iter() {
            let _ = self.command(&["rmi", "--force", id]).output();
        }
    }
}

/// A command's exit status, stdout and stderr, for failure messages.
fn describe(output: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The digest in `docker push`'s last line: `v1: digest: sha256:… size: 1234`.
fn pushed_digest(push_output: &str) -> Option<String> {
    push_output.lines().find_map(|line| {
        let rest = &line[line.find("digest: ")? + "digest: ".len()..];
        Some(rest.split_whitespace().next()?.to_string())
    })
}

/// Writes a `FROM scratch` Dockerfile into `dir` with one `COPY` (one layer)
/// per `(file name, size)`, each file holding `size` random bytes.
fn write_build_context(dir: &Path, files: &[(&str, usize)]) {
    let mut dockerfile = String::from("FROM scratch\n");
    for &(name, size) in files {
        write_random_file(&dir.join(name), size);
        dockerfile.push_str(&format!("COPY {name} /{name}\n"));
    }
    std::fs::write(dir.join("Dockerfile"), dockerfile).expect("write Dockerfile");
}

/// Writes `size` random bytes to `path`, a mebibyte at a time.
fn write_random_file(path: &Path, size: usize) {
    let file = std::fs::File::create(path).expect("create layer file");
    let mut writer = std::io::BufWriter::new(file);
    let mut chunk = vec![0u8; 1024 * 1024];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        rand::thread_rng().fill_bytes(&mut chunk[..n]);
        writer.write_all(&chunk[..n]).expect("write layer file");
        left -= n;
    }
    writer.flush().expect("flush layer file");
}

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
    let config = std::fs::read_to_string(docker.config_dir.path().join("config.json"))
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
