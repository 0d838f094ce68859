//! `berth serve --tls-cert … --tls-key …`: HTTPS only, with a certificate
//! chain this test makes (a root CA, an intermediate CA and a server
//! certificate for `127.0.0.1` and `localhost`).
//!
//! The docker test needs a Docker daemon named by `DOCKER_HOST` (the Makefile
//! starts a private one and exports it); without it it fails, it never skips.
//! It trusts the test CA through `/etc/docker/certs.d/HOST:PORT/ca.crt`, so it
//! needs root, as the private daemon does.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::docker::{describe, write_build_context, DockerCli};
use common::{berth_binary, TestServer, ADMIN_PASSWORD};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

/// A root CA, an intermediate CA signed by it, and a server certificate for
/// `127.0.0.1` and `localhost` signed by the intermediate, written as PEM files.
struct TestPki {
    dir: tempfile::TempDir,
    /// The root CA certificate, what clients trust.
    ca_pem: String,
}

impl TestPki {
    fn new() -> Self {
        let root = CertifiedIssuer::self_signed(
            ca_params("Berth test root CA"),
            KeyPair::generate().expect("root key"),
        )
        .expect("root CA certificate");
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("Berth test intermediate CA"),
            KeyPair::generate().expect("intermediate key"),
            &root,
        )
        .expect("intermediate CA certificate");
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("server certificate parameters");
        params.distinguished_name = name("Berth test server");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().expect("server key");
        let server = params
            .signed_by(&server_key, &intermediate)
            .expect("server certificate");

