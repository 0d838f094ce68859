//! npm packages installed in a `node_modules` folder: their `package.json`.

use super::super::{Found, PackageKind};

/// Whether `path` (inside the image, no leading `/`) is an installed
/// package's manifest: `…/node_modules/NAME/package.json` or
/// `…/node_modules/@SCOPE/NAME/package.json`. Other `package.json` files
/// (a project's own, or ones deeper inside a package) are not installs.
pub fn is_installed_manifest(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let n = parts.len();
    if n < 3 || parts[n - 1] != "package.json" {
        return false;
    }
    if parts[n - 3] == "node_modules" && !parts[n - 2].starts_with('@') {
        return true;
    }
    n >= 4 && parts[n - 4] == "node_modules" && parts[n - 3].starts_with('@')
}

/// The package a `package.json` names: `Ok(None)` when it has no `name` and
/// `version` (such files are not packages), an error when it is not JSON.
pub fn parse(bytes: &[u8]) -> Result<Option<Found>, String> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        name: Option<serde_json::Value>,
        version: Option<serde_json::Value>,
    }
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    match (manifest.name, manifest.version) {
        (Some(serde_json::Value::String(name)), Some(serde_json::Value::String(version)))
            if !name.is_empty() && !version.is_empty() =>
        {
            Ok(Some(Found {
                kind: PackageKind::Npm,
                name,
                version,
                source_name: None,
                source_version: None,
            }))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_real_installed_package_json() {
        let found = parse(include_bytes!("testdata/util-deprecate-1.0.2.package.json"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.name.as_str(), found.version.as_str()),
            ("util-deprecate", "1.0.2")
        );
        assert_eq!(found.kind, PackageKind::Npm);
    }

    #[test]
    fn only_manifests_of_installed_packages() {
        assert!(is_installed_manifest(
            "usr/lib/node_modules/npm/package.json"
        ));
        assert!(is_installed_manifest(
            "app/node_modules/@babel/core/package.json"
        ));
        assert!(is_installed_manifest(
            "app/node_modules/a/node_modules/b/package.json"
        ));
        assert!(!is_installed_manifest("app/package.json"));
        assert!(!is_installed_manifest(
            "app/node_modules/glob/dist/esm/package.json"
        ));
        assert!(!is_installed_manifest(
            "app/node_modules/@scope/package.json"
        ));
        assert!(!is_installed_manifest("node_modules/package.json"));
    }

    #[test]
    fn no_name_or_not_json() {
        assert_eq!(parse(br#"{"type":"module"}"#).unwrap(), None);
        assert_eq!(parse(br#"{"name":"x","version":7}"#).unwrap(), None);
        assert!(parse(b"\x00garbage").is_err());
    }
}
