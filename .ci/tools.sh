#!/usr/bin/env bash
# What `make run` needs besides Rust itself: the wasm32 target the console's
# hydrate bundle is compiled for, and wasm-opt (binaryen, from npm) for
# release builds of it. wasm-bindgen is not installed: `cargo xtask` runs it as
# a library (xtask/). Idempotent: a warm machine makes this two quick checks.
#   BERTH_TOOLS  cache root (default ~/.cache/berth-tools)
set -euo pipefail

TOOLS="${BERTH_TOOLS:-$HOME/.cache/berth-tools}"
BINARYEN_VERSION=132

log() { printf '==> %s\n' "$*" >&2; }

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
