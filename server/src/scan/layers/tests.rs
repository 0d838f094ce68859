//! The layer reader on real and hostile layers.

use super::tar::build::Tar;
use super::*;
use crate::scan::packages::java::testzip::{self, Method};
use crate::scan::packages::{dpkg, os_release};
use std::io::{self, Write};

const OCI_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const OCI_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_NONDISTRIBUTABLE: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
const DOCKER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

const METADATA: &[u8] = include_bytes!("../packages/testdata/jmespath-1.1.0.METADATA");
const PKG_INFO: &[u8] = include_bytes!("../packages/testdata/PyJWT-2.6.0.PKG-INFO");
const PACKAGE_JSON: &[u8] =
    include_bytes!("../packages/testdata/util-deprecate-1.0.2.package.json");
const JAR: &[u8] = include_bytes!("../packages/testdata/slf4j-nop-1.7.32.jar");
const APK_DB: &[u8] = include_bytes!("../packages/testdata/alpine-3.18-aarch64.installed");
/// `/etc/os-release` of the `alpine:3.18.4` image.
const ALPINE_OS_RELEASE: &[u8] = b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\nPRETTY_NAME=\"Alpine Linux v3.18\"\nHOME_URL=\"https://alpinelinux.org/\"\nBUG_REPORT_URL=\"https://gitlab.alpinelinux.org/alpine/aports/-/issues\"\n";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn layer(digest: &str, media_type: &str, bytes: Vec<u8>) -> LayerInput {
    LayerInput {
        digest: digest.into(),
        media_type: media_type.into(),
        reader: Box::new(io::Cursor::new(bytes)),
    }
}

/// Gzipped OCI layers `sha256:0`, `sha256:1`, … of these tars.
fn scan(tars: &[Vec<u8>]) -> Result<Inventory, ScanError> {
    scan_limited(tars, &Limits::default())
}

fn scan_limited(tars: &[Vec<u8>], limits: &Limits) -> Result<Inventory, ScanError> {
    let layers = tars
        .iter()
        .enumerate()
        .map(|(i, tar)| layer(&format!("sha256:{i}"), OCI_GZIP, gzip(tar)))
        .collect();
    inventory_with_limits(layers, limits)
}

