# helhet — every target creates .venv when absent and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test bench lint fmt clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## .venv with helhet and everything it needs (then: . .venv/bin/activate)

demo: $(STAMP)  ## the main job on the embedded defaults (SQLite + bundled broker)
	$(BIN)/helhet demo

test: $(STAMP)  ## the whole test suite against real SQLite, PostgreSQL and a broker
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
