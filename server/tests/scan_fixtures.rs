//! The scanner's parsers of package databases and binaries against real
//! files made by the real tools (`.ci/scan-fixtures.sh`): an rpmdb written by
//! rpm 4.18 (sqlite backend), a Go 1.19 binary's build info, a Rust binary
//! built with `cargo auditable`.

mod common;

use berth::scan::packages::{binary, rpm};
use berth::scan::{Found, PackageKind};
use common::scan_fixtures::fixtures;
use std::fs::File;

fn found(kind: PackageKind, name: &str, version: &str, source: Option<&str>) -> Found {
    Found {
        kind,
        name: name.into(),
        version: version.into(),
        source_name: source.map(Into::into),
        source_version: None,
    }
}

/// rpm leaves its database in WAL mode, with `-wal` and `-shm` files beside
/// it; a scan sees only `rpmdb.sqlite` (copied out of a layer on its own).
/// The imported signing key (`gpg-pubkey`) is no package.
#[test]
fn the_rpmdb_rpm_wrote_lists_its_packages_with_epochs_and_source_rpms() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("rpmdb.sqlite");
    std::fs::copy(fixtures().join("rpm/var/lib/rpm/rpmdb.sqlite"), &copy).unwrap();
    let mut packages = rpm::rpmdb(&copy).unwrap();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        packages,
        [
            found(PackageKind::Rpm, "curl", "7.76.1-14.el9", Some("curl")),
            found(
                PackageKind::Rpm,
                "openssl",
                "1:3.0.1-41.el9_0",
                Some("openssl")
            ),
            found(
                PackageKind::Rpm,
                "openssl-libs",
                "1:3.0.1-41.el9_0",
                Some("openssl")
            ),
        ]
    );
    // Reading wrote nothing beside the copy (no -wal, no -shm, no journal).
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["rpmdb.sqlite"]);

    // rpm's own count: three packages and the key.
    let db = rusqlite::Connection::open_with_flags(
        format!("file:{}?immutable=1", copy.display()),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let rows: i64 = db
        .query_row("SELECT count(*) FROM Packages", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 4);
}

/// The same file cut short, as a truncated layer would give it.
#[test]
fn a_truncated_rpmdb_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixtures().join("rpm/var/lib/rpm/rpmdb.sqlite")).unwrap();
    for len in [0, 100, 4096, bytes.len() / 2] {
        let copy = dir.path().join(format!("cut-{len}.sqlite"));
        std::fs::write(&copy, &bytes[..len]).unwrap();
        let result = rpm::rpmdb(&copy);
        assert!(result.is_err(), "{len} bytes: {result:?}");
    }
}

#[test]
fn the_go_binary_lists_its_modules_and_the_standard_library() {
    let packages =
        binary::executable(&mut File::open(fixtures().join("go/hello")).unwrap()).unwrap();
    // golang.org/x/text is required at v0.3.7 and replaced by a directory
    // (`=> ../text (devel)`): v0.3.7 is what the build info claims. The main
    // module is `(devel)`, so it is no package.
    assert_eq!(
        packages,
        [
            found(PackageKind::Go, "golang.org/x/text", "0.3.7", None),
            found(PackageKind::Go, "stdlib", "1.19.8", None),
        ]
    );
}

/// A stripped binary may have no section names: the build info is then found
/// by its header at the start of the writable data segment, as Go's own
/// `debug/buildinfo` finds it. Renaming the section in the real binary's
/// section name table hides it the same way.
#[test]
fn the_go_build_info_is_found_without_its_section_name() {
    let mut bytes = std::fs::read(fixtures().join("go/hello")).unwrap();
    let name = b".go.buildinfo\0";
    let at = bytes
        .windows(name.len())
        .position(|w| w == name)
        .expect("the section name table names .go.buildinfo");
    bytes[at..at + name.len()].copy_from_slice(b".go.hiddeninf\0");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("hello");
    std::fs::write(&copy, &bytes).unwrap();
    let packages = binary::executable(&mut File::open(&copy).unwrap()).unwrap();
    assert_eq!(
        packages,
        [
            found(PackageKind::Go, "golang.org/x/text", "0.3.7", None),
            found(PackageKind::Go, "stdlib", "1.19.8", None),
        ]
    );
}

#[test]
fn the_cargo_auditable_binary_lists_its_crates_io_crates() {
    let packages =
        binary::executable(&mut File::open(fixtures().join("rust/auditable-hello")).unwrap())
            .unwrap();
    // The binary's own crate is local, not from crates.io.
    assert_eq!(
        packages,
        [found(PackageKind::Rust, "smallvec", "1.6.0", None)]
    );
}

