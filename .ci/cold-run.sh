#!/usr/bin/env bash
# Measures the README's two commands as a newcomer (and CI) meets them on a
# machine that has never built Berth, each on a fresh clone of REF with
# nothing in the caches they fill:
#   1. `make run`, until the console answers (then it is stopped);
#   2. `CI=true bash .ci/run` (that is, `make test`), as CI runs it.
# Before each it removes, for real and for everyone on this machine: ~/.cache
# (Berth's tools cache: target directories, Garage, cargo-fuzz, the venv;
# pip's cache), ~/.npm, ~/.cargo/registry and ~/.cargo/git (crate downloads),
# the wasm32-unknown-unknown target, and the Debian packages `make test`
# installs (docker.io, skopeo, chromium, docker-registry, and the scan
# fixtures' golang-1.19-go, rpm, golang-golang-x-text-dev, libyaml-snake-java). So it asks for
# --yes. Afterwards the caches are warm again with what the runs installed.
#   .ci/cold-run.sh --yes [REF]          both, REF defaults to HEAD
#   COLD_ONLY=run|test .ci/cold-run.sh --yes [REF]   one of them
# Needs root (apt). Logs and timings go to a directory it prints.
set -euo pipefail
[ "${1:-}" = --yes ] || {
  sed -n '2,15p' "$0" >&2
  exit 2
}
ref="${2:-HEAD}"
only="${COLD_ONLY:-}"
here="$(cd "$(dirname "$0")/.." && pwd)"
commit="$(git -C "$here" rev-parse "$ref")"
out="$(mktemp -d /tmp/berth-cold.XXXXXX)"

log() { printf '==> %s\n' "$*" >&2; }

purge() {
  log "removing the caches the two commands fill"
  rm -rf "$HOME/.cache" "$HOME/.npm" "$HOME/.cargo/registry" "$HOME/.cargo/git"
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target remove wasm32-unknown-unknown
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get purge -y -qq docker.io skopeo chromium docker-registry \
    golang-1.19-go rpm golang-golang-x-text-dev libyaml-snake-java >/dev/null 2>&1 || true
  apt-get autoremove -y -qq >/dev/null 2>&1 || true
  apt-get clean
}

fresh_clone() { # DIR
  git clone -q "$here" "$1"
  git -C "$1" checkout -q "$commit"
}

# Starts `make run` in DIR (its output in LOG), waits until the console
# answers, prints the seconds that took, and stops it.
time_make_run() { # DIR LOG
  local start runner took
  start=$(date +%s)
  (cd "$1" && exec setsid make run </dev/null >"$2" 2>&1) &
  runner=$!
  until curl -fsS -o /dev/null "http://127.0.0.1:5000/login" 2>/dev/null; do
    if ! kill -0 "$runner" 2>/dev/null; then
      tail -n 40 "$2" >&2
      log "make run exited before the console answered"
      exit 1
    fi
    sleep 1
  done
  took=$(($(date +%s) - start))
  kill -- -"$runner" 2>/dev/null || true
  wait "$runner" 2>/dev/null || true
  echo "$took"
}

if [ "$only" != test ]; then
  purge
  fresh_clone "$out/run"
  log "make run on a fresh clone of $commit, until the console answers"
  took=$(time_make_run "$out/run" "$out/make-run.log")
  echo "make run, cold: the console answered after $((took / 60)) min $((took % 60)) s" | tee "$out/make-run.time"
  took=$(time_make_run "$out/run" "$out/make-run-warm.log")
  echo "make run, warm (again, same clone): the console answered after $took s" | tee -a "$out/make-run.time"
fi

if [ "$only" != run ]; then
  purge
  fresh_clone "$out/test"
  # CI lays shared/ beside the clone.
  [ -d "$here/../shared" ] && cp -r "$here/../shared" "$out/shared"
  log "CI=true bash .ci/run on a fresh clone of $commit"
  start=$(date +%s)
  rc=0
  (cd "$out/test" && CI=true bash .ci/run </dev/null) >"$out/make-test.log" 2>&1 || rc=$?
  took=$(($(date +%s) - start))
  sed -n '/make test: wall time of each phase/,$p' "$out/make-test.log"
  echo "make test, cold: exit $rc after $((took / 60)) min $((took % 60)) s" | tee "$out/make-test.time"
  [ "$rc" -eq 0 ] || exit "$rc"
fi
log "logs in $out"
