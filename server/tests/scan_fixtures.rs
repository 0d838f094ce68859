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