/// Files that are not executables record nothing; they are no error.
#[test]
fn other_files_record_nothing() {
    for path in [
        "java/snakeyaml-1.33.jar",
        "apk/lib/apk/db/installed",
        "rpm/var/lib/rpm/rpmdb.sqlite",
    ] {
        let packages = binary::executable(&mut File::open(fixtures().join(path)).unwrap()).unwrap();
        assert_eq!(packages, [], "{path}");
    }
}

/// The real binaries cut short, or with their bytes overwritten in the
/// middle: an error or fewer packages, never a panic.
#[test]
fn damaged_binaries_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    for path in ["go/hello", "rust/auditable-hello"] {
        let bytes = std::fs::read(fixtures().join(path)).unwrap();
        let copy = dir.path().join("damaged");
        for len in [
            5,
            64,
            200,
            4096,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 1,
        ] {
            std::fs::write(&copy, &bytes[..len]).unwrap();
            let _ = binary::executable(&mut File::open(&copy).unwrap());
        }
        // A truncated header table is an error.
        std::fs::write(&copy, &bytes[..64]).unwrap();
        assert!(
            binary::executable(&mut File::open(&copy).unwrap()).is_err(),
            "{path} cut at 64"
        );
        let step = bytes.len() / 97;
        for at in (0..bytes.len()).step_by(step.max(1)) {
            let mut damaged = bytes.clone();
            let end = (at + 512).min(damaged.len());
            damaged[at..end].fill(0xff);
            std::fs::write(&copy, &damaged).unwrap();
            let _ = binary::executable(&mut File::open(&copy).unwrap());
        }
    }
}

