//! The scanner's real fixtures (`.ci/scan-fixtures.sh`): a Go binary, a
//! `cargo auditable` Rust binary, an rpmdb made by rpm, an apk database, a
//! `pip install --target` directory, a `node_modules`, jars.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The fixtures' directory: `BERTH_SCAN_FIXTURES` when set (`make test` builds
/// them in the background and sets it), else the script's own cache in the
/// tools cache, built now when it is not there yet (a few minutes cold, a
/// moment warm). Never skips: a fixture that cannot be built fails the test.
pub fn fixtures() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("BERTH_SCAN_FIXTURES") {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join(".complete").exists(),
                "BERTH_SCAN_FIXTURES={} holds no complete fixtures (run .ci/scan-fixtures.sh {0})",
                dir.display()
            );
            return dir;
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/scan-fixtures.sh");
        let out = Command::new(&script)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed: {}",
            script.display(),
            out.status
        );
        let stdout = String::from_utf8(out.stdout).expect("the script prints a path");
        let dir = PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("the script prints its directory"),
        );
        assert!(
            dir.join(".complete").exists(),
            "{} is not complete",
            dir.display()
        );
        dir
    })
    .clone()
}
