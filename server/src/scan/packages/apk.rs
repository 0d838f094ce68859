//! apk's database, `/lib/apk/db/installed`: one stanza per package, each line
//! a one-letter key, a colon and a value (`P` name, `V` version, `o` origin,
//! the source package), stanzas separated by blank lines.

use super::super::{Found, PackageKind};

/// The installed packages of an apk database. A line that is not `K:value`
/// makes the whole file an error naming the line (a database of garbage).
pub fn parse(text: &str) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    let (mut name, mut version, mut origin) = (None, None, None);
    let mut finish =
        |name: &mut Option<String>, version: &mut Option<String>, origin: &mut Option<String>| {
            if let (Some(n), Some(v)) = (name.take(), version.take()) {
                found.push(Found {
                    kind: PackageKind::Apk,
                    name: n,
                    version: v,
                    source_name: origin.take(),
                    source_version: None,
                });
            }
            *origin = None;
        };
    for (number, line) in text.lines().enumerate() {
        if line.is_empty() {
            finish(&mut name, &mut version, &mut origin);
            continue;
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || !bytes[0].is_ascii_alphabetic() || bytes[1] != b':' {
            return Err(format!("line {}: not a \"K:value\" line", number + 1));
        }
        let value = line[2..].to_string();
        match bytes[0] {
            b'P' => name = Some(value),
            b'V' => version = Some(value),
            b'o' => origin = Some(value),
            _ => {}
        }
    }
    finish(&mut name, &mut version, &mut origin);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_real_alpine_database() {
        let text = include_str!("testdata/alpine-3.18-aarch64.installed");
        let found = parse(text).unwrap();
        let got: Vec<_> = found
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.source_name.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("alpine-baselayout", "3.4.3-r1", Some("alpine-baselayout")),
                (
                    "alpine-baselayout-data",
                    "3.4.3-r1",
                    Some("alpine-baselayout")
                ),
                ("libssl3", "3.1.2-r0", Some("openssl")),
                ("musl", "1.2.4-r1", Some("musl")),
                ("musl-utils", "1.2.4-r1", Some("musl")),
                ("scanelf", "1.3.7-r1", Some("pax-utils")),
                ("ssl_client", "1.36.1-r2", Some("busybox")),
                ("zlib", "1.2.13-r1", Some("zlib")),
            ]
        );
        assert!(found
            .iter()
            .all(|p| p.kind == PackageKind::Apk && p.source_version.is_none()));
    }

    #[test]
    fn garbage_is_an_error_naming_the_line() {
        let err = parse("P:musl\nV:1.2.4-r1\n\n#!/bin/sh\n").unwrap_err();
        assert!(err.contains("line 4"), "{err}");
        assert!(parse("\u{fffd}\u{fffd}garbage").is_err());
        assert_eq!(parse("").unwrap(), vec![]);
    }
}