fn rejected(result: Result<Inventory, ScanError>) -> String {
    match result {
        Err(ScanError::Rejected(reason)) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The test machine's own os-release and dpkg database, laid out as in
/// a Debian image (`/etc/os-release` a link to `../usr/lib/os-release`).
fn this_machine() -> Vec<u8> {
    Tar::new()
        .dir("etc/")
        .symlink("etc/os-release", "../usr/lib/os-release")
        .dir("usr/lib/")
        .file(
            "usr/lib/os-release",
            &std::fs::read("/etc/os-release").unwrap(),
        )
        .dir("var/lib/dpkg/")
        .file(
            "./var/lib/dpkg/status",
            &std::fs::read("/var/lib/dpkg/status").unwrap(),
        )
        .finish()
}

fn summary(inventory: &Inventory) -> Vec<(String, String, Option<String>, String, String)> {
    inventory
        .packages
        .iter()
        .map(|p| {
            (
                p.found.name.clone(),
                p.found.version.clone(),
                p.ecosystem.clone(),
                p.layer.clone(),
                p.path.clone(),
            )
        })
        .collect()
}

#[test]
fn this_machines_own_files_in_every_compression_and_media_type() {
    let tar = this_machine();
    let distro = os_release::parse(&std::fs::read_to_string("/etc/os-release").unwrap());
    let expected = dpkg::parse(
        &std::fs::read_to_string("/var/lib/dpkg/status").unwrap(),
        false,
    )
    .unwrap();
    let variants = [
        (OCI_GZIP, gzip(&tar)),
        (OCI_ZSTD, zstd::encode_all(&tar[..], 3).unwrap()),
        (OCI_TAR, tar.clone()),
        (OCI_NONDISTRIBUTABLE, gzip(&tar)),
        (DOCKER_GZIP, gzip(&tar)),
        (DOCKER_FOREIGN, gzip(&tar)),
        // Docker has labelled uncompressed layers tar.gzip.
        (DOCKER_GZIP, tar.clone()),
        // Whatever the label, the bytes say zstd.
        (OCI_GZIP, zstd::encode_all(&tar[..], 3).unwrap()),
    ];
    for (media_type, bytes) in variants {
        let inventory = inventory(vec![layer("sha256:base", media_type, bytes)])
            .unwrap_or_else(|e| panic!("{media_type}: {e}"));
        assert_eq!(inventory.distro.as_ref(), Some(&distro), "{media_type}");
        assert_eq!(inventory.packages.len(), expected.len(), "{media_type}");
        for (package, found) in inventory.packages.iter().zip(&expected) {
            assert_eq!(&package.found, found);
            assert_eq!(package.ecosystem, os_release::ecosystem(&distro));
            assert_eq!(package.layer, "sha256:base");
            assert_eq!(package.path, "var/lib/dpkg/status");
        }
        assert!(inventory.notes.is_empty(), "{:?}", inventory.notes);
    }
    if distro.id == "debian" {
        let major = distro.version_id.split('.').next().unwrap();
        assert_eq!(
            inventory(vec![layer("sha256:base", OCI_TAR, tar.clone())])
                .unwrap()
                .packages[0]
                .ecosystem,
            Some(format!("Debian:{major}"))
        );
    }
}

#[test]
fn whiteouts_opaque_directories_and_replacements() {
    let site = "usr/lib/python3/site-packages";
    let base = Tar::new()
        .file(
            &format!("{site}/jmespath-1.1.0.dist-info/METADATA"),
            METADATA,
        )
        .file(&format!("{site}/PyJWT-2.6.0.egg-info/PKG-INFO"), PKG_INFO)
        .file("app/node_modules/util-deprecate/package.json", PACKAGE_JSON)
        .file("app/lib/slf4j-nop-1.7.32.jar", JAR)
        .file("srv/node_modules/util-deprecate/package.json", PACKAGE_JSON)
        .file(
            "opt/a/node_modules/util-deprecate/package.json",
            PACKAGE_JSON,
        )
        // Not installs: a project's own manifest, one inside a package.
        .file("app/package.json", PACKAGE_JSON)
        .file(
            "app/node_modules/util-deprecate/lib/package.json",
            PACKAGE_JSON,
        )
        .finish();
    let upper = Tar::new()
        // Removes the directory and everything in it.
        .file(&format!("{site}/.wh.jmespath-1.1.0.dist-info"), b"")
        // This layer's own entry under srv stays; the lower ones go.
        .file("srv/node_modules/util-deprecate/package.json", PACKAGE_JSON)
        .file("srv/.wh..wh..opq", b"")
        // A non-package file where a package file was.
        .symlink("app/lib/slf4j-nop-1.7.32.jar", "/dev/null")
        // A file where a package's directory was.
        .file("opt/a/node_modules/util-deprecate", b"plain file")
        .finish();
    let inventory = scan(&[base.clone(), upper]).unwrap();
    let s = |x: &str| x.to_string();
    assert_eq!(
        summary(&inventory),
        [
            (
                s("util-deprecate"),
                s("1.0.2"),
                Some(s("npm")),
                s("sha256:0"),
                s("app/node_modules/util-deprecate/package.json")
            ),
            (
                s("PyJWT"),
                s("2.6.0"),
                Some(s("PyPI")),
                s("sha256:0"),
                format!("{site}/PyJWT-2.6.0.egg-info/PKG-INFO")
            ),
            (
                s("util-deprecate"),
                s("1.0.2"),
                Some(s("npm")),
                s("sha256:1"),
                s("srv/node_modules/util-deprecate/package.json")
            ),
        ]
    );
    assert_eq!(inventory.distro, None);

    // The base alone has them all, in path order.
    let all = scan(&[base]).unwrap();
    let paths: Vec<&str> = all.packages.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "app/lib/slf4j-nop-1.7.32.jar",
            "app/node_modules/util-deprecate/package.json",
            "opt/a/node_modules/util-deprecate/package.json",
            "srv/node_modules/util-deprecate/package.json",
            "usr/lib/python3/site-packages/PyJWT-2.6.0.egg-info/PKG-INFO",
            "usr/lib/python3/site-packages/jmespath-1.1.0.dist-info/METADATA",
        ]
    );

    // A whiteout of a whole tree, and an opaque root.
    let gone = Tar::new().file("usr/.wh.lib", b"").finish();
    assert!(scan(&[
        Tar::new()
            .file(&format!("{site}/PyJWT-2.6.0.egg-info/PKG-INFO"), PKG_INFO)
            .finish(),
        gone
    ])
    .is_err());
}