        let dir = tempfile::tempdir().expect("temp dir for the certificates");
        // The certificate file holds the chain: the server's, then the intermediate's.
        let chain = format!("{}{}", server.pem(), intermediate.pem());
        std::fs::write(dir.path().join("server.crt"), chain).expect("write server.crt");
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem())
            .expect("write server.key");
        // Another key, which does not belong to the certificate.
        std::fs::write(
            dir.path().join("other.key"),
            KeyPair::generate().expect("other key").serialize_pem(),
        )
        .expect("write other.key");
        let ca_pem = root.pem();
        std::fs::write(dir.path().join("ca.crt"), &ca_pem).expect("write ca.crt");
        TestPki { dir, ca_pem }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `berth serve` with this certificate chain and key.
    fn start_server(&self) -> TlsServer {
        let server = TestServer::builder()
            .arg("--tls-cert")
            .arg(self.path("server.crt").to_str().expect("UTF-8 path"))
            .env(
                "BERTH_TLS_KEY",
                self.path("server.key").to_str().expect("UTF-8 path"),
            )
            .start();
        let host = server
            .url
            .strip_prefix("https://")
            .unwrap_or_else(|| panic!("the banner announces {}, not https://", server.url))
            .to_string();
        TlsServer { server, host }
    }

    /// A reqwest client that trusts the test root CA (and nothing else).
    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA certificate"),
            )
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client")
    }

    /// A rustls client configuration that trusts the test root CA.
    fn rustls_client(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
        alpn: &[&[u8]],
    ) -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(
                rustls::pki_types::CertificateDer::from_pem_slice(self.ca_pem.as_bytes())
                    .expect("CA certificate"),
            )
            .expect("add the CA to the root store");
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// A running `berth serve` with TLS, and its `127.0.0.1:PORT`.
struct TlsServer {
    server: TestServer,
    host: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

#[test]
fn https_answers_with_the_certificate_and_plain_http_gets_no_answer() {
    let pki = TestPki::new();
    let mut tls = pki.start_server();
    let url = format!("https://{}/v2/", tls.host);
    let client = pki.client();

    runtime().block_on(async {
        let anonymous = client.get(&url).send().await.expect("GET /v2/ over https");
        assert_eq!(anonymous.status(), 401, "GET {url} without credentials");
        let challenge = anonymous
            .headers()
            .get("www-authenticate")
            .expect("a WWW-Authenticate header on the 401")
            .to_str()
            .expect("ASCII WWW-Authenticate");
        assert!(
            challenge.starts_with("Basic"),
            "WWW-Authenticate: {challenge}"
        );

        let admin = client
            .get(&url)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .expect("GET /v2/ over https as admin");
        assert_eq!(admin.status(), 200, "GET {url} as admin");

        // The same port speaks no plain HTTP: a client that sends it gets no
        // HTTP answer back.
        let plain = format!("http://{}/v2/", tls.host);
        let result = reqwest::Client::new().get(&plain).send().await;
        assert!(
            result.is_err(),
            "plain GET {plain} got an answer: {:?}",
            result.map(|r| r.status())
        );
    });

    let mut stream = TcpStream::connect(&tls.host).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("read timeout");
    stream
        .write_all(b"GET /v2/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("send a plain HTTP request");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "the TLS port answered plain HTTP: {}",
        String::from_utf8_lossy(&answer)
    );

    // Graceful shutdown works with TLS as without.
    let status = tls.server.stop();
    assert!(status.success(), "berth exited with {status} after SIGTERM");
}

#[test]
fn tls_1_2_and_1_3_with_alpn_h2_and_http_1_1_are_offered() {
    let pki = TestPki::new();
    let tls = pki.start_server();
    /// A TLS version, the protocols the client offers by ALPN, the one expected.
    type Case = (
        &'static rustls::SupportedProtocolVersion,
        &'static [&'static [u8]],
        &'static [u8],
    );
    let cases: [Case; 4] = [
        (&rustls::version::TLS13, &[b"h2", b"http/1.1"], b"h2"),
        (&rustls::version::TLS12, &[b"h2", b"http/1.1"], b"h2"),
        (&rustls::version::TLS13, &[b"http/1.1"], b"http/1.1"),
        (&rustls::version::TLS12, &[b"http/1.1"], b"http/1.1"),
    ];
    runtime().block_on(async {
        for (version, alpn, expected_alpn) in cases {
            for server_name in ["127.0.0.1", "localhost"] {
                let connector =
                    tokio_rustls::TlsConnector::from(pki.rustls_client(&[version], alpn));
                let tcp = tokio::net::TcpStream::connect(&tls.host)
                    .await
                    .expect("connect to the server");
                let name = rustls::pki_types::ServerName::try_from(server_name.to_string())
                    .expect("server name");
                let stream = connector.connect(name, tcp).await.unwrap_or_else(|e| {
                    panic!(
                        "TLS handshake as {server_name} with {:?} and ALPN {alpn:?} failed: {e}",
                        version.version
                    )
                });
                let (_, session) = stream.get_ref();
                assert_eq!(session.protocol_version(), Some(version.version));
                assert_eq!(
                    session.alpn_protocol(),
                    Some(expected_alpn),
                    "ALPN with a client offering {alpn:?}"
                );
            }
        }

        // HTTP/2 over TLS is served, not just negotiated (reqwest offers h2
        // and http/1.1 by ALPN), also under the name localhost.
        let response = pki
            .client()
            .get(format!("https://localhost:{}/v2/", port(&tls.host)))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .expect("GET /v2/ by the name localhost");
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(response.status(), 200);
    });
}

fn port(host: &str) -> &str {
    host.rsplit_once(':').expect("HOST:PORT").1
}

#[test]
fn bad_certificate_or_key_files_stop_the_start_and_are_named() {
    let pki = TestPki::new();
    let garbage = pki.path("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write garbage.pem");
    let missing = pki.path("missing.crt");
    // PEM armour around bytes that are no certificate.
    let not_der = pki.path("not-der.crt");
    std::fs::write(
        &not_der,
        "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n",
    )
    .expect("write not-der.crt");
    let cases = [
        (missing.clone(), pki.path("server.key"), missing.clone()),
        (garbage.clone(), pki.path("server.key"), garbage.clone()),
        (pki.path("server.crt"), garbage.clone(), garbage.clone()),
        (not_der.clone(), pki.path("server.key"), not_der.clone()),
        (
            pki.path("server.crt"),
            pki.path("other.key"),
            pki.path("other.key"),
        ),
    ];
    for (cert, key, named) in cases {
        let data_dir = tempfile::tempdir().expect("temp data dir");
        let output = Command::new(berth_binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .env("BERTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("BERTH_CONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("run berth serve");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "berth serve started with cert {} and key {}",
            cert.display(),
            key.display()
        );
        assert!(
            stderr.contains(&named.display().to_string()),
            "the error does not name {}:\n{stderr}",
            named.display()
        );
        assert!(!stderr.contains("panicked"), "berth panicked:\n{stderr}");
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("Berth is listening"),
            "berth announced itself with an unusable certificate"
        );
    }

    // One of the pair without the other is refused before anything starts.
    let data_dir = tempfile::tempdir().expect("temp data dir");
    let output = Command::new(berth_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .arg("--tls-cert")
        .arg(pki.path("server.crt"))
        .env_remove("BERTH_TLS_KEY")
        .env_remove("BERTH_CONFIG")
        .output()
        .expect("run berth serve");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "berth serve started without a key"
    );
    assert!(stderr.contains("tls_key"), "{stderr}");
}

