#!/usr/bin/env bash
# Real package data for the scanner's tests (issue 17 §7), each made by the
# tool whose format it is, on this machine, offline except the package
# registries (Debian, crates.io, PyPI, npm):
#
#   go/hello                 a Go 1.19 binary (Debian's golang-1.19-go) whose build
#                            info requires golang.org/x/text v0.3.7; no module
#                            proxy is reachable, so the module is replaced by
#                            Debian's golang-golang-x-text-dev sources (a
#                            directory replacement: the build info keeps the
#                            required v0.3.7, which real advisories name)
#   rust/auditable-hello     a Rust binary built with `cargo auditable`,
#                            depending on smallvec =1.6.0 (RUSTSEC-2021-0003)
#   rpm/var/lib/rpm/rpmdb.sqlite
#                            an rpmdb (sqlite backend) made by `rpm --root -i`
#                            of noarch packages built by `rpmbuild`, named and
#                            versioned as RHEL 9.0's openssl, openssl-libs
#                            (epoch 1, source openssl) and curl, and Debian
#                            12's release key imported (a gpg-pubkey entry)
#   apk/lib/apk/db/installed a verbatim real Alpine 3.19 installed database
#                            (Debian has no apk-tools): .ci/scan-fixtures/
#                            apk-installed, see the README beside it
#   python/                  `pip install --target` of requests 2.19.1,
#                            urllib3 1.24.1, Jinja2 2.10 (wheels, no deps)
#   npm/node_modules/        `npm install` of lodash 4.17.15, minimist 1.2.0
#   java/snakeyaml-1.33.jar  Debian's libyaml-snake-java jar (it carries
#                            META-INF/maven/org.yaml/snakeyaml/pom.properties)
#   java/app.jar             a jar holding that jar in BOOT-INF/lib/ (nested)
#
# Usage: .ci/scan-fixtures.sh [DEST]    builds into DEST (default
#          $BERTH_TOOLS/scan-fixtures/<version>) unless it is already built,
#          and prints DEST on stdout (progress goes to stderr);
#        .ci/scan-fixtures.sh --print-dest   prints the default DEST only.
# The version is a hash of this script, tools.sh and the data, so a change rebuilds and
# a warm run only checks that DEST/.complete exists. Concurrent runs for the
# same DEST wait for each other (flock).
#   BERTH_TOOLS  cache root (default ~/.cache/berth-tools)
#   PYTHON       the interpreter whose venv runs pip (default python3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
TOOLS="${BERTH_TOOLS:-$HOME/.cache/berth-tools}"

version="$(cat "$here/scan-fixtures.sh" "$here/tools.sh" "$here"/scan-fixtures/* | sha256sum | cut -c1-16)"
if [ "${1:-}" = --print-dest ]; then
  echo "$TOOLS/scan-fixtures/$version"
  exit 0
fi
dest="${1:-$TOOLS/scan-fixtures/$version}"

start=$(date +%s)
log() { printf '==> scan-fixtures [%3ds]: %s\n' $(($(date +%s) - start)) "$*" >&2; }

