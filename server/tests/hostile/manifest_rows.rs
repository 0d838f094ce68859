//! Manifests the registry API must refuse: wrong media types, duplicate
//! keys, deep nesting, and references to what only another repository has;
//! then the control: once mounted, the other repository's blob may be used.

use super::{row, Fixture, Row, Want};
use crate::common::oci::{
    image_index, image_manifest, to_bytes, Descriptor, OCI_CONFIG, OCI_INDEX, OCI_LAYER,
    OCI_MANIFEST,
};

use Want::{Oci, Status};

/// Manifests with the wrong media type, duplicate keys, deep nesting, and
/// references to blobs and manifests that only another repository has.
pub fn manifests(f: &Fixture) -> Vec<Row> {
    let app = &f.app;
    let put = |tag: &str, content_type: &str, body: Vec<u8>| {
        f.v2("PUT", format!("/v2/{app}/manifests/{tag}"))
            .header("Content-Type", content_type)
            .body(body)
    };
    let invalid = Oci(400, "MANIFEST_INVALID");
    let image = f.image.manifest.clone();
    let mut untyped = image_manifest(&f.image.config, &f.image.layers);
    untyped.as_object_mut().expect("object").remove("mediaType");
    let text = String::from_utf8(image.clone()).expect("UTF-8");
    let config = f.image.config.json().to_string();
    let duplicate_layers = text.replacen(r#""layers":"#, r#""layers":[],"layers":"#, 1);
    let duplicate_digest = text.replacen(
        r#""digest":"#,
        &format!(r#""digest":"{}","digest":"#, f.other_blob),
        1,
    );
    let duplicate_annotation = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{config},"layers":[],"annotations":{{"a":"1","a":"2"}}}}"#
    );
    let deep = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{config},"layers":[],"annotations":{{"a":{}{}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let other_layer = Descriptor {
        media_type: OCI_LAYER.into(),
        digest: f.other_blob.clone(),
        size: 22,
    };
    let other_config = Descriptor {
        media_type: OCI_CONFIG.into(),
        ..other_layer.clone()
    };
    let blob_unknown = Oci(400, "MANIFEST_BLOB_UNKNOWN");
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let refused: [(&str, &str, Vec<u8>); 7] = [
        ("Content-Type of an index on an image", OCI_INDEX, image),
        (
            "unknown Content-Type and no mediaType",
            "application/x-evil",
            to_bytes(&untyped),
        ),
        (
            "duplicate layers key",
            OCI_MANIFEST,
            duplicate_layers.into(),
        ),
        (
            "duplicate digest key",
            OCI_MANIFEST,
            duplicate_digest.into(),
        ),
        (
            "duplicate annotation key",
            OCI_MANIFEST,
            duplicate_annotation.into(),
        ),
        ("10k-deep annotation", OCI_MANIFEST, deep.into()),
        ("10k-deep array", OCI_MANIFEST, deep_array.into()),
    ];
    let mut rows: Vec<Row> = refused
        .into_iter()
        .map(|(what, content_type, body)| row(what, put("v2", content_type, body), invalid))
        .collect();
    rows.extend([
        row(
            "a layer only another repository has",
            put(
                "v2",
                OCI_MANIFEST,
                to_bytes(&image_manifest(&f.image.config, &[other_layer])),
            ),
            blob_unknown,
        ),
        row(
            "a config only another repository has",
            put(
                "v2",
                OCI_MANIFEST,
                to_bytes(&image_manifest(&other_config, &[])),
            ),
            blob_unknown,
        ),
        row(
            "an index of a manifest only another repository has",
            put(
                "v2",
                OCI_INDEX,
                to_bytes(&image_index(&[f.other_image.descriptor()])),
            ),
            blob_unknown,
        ),
        row(
            "GET a blob only another repository has",
            f.v2("GET", format!("/v2/{app}/blobs/{}", f.other_blob)),
            Oci(404, "BLOB_UNKNOWN"),
        ),
        row(
            "HEAD a blob only another repository has",
            f.v2("HEAD", format!("/v2/{app}/blobs/{}", f.other_blob)),
            Status(404),
        ),
        row(
            "DELETE a blob only another repository has",
            f.v2("DELETE", format!("/v2/{app}/blobs/{}", f.other_blob)),
            Oci(404, "BLOB_UNKNOWN"),
        ),
        row(
            "GET a manifest only another repository has",
            f.v2(
                "GET",
                format!("/v2/{app}/manifests/{}", f.other_image.digest),
            ),
            Oci(404, "MANIFEST_UNKNOWN"),
        ),
        row(
            "DELETE a manifest only another repository has",
            f.v2(
                "DELETE",
                format!("/v2/{app}/manifests/{}", f.other_image.digest),
            ),
            Oci(404, "MANIFEST_UNKNOWN"),
        ),
    ]);
    rows
}

/// The control after the rows: mounting the other repository's blob makes
/// the same manifest acceptable.
pub async fn mount_then_push(f: &Fixture) {
    use crate::common::raw::send;
    let app = &f.app;
    let mount = f.v2(
        "POST",
        format!(
            "/v2/{app}/blobs/uploads/?mount={}&from={}",
            f.other_blob, f.other
        ),
    );
    let reply = send(&f.server.host, &mount).expect("an answer");
    assert_eq!(reply.status, 201, "mounted: {reply:?}");
    let layer = Descriptor {
        media_type: OCI_LAYER.into(),
        digest: f.other_blob.clone(),
        size: 22,
    };
    let body = to_bytes(&image_manifest(&f.image.config, &[layer]));
    let put = f
        .v2("PUT", format!("/v2/{app}/manifests/mounted"))
        .header("Content-Type", OCI_MANIFEST)
        .body(body);
    let reply = send(&f.server.host, &put).expect("an answer");
    assert_eq!(reply.status, 201, "pushed after the mount: {reply:?}");
}
