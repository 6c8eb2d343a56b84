# One command each: `make serve` (set up + run), `make test` (set up + check + test).
# ARGS is passed to the command: `make serve ARGS="--port 9000"`, `make bench ARGS=--quick`.
PYTHON ?= python3
VENV ?= .venv
ARGS ?=
BIN := $(VENV)/bin

.PHONY: setup serve demo test lint js-setup bench clean

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

# The JavaScript SDKs the conformance suite runs when Node.js is there (tests/js, from its lockfile).
JS_DIR := tests/js
js-setup:
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -d $(JS_DIR)/node_modules ] || [ $(JS_DIR)/package-lock.json -nt $(JS_DIR)/node_modules ]; then \
			npm ci --prefix $(JS_DIR) --no-audit --no-fund --silent && touch $(JS_DIR)/node_modules; \
		fi; \
	else \
		echo "npm not found: the JavaScript SDK tests will be skipped"; \
	fi

test: lint js-setup
	$(BIN)/pytest $(ARGS)

bench: setup
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis $(JS_DIR)/node_modules
