# The two commands: `make run` (set-up + the one-process pipeline over the examples) and
# `make test` (set-up + every test). Both create .venv on first use.
# the first of these that is 3.11 or 3.12 (durable-rules 2.0.28 does not import on 3.13)
PYTHON ?= $(shell for p in python3 python3.12 python3.11; do $$p -c 'import sys; \
	sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null && echo $$p && break; done)
VENV   := .venv
BIN    := $(VENV)/bin
WORKERS ?= auto
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | cksum | cut -d' ' -f1)

.PHONY: install run console test test-unit mutate lint schemas bench clean lock

$(STAMP): pyproject.toml requirements-dev.lock
	@test -n "$(PYTHON)" || { echo "Python 3.11 or 3.12 is needed (durable-rules 2.0.28 does \
	not import on 3.13); name one with PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

# the pipeline keeps what it assessed in a fresh var/demo.sqlite3, for `make console`
run: install
	@mkdir -p var && rm -f var/demo.sqlite3 var/demo.sqlite3.*
	DATABASE_URL=sqlite:///var/demo.sqlite3 $(BIN)/covenant run
	@echo "\nThe secretariat's console over these plans: make console"

console: install
	$(BIN)/covenant console demo

test: install
	$(BIN)/covenant rules lint
	$(BIN)/covenant rules test --coverage > /dev/null
	$(BIN)/python -m tests.mutation --profile ci
	$(BIN)/pytest -n $(WORKERS) tests/unit
	$(BIN)/pytest tests/broker

# the unit tests run on every core (pytest-xdist); the broker suites one at a time, as they
# time outages and failovers
test-unit: install
	$(BIN)/pytest -n $(WORKERS) tests/unit

# mutation testing of the modules that carry the promises (tests/mutation/profiles.yaml): hours,
# as each of the RabbitMQ transport's 312 mutants runs the broker adapter tests (about a minute);
# stopped, it goes on where it stopped, also in another checkout once tests/mutation/results/ is
# committed. The report lists every surviving mutant with its reason
mutate: install
	$(BIN)/python -m tests.mutation --profile full --report docs/mutation-report.md

lint: install
	$(BIN)/ruff check services tests bench
	$(BIN)/mypy services

schemas: install
	$(BIN)/python -m services.shared.contracts.schemas contracts
	$(BIN)/python -m services.rules.tooling.schema contracts
	$(BIN)/python -m services.shared.topology deploy/rabbitmq/definitions.json

# the pinned versions (with hashes) of every dependency: `make lock` after changing pyproject.toml
lock: install
	$(BIN)/python -m pip install -q pip-tools
	$(BIN)/pip-compile -q --no-emit-index-url --no-emit-find-links --strip-extras --generate-hashes --allow-unsafe \
		-o requirements.lock pyproject.toml
	$(BIN)/pip-compile -q --no-emit-index-url --no-emit-find-links --strip-extras --generate-hashes --allow-unsafe \
		--extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) outbox var .pytest_cache

bench: install
	$(BIN)/python -m bench.evaluation
	$(BIN)/python -m bench.scaling
	$(BIN)/python -m bench.relay
	$(BIN)/python -m bench.end_to_end
	$(BIN)/python -m bench.register
