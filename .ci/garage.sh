#!/usr/bin/env bash
# Garage, the S3 server the tests of Berth's S3 blob store run against (each
# test starts its own single-node Garage through server/tests/common/garage.rs).
#   garage.sh install   install Garage into the tools cache, once (idempotent:
#                       a warm cache makes this one `garage --version`)
#   BERTH_TOOLS  cache root (default ~/.cache/berth-tools)
set -euo pipefail

TOOLS="${BERTH_TOOLS:-$HOME/.cache/berth-tools}"
GARAGE_VERSION=2.5.0

log() { printf '==> %s\n' "$*" >&2; }

case "${1:-}" in
  install)
    mkdir -p "$TOOLS/bin"
    # `garage --version` prints e.g. "garage cargo:2.5.0 [features: …]".
    if [ -x "$TOOLS/bin/garage" ] &&
      "$TOOLS/bin/garage" --version 2>/dev/null | grep -qF ":$GARAGE_VERSION "; then
      exit 0
    fi
    log "installing garage $GARAGE_VERSION into $TOOLS (once)"
    # Without CARGO_TARGET_DIR (test.sh points it at the shared cache), cargo
    # builds in a temporary directory and removes Garage's build tree after.
    # Only the SQLite metadata engine the tests use: without LMDB, K2V and
    # metrics the build takes half the time of the default features.
    # Optimised at level 1, not 3: the tests move megabytes through it, not
    # gigabytes, and less optimisation compiles faster (10.5 CPU-minutes
    # here at level 1; level 3 was not timed).
    env -u CARGO_TARGET_DIR CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0 \
      cargo install garage --version "$GARAGE_VERSION" --locked \
      --no-default-features --features bundled-libs,sqlite --root "$TOOLS"
    ;;
  *)
    echo "usage: $0 install" >&2
    exit 2
    ;;
esac
