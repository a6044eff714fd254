# helhet — every target creates .venv when absent and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# axe-core (the console's accessibility checks in the browser tests), from its npm package.
AXE_VERSION := 4.14.1
AXE := .cache/axe-core/node_modules/axe-core/axe.min.js

.PHONY: install demo test bench lint fmt clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## .venv with helhet and everything it needs (then: . .venv/bin/activate)

$(AXE):
	@if command -v npm >/dev/null; then \
	  npm install --prefix .cache/axe-core --no-save --no-audit --no-fund --no-package-lock \
	    --silent axe-core@$(AXE_VERSION); \
	else echo "npm not found: the console's axe-core checks are skipped (they fail under CI)"; fi

demo: $(STAMP)  ## the main job on the embedded defaults (SQLite + bundled broker)
	$(BIN)/helhet demo

test: $(STAMP) $(AXE)  ## the whole suite against real SQLite, PostgreSQL, a broker, Chromium
	$(BIN)/python -m pytest

bench: $(STAMP)  ## performance runs; results print as a table and save as JSON in .bench/
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-venv:
	rm -rf $(VENV)
