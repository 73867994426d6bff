# bpnn: `make run` sets everything up and trains the digit recogniser; `make test` runs the tests.
# Both create their own virtual environment in .venv (Python 3.11+ as `python3`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BPNN := $(VENV)/bin/bpnn
PRESET ?= fast
ifndef OUT
OUT := runs/$(PRESET)-$(shell date +%Y%m%d-%H%M%S)
endif

.PHONY: setup run test test-fast lint bench clean

setup: $(VENV)/.installed

# `make run` needs bpnn with its extras; `make test` (and lint) the test tools as well.
$(VENV)/.installed-run: pyproject.toml
	@echo "installing bpnn with its extras into $(VENV) (a few minutes the first time; needs the package index)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all]'
	touch $@

$(VENV)/.installed: $(VENV)/.installed-run
	@echo "installing the test tools into $(VENV)"
	$(PY) -m pip install --quiet -e '.[all,test]'
	touch $@

# The main job: find MNIST (or download it) first, so a missing data set is said before anything
# slow; then check the gradients, train the digit recogniser (preset PRESET) into a new run folder
# OUT, report its test error, and read the example images with it.
run: $(VENV)/.installed-run
	@$(PY) -c 'from bpnn.data.mnist import find_mnist; from bpnn.errors import BpnnError; exec("try: print(\"MNIST:\", find_mnist())\nexcept BpnnError as x: raise SystemExit(f\"make run: {x}\")")'
	$(BPNN) gradcheck
	$(BPNN) train --preset $(PRESET) --out $(OUT)
	$(BPNN) predict $(OUT)/model.npz examples/seven.jpg examples/two.png examples/four.gif
	@echo "the run is in $(OUT); the bpnn command is $(BPNN) (or run . $(VENV)/bin/activate first)"

# Every test; the slow MNIST ones run when BPNN_DATA names the MNIST folder.
test: setup
	$(PY) -m pytest -q -rs

# The habits that keep the code easy to change: ruff (lint + format) and mypy, clean on src/.
lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not browser"

# The full speed comparison (benchmarks/bench.py); `bpnn bench` times bpnn's own paths alone.
bench: setup
	$(PY) -m pip install --quiet 'torch==2.13.0' || echo "PyTorch not installed: comparing without it"
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
