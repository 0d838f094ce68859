#!/usr/bin/env bash
# `make test`: install what is missing, build, start a private dockerd, run
# every test (Rust unit and integration tests with real docker and skopeo, then
# the browser tests, then a minute of each fuzz target, then a grep of every
# server's log for the secrets the tests used), and stop what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

TOOLS="${BERTH_TOOLS:-$HOME/.cache/berth-tools}"
export BERTH_TOOLS="$TOOLS"
export PATH="$TOOLS/bin:$TOOLS/node/node_modules/.bin:$PATH"
# Build artifacts live in the tools cache too, so a fresh clone (as CI makes)
# recompiles only Berth's own crates, not its ~500 dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TOOLS/target}"
# Incremental state is kept per checkout path, so every fresh clone would add
# gigabytes of it to the shared target directory (and filled the disk once).
# Berth's own crates compile in full each run anyway: skip it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
target="$CARGO_TARGET_DIR"
# cargo-leptos still writes the site (site-root = "target/site") inside the clone.
site="$root/target/site"

.ci/tools.sh
.ci/deps.sh
.ci/python.sh
# Garage: the S3 server the S3 blob store tests start (tests only, not `make run`).
.ci/garage.sh install

echo "==> checking formatting and lints" >&2
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings

echo "==> building the server and the console bundle (cargo leptos build)" >&2
cargo leptos build

docker_dir="$(mktemp -d /tmp/berth-dockerd.XXXXXX)"
cleanup() {
  .ci/dockerd.sh stop "$docker_dir" || true
  rm -rf "$docker_dir"
}
trap cleanup EXIT
echo "==> starting a private dockerd in $docker_dir" >&2
DOCKER_HOST="$(.ci/dockerd.sh start "$docker_dir")"
export DOCKER_HOST

logs="$(mktemp -d /tmp/berth-test-logs.XXXXXX)"
# Every test server's log, and the secrets the tests know, for the secrets grep at the end.
export BERTH_TEST_LOG_DIR="$logs/servers"
mkdir -p "$BERTH_TEST_LOG_DIR"

echo "==> Rust tests (unit, HTTP, docker, skopeo)" >&2
BERTH_SITE_ROOT="$site" cargo test --workspace --exclude berth-frontend 2>&1 | tee "$logs/cargo.log"

echo "==> docker and skopeo tests again, blobs in S3 (a Garage per server), downloads redirected" >&2
BERTH_TEST_STORAGE=s3-redirect BERTH_SITE_ROOT="$site" cargo test -p berth --test docker --test skopeo 2>&1 | tee "$logs/cargo-s3.log"

echo "==> benchmark harness smoke: every workload, small, against Distribution" >&2
cargo run -q -p berth-bench -- --smoke --berth "$target/debug/berth" --out "$logs/bench"

echo "==> ECR API tests (the real AWS CLI and boto3)" >&2
PYTHONDONTWRITEBYTECODE=1 BERTH_BIN="$target/debug/berth" "$TOOLS/venv/bin/pytest" server/tests/ecr 2>&1 | tee "$logs/ecr.log"

echo "==> browser tests (Playwright + Debian chromium)" >&2
(cd end2end && BERTH_BIN="$target/debug/berth" BERTH_SITE_ROOT="$site" npx playwright test) 2>&1 | tee "$logs/e2e.log"

# All at once: a minute of wall time in all, which keeps a warm run within its
# budget; each target still makes tens of thousands of executions at least.
echo "==> fuzzing: every cargo fuzz target for 60 s (fuzz/README.md)" >&2
FUZZ_JOBS="${FUZZ_JOBS:-all}" .ci/fuzz.sh 60 2>&1 | tee "$logs/fuzz.log"

echo "==> no password, secret key, token or session cookie in any server's log" >&2
.ci/secrets-grep.sh "$BERTH_TEST_LOG_DIR" 2>&1 | tee "$logs/secrets.log"

# One closing line for the whole run (each step above stops the run on failure).
rust=$(cat "$logs/cargo.log" "$logs/cargo-s3.log" | grep -oE 'test result: ok\. [0-9]+ passed' | awk '{n += $4} END {print n + 0}')
browser=$(grep -oE '^ *[0-9]+ passed' "$logs/e2e.log" | awk '{n += $1} END {print n + 0}')
ecr=$(grep -oE '[0-9]+ passed' "$logs/ecr.log" | tail -n 1 | awk '{print $1 + 0}')
fuzz=$(grep -oE '^Fuzz: [0-9]+ passed' "$logs/fuzz.log" | awk '{print $2 + 0}')
secrets=$(grep -oE '^Secrets: [0-9]+ passed' "$logs/secrets.log" | awk '{print $2 + 0}')
rm -rf "$logs"
echo "Total: $((rust + ecr + browser + fuzz + secrets)) passed, 0 failed"
