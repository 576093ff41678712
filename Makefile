# spotcheck-ledger — two commands: `make demo` and `make test` (each installs into .venv).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export SPOTCHECK_HOME ?= var

.PHONY: install demo test lint typecheck bench clean-demo browser-deps screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[server,postgres,dev]"
	touch $(STAMP)

install: $(STAMP)

## The main job: sample season on the embedded SQLite store, served on 127.0.0.1:8000.
demo: $(STAMP)
	$(BIN)/python -m ledger.demo --serve --host 127.0.0.1 --port 8000

## Lint, type-check and the whole test suite (PostgreSQL tests need SPOTCHECK_TEST_POSTGRES_URL).
test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Debian's chromium and CJK fonts for the browser tests (never a downloaded browser).
browser-deps:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	    || echo "warning: could not install chromium/fonts-noto-cjk: browser tests will fail"; }

## Refresh the README's screenshots (docs/img/) from the browser test.
screenshots: $(STAMP) browser-deps
	SPOTCHECK_UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/test_browser.py

## Benchmarks (longer than the tests): figures go to docs/PERFORMANCE.md.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean-demo:
	rm -rf var
