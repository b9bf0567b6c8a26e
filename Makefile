# Tollgate: the two commands are `make demo` and `make test` (see README.md).
#
# Dependencies are installed into .venv only when pyproject.toml or requirements.lock changed
# since the last install: a stamp file named after their hash (.venv/.installed-<extra>-<hash>)
# records each install, so a second run starts straight away. uv (pinned in requirements.lock)
# installs them in seconds; pip does it, much more slowly, only if uv itself cannot be installed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON3 ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
BIN := $(VENV)/bin

DEPS_HASH := $(shell cat pyproject.toml requirements.lock | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-16)
DEV_STAMP := $(VENV)/.installed-dev-$(DEPS_HASH)
DEMO_STAMP := $(VENV)/.installed-localaws-$(DEPS_HASH)
# The dev extra includes localaws: after `make test`, `make demo` has nothing to install.
DEMO_DEPS := $(if $(wildcard $(DEV_STAMP)),$(DEV_STAMP),$(DEMO_STAMP))

# mypy and pytest run the way production does (DEBUG off), so settings need a SECRET_KEY; the
# fake AWS credentials make sure no test can reach a real AWS account by accident.
TEST_ENV := env -u DEBUG -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN \
	SECRET_KEY=test-only-secret-key-not-for-production \
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
	CHROMIUM_PATH=/usr/bin/chromium SCREENSHOT_DIR=test-artifacts/screenshots

.PHONY: help demo test lint moto-suite fmt vendor chromium deps-demo deps-dev clean

help:
	@echo "make demo    run the whole product locally (Redis, local AWS, web, worker, beat) on http://127.0.0.1:$${PORT:-8000}/"
	@echo "make test    ruff, mypy and the whole test suite (installs Chromium from Debian if missing)"
	@echo "make lint    ruff check, ruff format --check and mypy only"
	@echo "make moto-suite  moto's own API Gateway and CloudWatch tests against localaws (in make test)"
	@echo "make fmt     ruff format and ruff check --fix"
	@echo "make vendor  refresh static/vendor/ from package-lock.json (needs node and npm)"
	@echo "make clean   remove var/ (the demo's data) and test artefacts"

# --- virtualenv and dependencies ------------------------------------------------------------
$(PY):
	@$(PYTHON3) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "Tollgate needs Python 3.11 or newer as $(PYTHON3) (found: $$($(PYTHON3) --version 2>&1))." >&2; exit 1; }
	$(PYTHON3) -m venv $(VENV)

# $(call install,EXTRA[,UV OPTIONS]): the lock's versions of Tollgate's dependencies and EXTRA's,
# with uv; with pip (and a message saying so) if uv cannot be installed.
define install
	@if $(PIP) install --quiet --disable-pip-version-check -c requirements.lock uv; then \
		echo "$(BIN)/uv pip install $(strip $(2) -c requirements.lock) -e '.[$(1)]'"; \
		$(BIN)/uv pip install --python $(PY) $(strip $(2) -c requirements.lock) -e '.[$(1)]'; \
	else \
		echo "*** uv could not be installed: installing with plain pip instead (several minutes) ***" >&2; \
		$(PIP) install --disable-pip-version-check -c requirements.lock -e '.[$(1)]'; \
	fi
	@find $(VENV) -maxdepth 1 -name '.installed-*' ! -name '*-$(DEPS_HASH)' -delete
	@touch $@
endef

# The demo skips compiling bytecode at install (about 20 s, mostly for packages it never imports);
# its processes write that of what they import on the first start. The test suite starts many
# Python processes, so its install compiles everything once, as pip does.
$(DEMO_STAMP): | $(PY)
	$(call install,localaws)

$(DEV_STAMP): | $(PY)
	$(call install,dev,--compile-bytecode)

deps-demo: $(DEMO_DEPS)
deps-dev: $(DEV_STAMP)

# --- command 1: the demo --------------------------------------------------------------------
# scripts/start_demo.py checks the ports, sets the environment up and migrates, then runs the
# Procfile (redis, aws, web, worker, beat, each restarted after a crash) with honcho.
demo: deps-demo
	@$(PY) scripts/start_demo.py

# --- command 2: the tests -------------------------------------------------------------------
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		command -v apt-get >/dev/null || { echo "Browser tests need /usr/bin/chromium; install Chromium (Debian package: chromium) and run make test again." >&2; exit 1; }; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; \
		elif command -v sudo >/dev/null; then SUDO=sudo; echo "Installing Debian's chromium with sudo ..."; \
		else echo "Browser tests need /usr/bin/chromium: run 'apt-get update && apt-get install -y chromium' as root, then make test again." >&2; exit 1; fi; \
		$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
			|| { echo "Could not install chromium: run 'apt-get update && apt-get install -y chromium' as root, then make test again." >&2; exit 1; }; \
	fi

define LINT
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(TEST_ENV) $(BIN)/mypy .
endef

lint: deps-dev
	$(LINT)

# Moto's own API Gateway and CloudWatch test suites (from the sdist of the installed moto,
# downloaded from PyPI once into .venv/moto-sdist/) against localaws; fails on a failure not
# listed in tests/localaws/moto_suite_expected.toml and on a listed test that passes.
define MOTO_SUITE
	@$(TEST_ENV) $(PY) scripts/moto_suite.py
endef

moto-suite: deps-dev
	$(MOTO_SUITE)

# In order, stopping at the first failure: deps, Chromium, ruff, ruff format, mypy, moto's
# suites against localaws, pytest. pytest's exit code 5 (no tests collected) fails like any other.
test: deps-dev
	@$(MAKE) --no-print-directory chromium
	$(LINT)
	$(MOTO_SUITE)
	@mkdir -p test-artifacts/screenshots
	@$(TEST_ENV) $(BIN)/pytest || { rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests: failing on purpose." >&2; fi; \
		exit $$rc; }

fmt: deps-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# --- static vendor files (maintainers with node only) ------------------------------------------
vendor:
	npm ci --no-audit --no-fund
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico.min.css
	sed "/sourceMappingURL=chart.umd.min.js.map/d" node_modules/chart.js/dist/chart.umd.min.js > static/vendor/chart.umd.min.js
	mkdir -p static/vendor/swagger-ui && cd node_modules/swagger-ui-dist && cp swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt LICENSE NOTICE ../../static/vendor/swagger-ui/ && sed '/sourceMappingURL=swagger-ui.css.map/d' swagger-ui.css > ../../static/vendor/swagger-ui/swagger-ui.css
	@echo "static/vendor/ refreshed from package-lock.json; commit the changed files."

clean:
	rm -rf var test-artifacts .pytest_cache .mypy_cache .ruff_cache
