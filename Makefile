# The same targets run locally and in CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: install run test system-deps test-sqlite test-postgres lint format bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## make run: migrate, load the demo tenant into a new database, serve on 127.0.0.1:8000
run: install
	$(VENV)/bin/callrec run

## make test: lint + type check, then the whole suite on SQLite and on PostgreSQL
test: lint system-deps test-sqlite test-postgres

# Real SIP peers for the SIPREC tests: SIPp (Debian's sip-tester). Installed when missing.
system-deps:
	@command -v sipp >/dev/null 2>&1 || { \
		echo "installing sip-tester (SIPp) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester; }

test-sqlite: install
	CALLREC_TEST_DB=sqlite $(PY) -m pytest -q

test-postgres: install
	@if CALLREC_TEST_PG_URL=$(PG_URL) $(PY) scripts/pg_available.py; then \
		CALLREC_TEST_DB=postgresql CALLREC_TEST_PG_URL=$(PG_URL) $(PY) -m pytest -q; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is not reachable at $(PG_URL): CI must not skip it" >&2; exit 1; \
	else \
		echo "!!! PostgreSQL not reachable at $(PG_URL): the PostgreSQL run was NOT done !!!" >&2; \
	fi

lint: install
	$(VENV)/bin/ruff format --check src tests migrations bench
	$(VENV)/bin/ruff check src tests migrations bench
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format src tests migrations bench
	$(VENV)/bin/ruff check --fix src tests migrations bench

## make bench: every benchmark at the size its issue names (bench-quick: smoke sizes)
bench: install
	$(PY) bench/policy.py
	$(PY) bench/processing.py
	$(PY) bench/capture.py
	$(PY) bench/tts.py
	$(PY) bench/proxy.py
	$(PY) bench/reports.py
	$(PY) bench/playback.py

bench-quick: install
	$(PY) bench/policy.py --quick
	$(PY) bench/processing.py --quick
	$(PY) bench/capture.py --quick
	$(PY) bench/tts.py --quick
	$(PY) bench/proxy.py --quick
	$(PY) bench/reports.py --quick
	$(PY) bench/playback.py --quick

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
