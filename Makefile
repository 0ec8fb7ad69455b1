# Two set-up commands: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
ARGS ?=

.PHONY: install install-dev run test lint typecheck bench soak audit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(DEV_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@ $(STAMP)

install: $(STAMP)  ## install the bot into .venv

install-dev: $(DEV_STAMP)  ## install the bot and the development tools

run: $(STAMP)  ## start the bot on its embedded default (paper trading on synthetic replay data)
	$(BIN)/trading-bot run $(ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(DEV_STAMP)
	$(BIN)/mypy src

test: lint typecheck  ## lint, type-check and run every test (pytest exit 5, no tests, fails)
	$(BIN)/python -m pytest -q

bench: $(DEV_STAMP)  ## speed figures beside a peer measured in the same run
	$(BIN)/python bench/bench_backtest.py

soak: $(DEV_STAMP)  ## 24 market hours, paper and live, with faults: memory flat, nothing lost
	$(BIN)/python bench/soak.py --hours 24

audit:  ## check every pinned dependency against PyPI's vulnerability data (needs pypi.org's JSON API)
	test -x .venv-audit/bin/pip-audit || ($(PYTHON) -m venv .venv-audit && \
		.venv-audit/bin/pip install --quiet pip-audit==2.10.1)
	.venv-audit/bin/pip-audit --strict --no-deps --disable-pip -r constraints.txt

clean:
	rm -rf $(VENV) .venv-audit .pytest_cache .mypy_cache .ruff_cache
