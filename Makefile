# The two commands of the README: `make run` and `make test`. Both work on a fresh
# machine with Python 3.11+ and make: they create .venv and install the project first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# mypy for the client library (client/), which runs where Python may be as old as 3.9:
# mypy 2 no longer checks code as 3.9, so a 1.x of its own, with the stubs of requests.
CLIENT_MYPY := $(VENV)/client-mypy
CLIENT_MYPY_INSTALLED := $(CLIENT_MYPY)/.installed

.PHONY: install lock run test lint pytest openapi bench clean

# Every dependency (and theirs) at the version and hash that requirements.lock pins; then
# the project and the client library themselves, adding nothing (`make lock` refreshes it).
$(INSTALLED): pyproject.toml client/pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e . -e ./client
	touch $(INSTALLED)

install: $(INSTALLED)

# Pin every dependency of `.[dev]` again at the newest versions pyproject.toml's ranges
# allow, with their hashes (pip-tools, in a venv of its own). The project's own line,
# which pip-compile adds for the dev extra's `jamkesda-ktp[test]`, is dropped: it is
# installed from the working tree. Review the diff, run `make test`, commit.
LOCK_TOOLS := $(VENV)/lock-tools
lock:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/pip install --quiet 'pip-tools>=7.4,<8'
	$(LOCK_TOOLS)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --extra dev \
		--output-file requirements.lock.new pyproject.toml
	awk '/^# WARNING: pip install will require/ { skip = 4 } skip > 0 { skip--; next } \
		{ sub(/requirements\.lock\.new/, "requirements.lock"); print }' \
		requirements.lock.new > requirements.lock
	rm requirements.lock.new

$(CLIENT_MYPY_INSTALLED): client/pyproject.toml
	$(PYTHON) -m venv $(CLIENT_MYPY)
	$(CLIENT_MYPY)/bin/pip install --quiet 'mypy>=1.10,<2' types-requests
	touch $(CLIENT_MYPY_INSTALLED)

# Migrate the embedded SQLite database, load the demo data once, show the keys, serve.
# Always the embedded default, whatever DATABASE_URL the shell exports (empty means unset):
# instance/demo.txt holds the keys of instance/jamkesda.db and of no other database.
run: export DATABASE_URL :=
run: install
	$(BIN)/jamkesda db upgrade
	@if [ -f instance/demo.txt ] && [ -f instance/jamkesda.db ]; then \
		cat instance/demo.txt; \
	else \
		$(BIN)/jamkesda demo; \
	fi
	$(BIN)/jamkesda serve --bind 127.0.0.1:8000

# The client library is checked by its own configuration (client/pyproject.toml: Python 3.9).
lint: install $(CLIENT_MYPY_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd client && $(abspath $(CLIENT_MYPY))/bin/mypy

# The suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL names a server.
pytest: install
	env -u TEST_DATABASE_URL $(BIN)/pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "--- the same suite on PostgreSQL"; \
		$(BIN)/pytest -q; \
	fi

test: lint pytest

# Benchmarks against PostgreSQL (BENCH_DATABASE_URL, default the local server); bench/run
# installs wrk from Debian's packages when missing. Figures: bench/results/*.json.
bench: install
	bash bench/run

openapi: install
	$(BIN)/jamkesda openapi write openapi.yaml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
