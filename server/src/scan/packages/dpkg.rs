//! dpkg's database: `/var/lib/dpkg/status`, and the one-stanza files of
//! distroless images' `/var/lib/dpkg/status.d/`, in deb822 form (stanzas of
//! `Field: value` lines, continuation lines starting with a space or tab,
//! separated by blank lines).

use super::super::{Found, PackageKind};

/// The installed packages of a dpkg status file.
///
/// Only stanzas whose `Status` is `install ok installed` (or `hold ok
/// installed`, a package held at its version) count: removed packages that
/// left their configuration files behind stay in the file, and half-installed
/// ones are not what the status says they will be. A
/// stanza with no `Status` at all counts only when `status_optional` (the
/// `status.d` files of distroless images carry none). `Source: NAME (VERSION)`
/// gives the source package and, when it differs, its version.
///
/// Text that is not deb822 at all (a line that is neither a field nor a
/// continuation) is an error naming the line: that is a database of garbage,
/// not an empty one.
pub fn parse(text: &str, status_optional: bool) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    let mut stanza = Stanza::default();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            stanza.finish(status_optional, &mut found);
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if stanza.is_empty() {
                return Err(format!(
                    "line {}: a continuation line with no field before it",
                    number + 1
                ));
            }
            continue;
        }
        let Some((field, value)) = line.split_once(':') else {
            return Err(format!("line {}: not a \"Field: value\" line", number + 1));
        };
        if field.is_empty()
            || !field.bytes().all(|b| b.is_ascii_graphic())
            || field.starts_with(['#', '-'])
        {
            return Err(format!(
                "line {}: {field:?} is not a field name",
                number + 1
            ));
        }
        stanza.fields += 1;
        let value = value.trim();
        // Field names are case-insensitive in deb822.
        match field.to_ascii_lowercase().as_str() {
            "package" => stanza.package = Some(value.to_string()),
            "version" => stanza.version = Some(value.to_string()),
            "status" => stanza.status = Some(value.to_string()),
            "source" => stanza.source = Some(value.to_string()),
            _ => {}
        }
    }
    stanza.finish(status_optional, &mut found);
    Ok(found)
}

#[derive(Default)]
struct Stanza {
    fields: usize,
    package: Option<String>,
    version: Option<String>,
    status: Option<String>,
    source: Option<String>,
}

impl Stanza {
    fn is_empty(&self) -> bool {
        self.fields == 0
    }

    fn finish(&mut self, status_optional: bool, found: &mut Vec<Found>) {
        let stanza = std::mem::take(self);
        let installed = match stanza.status.as_deref() {
            // WANT FLAG STATUS: installed and sound, whether it is to stay
            // (`install`) or is held at its version (`hold`).
            Some(status) => {
                let words: Vec<&str> = status.split_whitespace().collect();
                matches!(words[..], ["install" | "hold", "ok", "installed"])
            }
            None => status_optional,
        };
        let (Some(name), Some(version)) = (stanza.package, stanza.version) else {
            return;
        };
        if !installed || name.is_empty() || version.is_empty() {
            return;
        }
        let (source_name, source_version) = match stanza.source.as_deref() {
            Some(source) => {
                let (source_name, source_version) = match source.split_once('(') {
                    Some((n, v)) => (n.trim(), Some(v.trim_end_matches(')').trim())),
                    None => (source.trim(), None),
                };
                (
                    (!source_name.is_empty()).then(|| source_name.to_string()),
                    source_version
                        .filter(|v| !v.is_empty() && *v != version)
                        .map(str::to_string),
                )
            }
            None => (None, None),
        };
        found.push(Found {
            kind: PackageKind::Dpkg,
            name,
            version,
            source_name,
            source_version,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test machine's own database, against what dpkg itself says is
    /// installed (`dpkg-query`), package by package.
    #[test]
    fn reads_this_machines_dpkg_status_as_dpkg_query_does() {
        let text = std::fs::read_to_string("/var/lib/dpkg/status")
            .expect("the test machine's dpkg status");
        let packages = parse(&text, false).expect("a real status file parses");
        let out = std::process::Command::new("dpkg-query")
            .args([
                "-W",
                "-f",
                "${db:Status-Abbrev}\t${Package}\t${Version}\t${source:Package}\t${source:Version}\n",
            ])
            .output()
            .expect("dpkg-query runs");
        assert!(out.status.success());
        let mut expected: Vec<(String, String, String, String)> = String::from_utf8(out.stdout)
            .expect("utf-8")
            .lines()
            .filter(|l| l.starts_with("ii") || l.starts_with("hi"))
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[1].into(), f[2].into(), f[3].into(), f[4].into())
            })
            .collect();
        let mut got: Vec<(String, String, String, String)> = packages
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.source_name.clone().unwrap_or_else(|| p.name.clone()),
                    p.source_version
                        .clone()
                        .unwrap_or_else(|| p.version.clone()),
                )
            })
            .collect();
        expected.sort();
        got.sort();
        assert!(
            got.len() > 50,
            "a Debian machine has more than {} packages",
            got.len()
        );
        assert_eq!(got, expected);
        // And at least one package whose source has its own version.
        assert!(packages.iter().any(|p| p.source_version.is_some()));
    }

    #[test]
    fn keeps_installed_stanzas_and_sources() {
        let text = "Package: libc6\nStatus: install ok installed\nSource: glibc (2.36-9+deb12u4)\nVersion: 2.36-9+deb12u4\nDescription: GNU C Library\n multi-line\n .\n text\n\n\
Package: removed\nStatus: deinstall ok config-files\nVersion: 1.0\n\n\
Package: broken\nStatus: install reinstreq half-installed\nVersion: 1.0\n\n\
Package: held\nStatus: hold ok installed\nVersion: 2.0\n\n\
Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n\n\
Package: bsdutils\nStatus: install ok installed\nSource: util-linux (2.38.1-5)\nVersion: 1:2.38.1-5+b1\n";
        let found = parse(text, false).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.source_name.as_deref(),
                    p.source_version.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("libc6", "2.36-9+deb12u4", Some("glibc"), None),
                ("held", "2.0", None, None),
                ("zlib1g", "1:1.2.13.dfsg-1", Some("zlib"), None),
                (
                    "bsdutils",
                    "1:2.38.1-5+b1",
                    Some("util-linux"),
                    Some("2.38.1-5")
                ),
            ]
        );
    }

    #[test]
    fn status_d_stanzas_need_no_status() {
        let text = "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n";
        assert_eq!(parse(text, true).unwrap().len(), 1);
        assert_eq!(parse(text, false).unwrap().len(), 0);
    }

    #[test]
    fn garbage_is_an_error_naming_the_line() {
        let err = parse("Package: a\nVersion: 1\n\nthis is not deb822\n", false).unwrap_err();
        assert!(err.contains("line 4"), "{err}");
        // Bytes from a fixed pseudo-random sequence, read as text the way the
        // walker reads them (lossily).
        let mut x = 0x2545_f491_u32;
        let bytes: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x.to_le_bytes()[0]
            })
            .collect();
        assert!(parse(&String::from_utf8_lossy(&bytes), false).is_err());
        assert!(parse(" leading continuation\n", false).is_err());
        assert_eq!(parse("", false).unwrap(), vec![]);
    }
}
