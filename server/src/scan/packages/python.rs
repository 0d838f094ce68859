//! Python distributions: `*.dist-info/METADATA` (pip and every installer
//! since PEP 376) and `*.egg-info/PKG-INFO` (setuptools' older layout, also a
//! plain `*.egg-info` file), both in the core metadata format: email-style
//! `Name: value` headers, then a blank line, then the description.

use super::super::{Found, PackageKind};

/// The distribution a core metadata file describes: its `Name` as written
/// (the matcher compares names after PEP 503 normalisation) and `Version`.
/// A file without both is an error saying which is missing.
pub fn parse(text: &str) -> Result<Found, String> {
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        if line.trim().is_empty() {
            break; // the headers end here; the description follows
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        match field.trim().to_ascii_lowercase().as_str() {
            "name" if name.is_none() => name = Some(value.trim().to_string()),
            "version" if version.is_none() => version = Some(value.trim().to_string()),
            _ => {}
        }
    }
    match (name, version) {
        (Some(name), Some(version)) if !name.is_empty() && !version.is_empty() => Ok(Found {
            kind: PackageKind::Python,
            name,
            version,
            source_name: None,
            source_version: None,
        }),
        _ => Err("core metadata without a Name and a Version".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_real_dist_info_metadata() {
        let found = parse(include_str!("testdata/jmespath-1.1.0.METADATA")).unwrap();
        assert_eq!(
            (found.name.as_str(), found.version.as_str()),
            ("jmespath", "1.1.0")
        );
        assert_eq!(found.kind, PackageKind::Python);
    }

    #[test]
    fn reads_a_real_egg_info_pkg_info() {
        let found = parse(include_str!("testdata/PyJWT-2.6.0.PKG-INFO")).unwrap();
        assert_eq!(
            (found.name.as_str(), found.version.as_str()),
            ("PyJWT", "2.6.0")
        );
    }

    #[test]
    fn the_description_is_not_read_as_headers() {
        let text = "Metadata-Version: 2.1\nSummary: x\n\nName: not-this\nVersion: 9\n";
        assert!(parse(text).is_err());
        assert!(parse("garbage").is_err());
    }
}
