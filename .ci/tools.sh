#!/usr/bin/env bash
# Installs the build tools Berth needs into a cache outside the clone, once.
# Idempotent: a warm cache makes this a few stat() calls.
#   BERTH_TOOLS  cache root (default ~/.cache/berth-tools)
set -euo pipefail

TOOLS="${BERTH_TOOLS:-$HOME/.cache/berth-tools}"
CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132
mkdir -p "$TOOLS/bin"

log() { printf '==> %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

have_version() { # BIN VERSION
  [ -x "$TOOLS/bin/$1" ] && "$TOOLS/bin/$1" --version 2>/dev/null | grep -q "$2"
}

if ! have_version cargo-leptos "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION into $TOOLS (about 18 minutes on two cores, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --root "$TOOLS"
fi

if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION into $TOOLS (about 5 minutes, once)"
  # Not --locked: its lock file pins a crate version the registry does not serve.
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --root "$TOOLS"
fi

# wasm-opt for release builds: Debian's binaryen is too old (its output fails to hydrate).
if [ ! -x "$TOOLS/node/node_modules/.bin/wasm-opt" ]; then
  log "installing binaryen@$BINARYEN_VERSION (wasm-opt) from npm"
  mkdir -p "$TOOLS/node"
  (cd "$TOOLS/node" && npm install --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION" >&2)
fi