#[test]
fn alpine_with_java_archives() {
    let lib = testzip::zip(&[(
        "META-INF/maven/com.example/lib/pom.properties",
        b"groupId=com.example\nartifactId=lib\nversion=0.9\n",
        Method::DeflatedLater,
    )]);
    let war = testzip::zip(&[
        (
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\n",
            Method::DeflatedLater,
        ),
        ("WEB-INF/lib/slf4j-nop-1.7.32.jar", JAR, Method::Stored),
        ("WEB-INF/lib/lib.jar", &lib, Method::DeflatedLater),
    ]);
    let base = Tar::new()
        .file("etc/os-release", ALPINE_OS_RELEASE)
        .file("lib/apk/db/installed", APK_DB)
        .finish();
    let app = Tar::new()
        .file("srv/app.war", &war)
        .hardlink("srv/same.war", "srv/app.war")
        .finish();
    let inventory = scan(&[base, app]).unwrap();
    assert_eq!(
        inventory.distro.as_ref().map(|d| d.id.as_str()),
        Some("alpine")
    );
    let got = summary(&inventory);
    assert_eq!(got.len(), 8 + 4);
    assert!(got[..8]
        .iter()
        .all(|p| p.2.as_deref() == Some("Alpine:v3.18") && p.3 == "sha256:0"));
    assert_eq!(got[2].0, "libssl3");
    assert_eq!(
        inventory.packages[2].found.source_name.as_deref(),
        Some("openssl")
    );
    let s = |x: &str| x.to_string();
    assert_eq!(
        got[8..],
        [
            (
                s("org.slf4j:slf4j-nop"),
                s("1.7.32"),
                Some(s("Maven")),
                s("sha256:1"),
                s("srv/app.war!/WEB-INF/lib/slf4j-nop-1.7.32.jar")
            ),
            (
                s("com.example:lib"),
                s("0.9"),
                Some(s("Maven")),
                s("sha256:1"),
                s("srv/app.war!/WEB-INF/lib/lib.jar")
            ),
            (
                s("org.slf4j:slf4j-nop"),
                s("1.7.32"),
                Some(s("Maven")),
                s("sha256:1"),
                s("srv/same.war!/WEB-INF/lib/slf4j-nop-1.7.32.jar")
            ),
            (
                s("com.example:lib"),
                s("0.9"),
                Some(s("Maven")),
                s("sha256:1"),
                s("srv/same.war!/WEB-INF/lib/lib.jar")
            ),
        ]
    );
}

#[test]
fn distroless_status_d() {
    let tar = Tar::new()
        .file("etc/os-release", &std::fs::read("/etc/os-release").unwrap())
        .file(
            "var/lib/dpkg/status.d/base-files",
            b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
        )
        .file(
            "var/lib/dpkg/status.d/base-files.md5sums",
            b"0123  etc/debian_version\n",
        )
        .file(
            "var/lib/dpkg/status.d/tzdata",
            b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
        )
        .finish();
    let inventory = scan(&[tar]).unwrap();
    let names: Vec<&str> = inventory
        .packages
        .iter()
        .map(|p| p.found.name.as_str())
        .collect();
    assert_eq!(names, ["base-files", "tzdata"]);
}

