//! The check that keeps DESIGN's layering true: a face (`registry/`, `ecr/`,
//! `console/`) reaches data only through `service/` (and `auth/`), never
//! through `db/`, `storage/` or the registry's database and store handles,
//! and never through another face. What two faces share lives below both
//! (`service/`, `auth/`, `http`, `clock`). `cargo test` reads the faces'
//! sources and fails on the first line that breaks the rule.

/// The faces, by folder under `server/src`.
pub const FACES: [&str; 3] = ["registry", "ecr", "console"];

/// What a face may not name, with the reason given when it does.
fn forbidden(face: &str) -> Vec<(String, String)> {
    let mut rules = vec![
        (
            "crate::db".to_owned(),
            "SQL and rows are the service's".to_owned(),
        ),
        (
            "berth::db".to_owned(),
            "SQL and rows are the service's".to_owned(),
        ),
        (
            "crate::storage".to_owned(),
            "blob bytes are the service's".to_owned(),
        ),
        (
            ".db()".to_owned(),
            "the database is the service's".to_owned(),
        ),
        (
            ".store()".to_owned(),
            "the blob store is the service's".to_owned(),
        ),
        (
            "super::super".to_owned(),
            "a face's modules stay inside it".to_owned(),
        ),
    ];
    for other in FACES.iter().filter(|f| **f != face) {
        rules.push((
            format!("crate::{other}"),
            format!("faces do not call each other: move what {face} needs of {other} below both"),
        ));
    }
    rules
}

/// The lines of one source file of `face` that break the rule, as
/// `line: text (reason)`. Comments are not code and are skipped.
pub fn violations(face: &str, source: &str) -> Vec<String> {
    let rules = forbidden(face);
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for (pattern, reason) in &rules {
            if code.contains(pattern.as_str()) {
                found.push(format!("{}: {} ({reason})", number + 1, line.trim()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("face folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn faces_reach_data_through_the_service_and_not_through_each_other() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut broken = Vec::new();
        let mut files = 0;
        for face in FACES {
            let mut paths = Vec::new();
            sources(&src.join(face), &mut paths);
            for path in paths {
                files += 1;
                let text = std::fs::read_to_string(&path).expect("source");
                for v in violations(face, &text) {
                    broken.push(format!("{}:{v}", path.display()));
                }
            }
        }
        assert!(files >= 20, "read only {files} face sources");
        assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
    }

    #[test]
    fn the_check_sees_each_kind_of_breach_and_ignores_comments() {
        let source = "use crate::db::ImageRow;\n\
                      let n = registry.db().image_count(1);\n\
                      let s = state.registry.store();\n\
                      crate::registry::download::signed_url(x);\n\
                      // crate::db is mentioned in a comment only\n\
                      let ok = registry.image_count(name); // not .db()\n";
        let found = violations("ecr", source);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].starts_with("1: "));
        assert!(found[3].contains("faces do not call each other"));
        assert!(violations("registry", "use crate::registry::error;").is_empty());
    }
}
