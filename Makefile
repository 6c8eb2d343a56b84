# One command each: `make serve` (set up + run), `make test` (set up + check + test).
# ARGS is passed to the command: `make serve ARGS="--port 9000"`, `make bench ARGS=--quick`.
PYTHON ?= python3
VENV ?= .venv
ARGS ?=
BIN := $(VENV)/bin

.PHONY: setup serve demo test lint bench clean

$(BIN)/roombot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/roombot

serve: setup
	$(BIN)/roombot serve $(ARGS)

demo: setup
	$(BIN)/roombot demo $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest $(ARGS)

bench: setup
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
