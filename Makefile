# Two commands do all the set-up on a fresh machine that has python3:
#   make demo   — create .venv if missing, install zjfin, screen the synthetic province
#   make test   — the same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.zjfin-installed
FIRMS  ?= 20000

.PHONY: all install demo test test-compat bench bench-network bench-model clean

all: test

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "zjfin needs Python >= 3.10 (found $$($(PYTHON) --version))"; exit 2; }
	$(PYTHON) -m venv $(VENV) || { echo "could not create $(VENV): install the venv module (Debian: apt-get install python3-venv)"; exit 2; }

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/zjfin demo --firms $(FIRMS) --out zjfin-demo

test: install
	$(BIN)/python -m pytest -q

# The suite again on the oldest supported stack (pandas 2.2, numpy < 2.3) in .venv-compat.
test-compat:
	@test -x .venv-compat/bin/python || $(PYTHON) -m venv .venv-compat
	.venv-compat/bin/python -m pip install --quiet "pandas==2.2.3" "numpy<2.3" -e ".[test]"
	.venv-compat/bin/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/bench_foundation.py

bench-network: install
	$(BIN)/python benchmarks/bench_network.py

# The default model on the real data in ../shared/data, against optbinning and boosting.
bench-model: install
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) .venv-compat zjfin-demo .pytest_cache .hypothesis build *.egg-info
