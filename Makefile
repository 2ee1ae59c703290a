# cse-triage: `make run` starts the bot (terminal check when no TELEGRAM_BOT_TOKEN is set),
# `make test` installs everything and runs ruff, mypy and every test.
# Everything installs from requirements/dev.lock (exact versions, checked by hash) with uv, itself
# installed by pip from requirements/tools.lock (pinned, checked by hash) into .venv-uv/.
# `make lock` updates the lock after a change to pyproject.toml (`make lock LOCK_ARGS=--upgrade`
# moves every package to the newest version pyproject.toml allows).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.lock
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
# pytest-xdist: one worker per core (2 on the reference machine); each worker starts its own
# throwaway PostgreSQL, and slow tests are handed out first (tests/conftest.py). `worksteal`: a
# worker that runs out of tests takes half of another's queue. With the default `load` scheduling
# one worker was left with 60 s of tests after the other had finished (measured: 105 s vs 86 s).
PYTEST_WORKERS ?= auto

.PHONY: run web test lint typecheck pytest bench soak clean postgres chromium lock bytecode dist web-assets

# --compile-bytecode: every package's .pyc is written at install, as pip does (uv does not by
# default), so a process never compiles a library at start-up, even where PYTHONDONTWRITEBYTECODE
# is set (as on the reference machine: the terminal check took 1.0 s to start instead of 0.66 s).
$(STAMP): $(LOCK) pyproject.toml $(UV_VENV)/.installed
	$(PYTHON) -m venv --clear --without-pip $(VENV)
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes --compile-bytecode $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Our own modules' .pyc (only the changed ones are rewritten; a stale one is never used).
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q bot flows storage bench testkit >/dev/null

# Exit status 2 is a refusal to start, already explained on the lines above (a setting or the
# contacts file to fix): make then stops there, without an error line of its own.
run: $(STAMP) bytecode
	@$(BIN)/cse-triage run $(ARGS) || [ $$? -eq 2 ]

postgres:
	@bash scripts/ensure-postgres.sh

# Chromium from the OS packages for the browser tests of the web page (never a downloaded browser).
chromium:
	@bash scripts/ensure-chromium.sh

# The check as a web page on http://127.0.0.1:8080/ (WEB_LISTEN, WEB_PORT; needs CHAT_KEY_SECRET).
web: $(STAMP) bytecode
	@$(BIN)/cse-triage web $(ARGS) || [ $$? -eq 2 ]

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

# PYTHONDONTWRITEBYTECODE (set on the reference machine) is cleared for the tests: pytest then keeps
# the test modules it rewrites for its asserts in __pycache__ instead of rewriting all of them again
# in every worker on every run (collection: 5.1 s of CPU in each worker, 2.8 s with them kept).
pytest: $(STAMP) bytecode
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

test: $(STAMP) postgres chromium lint typecheck pytest

# The reliability tests at full size (200 practitioners, long fuzz runs, thousands of faults),
# and the property tests of the rules and of `impact` at their full example counts (testkit/sizes.py:
# make test runs every one of these smaller); figures in docs/reliability.md. Opt-in: takes several
# minutes.
soak: $(STAMP) postgres
	CSE_SOAK=1 $(BIN)/pytest -q -s -W ignore::DeprecationWarning \
		tests/ops/test_reliability.py tests/ops/test_reliability_fuzz.py tests/ops/test_reliability_load.py \
		tests/telegram/test_one_chat_cannot_delay_the_others.py tests/ops/test_slow_webhook_clients.py \
		tests/flows/test_triage_rules.py tests/flows/test_impact.py $(PYTEST_ARGS)

# The benchmark (docs/benchmarks.md): `make bench`, or e.g. `make bench BENCH_ARGS="-n 500 --json out.json"`;
# with DATABASE_URL set to PostgreSQL it also runs there (in a throwaway schema).
bench: $(STAMP) bytecode
	$(BIN)/python -m bench $(BENCH_ARGS)

# Re-resolve the lock from pyproject.toml (keeping current versions where they still fit, unless
# LOCK_ARGS=--upgrade or LOCK_ARGS="--upgrade-package NAME"), for every platform, with hashes.
lock: $(UV_VENV)/.installed
	$(UV) pip compile --quiet pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" $(LOCK_ARGS) -o $(LOCK)
	$(UV) pip compile --quiet requirements/tools.in --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" -o requirements/tools.lock
	@# The container image's lock (deploy/Dockerfile): the runtime packages only, at the versions
	@# of the dev lock.
	$(UV) pip compile --quiet pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" -c $(LOCK) -o requirements/runtime.lock

$(UV_VENV)/.installed: requirements/tools.lock
	@$(PYTHON) -c 'import sys; sys.exit("cse-triage needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv --clear $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements/tools.lock
	@touch $@

# The install bundle for a production host with no package index (deploy/README.md):
# dist/cse-triage-VERSION.tar.gz holds this project's wheel, every runtime dependency as a wheel
# (requirements/runtime.lock, hashes checked when downloaded and again when installed), the lock,
# deploy/install.sh and the deployment files. Built here (needs the package index); the wheels are
# for this machine's Python and platform unless DIST_TARGET says otherwise, e.g.
#   make dist DIST_TARGET="--python-version 3.12 --platform manylinux2014_x86_64"
VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
DIST_DIR ?= dist
BUNDLE = $(DIST_DIR)/cse-triage-$(VERSION)
dist: $(STAMP)
	rm -rf $(BUNDLE) $(BUNDLE).tar.gz build
	$(UV) build --quiet --wheel --no-build-isolation --python $(BIN)/python -o $(BUNDLE) .
	PIP_CONFIG_FILE=/dev/null $(UV_VENV)/bin/python -m pip --isolated download --quiet --disable-pip-version-check \
		--only-binary=:all: --require-hashes $(DIST_TARGET) -r requirements/runtime.lock -d $(BUNDLE)/wheelhouse
	cp requirements/runtime.lock $(BUNDLE)/requirements.lock
	cp deploy/install.sh $(BUNDLE)/install.sh
	mkdir -p $(BUNDLE)/deploy
	cp deploy/README.md deploy/env.example deploy/*.service deploy/nginx.conf $(BUNDLE)/deploy/
	cp .env.example $(BUNDLE)/env.example
	cp CHANGELOG.md $(BUNDLE)/CHANGELOG.md
	cp flows/content/contacts.example.yaml $(BUNDLE)/contacts.example.yaml
	echo "$(VERSION)" > $(BUNDLE)/VERSION
	cd $(BUNDLE) && sha256sum VERSION *.whl wheelhouse/*.whl requirements.lock > SHA256SUMS
	tar -C $(DIST_DIR) -czf $(BUNDLE).tar.gz cse-triage-$(VERSION)
	rm -rf build
	@echo "built $(BUNDLE).tar.gz (install: deploy/README.md)"

clean:
	rm -rf $(VENV) $(UV_VENV) dist build .mypy_cache .ruff_cache .pytest_cache .hypothesis tests/artifacts

# The web page's CSS and JavaScript (bot/web/static/ds.css, app.js): built from the Scottish
# Government Design System pinned with hashes in assets/web/package-lock.json (npm registry,
# never a CDN). The built files are committed, so the service needs no Node.js; run this after
# changing assets/web/ and commit the result.
web-assets:
	cd assets/web && npm ci --ignore-scripts --no-audit --no-fund && node build.mjs
