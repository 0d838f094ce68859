#!/usr/bin/env bash
# Installs what the tests need and the machine may lack: Debian packages
# (docker engine, skopeo, chromium, CNCF Distribution, Prometheus, libfaketime, rpm, Java
# and maven-artifact for the version-order tests, the scan fixtures' Go, rpm
# and jar) and the browser-test packages from npm.
# Idempotent: installs only what is missing.
set -euo pipefail

log() { printf '==> %s\n' "$*" >&2; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v skopeo >/dev/null || missing+=(skopeo)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# CNCF Distribution, what `make bench` (and its smoke in `make test`) compares against.
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
# libfaketime: tests age blob links by running a server or `berth gc` with a moved clock.
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || missing+=(faketime)
# rpm: the scanner's rpm version order is tested against rpm's own rpm.vercmp.
command -v rpm >/dev/null && command -v rpmbuild >/dev/null || missing+=(rpm)
# Java and maven-artifact: the Maven version order is tested against Maven's own ComparableVersion.
command -v java >/dev/null || missing+=(default-jre-headless)
[ -e /usr/share/java/maven3-artifact.jar ] || missing+=(libmaven3-core-java)
# The scanner's real fixtures (.ci/scan-fixtures.sh): a Go toolchain and a Go
# module's sources to build a Go binary with, rpm (rpmbuild, and rpm to install
# into a private rpmdb, gpg and Debian's keyring to import a signing key into
# it), and a jar carrying Maven's pom.properties.
[ -x /usr/lib/go-1.19/bin/go ] || missing+=(golang-1.19-go)
[ -e /usr/share/gocode/src/golang.org/x/text/go.mod ] || missing+=(golang-golang-x-text-dev)
[ -e /usr/share/java/snakeyaml.jar ] || missing+=(libyaml-snake-java)
command -v gpg >/dev/null || missing+=(gpg)
[ -e /usr/share/keyrings/debian-archive-bookworm-stable.gpg ] || missing+=(debian-archive-keyring)
# Prometheus: tests/metrics.rs starts Debian's to scrape Berth and query what it saw.
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

here="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -d "$here/end2end/node_modules/@playwright/test" ]; then
  log "installing the browser-test packages (npm ci in end2end/)"
  (cd "$here/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi
