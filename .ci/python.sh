#!/usr/bin/env bash
# The Python tools the ECR API tests drive Berth with: the real AWS CLI (v1),
# boto3 and pytest, pinned in server/tests/ecr/requirements.txt, in a venv in
# the tools cache outside the clone. Idempotent: it reinstalls only when the
# requirements file changed (its sha256 is kept in the venv).
#   BERTH_TOOLS  cache root (default ~/.cache/berth-tools)
# Prints nothing on stdout; progress lines go to stderr. The tests then run
# with "$BERTH_TOOLS/venv/bin/pytest server/tests/ecr".
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${BERTH_TOOLS:-$HOME/.cache/berth-tools}"
VENV="$TOOLS/venv"
REQS="server/tests/ecr/requirements.txt"
PYTHON="${PYTHON:-python3}"

log() { printf '==> %s\n' "$*" >&2; }

want="$(sha256sum "$REQS" | cut -d' ' -f1)"
stamp="$VENV/.berth-requirements.sha256"

if [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/aws" ] && [ -x "$VENV/bin/pytest" ] &&
  [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ]; then
  exit 0
fi

# A venv whose interpreter no longer runs (python3 upgraded or removed) is rebuilt.
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  log "removing the broken venv in $VENV"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  log "creating a Python venv in $VENV"
  mkdir -p "$TOOLS"
  "$PYTHON" -m venv "$VENV" >&2
fi
rm -f "$stamp"
log "installing the AWS CLI, boto3 and pytest into $VENV (pinned in $REQS)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --requirement "$REQS" >&2
echo "$want" >"$stamp"