/// The whole path on real package data: an image made of this
/// machine's Debian files and every real fixture (pip, npm, a Go binary, a
/// cargo-auditable binary, a jar nesting another) is pushed, real OSV
/// records are imported with `berth vulndb import`, `berth scan` scans it,
/// and the SBOM referrer and DescribeImageScanFindings show the packages of
/// every ecosystem and the findings the records name.
#[tokio::test]
async fn an_image_of_real_packages_is_scanned_into_an_sbom_and_findings() {
    use common::oci::{image_manifest, to_bytes, Descriptor, Registry};
    use common::oci::{OCI_CONFIG, OCI_LAYER, OCI_MANIFEST};
    use serde_json::{json, Value};
    use std::process::Command;

    let fixtures = fixtures();
    let root = tempfile::tempdir().unwrap();
    let put = |from: &std::path::Path, to: &str| {
        let target = root.path().join(to);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let status = Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success(), "cp {} {to}", from.display());
    };
    // This machine's /etc/os-release is a link to ../usr/lib/os-release, as
    // in Debian's images: both go in, the link kept.
    put("/etc/os-release".as_ref(), "etc/os-release");
    put("/usr/lib/os-release".as_ref(), "usr/lib/os-release");
    put("/var/lib/dpkg/status".as_ref(), "var/lib/dpkg/status");
    put(&fixtures.join("python"), "usr/lib/python3/dist-packages");
    put(&fixtures.join("npm/node_modules"), "srv/web/node_modules");
    put(&fixtures.join("go/hello"), "usr/local/bin/hello");
    put(
        &fixtures.join("rust/auditable-hello"),
        "usr/local/bin/auditable-hello",
    );
    put(&fixtures.join("java/app.jar"), "opt/app/app.jar");
    let layer_path = root.path().with_extension("tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&layer_path)
        .arg("-C")
        .arg(root.path())
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success(), "tar");
    let layer = std::fs::read(&layer_path).unwrap();
    std::fs::remove_file(&layer_path).unwrap();

    let server = common::TestServer::start();
    let client = Registry::new(&server);
    let repo = "real/packages";
    let config = to_bytes(&json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
    }));
    client.push_blob(repo, &config).await;
    client.push_blob(repo, &layer).await;
    let manifest = to_bytes(&image_manifest(
        &Descriptor::of(OCI_CONFIG, &config),
        &[Descriptor::of(OCI_LAYER, &layer)],
    ));
    let digest = client
        .push_manifest(repo, "v1", OCI_MANIFEST, &manifest)
        .await;

    // Real records as published (see server/src/scan/testdata/osv/README.md).
    let records = tempfile::tempdir().unwrap();
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scan/testdata/osv");
    for id in ["GHSA-j8r2-6x86-q33q", "GO-2023-1704", "GO-2023-2102"] {
        let file = format!("{id}.json");
        std::fs::copy(testdata.join(&file), records.path().join(&file)).unwrap();
    }
    let imported = server.admin(&["vulndb", "import", records.path().to_str().unwrap()]);
    assert!(
        imported.status.success(),
        "berth vulndb import: {}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let scanned = server.admin(&["scan", &format!("{repo}:v1"), "--json"]);
    assert!(
        scanned.status.success(),
        "berth scan: {}",
        String::from_utf8_lossy(&scanned.stderr)
    );
    let scan: Value = serde_json::from_slice(&scanned.stdout).unwrap();
    assert_eq!(scan["imageDigest"], digest.as_str());
    assert_eq!(scan["imageScanStatus"]["status"], "COMPLETE", "{scan}");

    // The SBOM: the referrer of the image, CycloneDX.
    let referrers: Value = client
        .send(client.get(&format!("/v2/{repo}/referrers/{digest}")))
        .await
        .json()
        .await
        .unwrap();
    let sbom = referrers["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["artifactType"] == "application/vnd.cyclonedx+json")
        .unwrap_or_else(|| panic!("no SBOM among the referrers: {referrers}"));
    assert_eq!(sbom["digest"], scan["sbomDigest"]);
    let sbom_manifest: Value = client
        .send(client.get(&format!(
            "/v2/{repo}/manifests/{}",
            sbom["digest"].as_str().unwrap()
        )))
        .await
        .json()
        .await
        .unwrap();
    let document: Value = client
        .send(client.get(&format!(
            "/v2/{repo}/blobs/{}",
            sbom_manifest["layers"][0]["digest"].as_str().unwrap()
        )))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(document["bomFormat"], "CycloneDX");
    assert_eq!(document["specVersion"], "1.6");
    let purls: Vec<&str> = document["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    for expected in [
        "pkg:pypi/requests@2.19.1",
        "pkg:pypi/urllib3@1.24.1",
        "pkg:pypi/jinja2@2.10",
        "pkg:npm/lodash@4.17.15",
        "pkg:npm/minimist@1.2.0",
        "pkg:golang/golang.org/x/text@v0.3.7",
        "pkg:golang/stdlib@1.19.8",
        "pkg:cargo/smallvec@1.6.0",
        "pkg:maven/org.yaml/snakeyaml@1.33",
    ] {
        assert!(
            purls.contains(&expected),
            "{expected} is not in the SBOM's purls: {purls:?}"
        );
    }
    assert!(
        purls.iter().any(|p| p.starts_with("pkg:deb/debian/dpkg@")),
        "the machine's dpkg is not in the SBOM: {purls:?}"
    );

    // The findings, through the ECR API.
    let key = common::ecr::create_access_key(&server, "admin");
    let body = json!({"repositoryName": repo, "imageId": {"imageTag": "v1"}}).to_string();
    let headers = common::ecr::call_headers(
        &key,
        &server.host,
        "DescribeImageScanFindings",
        body.as_bytes(),
    );
    let mut request = reqwest::Client::new()
        .post(format!("{}/", server.url))
        .body(body);
    for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
        request = request.header(name, value);
    }
    let answer: Value = request.send().await.unwrap().json().await.unwrap();
    let findings = answer["imageScanFindings"]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings: {answer}"));
    let package_of = |finding: &Value| {
        finding["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == "package_name")
            .map(|a| a["value"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let seen: Vec<(String, String)> = findings
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_owned(), package_of(f)))
        .collect();
    for (name, package) in [("CVE-2023-32681", "requests"), ("CVE-2023-39325", "stdlib")] {
        assert!(
            seen.iter().any(|(n, p)| n == name && p == package),
            "{name} in {package} is not among the findings: {seen:?}"
        );
    }
    // GO-2023-1704 (CVE-2023-24534) is fixed in Go 1.19.8, the version the
    // binary was built with: no finding.
    assert!(
        !seen.iter().any(|(n, _)| n == "CVE-2023-24534"),
        "a vulnerability fixed in the installed version is reported: {seen:?}"
    );
    // What `berth scan` reported of the findings it made (it keeps them
    // rather than reading them back) is what the database serves.
    assert_eq!(scan["findings"], findings.len(), "{scan}");
    assert_eq!(
        scan["findingSeverityCounts"], answer["imageScanFindings"]["findingSeverityCounts"],
        "{scan}"
    );
}
