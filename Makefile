# deploywatch: `make demo` runs the demo, `make test` runs lint, type checks and the test suite.
# Both create their own virtual environment in .venv (override with VENV=…).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_DIR ?= deploywatch-demo

.PHONY: demo test lint typecheck unit bench docs clean test-any-date

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/deploywatch demo $(DEMO_DIR)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck unit

# The suite with the clock 200 days ahead in UTC+14, then in Los Angeles (needs faketime and cc).
test-any-date: $(STAMP)
	tests/tools/any-date.sh $(BIN)/python

bench: $(STAMP)
	$(BIN)/python benchmarks/drift.py
	$(BIN)/python benchmarks/deploy.py
	$(BIN)/python benchmarks/checks.py
	$(BIN)/python benchmarks/web.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache .hypothesis

docs: $(STAMP)
	$(BIN)/python docs/generate.py
