#!/usr/bin/env bash
# `make test`: install what is missing, build, start a private dockerd, run
# every test (Rust unit and integration tests with real docker and skopeo, the
# S3 tests against Garage, the benchmark harness's smoke run, the AWS CLI and
# boto3 tests, the browser tests, a minute of each fuzz target, then a grep of
# every server's log for the secrets the tests used), stop what it started,
# and print how long each phase took.
#
# Two cores are the limit, so the order matters:
# - what only waits on the network (Debian packages, npm, the Python venv)
#   starts first, in the background;
# - what must be compiled but is needed late (Garage, for the S3 tests; the
#   fuzz targets' instrumented build) compiles in the background at the lowest
#   CPU priority, so it takes only the cycles the foreground leaves idle
#   (linking, test servers waiting on I/O) and never slows it down much;
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
# `cargo xtask build` writes the site (site-root = "target/site") inside the clone.
site="$root/target/site"
mkdir -p "$TOOLS"

logs="$(mktemp -d /tmp/berth-test-logs.XXXXXX)"
docker_dir="$(mktemp -d /tmp/berth-dockerd.XXXXXX)"
# Every test server's log, and the secrets the tests know, for the secrets grep at the end.
export BERTH_TEST_LOG_DIR="$logs/servers"
mkdir -p "$BERTH_TEST_LOG_DIR"

# ---- phases: each one's wall time, printed at the end whatever happens ----
run_start=$(date +%s)
phase_name=""
phase_start=$run_start
phase_rows=()
clock() { local s=$(($(date +%s) - run_start)); printf '%02d:%02d' $((s / 60)) $((s % 60)); }
mmss() { printf '%3d:%02d' $(($1 / 60)) $(($1 % 60)); }
phase() { # NAME: ends the phase running now and starts NAME
  local now
  now=$(date +%s)
  [ -n "$phase_name" ] && phase_rows+=("$(mmss $((now - phase_start)))  $phase_name")
  phase_name="$1"
  phase_start=$now
  [ -n "$1" ] && printf '==> [%s] %s\n' "$(clock)" "$1" >&2
  return 0
}

# ---- background jobs: started early, waited for where first needed ----
declare -A job_pid job_start job_rows
background() { # NAME NICENESS COMMAND...: runs COMMAND in the background, log in $logs/NAME.log
  local name="$1" niceness="$2"
  shift 2
  job_start[$name]=$(date +%s)
  (
    rc=0
    nice -n "$niceness" "$@" || rc=$?
    date +%s >"$logs/$name.end"
    exit "$rc"
  ) >"$logs/$name.log" 2>&1 &
  job_pid[$name]=$!
  printf '==> [%s] started in the background: %s\n' "$(clock)" "$name" >&2
}
await() { # NAME: waits for a background job; stops the run with its log if it failed
  local name="$1" rc=0
  [ -n "${job_pid[$name]:-}" ] || return 0
  phase "waiting for: $name"
  wait "${job_pid[$name]}" || rc=$?
  local end
  end="$(cat "$logs/$name.end" 2>/dev/null || date +%s)"
  job_rows[$name]="$(mmss $((end - ${job_start[$name]})))  $name (background, exit $rc)"
  unset "job_pid[$name]"
  if [ "$rc" -ne 0 ]; then
    echo "background job '$name' failed (exit $rc); the end of its log:" >&2
    tail -n 60 "$logs/$name.log" >&2
    exit "$rc"
  fi
}

finish() {
  local rc=$?
  phase ""
  for name in "${!job_pid[@]}"; do kill "${job_pid[$name]}" 2>/dev/null || true; done
  .ci/dockerd.sh stop "$docker_dir" >/dev/null 2>&1 || true
  rm -rf "$docker_dir"
  {
    echo "==> make test: wall time of each phase (min:s)"
    printf '  %s\n' "${phase_rows[@]}"
    for row in "${job_rows[@]}"; do printf '  %s\n' "$row"; done
    echo "  $(mmss $(($(date +%s) - run_start)))  in all (exit $rc)"
  } >&2
  rm -rf "$logs"
}
trap finish EXIT

phase "installing Debian packages, npm packages and the Python venv, building the scan fixtures (background)"
# The scanner's real fixtures (a Go binary, a cargo auditable binary, an rpmdb,
# pip and npm installs, jars) need Debian's go and rpm first; a warm run finds
# them in the tools cache at once.
BERTH_SCAN_FIXTURES="${BERTH_SCAN_FIXTURES:-$(.ci/scan-fixtures.sh --print-dest)}"
export BERTH_SCAN_FIXTURES
background apt-npm-and-scan-fixtures 0 bash -c '.ci/deps.sh && nice -n 10 .ci/scan-fixtures.sh "$0" >/dev/null' \
  "$BERTH_SCAN_FIXTURES"
background python-venv 0 .ci/python.sh
# Garage: the S3 server the S3 storage tests start. cargo install builds it in
# a directory of its own, so it never waits for the target directory's lock.
background garage 19 .ci/garage.sh install
# The fuzz targets' build (instrumented, release) has a target directory of its own too.
background fuzz-build 19 env FUZZ_STEP=build .ci/fuzz.sh

