#!/usr/bin/env bash
# A private, throw-away Docker engine for tests (needs root).
#
#   .ci/dockerd.sh start DIR   start dockerd with all state under DIR, wait until
#                              it answers, print its DOCKER_HOST (unix://DIR/docker.sock)
#   .ci/dockerd.sh stop DIR    stop it (SIGTERM, then SIGKILL); fine if not running
#
# The engine uses no iptables, no bridge network and the vfs storage driver, so
# it works inside a container without extra privileges for networking or
# overlayfs. With no --containerd flag, dockerd starts and supervises its own
# containerd (socket under DIR/exec/containerd), which stops with it.
# Log: DIR/dockerd.log.
set -euo pipefail

DOCKERD="${DOCKERD:-dockerd}"
DOCKER="${DOCKER:-docker}"
START_TIMEOUT="${DOCKERD_START_TIMEOUT:-60}"
STOP_TIMEOUT="${DOCKERD_STOP_TIMEOUT:-30}"

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd="$1"
mkdir -p "$2"
dir="$(cd "$2" && pwd)"
sock="$dir/docker.sock"
pidfile="$dir/dockerd.pid"
host="unix://$sock"

# PID of a running dockerd started from DIR, or nothing.
running_pid() {
  local pid
  [ -s "$pidfile" ] || return 0
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  # Guard against a stale pidfile whose PID was reused by something else.
  if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--pidfile $pidfile"; then
    return 0
  fi
  echo "$pid"
}

engine_ready() {
  DOCKER_HOST="$host" "$DOCKER" info >/dev/null 2>&1
}

start() {
  if [ -n "$(running_pid)" ]; then
    if engine_ready; then
      echo "$host"
      return 0
    fi
  else
    # Leftovers of an engine that died without cleaning up.
    rm -f "$pidfile" "$sock"
  fi
  mkdir -p "$dir/root" "$dir/exec"

  if [ -z "$(running_pid)" ]; then
    # setsid: the engine must not die with the caller's process group / terminal.
    setsid "$DOCKERD" \
      --data-root "$dir/root" \
      --host "$host" \
      --exec-root "$dir/exec" \
      --pidfile "$pidfile" \
      --iptables=false \
      --ip-masq=false \
      --bridge=none \
      --storage-driver=vfs \
      </dev/null >>"$dir/dockerd.log" 2>&1 &
    launcher=$!
  else
    launcher=""
  fi

  local deadline=$((SECONDS + START_TIMEOUT))
  until engine_ready; do
    if [ -n "$launcher" ] && ! kill -0 "$launcher" 2>/dev/null; then
      echo "dockerd exited during start-up; last lines of $dir/dockerd.log:" >&2
      tail -n 30 "$dir/dockerd.log" >&2 || true
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "dockerd did not answer on $host within ${START_TIMEOUT}s; last lines of $dir/dockerd.log:" >&2
      tail -n 30 "$dir/dockerd.log" >&2 || true
      stop
      exit 1
    fi
    sleep 0.5
  done
  echo "$host"
}

stop() {
  local pid
  pid="$(running_pid)"
  if [ -z "$pid" ]; then
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "dockerd ($pid) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL" >&2
      # Its containerd child would otherwise linger: collect it before the
      # parent dies and the child is re-parented.
      local children cpid
      children="$(pgrep -P "$pid" 2>/dev/null || true)"
      kill -KILL "$pid" 2>/dev/null || true
      for cpid in $children; do
        kill -KILL "$cpid" 2>/dev/null || true
      done
      break
    fi
    sleep 0.5
  done
  rm -f "$pidfile"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