#[test]
fn files_the_other_readers_cannot_read_are_notes() {
    let tar = Tar::new()
        .file("etc/os-release", &std::fs::read("/etc/os-release").unwrap())
        .file(
            "var/lib/rpm/rpmdb.sqlite",
            b"this is not an SQLite database",
        )
        .file("usr/bin/tool", b"\x7fELF not really an executable")
        .file("usr/bin/script", b"#!/bin/sh\n")
        .file("app/node_modules/broken/package.json", b"{ not json")
        .finish();
    let inventory = scan(&[tar]).unwrap();
    assert!(inventory.packages.is_empty(), "{:?}", inventory.packages);
    assert!(
        inventory
            .notes
            .iter()
            .any(|n| n.starts_with("/var/lib/rpm/rpmdb.sqlite: ")),
        "{:?}",
        inventory.notes
    );
    assert!(
        inventory
            .notes
            .iter()
            .any(|n| n.starts_with("/app/node_modules/broken/package.json: not JSON")),
        "{:?}",
        inventory.notes
    );
    assert!(!inventory.notes.iter().any(|n| n.contains("usr/bin/script")));
}

#[test]
fn nothing_recognised_is_unsupported() {
    let tar = Tar::new()
        .file("hello.txt", b"hello")
        .file("bin/busybox", b"#!")
        .finish();
    let Err(ScanError::Unsupported(reason)) = scan(&[tar]) else {
        panic!("expected UNSUPPORTED_IMAGE")
    };
    assert!(
        reason.starts_with("The image has no /etc/os-release or /usr/lib/os-release"),
        "{reason}"
    );
    let tar = Tar::new()
        .file("etc/os-release", b"ID=plan9\nPRETTY_NAME=\"Plan 9\"\n")
        .finish();
    let Err(ScanError::Unsupported(reason)) = scan(&[tar]) else {
        panic!("expected UNSUPPORTED_IMAGE")
    };
    assert!(
        reason.starts_with("The image's operating system, Plan 9, is not one Berth has advisories for, and no package"),
        "{reason}"
    );
    let helm = layer(
        "sha256:c",
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        gzip(&this_machine()),
    );
    let Err(ScanError::Unsupported(reason)) = inventory(vec![helm]) else {
        panic!("expected UNSUPPORTED_IMAGE")
    };
    assert!(
        reason.contains("is not a container image layer"),
        "{reason}"
    );
}

#[test]
fn a_decompression_bomb_is_refused() {
    // 16 MiB of zeros in a layer of a few KiB.
    let tar = Tar::new().file("zeros", &vec![0u8; 16 << 20]).finish();
    let limits = Limits {
        ratio_grace_bytes: 1 << 20,
        max_ratio: 100,
        ..Limits::default()
    };
    let reason = rejected(scan_limited(std::slice::from_ref(&tar), &limits));
    assert_eq!(reason, "layer sha256:0: it expands more than 100 times its compressed size (a decompression bomb?)");
    let limits = Limits {
        max_expanded_bytes: 8 << 20,
        ..Limits::default()
    };
    let reason = rejected(inventory_with_limits(
        vec![layer("sha256:z", OCI_TAR, tar)],
        &limits,
    ));
    assert_eq!(reason, "layer sha256:z: the image's layers expand to more than 8388608 bytes (a decompression bomb?)");
}

#[test]
fn millions_of_tiny_entries_are_refused() {
    let mut tar = Tar::new();
    for i in 0..3000 {
        tar.file(&format!("f/{i}"), b"");
    }
    let limits = Limits {
        max_entries: 2000,
        ..Limits::default()
    };
    // Counted over all layers together.
    let tar = tar.finish();
    assert!(scan_limited(std::slice::from_ref(&tar), &Limits::default())
        .is_err_and(|e| matches!(e, ScanError::Unsupported(_))));
    let reason = rejected(scan_limited(&[tar], &limits));
    assert_eq!(reason, "layer sha256:0: the image has more than 2000 files");
}

#[test]
fn absurd_header_sizes_are_refused() {
    let mut tar = Tar::new();
    tar.header(b'L', "././@LongLink", "", 1 << 40);
    let reason = rejected(scan(&[tar.bytes.clone()]));
    assert_eq!(
        reason,
        "layer sha256:0: a GNU long name of 1099511627776 bytes (the limit is 1048576)"
    );
    let mut tar = Tar::new();
    tar.header(b'x', "PaxHeaders/x", "", 1 << 30);
    assert!(
        rejected(scan(&[tar.bytes.clone()])).contains("a PAX extended header of 1073741824 bytes")
    );
    // A file claiming 1 TiB that the stream does not have.
    let mut tar = Tar::new();
    tar.header(b'0', "big", "", 1 << 40).data(b"short");
    assert!(rejected(scan(&[tar.bytes.clone()])).contains("truncated"));
}

#[test]
fn path_traversal_is_refused() {
    let tar = Tar::new().file("../../etc/passwd", b"root:x:0:0").finish();
    assert_eq!(
        rejected(scan(&[tar])),
        "layer sha256:0: the entry \"../../etc/passwd\" leads outside the image root"
    );
    let tar = Tar::new().file("a/../../b", b"").finish();
    assert!(rejected(scan(&[tar])).contains("leads outside the image root"));
    let tar = Tar::new()
        .hardlink("etc/shadow", "../../../etc/shadow")
        .finish();
    assert!(
        rejected(scan(&[tar])).contains("the hard link etc/shadow points outside the image root")
    );
    let tar = Tar::new()
        .symlink("etc/os-release", "../../../../../../etc/os-release")
        .file(
            "var/lib/dpkg/status",
            &std::fs::read("/var/lib/dpkg/status").unwrap(),
        )
        .finish();
    assert_eq!(
        rejected(scan(&[tar])),
        "a symbolic link on the way to /etc/os-release leads outside the image root"
    );
    // Fedora's chain of links to a variant's file.
    let tar = Tar::new()
        .symlink("etc/os-release", "../usr/lib/os-release")
        .symlink("usr/lib/os-release", "os.release.d/os-release-container")
        .file(
            "usr/lib/os.release.d/os-release-container",
            b"NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=40\nVARIANT_ID=container\n",
        )
        .file(
            "usr/lib/os.release.d/os-release-workstation",
            b"ID=fedora\nVERSION_ID=40\nVARIANT_ID=workstation\n",
        )
        .file(
            "usr/lib/python3.12/site-packages/PyJWT-2.6.0.egg-info/PKG-INFO",
            PKG_INFO,
        )
        .finish();
    let distro = scan(&[tar]).unwrap().distro.unwrap();
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_str()),
        ("fedora", "40")
    );
    // Inside the root, `..` and absolute targets are fine.
    let tar = Tar::new()
        .symlink("etc/os-release", "/usr/lib/../lib/os-release")
        .file("usr/lib/os-release", ALPINE_OS_RELEASE)
        .finish();
    let inventory = scan(&[tar]).unwrap();
    assert_eq!(inventory.distro.unwrap().version_id, "3.18.4");
}

#[test]
fn symlink_loops_end() {
    let tar = Tar::new()
        .symlink("etc/os-release", "../usr/lib/os-release")
        .symlink("usr/lib/os-release", "../../etc/os-release")
        .finish();
    assert_eq!(
        rejected(scan(&[tar])),
        "the symbolic links at /etc/os-release loop (more than 40 followed)"
    );
    let tar = Tar::new().symlink("etc/os-release", "os-release").finish();
    assert!(rejected(scan(&[tar])).contains("loop"));
    // A folder on the way that links to itself.
    let tar = Tar::new().symlink("etc", "etc").finish();
    assert!(rejected(scan(&[tar])).contains("loop"));
}

