//! `cargo xtask`: builds what cargo alone does not, the console's site.
//!
//! ```text
//! cargo xtask build [--release]   the site, then the `berth` server binary
//! cargo xtask site [--release]    the site only
//! ```
//!
//! The site is what `cargo leptos build` makes, from the same
//! `[[workspace.metadata.leptos]]` settings in the workspace's `Cargo.toml`
//! (so `cargo leptos watch` keeps working for those who have it):
//!
//! 1. the hydrate crate (`lib-package`) built for `wasm32-unknown-unknown`
//!    with `lib-features`, in the workspace's target directory, so it shares
//!    its proc macros and build scripts with the server's build;
//! 2. wasm-bindgen (`--target web`), run as a library, into
//!    `<site-root>/<site-pkg-dir>/<name>.js` and `<name>.wasm` (the name
//!    leptos' hydration script asks for when `LEPTOS_OUTPUT_NAME` is set, as
//!    `.cargo/config.toml` does for every build);
//! 3. with `--release`, the `lib-profile-release` profile and `wasm-opt -Oz`
//!    (binaryen, found on `PATH`; `.ci/tools.sh` installs it);
//! 4. `style-file` copied to `<site-pkg-dir>/<name>.css`, and `assets-dir`
//!    copied into the site root.
//!
//! What it does not do that cargo-leptos does: minify the JavaScript glue of
//! release builds (a few kilobytes), and watch or live-reload.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, release) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("xtask: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(task, release) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask build [--release]   the console's site, then the server
       cargo xtask site [--release]    the console's site only";

/// What to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    /// The site and the server binary.
    Build,
    /// The site only.
    Site,
}

