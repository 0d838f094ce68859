#!/usr/bin/env bash
# `make bench`: Berth (release build) against CNCF Distribution (Debian's
# docker-registry) on this machine, side by side, with a private dockerd for
# the docker workload. Prints the table and writes bench/results/<date>.json.
# Arguments go to berth-bench (e.g. `make bench ARGS="--only manifest-get"`).
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${BERTH_TOOLS:-$HOME/.cache/berth-tools}"
export BERTH_TOOLS="$TOOLS"
export PATH="$TOOLS/bin:$TOOLS/node/node_modules/.bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TOOLS/target}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

.ci/tools.sh
.ci/deps.sh

echo "==> building Berth and the harness (release)" >&2
cargo build --release -p berth -p berth-bench

docker_dir="$(mktemp -d /tmp/berth-bench-dockerd.XXXXXX)"
cleanup() {
  .ci/dockerd.sh stop "$docker_dir" || true
  rm -rf "$docker_dir"
}
trap cleanup EXIT
DOCKER_HOST="$(.ci/dockerd.sh start "$docker_dir")"
export DOCKER_HOST

"$CARGO_TARGET_DIR/release/berth-bench" --berth "$CARGO_TARGET_DIR/release/berth" "$@"