#[test]
fn package_databases_of_garbage_are_refused() {
    let mut x = 0x9e37_79b9_u32;
    let garbage: Vec<u8> = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[1]
        })
        .collect();
    let tar = Tar::new().file("var/lib/dpkg/status", &garbage).finish();
    let reason = rejected(scan(&[tar]));
    assert!(
        reason.starts_with("layer sha256:0: /var/lib/dpkg/status is not a dpkg database: line "),
        "{reason}"
    );
    let tar = Tar::new().file("lib/apk/db/installed", &garbage).finish();
    let reason = rejected(scan(&[tar]));
    assert!(
        reason.starts_with("layer sha256:0: /lib/apk/db/installed is not an apk database: line "),
        "{reason}"
    );
    let limits = Limits {
        max_text_bytes: 1000,
        ..Limits::default()
    };
    let tar = Tar::new()
        .file("var/lib/dpkg/status", &vec![b'a'; 2000])
        .finish();
    assert_eq!(
        rejected(scan_limited(&[tar], &limits)),
        "layer sha256:0: /var/lib/dpkg/status is larger than 1000 bytes"
    );
}

#[test]
fn truncated_and_corrupt_streams_are_refused() {
    let tar = this_machine();
    let gz = gzip(&tar);
    let reason = rejected(inventory(vec![layer(
        "sha256:t",
        OCI_GZIP,
        gz[..gz.len() / 2].to_vec(),
    )]));
    assert!(
        reason.starts_with("layer sha256:t: it is truncated"),
        "{reason}"
    );
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    let reason = rejected(inventory(vec![layer(
        "sha256:t",
        OCI_ZSTD,
        zst[..zst.len() / 2].to_vec(),
    )]));
    assert!(
        reason.starts_with("layer sha256:t: it is truncated"),
        "{reason}"
    );
    let reason = rejected(inventory(vec![layer(
        "sha256:t",
        OCI_TAR,
        tar[..tar.len() / 2 + 100].to_vec(),
    )]));
    assert!(
        reason.starts_with("layer sha256:t: it is truncated"),
        "{reason}"
    );
    let mut corrupt = gz.clone();
    for b in &mut corrupt[20..200] {
        *b ^= 0x5a;
    }
    let reason = rejected(inventory(vec![layer("sha256:c", OCI_GZIP, corrupt)]));
    assert!(
        reason.starts_with("layer sha256:c: it is not valid gzip data")
            || reason.contains("not a tar archive"),
        "{reason}"
    );
    let reason = rejected(inventory(vec![layer(
        "sha256:g",
        OCI_GZIP,
        vec![b'x'; 4096],
    )]));
    assert_eq!(
        reason,
        "layer sha256:g: its media type says gzip, and it is neither gzip nor tar"
    );
    let reason = rejected(inventory(vec![layer(
        "sha256:g",
        OCI_TAR,
        vec![b'x'; 4096],
    )]));
    assert!(
        reason.starts_with("layer sha256:g: not a tar archive"),
        "{reason}"
    );
    // The store failing is not the image's fault.
    struct Failing(io::Cursor<Vec<u8>>);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::other("the disk is on fire")),
                n => Ok(n),
            }
        }
    }
    for bytes in [gz[..gz.len() / 2].to_vec(), tar[..tar.len() / 2].to_vec()] {
        let failing = LayerInput {
            digest: "sha256:f".into(),
            media_type: OCI_GZIP.into(),
            reader: Box::new(Failing(io::Cursor::new(bytes))),
        };
        match inventory(vec![failing]) {
            Err(ScanError::Io(e)) => assert_eq!(e.to_string(), "the disk is on fire"),
            other => panic!("expected the store's error, got {other:?}"),
        }
    }
    // An empty layer is an empty file system.
    let empty = inventory(vec![
        layer("sha256:e", OCI_TAR, vec![]),
        layer("sha256:d", OCI_GZIP, gzip(&this_machine())),
    ]);
    assert!(empty.is_ok());
}

#[test]
fn a_java_archive_bomb_is_refused() {
    let mut jar = JAR.to_vec();
    for _ in 0..6 {
        jar = testzip::zip(&[("inner.jar", &jar, Method::DeflatedLater)]);
    }
    let tar = Tar::new().file("app.jar", &jar).finish();
    assert_eq!(
        rejected(scan(&[tar])),
        "layer sha256:0: /app.jar: Java archives nested more than 4 deep"
    );
}
