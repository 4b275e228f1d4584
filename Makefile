# Common tasks. `make demo` and `make test` set themselves up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN ?= runs/demo

.PHONY: setup demo test test-fast lint format bench clean browser

$(BIN)/lookalike: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of PyTorch first (a plain `torch` would pull a multi-GB CUDA build); see README.
	$(BIN)/pip install -q "torch==2.13.0" || $(BIN)/pip install -q "torch>=2.2,<2.15"
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

setup: $(BIN)/lookalike

demo: setup
	$(BIN)/lookalike demo $(RUN)

# Chromium for the browser tests (Debian package; never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will be skipped"; }

test: setup browser
	$(BIN)/python -m pytest -q -ra --durations=15

test-fast: setup
	$(BIN)/python -m pytest -q -ra -m "not slow and not browser"

lint: setup
	$(BIN)/ruff check src tests benchmarks

format: setup
	$(BIN)/ruff format src tests benchmarks

bench: setup
	for f in benchmarks/[!_]*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
