#!/usr/bin/env bash
# What `make run` needs besides Rust itself: the wasm32 target the console's
# hydrate bundle is compiled for, and wasm-opt (binaryen, from npm) for
# release builds of it. wasm-bindgen is not installed: `cargo xtask` runs it as
# a library (xtask/). And what the tests need from crates.io: cargo-auditable,
# which builds the Rust binary of the scanner's fixtures (.ci/scan-fixtures.sh,
# which runs `.ci/tools.sh cargo-auditable` to install only that one).
# Idempotent: a warm machine makes this three quick checks.
#   BERTH_TOOLS  cache root (default ~/.cache/berth-tools)
set -euo pipefail

TOOLS="${BERTH_TOOLS:-$HOME/.cache/berth-tools}"
BINARYEN_VERSION=132
CARGO_AUDITABLE_VERSION=0.7.7

log() { printf '==> %s\n' "$*" >&2; }

# cargo-auditable into $TOOLS/bin (about a minute, once).
if ! cargo install --list --root "$TOOLS" 2>/dev/null | grep -qx "cargo-auditable v$CARGO_AUDITABLE_VERSION:"; then
  log "installing cargo-auditable $CARGO_AUDITABLE_VERSION into $TOOLS (about a minute, once)"
  env -u CARGO_TARGET_DIR -u RUSTC_WORKSPACE_WRAPPER \
    cargo install --quiet cargo-auditable --version "$CARGO_AUDITABLE_VERSION" --locked --root "$TOOLS"
fi
[ "${1:-}" = cargo-auditable ] && exit 0

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-opt for release builds: Debian's binaryen is too old (its output fails to hydrate).
if [ ! -x "$TOOLS/node/node_modules/.bin/wasm-opt" ]; then
  log "installing binaryen@$BINARYEN_VERSION (wasm-opt) from npm"
  mkdir -p "$TOOLS/node"
  (cd "$TOOLS/node" && npm install --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION" >&2)
fi
