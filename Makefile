# Two commands do all the set-up on a fresh machine that has python3:
#   make demo   — create .venv if missing, install zjfin, screen the synthetic province
#   make test   — the same set-up, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.zjfin-installed
FIRMS  ?= 20000

WHEEL_VENV := .venv-wheel

.PHONY: all install demo test test-wheel test-parquet-pandas22 test-compat libreoffice chromium bulletin-screenshot bench bench-network bench-model clean

all: test

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "zjfin needs Python >= 3.10 (found $$($(PYTHON) --version))"; exit 2; }
	$(PYTHON) -m venv $(VENV) || { echo "could not create $(VENV): install the venv module (Debian: apt-get install python3-venv)"; exit 2; }

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dask]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/zjfin demo --firms $(FIRMS) --out zjfin-demo

test: install
	-@$(MAKE) --no-print-directory chromium
	$(BIN)/python -m pytest -q
	@$(MAKE) --no-print-directory test-wheel
	@$(MAKE) --no-print-directory test-parquet-pandas22

# The Parquet outputs of a demo open with pandas 2.2 too (the oldest pandas users have),
# read in a small environment of its own.
PANDAS22_VENV := .venv-pandas22
test-parquet-pandas22: install
	@test -x $(PANDAS22_VENV)/bin/python || $(PYTHON) -m venv $(PANDAS22_VENV)
	$(PANDAS22_VENV)/bin/python -m pip install --quiet "pandas==2.2.3" "numpy<2.3" "pyarrow>=15"
	out="$$(mktemp -d)" && $(BIN)/zjfin -q demo --firms 2000 --out "$$out" && $(PANDAS22_VENV)/bin/python tests/read_parquet_outputs.py "$$out"

# The package as a user gets it: the sdist built, the wheel built from the sdist, the wheel
# installed into a fresh virtual environment, and there, from a folder outside the source
# tree, every module imported and the demo run (tests/installed_package.py).
test-wheel: install
	rm -rf build dist $(WHEEL_VENV)
	$(BIN)/python -m build --no-isolation --outdir dist . > dist.log 2>&1 || { cat dist.log; exit 1; }
	@rm -f dist.log
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet dist/zjfin-*.whl
	cd "$$(mktemp -d)" && "$(CURDIR)/$(WHEEL_VENV)/bin/python" "$(CURDIR)/tests/installed_package.py"

# The suite again on the oldest supported stack (pandas 2.2, numpy < 2.3) in .venv-compat.
test-compat:
	@test -x .venv-compat/bin/python || $(PYTHON) -m venv .venv-compat
	.venv-compat/bin/python -m pip install --quiet "pandas==2.2.3" "numpy<2.3" -e ".[test]"
	.venv-compat/bin/python -m pytest -q

# The whole province end to end (0.5M to 4M firms) against the I/O floor, then the
# foundation benchmark (each stage against its own floor) at 1M firms.
bench: install
	$(BIN)/python benchmarks/bench_province.py --runs 2
	$(BIN)/python benchmarks/bench_foundation.py

bench-network: install
	$(BIN)/python benchmarks/bench_network.py
	$(BIN)/python benchmarks/bench_network_shapes.py

# The default model on the real data in ../shared/data, against optbinning and boosting.
bench-model: install
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) .venv-compat $(WHEEL_VENV) zjfin-demo .pytest_cache .hypothesis build dist *.egg-info

# LibreOffice for the workbook test that converts 三张名单.xlsx to CSV headless (skipped
# without it). Needs the system's package manager and its network.
libreoffice:
	command -v soffice >/dev/null || apt-get install -y --no-install-recommends libreoffice-calc-nogui

# Chromium for the bulletin's browser test (tests/test_report.py loads report.html headless
# with the network off; skipped without it). `make test` tries it first; needs the system's
# package manager and its registry.
CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --hide-scrollbars
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "make chromium: could not install Chromium; the browser test will be skipped"

# The README's picture of the bulletin: two quarters of the demo province, the second's
# bulletin against the first, its first screen (CJK fonts for the Chinese text).
bulletin-screenshot: install chromium
	@fc-list :lang=zh | grep -q . || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null
	out="$$(mktemp -d)" && $(BIN)/zjfin -q demo --firms $(FIRMS) --out "$$out/q1" \
	  && $(BIN)/zjfin -q screen "$$out/q1/input" --as-of 2019-06-30 --out "$$out/q2" --formats parquet \
	  && $(BIN)/zjfin -q report "$$out/q2" --previous "$$out/q1" \
	  && chromium $(CHROMIUM_FLAGS) --user-data-dir="$$out/profile" --window-size=900,1250 \
	     --screenshot="$(CURDIR)/docs/bulletin.png" "file://$$out/q2/report.html"
