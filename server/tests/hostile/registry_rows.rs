//! Bad requests on the registry API (`/v2/`), grouped by what is bad, each
//! with the status and OCI error code it must get.

use super::{row, Fixture, Row, Want, CUT_AT};
use crate::common::oci::{image_manifest, sha256_digest, to_bytes, OCI_MANIFEST};
use crate::common::raw::RawRequest;
use Want::{Oci, Status, Truncated};

/// Path traversal and odd Unicode in repository names, on every endpoint.
pub fn names(f: &Fixture) -> Vec<Row> {
    let d = &f.image.digest;
    let manifest = f.image.manifest.clone();
    let bad = [
        ("../ in the name", "hostile/../hostile/other"),
        ("%2e%2e in the name", "hostile/%2e%2e/other"),
        ("%2f in the name", "hostile%2fapp"),
        ("a backslash", "hostile\\..\\other"),
        ("%5c in the name", "hostile%5c..%5cother"),
        ("NUL", "hostile/app%00"),
        ("an RTL override", "hostile/app%E2%80%AE"),
        ("fullwidth letters", "hostile/%EF%BD%81pp"),
        ("a combining accent", "hostile/a%CC%81pp"),
        ("a Cyrillic homoglyph", "hostile/%D0%B0pp"),
    ];
    let long = format!("hostile/{}", "a".repeat(250));
    let invalid = Oci(400, "NAME_INVALID");
    let id = "0b5b2e8a-7a43-4d3a-9b0e-2f1a6f8e9c11";
    // (endpoint, method, path after the name, answer); HEAD has no body.
    let endpoints = [
        ("tags list", "GET", "/tags/list".to_owned(), invalid),
        ("manifest GET", "GET", "/manifests/v1".to_owned(), invalid),
        (
            "manifest HEAD",
            "HEAD",
            format!("/manifests/{d}"),
            Status(400),
        ),
        ("manifest PUT", "PUT", "/manifests/v2".to_owned(), invalid),
        (
            "manifest DELETE",
            "DELETE",
            format!("/manifests/{d}"),
            invalid,
        ),
        ("blob GET", "GET", format!("/blobs/{d}"), invalid),
        ("blob HEAD", "HEAD", format!("/blobs/{d}"), Status(400)),
        ("blob DELETE", "DELETE", format!("/blobs/{d}"), invalid),
        ("upload POST", "POST", "/blobs/uploads/".to_owned(), invalid),
        ("upload GET", "GET", format!("/blobs/uploads/{id}"), invalid),
        (
            "upload PATCH",
            "PATCH",
            format!("/blobs/uploads/{id}"),
            invalid,
        ),
        (
            "upload PUT",
            "PUT",
            format!("/blobs/uploads/{id}?digest={d}"),
            invalid,
        ),
        (
            "upload DELETE",
            "DELETE",
            format!("/blobs/uploads/{id}"),
            invalid,
        ),
        ("referrers", "GET", format!("/referrers/{d}"), invalid),
    ];
    let mut rows = Vec::new();
    for (what, name) in bad
        .iter()
        .copied()
        .chain([("257 characters", long.as_str())])
    {
        for (endpoint, method, rest, want) in &endpoints {
            let mut request = f.v2(method, format!("/v2/{name}{rest}"));
            if *method == "PUT" || *method == "PATCH" {
                request = request
                    .header("Content-Type", OCI_MANIFEST)
                    .body(manifest.clone());
            }
            rows.push(row(format!("{endpoint}, {what}"), request, *want));
        }
    }
    let app = &f.app;
    rows.extend([
        row(
            "/v2/../ before the name",
            f.v2("GET", "/v2/../etc/passwd"),
            Oci(404, "NOT_FOUND"),
        ),
        row(
            "mount from a traversing name",
            f.v2(
                "POST",
                format!(
                    "/v2/{app}/blobs/uploads/?mount={}&from=hostile/../other",
                    f.other_blob
                ),
            ),
            Oci(400, "NAME_INVALID"),
        ),
        row(
            "base with a password in odd Unicode",
            RawRequest::new("GET", "/v2/").header(
                "Authorization",
                format!("Basic {}", b64("admin:test-admin-password-1\u{202e}")),
            ),
            Oci(401, "UNAUTHORIZED"),
        ),
        row(
            "catalog with n=-1",
            f.v2("GET", "/v2/_catalog?n=-1"),
            Oci(400, "PAGINATION_NUMBER_INVALID"),
        ),
        row(
            "catalog with n past u64",
            f.v2("GET", "/v2/_catalog?n=18446744073709551616"),
            Oci(400, "PAGINATION_NUMBER_INVALID"),
        ),
        row(
            "tags list with n=abc",
            f.v2("GET", format!("/v2/{app}/tags/list?n=abc")),
            Oci(400, "PAGINATION_NUMBER_INVALID"),
        ),
    ]);
    rows
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Odd references: tags and digests with traversal, Unicode, overlong, and
/// malformed or mismatched digests.
pub fn references(f: &Fixture) -> Vec<Row> {
    let app = &f.app;
    let manifest = f.image.manifest.clone();
    let hex = f.image.digest.trim_start_matches("sha256:");
    let put = |reference: &str| {
        f.v2("PUT", format!("/v2/{app}/manifests/{reference}"))
            .header("Content-Type", OCI_MANIFEST)
            .body(manifest.clone())
    };
    let tag_invalid = Oci(400, "TAG_INVALID");
    let digest_invalid = Oci(400, "DIGEST_INVALID");
    let long_tag = "t".repeat(129);
    let mut rows = vec![
        row("tag ..%2f..%2fv1", put("..%2f..%2fv1"), tag_invalid),
        row("tag ..", put(".."), tag_invalid),
        row("tag with NUL", put("v1%00"), tag_invalid),
        row("tag with an RTL override", put("v1%E2%80%AE"), tag_invalid),
        row("fullwidth tag", put("%EF%BD%961"), tag_invalid),
        row("tag with a combining accent", put("v%CC%811"), tag_invalid),
        row("tag with a Cyrillic homoglyph", put("%D0%B51"), tag_invalid),
        row("tag of 129 characters", put(&long_tag), tag_invalid),
        // A reference no manifest can have is unknown to a read, as
        // Distribution answers; only a PUT is told it is invalid.
        row(
            "GET a tag of 129 characters",
            f.v2("GET", format!("/v2/{app}/manifests/{long_tag}")),
            Oci(404, "MANIFEST_UNKNOWN"),
        ),
        row(
            "DELETE tag with traversal",
            f.v2("DELETE", format!("/v2/{app}/manifests/..%2fv1")),
            tag_invalid,
        ),
    ];
    let digests = [
        ("uppercase hex", format!("sha256:{}", hex.to_uppercase())),
        ("short hex", format!("sha256:{}", &hex[..63])),
        ("sha512 with 64 hex", format!("sha512:{hex}")),
        ("md5", "md5:d41d8cd98f00b204e9800998ecf8427e".to_owned()),
        ("traversal", "sha256:..%2f..%2fberth.db".to_owned()),
        ("no algorithm", hex.to_owned()),
    ];
    for (what, digest) in &digests {
        rows.extend([
            row(
                format!("blob GET, {what}"),
                f.v2("GET", format!("/v2/{app}/blobs/{digest}")),
                digest_invalid,
            ),
            row(
                format!("blob HEAD, {what}"),
                f.v2("HEAD", format!("/v2/{app}/blobs/{digest}")),
                Status(400),
            ),
            row(
                format!("blob DELETE, {what}"),
                f.v2("DELETE", format!("/v2/{app}/blobs/{digest}")),
                digest_invalid,
            ),
            row(
                format!("referrers, {what}"),
                f.v2("GET", format!("/v2/{app}/referrers/{digest}")),
                digest_invalid,
            ),
            row(
                format!("monolithic upload, {what}"),
                f.v2("POST", format!("/v2/{app}/blobs/uploads/?digest={digest}"))
                    .body(b"some bytes".to_vec()),
                digest_invalid,
            ),
            row(
                format!("mount, {what}"),
                f.v2(
                    "POST",
                    format!("/v2/{app}/blobs/uploads/?mount={digest}&from={}", f.other),
                ),
                digest_invalid,
            ),
        ]);
    }
    let other_bytes = sha256_digest(b"other bytes");
    rows.extend([
        row(
            "manifest GET by uppercase digest",
            f.v2(
                "GET",
                format!("/v2/{app}/manifests/sha256:{}", hex.to_uppercase()),
            ),
            Oci(404, "MANIFEST_UNKNOWN"),
        ),
        row(
            "manifest PUT by the digest of other bytes",
            put(&other_bytes),
            digest_invalid,
        ),
        row(
            "monolithic upload with the digest of other bytes",
            f.v2(
                "POST",
                format!("/v2/{app}/blobs/uploads/?digest={other_bytes}"),
            )
            .body(b"some bytes".to_vec()),
            digest_invalid,
        ),
        row(
            "upload GET with a traversing id",
            f.v2("GET", format!("/v2/{app}/blobs/uploads/..%2f..%2fberth.db")),
            Oci(404, "BLOB_UPLOAD_UNKNOWN"),
        ),
        row(
            "upload PATCH to id ..",
            f.v2("PATCH", format!("/v2/{app}/blobs/uploads/.."))
                .body(b"x".to_vec()),
            Oci(404, "BLOB_UPLOAD_UNKNOWN"),
        ),
        row(
            "upload PUT to a traversing id",
            f.v2(
                "PUT",
                format!("/v2/{app}/blobs/uploads/..%5c..%5csecret.key?digest={other_bytes}"),
            )
            .body(b"other bytes".to_vec()),
            Oci(404, "BLOB_UPLOAD_UNKNOWN"),
        ),
        row(
            "upload DELETE of id %2e%2e",
            f.v2("DELETE", format!("/v2/{app}/blobs/uploads/%2e%2e")),
            Oci(404, "BLOB_UPLOAD_UNKNOWN"),
        ),
    ]);
    rows
}

/// `Range` on a blob GET and `Content-Range` on an upload PATCH.
pub fn ranges(f: &Fixture) -> Vec<Row> {
    let app = &f.app;
    let layer = &f.image.layers[0].digest;
    let upload = &f.uploads[0];
    let not_satisfiable = Oci(416, "RANGE_INVALID");
    let out_of_order = Oci(416, "BLOB_UPLOAD_INVALID");
    let malformed = Oci(400, "BLOB_UPLOAD_INVALID");
    // RFC 9110: a Range that does not parse, or whose last byte comes
    // before its first, is ignored and the whole blob sent.
    let ranges = [
        ("inverted", "bytes=10-5", Status(200)),
        ("past u64", "bytes=0-18446744073709551616", Status(200)),
        ("non-numeric", "bytes=abc-def", Status(200)),
        ("empty", "bytes=", Status(200)),
        ("of another unit", "items=0-1", Status(200)),
        ("starting past the end", "bytes=100000-", not_satisfiable),
        (
            "starting at u64::MAX",
            "bytes=18446744073709551615-",
            not_satisfiable,
        ),
        ("a suffix of 0 bytes", "bytes=-0", not_satisfiable),
    ];
    // Each PATCH sends 4 bytes to an upload that holds none.
    let content_ranges = [
        ("inverted", "5-2", out_of_order),
        ("past the end", "10-13", out_of_order),
        ("of 2^64 bytes", "0-18446744073709551615", malformed),
        ("non-numeric", "a-b", malformed),
        ("longer than the body", "0-9", malformed),
        ("empty", "", malformed),
    ];
    let gets = ranges.into_iter().map(|(what, range, want)| {
        let request = f.v2("GET", format!("/v2/{app}/blobs/{layer}"));
        row(
            format!("Range {what}"),
            request.header("Range", range),
            want,
        )
    });
    let patches = content_ranges.into_iter().map(|(what, range, want)| {
        let request = f
            .v2("PATCH", upload.clone())
            .header("Content-Type", "application/octet-stream")
            .header("Content-Range", range)
            .body(b"abcd".to_vec());
        row(format!("Content-Range {what}"), request, want)
    });
    gets.chain(patches).collect()
}

/// Bodies shorter than their `Content-Length` (then the connection closed)
/// and bodies over the limit.
pub fn bodies(f: &Fixture) -> Vec<Row> {
    let app = &f.app;
    let layer = vec![7u8; 64 * 1024];
    let digest = sha256_digest(&layer);
    let mut big = to_bytes(&image_manifest(&f.image.config, &f.image.layers));
    big.truncate(big.len() - 1);
    big.extend(format!(r#","annotations":{{"x":"{}"}}}}"#, "x".repeat(4 << 20)).bytes());
    vec![
        row(
            "manifest PUT cut short",
            f.v2("PUT", format!("/v2/{app}/manifests/v2"))
                .header("Content-Type", OCI_MANIFEST)
                .body(f.image.manifest.clone())
                .truncated(40),
            Truncated,
        ),
        row(
            "monolithic upload cut short",
            f.v2("POST", format!("/v2/{app}/blobs/uploads/?digest={digest}"))
                .body(layer.clone())
                .truncated(CUT_AT),
            Truncated,
        ),
        row(
            "PATCH cut short",
            f.v2("PATCH", f.uploads[1].clone())
                .body(layer.clone())
                .truncated(CUT_AT),
            Truncated,
        ),
        row(
            "upload PUT cut short",
            f.v2("PUT", format!("{}?digest={digest}", f.uploads[2]))
                .body(layer.clone())
                .truncated(CUT_AT),
            Truncated,
        ),
        row(
            "manifest over 4 MiB",
            f.v2("PUT", format!("/v2/{app}/manifests/v2"))
                .header("Content-Type", OCI_MANIFEST)
                .body(big),
            Oci(413, "SIZE_INVALID"),
        ),
    ]
}
