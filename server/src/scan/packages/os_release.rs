//! `os-release` (`/etc/os-release`, `/usr/lib/os-release`): the
//! distribution an image is built on, as freedesktop.org's os-release(5)
//! specifies it (shell-style `KEY=value` lines, values optionally quoted).

use super::super::Distro;

/// The distribution named by an `os-release` file. `ID` defaults to `linux`
/// when absent, as os-release(5) says.
pub fn parse(text: &str) -> Distro {
    let mut distro = Distro {
        id: "linux".into(),
        version_id: String::new(),
        pretty_name: None,
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim() {
            "ID" if !value.is_empty() => distro.id = value.to_ascii_lowercase(),
            "VERSION_ID" => distro.version_id = value,
            "PRETTY_NAME" if !value.is_empty() => distro.pretty_name = Some(value),
            _ => {}
        }
    }
    distro
}

/// A shell-quoted value: `"…"` with `\` escapes, `'…'` literal, or bare.
fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'\'' && bytes[bytes.len() - 1] == b'\'' {
        return raw[1..raw.len() - 1].to_string();
    }
    if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        let mut out = String::new();
        let mut chars = raw[1..raw.len() - 1].chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    raw.to_string()
}

/// The OSV ecosystem of the OS packages of `distro`, as OSV spells it:
/// `Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.19`, `Red Hat`, `Rocky Linux`,
/// `AlmaLinux`; `None` for a distribution (or a release) OSV does not know.
pub fn ecosystem(distro: &Distro) -> Option<String> {
    let version = distro.version_id.as_str();
    match distro.id.as_str() {
        "debian" => {
            let major = version.split('.').next().unwrap_or("");
            is_number(major).then(|| format!("Debian:{major}"))
        }
        "ubuntu" => {
            let (year, month) = version.split_once('.')?;
            if !is_number(year) || !is_number(month) {
                return None;
            }
            // Canonical's long-term releases: April of even years.
            let lts = month == "04" && year.parse::<u32>().is_ok_and(|y| y % 2 == 0);
            Some(if lts {
                format!("Ubuntu:{version}:LTS")
            } else {
                format!("Ubuntu:{version}")
            })
        }
        "alpine" => {
            let mut parts = version.split(['.', '_']);
            let (major, minor) = (parts.next()?, parts.next()?);
            (is_number(major) && is_number(minor)).then(|| format!("Alpine:v{major}.{minor}"))
        }
        "rhel" => Some("Red Hat".into()),
        "rocky" => Some("Rocky Linux".into()),
        "almalinux" => Some("AlmaLinux".into()),
        _ => None,
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distro(id: &str, version_id: &str) -> Distro {
        Distro {
            id: id.into(),
            version_id: version_id.into(),
            pretty_name: None,
        }
    }

    #[test]
    fn reads_this_machines_os_release() {
        let text =
            std::fs::read_to_string("/etc/os-release").expect("the test machine's os-release");
        let parsed = parse(&text);
        // The same file read the way the shell reads it.
        let field = |key: &str| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(". /etc/os-release; printf %s \"${key}\""))
                .output()
                .expect("sh");
            String::from_utf8(out.stdout).expect("utf-8")
        };
        assert_eq!(parsed.id, field("ID"));
        assert_eq!(parsed.version_id, field("VERSION_ID"));
        assert_eq!(
            parsed.pretty_name.as_deref(),
            Some(field("PRETTY_NAME").as_str())
        );
        if parsed.id == "debian" {
            assert_eq!(
                ecosystem(&parsed),
                Some(format!(
                    "Debian:{}",
                    parsed.version_id.split('.').next().unwrap()
                ))
            );
        }
    }

    #[test]
    fn quoting_and_defaults() {
        let d = parse("# comment\nNAME='Alpine Linux'\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine \\\"Linux\\\" v3.19\"\n");
        assert_eq!(d.id, "alpine");
        assert_eq!(d.version_id, "3.19.1");
        assert_eq!(d.pretty_name.as_deref(), Some("Alpine \"Linux\" v3.19"));
        let d = parse("NAME=Nothing\n");
        assert_eq!(d.id, "linux");
        assert_eq!(d.version_id, "");
    }

    #[test]
    fn ecosystems_as_osv_spells_them() {
        assert_eq!(
            ecosystem(&distro("debian", "12")).as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            ecosystem(&distro("debian", "11.9")).as_deref(),
            Some("Debian:11")
        );
        assert_eq!(
            ecosystem(&distro("debian", "")),
            None,
            "testing/sid has no release"
        );
        assert_eq!(
            ecosystem(&distro("ubuntu", "22.04")).as_deref(),
            Some("Ubuntu:22.04:LTS")
        );
        assert_eq!(
            ecosystem(&distro("ubuntu", "24.04")).as_deref(),
            Some("Ubuntu:24.04:LTS")
        );
        assert_eq!(
            ecosystem(&distro("ubuntu", "23.04")).as_deref(),
            Some("Ubuntu:23.04")
        );
        assert_eq!(
            ecosystem(&distro("ubuntu", "22.10")).as_deref(),
            Some("Ubuntu:22.10")
        );
        assert_eq!(
            ecosystem(&distro("alpine", "3.19.1")).as_deref(),
            Some("Alpine:v3.19")
        );
        assert_eq!(
            ecosystem(&distro("alpine", "3.20_alpha20240329")).as_deref(),
            Some("Alpine:v3.20")
        );
        assert_eq!(
            ecosystem(&distro("rhel", "9.4")).as_deref(),
            Some("Red Hat")
        );
        assert_eq!(
            ecosystem(&distro("rocky", "9.3")).as_deref(),
            Some("Rocky Linux")
        );
        assert_eq!(
            ecosystem(&distro("almalinux", "9.3")).as_deref(),
            Some("AlmaLinux")
        );
        assert_eq!(ecosystem(&distro("fedora", "40")), None);
        assert_eq!(ecosystem(&distro("linux", "")), None);
    }
}
