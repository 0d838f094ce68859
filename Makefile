# Berth: the two commands. Both install what is missing first.
#   make run   build and start Berth on ./data (SQLite + filesystem)
#   make test  run every test with real docker, skopeo and a browser
#   make bench Berth against CNCF Distribution, side by side (bench/README.md)
#   make fuzz  run each cargo fuzz target for FUZZ_SECONDS (default 300; fuzz/README.md)

TOOLS ?= $(HOME)/.cache/berth-tools
export BERTH_TOOLS := $(TOOLS)
export PATH := $(TOOLS)/bin:$(TOOLS)/node/node_modules/.bin:$(PATH)

# cargo puts the server binary under CARGO_TARGET_DIR when it is set.
BIN := $(or $(CARGO_TARGET_DIR),target)/debug/berth

.PHONY: run test build check bench fuzz

run: build
	BERTH_SITE_ROOT=target/site $(BIN) serve

# The console's site (wasm-bindgen runs as a library in xtask/), then the server.
build:
	.ci/tools.sh
	cargo xtask build

test:
	.ci/test.sh

bench:
	.ci/bench.sh $(ARGS)

FUZZ_SECONDS ?= 300
fuzz:
	.ci/fuzz.sh $(FUZZ_SECONDS)

check:
	cargo fmt --all -- --check
	cargo clippy --workspace --exclude berth-frontend --all-targets -- -D warnings