phase "formatting (cargo fmt --check)"
cargo fmt --all -- --check

# From here on every cargo command compiles Berth's own crates with clippy's
# lints, warnings denied: the same check as `cargo clippy --all-targets -- -D
# warnings` on every crate (the browser bundle's too), without compiling the
# ~500 dependencies once more in check mode. (Set after the background jobs
# started: Garage and the fuzz targets are not linted.)
export RUSTC_WORKSPACE_WRAPPER="$root/.ci/clippy-rustc.sh"

phase "the console's site, linted (cargo xtask site)"
.ci/tools.sh
# The server itself is built by `cargo test` below: its dev-dependencies turn
# on features of shared crates, so a plain `cargo build` of the server would
# be a second, different build of Berth's crates.
cargo xtask site

await apt-npm-and-scan-fixtures
phase "starting a private dockerd in $docker_dir"
DOCKER_HOST="$(.ci/dockerd.sh start "$docker_dir")"
export DOCKER_HOST

phase "Rust tests: unit, HTTP, docker, skopeo (all but the S3 store's; cargo nextest)"
# cargo nextest runs the tests of all binaries side by side (.config/nextest.toml).
# Every test but s3_storage's, which need Garage (still compiling in the
# background on a cold machine) and run in the next phase.
BERTH_SITE_ROOT="$site" cargo nextest run --workspace --exclude berth-frontend \
  -E 'not binary(s3_storage)' 2>&1 | tee "$logs/cargo.log"
cargo test --workspace --exclude berth-frontend --doc 2>&1 | tee "$logs/cargo-doc.log"

await garage
phase "Rust tests with blobs in S3: the S3 store, then docker and skopeo again (a Garage per server)"
# --workspace as above, so cargo resolves the same features and builds nothing again.
BERTH_SITE_ROOT="$site" cargo nextest run --workspace --exclude berth-frontend \
  -E 'binary(s3_storage)' 2>&1 | tee "$logs/cargo-s3.log"
BERTH_TEST_STORAGE=s3-redirect BERTH_SITE_ROOT="$site" cargo nextest run --workspace --exclude berth-frontend \
  -E 'binary(docker) | binary(skopeo)' 2>&1 | tee -a "$logs/cargo-s3.log"

phase "benchmark harness smoke: every workload, small, against Distribution"
cargo run -q -p berth-bench -- --smoke --berth "$target/debug/berth" --out "$logs/bench"

await python-venv
phase "ECR API tests (the real AWS CLI and boto3) and browser tests (Playwright + Debian chromium), side by side"
# Each suite starts servers of its own; neither computes much.
background ecr 0 env PYTHONDONTWRITEBYTECODE=1 BERTH_BIN="$target/debug/berth" \
  "$TOOLS/venv/bin/pytest" server/tests/ecr
(cd end2end && BERTH_BIN="$target/debug/berth" BERTH_SITE_ROOT="$site" npx playwright test) 2>&1 |
  tee "$logs/e2e.log"
await ecr
cat "$logs/ecr.log"

await fuzz-build
# All at once: a minute of wall time in all, which keeps a warm run within its
# budget; each target still makes tens of thousands of executions at least.
phase "fuzzing: every cargo fuzz target for 60 s (fuzz/README.md)"
cat "$logs/fuzz-build.log" >&2
FUZZ_STEP=run FUZZ_JOBS="${FUZZ_JOBS:-all}" .ci/fuzz.sh 60 2>&1 | tee "$logs/fuzz.log"

phase "no password, secret key, token or session cookie in any server's log"
.ci/secrets-grep.sh "$BERTH_TEST_LOG_DIR" 2>&1 | tee "$logs/secrets.log"

# One closing line for the whole run (each step above stops the run on failure).
# nextest's summary: "Summary [ 198.7s] 365 tests run: 365 passed, 0 skipped".
rust=$(cat "$logs/cargo.log" "$logs/cargo-s3.log" | grep -oE 'tests run: [0-9]+ passed' | awk '{n += $3} END {print n + 0}')
doc=$(grep -oE 'test result: ok\. [0-9]+ passed' "$logs/cargo-doc.log" | awk '{n += $4} END {print n + 0}')
browser=$(grep -oE '^ *[0-9]+ passed' "$logs/e2e.log" | awk '{n += $1} END {print n + 0}')
ecr=$(grep -oE '[0-9]+ passed' "$logs/ecr.log" | tail -n 1 | awk '{print $1 + 0}')
fuzz=$(grep -oE '^Fuzz: [0-9]+ passed' "$logs/fuzz.log" | awk '{print $2 + 0}')
secrets=$(grep -oE '^Secrets: [0-9]+ passed' "$logs/secrets.log" | awk '{print $2 + 0}')
trap - EXIT
finish
echo "Total: $((rust + doc + ecr + browser + fuzz + secrets)) passed, 0 failed"
