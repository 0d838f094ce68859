#!/usr/bin/env bash
# Runs `make test` the way CI runs it on a machine that has never built Berth:
# a fresh clone of HEAD, `CI=true bash .ci/run`, with nothing in the caches
# that `make test` fills. It removes, for real and for everyone on this machine:
#   ~/.cache (Berth's tools cache: target directories, Garage, cargo-fuzz, the
#   venv; pip's cache), ~/.npm, ~/.cargo/registry and ~/.cargo/git (crate
#   downloads), the wasm32-unknown-unknown target, and the Debian packages
#   `make test` installs (docker.io, skopeo, chromium, docker-registry).
# So it asks for --yes. Afterwards the caches are warm again: what the run
# installed stays. Prints make test's own phase table and the total.
#   .ci/cold-run.sh --yes [REF]   REF defaults to HEAD
# Needs root (apt) and a clean `git status` of what is to be measured.
set -euo pipefail
[ "${1:-}" = --yes ] || {
  sed -n '2,12p' "$0" >&2
  exit 2
}
ref="${2:-HEAD}"
here="$(cd "$(dirname "$0")/.." && pwd)"
commit="$(git -C "$here" rev-parse "$ref")"

log() { printf '==> %s\n' "$*" >&2; }

log "removing the caches make test fills"
rm -rf "$HOME/.cache" "$HOME/.npm" "$HOME/.cargo/registry" "$HOME/.cargo/git"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target remove wasm32-unknown-unknown
fi
export DEBIAN_FRONTEND=noninteractive
apt-get purge -y -qq docker.io skopeo chromium docker-registry >/dev/null 2>&1 || true
apt-get autoremove -y -qq >/dev/null 2>&1 || true
apt-get clean

clone="$(mktemp -d /tmp/berth-cold.XXXXXX)"
log "cloning $commit into $clone"
git clone -q "$here" "$clone/berth"
git -C "$clone/berth" checkout -q "$commit"
# CI lays shared/ beside the clone.
[ -d "$here/../shared" ] && cp -r "$here/../shared" "$clone/shared"

start=$(date +%s)
rc=0
(cd "$clone/berth" && CI=true bash .ci/run </dev/null) 2>&1 | tee "$clone/run.log" || rc=$?
took=$(($(date +%s) - start))
log "cold make test of $commit: exit $rc in $((took / 60)) min $((took % 60)) s; log in $clone/run.log"
exit "$rc"