if [ -e "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$(dirname "$dest")"
exec 9>"$dest.lock"
flock 9
if [ -e "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi

need() { # COMMAND-OR-FILE DEBIAN-PACKAGE
  command -v "$1" >/dev/null || [ -e "$1" ] || {
    echo "scan-fixtures: $1 is missing: install the Debian package $2 (.ci/deps.sh does)" >&2
    exit 1
  }
}
# Debian's Go 1.19 by its own path: another go on PATH would change the
# binary's Go version, which the tests check.
go=/usr/lib/go-1.19/bin/go
need "$go" golang-1.19-go
need rpmbuild rpm
need npm npm
need /usr/share/gocode/src/golang.org/x/text/go.mod golang-golang-x-text-dev
need /usr/share/java/snakeyaml.jar libyaml-snake-java
need gpg gpg
need /usr/share/keyrings/debian-archive-bookworm-stable.gpg debian-archive-keyring

work="$(mktemp -d "$dest.tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
out="$work/out"
mkdir -p "$out"
# Fixed build times and no paths of this machine in what is built (rpm still
# records when it installed each package).
export SOURCE_DATE_EPOCH=1700000000
# The caller's Rust settings (a clippy wrapper, a shared target directory) are
# not for these tiny builds.
unset RUSTC_WORKSPACE_WRAPPER RUSTC_WRAPPER CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

# ---- Go ----
log "a Go binary ($("$go" env GOVERSION))"
mkdir -p "$work/go/hello" "$out/go"
# The module, with a go.mod of its own that requires nothing (Debian's names
# golang.org/x/tools, for its generators), so nothing needs fetching.
cp -r /usr/share/gocode/src/golang.org/x/text "$work/go/text"
chmod -R u+w "$work/go/text"
printf 'module golang.org/x/text\n\ngo 1.17\n' >"$work/go/text/go.mod"
cat >"$work/go/hello/go.mod" <<'EOF'
module example.com/hello

go 1.19

require golang.org/x/text v0.3.7

replace golang.org/x/text => ../text
EOF
cat >"$work/go/hello/main.go" <<'EOF'
// A program that links golang.org/x/text/language (GO-2022-1059 names it).
package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	for _, arg := range os.Args[1:] {
		tag, err := language.Parse(arg)
		fmt.Println(tag, err)
	}
}
EOF
(cd "$work/go/hello" && env GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/go/cache" \
  GOPATH="$work/go/path" CGO_ENABLED=0 GO111MODULE=on \
  "$go" build -trimpath -buildvcs=false -o "$out/go/hello" .)

# ---- Rust ----
"$here/tools.sh" cargo-auditable
log "a Rust binary built with cargo auditable"
mkdir -p "$work/rust/src" "$out/rust"
cat >"$work/rust/Cargo.toml" <<'EOF'
[package]
name = "auditable-hello"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
# RUSTSEC-2021-0003 (CVE-2021-25900): smallvec >= 1.0.0, < 1.6.1.
smallvec = "=1.6.0"

[workspace]
EOF
cat >"$work/rust/src/main.rs" <<'EOF'
fn main() {
    let mut v: smallvec::SmallVec<[u32; 4]> = smallvec::SmallVec::new();
    v.extend(std::env::args().map(|a| a.len() as u32));
    println!("{}", v.iter().sum::<u32>());
}
EOF
(cd "$work/rust" && PATH="$TOOLS/bin:$PATH" CARGO_TARGET_DIR="$work/rust/target" \
  cargo auditable build --quiet --release)
cp "$work/rust/target/release/auditable-hello" "$out/rust/"

# ---- rpm ----
log "an rpmdb made by rpm $(rpm --version | awk '{print $3}')"
top="$work/rpmbuild"
mkdir -p "$top/SPECS" "$out/rpm"
spec() { # NAME EPOCH VERSION RELEASE SUBPACKAGE SUMMARY
  local epoch_line="" sub=""
  [ -n "$2" ] && epoch_line="Epoch: $2"
  [ -n "$5" ] && sub="%package $5
Summary: $6 ($5)
%description $5
$6 ($5).
%files $5"
  cat >"$top/SPECS/$1.spec" <<EOF
Name: $1
$epoch_line
Version: $3
Release: $4
Summary: $6
License: see the real package
BuildArch: noarch
%description
$6: a package named and versioned like RHEL 9.0's, holding no files, for
Berth's scanner tests.
%files
$sub
EOF
}
spec openssl 1 3.0.1 41.el9_0 libs "Utilities from the general purpose cryptography library with TLS implementation"
spec curl "" 7.76.1 14.el9 "" "A utility for getting files from remote servers (FTP, HTTP, and others)"
for s in "$top"/SPECS/*.spec; do
  rpmbuild --quiet --define "_topdir $top" --define "_buildhost berth-fixtures" \
    --define "use_source_date_epoch_as_buildtime 1" -bb "$s" >&2
done
rpm --root "$out/rpm" --dbpath /var/lib/rpm --define "_db_backend sqlite" \
  --nodeps --noscripts --notriggers --ignorearch -i "$top"/RPMS/noarch/*.rpm
# A signing key imported as real systems have theirs (rpm records it as a
# gpg-pubkey "package", which is none): Debian 12's release key.
GNUPGHOME="$work/gnupg" gpg --quiet --no-default-keyring \
  --keyring /usr/share/keyrings/debian-archive-bookworm-stable.gpg --export --armor >"$work/key.asc"
rpm --root "$out/rpm" --dbpath /var/lib/rpm --define "_db_backend sqlite" --import "$work/key.asc"
test -f "$out/rpm/var/lib/rpm/rpmdb.sqlite"

# ---- apk ----
log "an apk installed database (a verbatim real one)"
mkdir -p "$out/apk/lib/apk/db"
cp "$here/scan-fixtures/apk-installed" "$out/apk/lib/apk/db/installed"

# ---- Python ----
log "a Python target directory (pip install --target)"
# pip from a throwaway venv (as .ci/python.sh makes its own), not the tools venv,
# which .ci/python.sh may be building at the same time.
"${PYTHON:-python3}" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check --no-compile --no-deps \
  --only-binary :all: --target "$out/python" \
  requests==2.19.1 urllib3==1.24.1 Jinja2==2.10 >&2

# ---- npm ----
log "a node_modules (npm install)"
mkdir -p "$out/npm"
(cd "$out/npm" && npm install --silent --no-audit --no-fund --ignore-scripts \
  --cache "$work/npm-cache" lodash@4.17.15 minimist@1.2.0 >&2)

# ---- Java ----
log "jars with pom.properties (Debian's snakeyaml)"
mkdir -p "$out/java"
cp /usr/share/java/snakeyaml.jar "$out/java/snakeyaml-1.33.jar"
"${PYTHON:-python3}" - "$out/java" <<'EOF'
import sys, zipfile
d = sys.argv[1]
with zipfile.ZipFile(f"{d}/app.jar", "w") as z:
    info = zipfile.ZipInfo("META-INF/MANIFEST.MF", (2023, 11, 14, 22, 13, 20))
    z.writestr(info, "Manifest-Version: 1.0\r\nMain-Class: example.App\r\n\r\n")
    info = zipfile.ZipInfo("BOOT-INF/lib/snakeyaml-1.33.jar", (2023, 11, 14, 22, 13, 20))
    with open(f"{d}/snakeyaml-1.33.jar", "rb") as jar:
        z.writestr(info, jar.read(), compress_type=zipfile.ZIP_STORED)
EOF

touch "$out/.complete"
rm -rf "$dest"
mv "$out" "$dest"
log "done: $dest"
echo "$dest"
