#!/usr/bin/env bash
# Fails if any secret the tests recorded (passwords, secret access keys,
# authorization tokens, session cookies: one a line in DIR/secrets) occurs in
# any server log kept in DIR (*.log), and says how much it checked:
#   .ci/secrets-grep.sh DIR
# Its closing line, "Secrets: N passed", counts the secrets checked.
set -euo pipefail
dir="${1:?usage: $0 DIR (the BERTH_TEST_LOG_DIR of a test run)}"
secrets="$(mktemp)"
trap 'rm -f "$secrets"' EXIT
# Each distinct secret once; shorter ones would match by chance.
[ -f "$dir/secrets" ] && awk 'length($0) >= 8' "$dir/secrets" | sort -u >"$secrets"
shopt -s nullglob
logs=("$dir"/*.log)
count=$(wc -l <"$secrets")
lines=0
if [ "${#logs[@]}" -gt 0 ]; then
  lines=$(cat "${logs[@]}" | wc -l)
fi
if [ "$count" -eq 0 ] || [ "${#logs[@]}" -eq 0 ]; then
  echo "secrets grep: $count secrets and ${#logs[@]} logs in $dir: nothing to check" >&2
  exit 1
fi
if found=$(grep -F -n -f "$secrets" "${logs[@]}"); then
  echo "secrets grep: a recorded secret appears in the server logs:" >&2
  # Show where, not the secret itself.
  cut -d: -f1,2 <<<"$found" | sort -u | head -n 20 >&2
  exit 1
fi
echo "secrets grep: ${#logs[@]} server logs, $lines lines, $count distinct secrets: none found"
echo "Secrets: $count passed"
