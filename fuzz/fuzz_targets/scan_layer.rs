//! Image layers: `scan::layers::inventory_with_limits`, the tar reader, the
//! union file system, symbolic links, and every package parser behind them
//! (os-release, dpkg, apk, Python, npm, Java archives).
//!
//! Input: the bytes of one layer (tar, or gzip or zstd of one: the reader
//! tells them by their first bytes), read twice: as an uncompressed OCI layer
//! and as the upper of two layers over a Debian base.
#![no_main]

use berth::scan::layers::{inventory_with_limits, LayerInput, Limits};
use berth::scan::packages::java::{self, JarLimits};
use berth::scan::ScanError;
use libfuzzer_sys::fuzz_target;

fn layer(digest: &str, bytes: Vec<u8>) -> LayerInput {
    LayerInput {
        digest: digest.into(),
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        reader: Box::new(std::io::Cursor::new(bytes)),
    }
}

/// A Debian base: `/etc/os-release` and a one-package dpkg database.
fn base() -> Vec<u8> {
    let mut tar = Vec::new();
    for (name, typeflag, link, data) in [
        ("etc/os-release", b'2', "../usr/lib/os-release", &b""[..]),
        ("usr/lib/os-release", b'0', "", &b"ID=debian\nVERSION_ID=12\n"[..]),
        (
            "var/lib/dpkg/status",
            b'0',
            "",
            &b"Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n"[..],
        ),
    ] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[156] = typeflag;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        tar.extend_from_slice(&h);
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.extend_from_slice(&[0; 1024]);
    tar
}

fuzz_target!(|data: &[u8]| {
    // Small limits, so a bomb is found quickly rather than slowly.
    let limits = Limits {
        max_expanded_bytes: 64 << 20,
        ratio_grace_bytes: 1 << 20,
        max_entries: 10_000,
        max_header_bytes: 64 << 10,
        max_text_bytes: 1 << 20,
        max_spool_bytes: 1 << 20,
        jar: JarLimits {
            max_depth: 3,
            max_expanded: 16 << 20,
            max_entries: 10_000,
        },
        ..Limits::default()
    };
    for layers in [
        vec![layer("sha256:upper", data.to_vec())],
        vec![
            layer("sha256:base", base()),
            layer("sha256:upper", data.to_vec()),
        ],
    ] {
        let digests: Vec<String> = layers.iter().map(|l| l.digest.clone()).collect();
        match inventory_with_limits(layers, &limits) {
            Ok(inventory) => {
                assert!(inventory.distro.is_some() || !inventory.packages.is_empty());
                let mut last = (0, String::new());
                for p in &inventory.packages {
                    // Inside the image, named by a layer it was given, in
                    // layer order then path order.
                    assert!(
                        !p.path.starts_with('/')
                            && !p.path.split('/').any(|c| c == ".." || c.is_empty()),
                        "{}",
                        p.path
                    );
                    let index = digests
                        .iter()
                        .position(|d| *d == p.layer)
                        .expect("a given layer");
                    let here = (index, p.path.clone());
                    assert!(here >= last, "{here:?} after {last:?}");
                    last = here;
                    assert!(!p.found.name.is_empty() && !p.found.version.is_empty());
                }
                assert!(inventory.notes.len() <= limits.max_notes + 1);
            }
            Err(ScanError::Rejected(reason)) | Err(ScanError::Unsupported(reason)) => {
                assert!(!reason.is_empty())
            }
            Err(ScanError::Io(e)) => panic!("reading from memory failed: {e}"),
        }
    }
    // The same bytes as a Java archive.
    let _ = java::read(&mut &data[..], &limits.jar, &mut Vec::new());
});
