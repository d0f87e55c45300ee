# One entry point for people and CI. Python 3.11 is required (pinned wheels).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DEMO := .demo

.PHONY: install demo test lint ui clean

$(BIN)/hybrid-pipelines: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/hybrid-pipelines

# Install, write the bundled sample inbox and run the whole lineage on it.
demo: install
	rm -rf $(DEMO)
	$(BIN)/hybrid-pipelines sample --inbox $(DEMO)/inbox
	$(BIN)/hybrid-pipelines run --inbox $(DEMO)/inbox --home $(DEMO)/home
	$(BIN)/hybrid-pipelines audit --home $(DEMO)/home

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	$(BIN)/python -m pytest -q

ui: install
	$(BIN)/hybrid-pipelines ui --home $(DEMO)/home

clean:
	rm -rf $(DEMO) .pytest_cache .ruff_cache