fn parse_args(args: &[String]) -> Result<(Task, bool), String> {
    let mut task = None;
    let mut release = false;
    for arg in args {
        match arg.as_str() {
            "build" if task.is_none() => task = Some(Task::Build),
            "site" if task.is_none() => task = Some(Task::Site),
            "--release" | "-r" => release = true,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    task.map(|task| (task, release))
        .ok_or_else(|| "say what to build".to_owned())
}

/// The parts of `cargo metadata` the build needs.
#[derive(Debug, Deserialize)]
struct Metadata {
    workspace_root: PathBuf,
    target_directory: PathBuf,
    metadata: WorkspaceMetadata,
}

#[derive(Debug, Deserialize)]
struct WorkspaceMetadata {
    leptos: Vec<Site>,
}

/// One `[[workspace.metadata.leptos]]` entry, with cargo-leptos' key names.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Site {
    name: String,
    bin_package: String,
    bin_target: String,
    #[serde(default)]
    bin_features: Vec<String>,
    #[serde(default = "yes")]
    bin_default_features: bool,
    lib_package: String,
    #[serde(default)]
    lib_features: Vec<String>,
    #[serde(default = "yes")]
    lib_default_features: bool,
    #[serde(default = "release")]
    lib_profile_release: String,
    site_root: PathBuf,
    site_pkg_dir: PathBuf,
    style_file: Option<PathBuf>,
    assets_dir: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

fn release() -> String {
    "release".to_owned()
}

fn run(task: Task, release: bool) -> Result<(), String> {
    let metadata = cargo_metadata()?;
    let site = match metadata.metadata.leptos.as_slice() {
        [site] => site,
        sites => {
            return Err(format!(
                "expected one [[workspace.metadata.leptos]] entry, found {}",
                sites.len()
            ))
        }
    };
    let root = &metadata.workspace_root;
    build_site(root, &metadata.target_directory, site, release)?;
    if task == Task::Build {
        let started = Instant::now();
        let mut cargo = cargo(root, "build");
        cargo.args(["--package", &site.bin_package, "--bin", &site.bin_target]);
        features(&mut cargo, site.bin_default_features, &site.bin_features);
        if release {
            cargo.arg("--release");
        }
        status(&mut cargo)?;
        eprintln!(
            "xtask: built {} in {:.1} s",
            site.bin_target,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn cargo_metadata() -> Result<Metadata, String> {
    let output = Command::new(cargo_bin())
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cannot read cargo metadata's [[workspace.metadata.leptos]]: {e}"))
}

/// Cargo, as the one that runs this task (`CARGO`), else from `PATH`.
fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn cargo(root: &Path, command: &str) -> Command {
    let mut cargo = Command::new(cargo_bin());
    cargo.current_dir(root).arg(command);
    cargo
}

fn features(cargo: &mut Command, default_features: bool, features: &[String]) {
    if !default_features {
        cargo.arg("--no-default-features");
    }
    if !features.is_empty() {
        cargo.arg(format!("--features={}", features.join(",")));
    }
}

fn status(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}

/// Builds the site into `<site-root>`, as described in the module's doc.
fn build_site(root: &Path, target: &Path, site: &Site, release: bool) -> Result<(), String> {
    let started = Instant::now();
    let profile = if release {
        site.lib_profile_release.as_str()
    } else {
        "dev"
    };
    let mut cargo = cargo(root, "build");
    cargo.args([
        "--package",
        &site.lib_package,
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile,
    ]);
    features(&mut cargo, site.lib_default_features, &site.lib_features);
    status(&mut cargo)?;

    // Cargo's output folder for a profile: `dev` builds land in `debug`.
    let out = if profile == "dev" { "debug" } else { profile };
    let wasm = target
        .join("wasm32-unknown-unknown")
        .join(out)
        .join(format!("{}.wasm", site.lib_package.replace('-', "_")));
    let site_root = root.join(&site.site_root);
    let pkg = site_root.join(&site.site_pkg_dir);
    std::fs::create_dir_all(&pkg).map_err(|e| format!("cannot create {}: {e}", pkg.display()))?;

    let bundle = pkg.join(format!("{}.wasm", site.name));
    let stamp = pkg.join(".xtask-stamp");
    let source = stamp_of(&wasm, release)?;
    let fresh = bundle.is_file()
        && pkg.join(format!("{}.js", site.name)).is_file()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(source.as_str());
    if !fresh {
        bindgen(&wasm, &pkg, &site.name)?;
        if release {
            let mut wasm_opt = Command::new("wasm-opt");
            wasm_opt
                .args([
                    "-Oz",
                    "--enable-bulk-memory",
                    "--enable-nontrapping-float-to-int",
                ])
                .arg(&bundle)
                .arg("-o")
                .arg(&bundle);
            status(&mut wasm_opt).map_err(|e| {
                format!(
                    "{e}\n(release builds need wasm-opt on PATH: .ci/tools.sh installs binaryen)"
                )
            })?;
        }
        std::fs::write(&stamp, &source)
            .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    }

    if let Some(style) = &site.style_file {
        let css = pkg.join(format!("{}.css", site.name));
        copy_file(&root.join(style), &css)?;
    }
    if let Some(assets) = &site.assets_dir {
        copy_tree(&root.join(assets), &site_root)?;
    }
    eprintln!(
        "xtask: built the site in {} in {:.1} s{}",
        site_root.display(),
        started.elapsed().as_secs_f64(),
        if fresh { " (bundle unchanged)" } else { "" }
    );
    Ok(())
}

/// What the bundle in the site was made from: the input module's length and
/// modification time, and the build kind. Equal stamps skip wasm-bindgen.
fn stamp_of(wasm: &Path, release: bool) -> Result<String, String> {
    let meta =
        std::fs::metadata(wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    Ok(format!(
        "{} {} {modified} {}",
        wasm.display(),
        meta.len(),
        if release { "release" } else { "dev" }
    ))
}

/// wasm-bindgen `--target web --out-name NAME --out-dir PKG`, then the
/// `NAME_bg.wasm` it writes renamed to `NAME.wasm`, as cargo-leptos does.
fn bindgen(wasm: &Path, pkg: &Path, name: &str) -> Result<(), String> {
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(wasm)
        .out_name(name)
        .typescript(false)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?;
    bindgen
        .generate(pkg)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", wasm.display()))?;
    let generated = pkg.join(format!("{name}_bg.wasm"));
    let bundle = pkg.join(format!("{name}.wasm"));
    std::fs::rename(&generated, &bundle).map_err(|e| {
        format!(
            "cannot rename {} to {}: {e}",
            generated.display(),
            bundle.display()
        )
    })
}

fn copy_file(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

/// Copies every file under `from` to the same place under `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            std::fs::create_dir_all(&dest)
                .map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
            copy_tree(&path, &dest)?;
        } else {
            copy_file(&path, &dest)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn tasks_and_the_release_flag_are_read_in_any_order() {
        assert_eq!(parse_args(&args(&["build"])), Ok((Task::Build, false)));
        assert_eq!(
            parse_args(&args(&["--release", "site"])),
            Ok((Task::Site, true))
        );
        assert_eq!(parse_args(&args(&["site", "-r"])), Ok((Task::Site, true)));
    }

    #[test]
    fn a_missing_or_unknown_word_is_refused() {
        assert!(parse_args(&args(&[])).is_err());
        assert!(parse_args(&args(&["--release"])).is_err());
        let err = parse_args(&args(&["build", "watch"])).expect_err("refused");
        assert!(err.contains("\"watch\""), "{err}");
        assert!(parse_args(&args(&["build", "site"])).is_err());
    }

    #[test]
    fn the_workspace_settings_are_read_with_cargo_leptos_names() {
        let toml = serde_json::json!({
            "workspace_root": "/w",
            "target_directory": "/w/target",
            "metadata": {"leptos": [{
                "name": "berth", "bin-package": "berth", "bin-target": "berth",
                "lib-package": "berth-frontend", "site-root": "target/site",
                "site-pkg-dir": "pkg", "lib-features": ["hydrate"],
                "lib-default-features": false, "unknown-key": 1
            }]}
        });
        let metadata: Metadata = serde_json::from_value(toml).expect("parsed");
        let site = &metadata.metadata.leptos[0];
        assert_eq!(site.lib_features, ["hydrate"]);
        assert!(!site.lib_default_features);
        assert!(site.bin_default_features);
        assert_eq!(site.lib_profile_release, "release");
        assert_eq!(site.style_file, None);
    }

    #[test]
    fn copy_tree_copies_nested_files() {
        let from = std::env::temp_dir().join(format!("xtask-from-{}", std::process::id()));
        let to = std::env::temp_dir().join(format!("xtask-to-{}", std::process::id()));
        std::fs::create_dir_all(from.join("a")).expect("dir");
        std::fs::write(from.join("a/b.svg"), "<svg/>").expect("file");
        std::fs::write(from.join("c.txt"), "c").expect("file");
        std::fs::create_dir_all(&to).expect("dir");
        copy_tree(&from, &to).expect("copied");
        assert_eq!(
            std::fs::read_to_string(to.join("a/b.svg")).expect("read"),
            "<svg/>"
        );
        assert_eq!(
            std::fs::read_to_string(to.join("c.txt")).expect("read"),
            "c"
        );
        let missing = copy_tree(&from.join("nope"), &to).expect_err("missing");
        assert!(missing.contains("cannot read"), "{missing}");
        std::fs::remove_dir_all(&from).ok();
        std::fs::remove_dir_all(&to).ok();
    }
}
