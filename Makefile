# The two commands: `make run` (set-up + the one-process pipeline over the examples) and
# `make test` (set-up + every test). Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test test-unit lint schemas bench clean

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

run: install
	$(BIN)/covenant run

test: install
	$(BIN)/covenant rules lint
	$(BIN)/covenant rules test --coverage > /dev/null
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

lint: install
	$(BIN)/ruff check services tests bench
	$(BIN)/mypy services

schemas: install
	$(BIN)/python -m services.shared.contracts.schemas contracts
	$(BIN)/python -m services.rules.tooling.schema contracts
	$(BIN)/python -m services.shared.topology deploy/rabbitmq/definitions.json

clean:
	rm -rf $(VENV) outbox var .pytest_cache

bench: install
	$(BIN)/python -m bench.evaluation
	$(BIN)/python -m bench.relay
	$(BIN)/python -m bench.end_to_end
