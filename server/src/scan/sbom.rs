//! The CycloneDX 1.6 JSON SBOM of an inventory: the image as
//! `metadata.component`, each package as a component with its package URL
//! (purl) and, as properties, the layer and path it was read from. The
//! service stores it as an OCI artifact whose `subject` is the scanned image.

use super::{Inventory, Package, PackageKind};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

/// The artifact type (and layer media type) of the SBOM referrer.
pub const MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";

/// What purl components keep as they are (`unreserved` of RFC 3986); the
/// rest is percent-encoded, as the purl specification asks.
const PURL_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

fn escape(text: &str) -> String {
    utf8_percent_encode(text, PURL_ESCAPED).to_string()
}

/// The scanned image, as the SBOM names it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The repository.
    pub repository: &'a str,
    /// The image's manifest digest.
    pub digest: &'a str,
}

/// The package URL of a package of `inventory`, per the purl specification's
/// types (`deb`, `apk`, `rpm`, `pypi`, `npm`, `golang`, `cargo`, `maven`).
pub fn purl(inventory: &Inventory, package: &Package) -> String {
    let found = &package.found;
    let version = escape(&found.version);
    let distro = inventory.distro.as_ref();
    let os_namespace = distro.map_or("unknown", |d| d.id.as_str());
    let distro_qualifier = distro
        .map(|d| format!("distro={}-{}", escape(&d.id), escape(&d.version_id)))
        .unwrap_or_default();
    let qualifiers = |q: &str| {
        if q.is_empty() {
            String::new()
        } else {
            format!("?{q}")
        }
    };
    match found.kind {
        PackageKind::Dpkg => format!(
            "pkg:deb/{}/{}@{version}{}",
            escape(os_namespace),
            escape(&found.name),
            qualifiers(&distro_qualifier)
        ),
        PackageKind::Apk => format!(
            "pkg:apk/{}/{}@{version}{}",
            escape(os_namespace),
            escape(&found.name),
            qualifiers(&distro_qualifier)
        ),
        PackageKind::Rpm => format!(
            "pkg:rpm/{}/{}@{version}{}",
            escape(os_namespace),
            escape(&found.name),
            qualifiers(&distro_qualifier)
        ),
        PackageKind::Python => {
            // The purl spec: lowercase, `_` replaced by `-`.
            let name = found.name.to_ascii_lowercase().replace('_', "-");
            format!("pkg:pypi/{}@{version}", escape(&name))
        }
        PackageKind::Npm => match found.name.split_once('/') {
            Some((scope, name)) if scope.starts_with('@') => {
                format!("pkg:npm/{}/{}@{version}", escape(scope), escape(name))
            }
            _ => format!("pkg:npm/{}@{version}", escape(&found.name)),
        },
        PackageKind::Go => {
            // Module versions keep Go's `v` in purls (the build-info reader
            // stores them without it, as OSV does); the toolchain, `stdlib`,
            // is written as OSV writes it.
            let path: Vec<String> = found.name.split('/').map(escape).collect();
            let v = if found.name != "stdlib" && !version.starts_with('v') {
                "v"
            } else {
                ""
            };
            format!("pkg:golang/{}@{v}{version}", path.join("/"))
        }
        PackageKind::Rust => format!("pkg:cargo/{}@{version}", escape(&found.name)),
        PackageKind::Maven => match found.name.split_once(':') {
            Some((group, artifact)) => {
                format!("pkg:maven/{}/{}@{version}", escape(group), escape(artifact))
            }
            None => format!("pkg:maven/{}@{version}", escape(&found.name)),
        },
    }
}

