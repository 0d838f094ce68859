#!/usr/bin/env bash
# `make fuzz` and the fuzz phase of `make test`: builds the cargo fuzz targets
# in fuzz/ once, then runs each for SECONDS from its corpus (the committed
# seeds plus whatever earlier runs on this machine found), a few at a time.
# Prints each target's executions and findings, then one closing line; exits
# non-zero if any target crashed, hung or ran out of memory.
#   .ci/fuzz.sh [SECONDS [TARGET...]]   SECONDS defaults to 300, TARGETs to all
#   FUZZ_JOBS   targets run at once (default: one per core; `all`: every one)
#   FUZZ_STEP   `build` builds only; `run` runs what the last build made
#               (building first only if a target is missing); default both
#   BERTH_TOOLS tools cache (default ~/.cache/berth-tools); the fuzz build
#               lives in $BERTH_TOOLS/fuzz-target, apart from Berth's own
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-300}"
shift || true
TOOLS="${BERTH_TOOLS:-$HOME/.cache/berth-tools}"
export PATH="$TOOLS/bin:$PATH"
CARGO_FUZZ_VERSION=0.13.2
jobs="${FUZZ_JOBS:-$(nproc)}"

log() { printf '==> %s\n' "$*" >&2; }

if ! { [ -x "$TOOLS/bin/cargo-fuzz" ] && "$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; }; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS (about 2 minutes, once)"
  env -u CARGO_TARGET_DIR cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS"
fi

# Instrumented builds must not share Berth's target directory (different flags
# would rebuild everything in turn).
export CARGO_TARGET_DIR="$TOOLS/fuzz-target"
# No sanitizer (-s none): the targets are safe Rust, so what there is to find
# is panics (including overflows: fuzz/Cargo.toml keeps overflow checks on),
# hangs and memory blow-ups; and without -Zsanitizer the stable toolchain, all
# a fresh machine has, builds the targets. cargo fuzz compiles every crate as
# one codegen unit unless told otherwise: 16 let two cores share the big ones.
fuzz_build() { cargo fuzz build --fuzz-dir fuzz -s none --codegen-units 16 "$@" >&2; }
step="${FUZZ_STEP:-all}"
bin_dir="$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"
if [ "$#" -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
else
  targets=("$@")
fi
built=yes
for t in "${targets[@]}"; do [ -x "$bin_dir/$t" ] || built=no; done
if [ "$step" != run ] || [ "$built" = no ]; then
  build_start=$(date +%s)
  if [ "$#" -eq 0 ]; then
    log "building the ${#targets[@]} fuzz targets (cargo fuzz build)"
    fuzz_build
  else
    for t in "${targets[@]}"; do fuzz_build "$t"; done
  fi
  log "built in $(( $(date +%s) - build_start )) s"
fi

# Each checkout builds Berth's crates and the targets under a new hash (CI
# clones afresh), about 0.5 GB a time: keep only the newest build of each.
prune_old_builds() {
  local stem package keep d h
  for stem in berth berth_app $(cargo fuzz list --fuzz-dir fuzz); do
    case "$stem" in
      berth) package=berth ;;
      berth_app) package=berth-app ;;
      *) package=berth-fuzz ;;
    esac
    keep="$(ls -t "$bin_dir/deps/$stem"-*.d 2>/dev/null | head -n 1)"
    for d in "$bin_dir/deps/$stem"-*.d; do
      [ -e "$d" ] && [ "$d" != "$keep" ] || continue
      h="${d%.d}"
      h="${h##*-}"
      rm -rf "$bin_dir/deps/$stem-$h" "$bin_dir/deps/$stem-$h".* "$bin_dir/deps/lib$stem-$h".* \
        "$bin_dir/.fingerprint/$package-$h"
    done
  done
}
prune_old_builds
[ "$step" = build ] && exit 0

run_one() { # TARGET: fuzz it for $seconds; its log in fuzz/artifacts/TARGET.log
  local t="$1" dict=()
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
  "$bin_dir/$t" "fuzz/corpus/$t" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
    > "fuzz/artifacts/$t.log" 2>&1
}

[ "$jobs" = all ] && jobs=${#targets[@]}
log "fuzzing each target for $seconds s, $jobs at a time"
rcs="$(mktemp -d)"
trap 'rm -rf "$rcs"' EXIT
start=$(date +%s)
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  ( rc=0; run_one "$t" || rc=$?; echo "$rc" > "$rcs/$t" ) &
  running=$((running + 1))
done
wait
log "fuzzed for $(( $(date +%s) - start )) s"

passed=0
failed=0
total=0
printf '%-18s %8s %14s  %s\n' target seconds executions findings
for t in "${targets[@]}"; do
  rc="$(cat "$rcs/$t")"
  logfile="fuzz/artifacts/$t.log"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logfile" | tail -n 1)"
  [ -n "$execs" ] || execs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$logfile" | tail -n 1)"
  execs="${execs:-0}"
  total=$((total + execs))
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    printf '%-18s %8s %14s  %s\n' "$t" "$seconds" "$execs" none
  else
    failed=$((failed + 1))
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$logfile" | tail -n 1)"
    printf '%-18s %8s %14s  %s\n' "$t" "$seconds" "$execs" "FOUND (exit $rc): ${artifact:-see $logfile}"
    {
      echo "---- $t: the end of $logfile"
      grep -v '^#[0-9]' "$logfile" | tail -n 40
      echo "---- replay: $bin_dir/$t ${artifact:-<input>}"
    } >&2
  fi
done
echo "executions in all: $total"
echo "Fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
