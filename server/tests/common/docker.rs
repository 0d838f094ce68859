//! The docker CLI for tests: its own config directory per test (logins do not
//! leak), the legacy builder (no network), and cleanup of the images it made.

use super::{TestServer, ADMIN_PASSWORD};
use rand::RngCore;
use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The docker CLI with a config directory of its own (so logins do not leak
/// between tests), removing the images it built or pulled when dropped.
pub struct DockerCli {
    config_dir: tempfile::TempDir,
    images: RefCell<Vec<String>>,
}

impl DockerCli {
    /// Checks that `DOCKER_HOST` names a running daemon.
    pub fn new() -> Self {
        let host = std::env::var("DOCKER_HOST").unwrap_or_default();
        assert!(
            !host.is_empty(),
            "DOCKER_HOST is not set: this test needs a Docker daemon. Run them through the Makefile \
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

    /// This test's docker config directory (where logins are stored).
    pub fn config_dir(&self) -> &Path {
        self.config_dir.path()
    }

    /// `docker ARGS…` with this test's config directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .args(args)
            .env("DOCKER_CONFIG", self.config_dir.path())
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("DOCKER_CONTEXT");
        command
    }

    /// Runs `docker ARGS…` and returns its output, whatever its exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("could not run `docker {}`: {e}", args.join(" ")))
    }

    /// Runs `docker ARGS…`, asserts that it succeeded and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
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
    pub fn login(&self, host: &str, password: &str) -> Output {
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
    pub fn login_as_admin(&self, server: &TestServer) {
        let output = self.login(&server.host, ADMIN_PASSWORD);
        assert!(
            output.status.success(),
            "docker login {} as admin failed:\n{}",
            server.host,
            describe(&output)
        );
    }

    /// Builds the context in `dir` as `tag` and returns the image id.
    pub fn build(&self, dir: &Path, tag: &str) -> String {
        let dir = dir.to_str().expect("UTF-8 build context path");
        self.ok(&["build", "--quiet", "-t", tag, dir]);
        let id = self.image_id(tag).expect("the image just built exists");
        self.images.borrow_mut().push(id.clone());
        id
    }

    /// Pushes `reference` and returns the manifest digest docker reports.
    pub fn push(&self, reference: &str) -> String {
        let stdout = self.ok(&["push", reference]);
        pushed_digest(&stdout)
            .unwrap_or_else(|| panic!("no `digest: sha256:…` in `docker push` output:\n{stdout}"))
    }

    /// Pulls `reference` and returns the image id it resolves to.
    pub fn pull(&self, reference: &str) -> String {
        self.ok(&["pull", reference]);
        let id = self
            .image_id(reference)
            .expect("the image just pulled exists");
        self.images.borrow_mut().push(id.clone());
        id
    }

    /// `docker tag SOURCE TARGET`.
    pub fn tag(&self, source: &str, target: &str) {
        self.ok(&["tag", source, target]);
    }

    /// `docker rmi REFERENCE…`, asserting that each reference is gone afterwards.
    pub fn remove(&self, references: &[&str]) {
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
    pub fn image_id(&self, reference: &str) -> Option<String> {
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
pub fn describe(output: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The digest in `docker push`'s last line: `v1: digest: sha256:… size: 1234`.
pub fn pushed_digest(push_output: &str) -> Option<String> {
    push_output.lines().find_map(|line| {
        let rest = &line[line.find("digest: ")? + "digest: ".len()..];
        Some(rest.split_whitespace().next()?.to_string())
    })
}

/// Writes a `FROM scratch` Dockerfile into `dir` with one `COPY` (one layer)
/// per `(file name, size)`, each file holding `size` random bytes.
pub fn write_build_context(dir: &Path, files: &[(&str, usize)]) {
    let mut dockerfile = String::from("FROM scratch\n");
    for &(name, size) in files {
        write_random_file(&dir.join(name), size);
        dockerfile.push_str(&format!("COPY {name} /{name}\n"));
    }
    std::fs::write(dir.join("Dockerfile"), dockerfile).expect("write Dockerfile");
}

/// Writes `size` random bytes to `path`, a mebibyte at a time.
pub fn write_random_file(path: &Path, size: usize) {
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