/// The CycloneDX 1.6 JSON document of `inventory`, made at `timestamp`
/// (RFC 3339).
pub fn cyclonedx(inventory: &Inventory, subject: Subject<'_>, timestamp: &str) -> Vec<u8> {
    let last = subject
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(subject.repository);
    let image_purl = format!("pkg:oci/{}@{}", escape(last), escape(subject.digest));
    let mut properties = Vec::new();
    if let Some(distro) = &inventory.distro {
        properties.push(json!({"name": "berth:distro", "value": format!("{}:{}", distro.id, distro.version_id)}));
    }
    let components: Vec<Value> = inventory
        .packages
        .iter()
        .enumerate()
        .map(|(i, package)| {
            let found = &package.found;
            let purl = purl(inventory, package);
            let mut props = vec![
                json!({"name": "berth:layer", "value": package.layer}),
                json!({"name": "berth:path", "value": package.path}),
            ];
            if let Some(ecosystem) = &package.ecosystem {
                props.push(json!({"name": "berth:ecosystem", "value": ecosystem}));
            }
            if let Some(source) = &found.source_name {
                props.push(json!({"name": "berth:source_name", "value": source}));
            }
            if let Some(version) = &found.source_version {
                props.push(json!({"name": "berth:source_version", "value": version}));
            }
            let name = match (found.kind, found.name.split_once(':')) {
                (PackageKind::Maven, Some((group, artifact))) => {
                    json!({"group": group, "name": artifact})
                }
                _ => json!({"name": found.name}),
            };
            let mut component = json!({
                "bom-ref": format!("{i}:{purl}"),
                "type": "library",
                "version": found.version,
                "purl": purl,
                "properties": props,
            });
            if let (Value::Object(c), Value::Object(n)) = (&mut component, name) {
                c.extend(n);
            }
            component
        })
        .collect();
    let document = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{"type": "application", "name": "berth", "version": env!("CARGO_PKG_VERSION")}]},
            "component": {
                "bom-ref": image_purl,
                "type": "container",
                "name": subject.repository,
                "version": subject.digest,
                "purl": image_purl,
            },
            "properties": properties,
        },
        "components": components,
    });
    serde_json::to_vec_pretty(&document).expect("an SBOM serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Distro, Found};

    fn package(kind: PackageKind, name: &str, version: &str) -> Package {
        Package {
            found: Found {
                kind,
                name: name.into(),
                version: version.into(),
                source_name: None,
                source_version: None,
            },
            ecosystem: None,
            layer: "sha256:aa".into(),
            path: "var/lib/dpkg/status".into(),
        }
    }

    fn debian() -> Inventory {
        Inventory {
            distro: Some(Distro {
                id: "debian".into(),
                version_id: "12".into(),
                pretty_name: None,
            }),
            packages: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn purls_follow_the_purl_specification() {
        let inv = debian();
        let cases = [
            (
                PackageKind::Dpkg,
                "libc6",
                "2.36-9+deb12u4",
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?distro=debian-12",
            ),
            (
                PackageKind::Dpkg,
                "tzdata",
                "1:2024a-0",
                "pkg:deb/debian/tzdata@1%3A2024a-0?distro=debian-12",
            ),
            (
                PackageKind::Python,
                "Django_Rest",
                "1.0",
                "pkg:pypi/django-rest@1.0",
            ),
            (
                PackageKind::Npm,
                "@babel/core",
                "7.0.0",
                "pkg:npm/%40babel/core@7.0.0",
            ),
            (
                PackageKind::Npm,
                "lodash",
                "4.17.4",
                "pkg:npm/lodash@4.17.4",
            ),
            (
                PackageKind::Go,
                "golang.org/x/net",
                "v0.1.0",
                "pkg:golang/golang.org/x/net@v0.1.0",
            ),
            (
                PackageKind::Go,
                "golang.org/x/text",
                "0.3.7",
                "pkg:golang/golang.org/x/text@v0.3.7",
            ),
            (
                PackageKind::Go,
                "stdlib",
                "1.19.8",
                "pkg:golang/stdlib@1.19.8",
            ),
            (
                PackageKind::Rust,
                "smallvec",
                "1.6.0",
                "pkg:cargo/smallvec@1.6.0",
            ),
            (
                PackageKind::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
                "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            ),
        ];
        for (kind, name, version, want) in cases {
            assert_eq!(purl(&inv, &package(kind, name, version)), want);
        }
    }

    #[test]
    fn the_document_names_the_image_and_where_each_package_was_found() {
        let mut inv = debian();
        inv.packages
            .push(package(PackageKind::Dpkg, "bash", "5.2.15-2+b2"));
        let subject = Subject {
            repository: "team/app",
            digest: "sha256:0123",
        };
        let doc: Value =
            serde_json::from_slice(&cyclonedx(&inv, subject, "2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert_eq!(doc["specVersion"], "1.6");
        assert_eq!(doc["metadata"]["component"]["type"], "container");
        assert_eq!(doc["metadata"]["component"]["version"], "sha256:0123");
        let bash = &doc["components"][0];
        assert_eq!(bash["name"], "bash");
        assert_eq!(
            bash["purl"],
            "pkg:deb/debian/bash@5.2.15-2%2Bb2?distro=debian-12"
        );
        assert_eq!(bash["properties"][0]["value"], "sha256:aa");
        assert_eq!(bash["properties"][1]["value"], "var/lib/dpkg/status");
    }
}
