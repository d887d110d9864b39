# Entry points for people and CI. `make test` is what CI runs (.ci/run).
.PHONY: deps build test lint demo bench fuzz clean manifests

CARGO ?= cargo

deps:
	@scripts/install-deps.sh

build:
	$(CARGO) build --locked

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CARGO) deny --locked check licenses bans sources

# deploy/ from src/install/templates (the default options of
# `vault-csi-driver install`); tests/install.rs fails when they differ.
manifests:
	$(CARGO) run --locked --quiet --bin vault-csi-driver -- install --output-dir deploy

# Every test: unit tests and the integration tests against real tmpfs mounts
# (needs root) and a real OpenBao.
test: deps lint
	@if [ "$$(id -u)" != 0 ]; then echo "make test mounts tmpfs volumes: run it as root" >&2; exit 1; fi
	$(CARGO) test --locked --workspace

# Shows the driver doing its job: OpenBao, a Pod, a publish, the files.
demo: deps
	@if [ "$$(id -u)" != 0 ]; then echo "make demo mounts a tmpfs: run it as root" >&2; exit 1; fi
	$(CARGO) build --locked --bin vault-csi-driver
	$(CARGO) run --locked --quiet --example demo

# Benchmarks print numbers and ratios; they assert nothing. The last one
# prints every figure in one table (also target/bench-results/table.md).
bench: deps
	@if [ "$$(id -u)" != 0 ]; then echo "make bench mounts tmpfs volumes: run it as root" >&2; exit 1; fi
	$(CARGO) bench --locked --bench publish_latency
	$(CARGO) bench --locked --bench refresh_load
	$(CARGO) bench --locked -p gotemplate --bench execute
	$(CARGO) bench --locked -p consul-funcs --bench render_throughput
	$(CARGO) bench --locked --bench fleet_model
	$(CARGO) bench --locked --bench summary

# Fuzzes template parsing and execution (libFuzzer via cargo-fuzz) for
# FUZZ_SECONDS each: the engine alone (crates/gotemplate/fuzz), then the
# engine with the function library (fuzz/). cargo-fuzz needs nightly
# flags, which RUSTC_BOOTSTRAP allows.
FUZZ_SECONDS ?= 180
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd crates/gotemplate/fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run execute corpus/execute -- -max_total_time=$(FUZZ_SECONDS) -timeout=10
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run template corpus/template -- -max_total_time=$(FUZZ_SECONDS) -timeout=10

clean:
	$(CARGO) clean