/// `/etc/docker/certs.d/HOST:PORT/`, where the Docker daemon looks for the CA
/// of the registry at HOST:PORT; removed when dropped, even if the test fails.
struct DockerTrust {
    dir: PathBuf,
}

impl DockerTrust {
    fn install(host: &str, ca_pem: &str) -> Self {
        let dir = Path::new("/etc/docker/certs.d").join(host);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| {
            panic!(
                "cannot create {} (the docker TLS test needs root): {e}",
                dir.display()
            )
        });
        let trust = DockerTrust { dir };
        std::fs::write(trust.dir.join("ca.crt"), ca_pem).expect("write ca.crt for docker");
        trust
    }
}

impl Drop for DockerTrust {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The real docker client logs in, pushes and pulls over TLS.
///
/// Docker counts every registry on 127.0.0.0/8 as "insecure", and for those it
/// would fall back to plain HTTP if HTTPS failed. The server speaks no plain
/// HTTP at all (see `https_answers_with_the_certificate_and_plain_http_gets_no_answer`),
/// so a login, push and pull that succeed here went over TLS.
#[test]
fn docker_logs_in_pushes_and_pulls_over_tls() {
    let docker = DockerCli::new();
    let pki = TestPki::new();
    let tls = pki.start_server();
    let _trust = DockerTrust::install(&tls.host, &pki.ca_pem);

    let login = docker.login(&tls.host, ADMIN_PASSWORD);
    assert!(
        login.status.success(),
        "docker login {} over TLS failed:\n{}",
        tls.host,
        describe(&login)
    );
    let context = tempfile::tempdir().expect("build context dir");
    write_build_context(context.path(), &[("payload.bin", 4096)]);
    let reference = format!("{}/tls-test/scratch:v1", tls.host);
    let built = docker.build(context.path(), &reference);
    let pushed = docker.push(&reference);
    assert!(
        pushed.starts_with("sha256:"),
        "docker push reported {pushed}"
    );
    docker.remove(&[&reference]);
    let pulled = docker.pull(&reference);
    assert_eq!(
        pulled, built,
        "the image pulled over TLS differs from the one pushed"
    );
}

#[test]
fn console_session_cookies_are_secure_under_tls_and_only_https_pages_sign_in() {
    let pki = TestPki::new();
    let tls = pki.start_server();
    let base = format!("https://{}", tls.host);
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).expect("CA certificate"),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client");
    runtime().block_on(async {
        // A page of this host served over plain HTTP is not this console.
        let response = client
            .post(format!("{base}/api/sign_in"))
            .header("origin", format!("http://{}", tls.host))
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .expect("sign in from an http page");
        assert_eq!(response.status(), 403);
        assert!(response.headers().get("set-cookie").is_none());
        // Over HTTP/2 there is no Host header: the same-origin check uses the
        // request's authority.
        let response = client
            .post(format!("{base}/api/sign_in"))
            .header("origin", &base)
            .header("accept", "text/html")
            .form(&[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("sign in over https");
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(
            response.status(),
            302,
            "sign-in answered {}",
            response.status()
        );
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .expect("ASCII cookie");
        for attribute in ["Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(
                cookie.contains(attribute),
                "{attribute} missing from {cookie}"
            );
        }
    });
}
