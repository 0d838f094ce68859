#!/bin/sh
# RUSTC_WORKSPACE_WRAPPER for `make test`: compiles Berth's own crates (cargo
# applies it to workspace members only) with clippy-driver, which is rustc
# with clippy's lints, and denies every warning. The build that the tests run
# is then also the `cargo clippy -D warnings` check, so no dependency is
# compiled a second time just to be checked.
exec clippy-driver "$@" -D warnings
