# Two commands: `make reproduce` (all notebooks, headless) and `make test`.
# Both create .venv when it is missing. PROFILE=paper DEVICE=cuda runs the paper's protocol on a GPU.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
PROFILE ?= quick
DEVICE ?= cpu
ONLY ?=
OUTPUT ?=
JOBS ?=
PYTEST_ARGS ?=
# this machine's pip config names local indexes that do not exist; drop its warnings about them
QUIET_PIP := sed '/is ignored: it is neither a file nor a directory/d'

.PHONY: install test test-slow reproduce benchmark docs docs-assets clean

install: $(VENV)/.installed

# torch goes in first and alone: the local CPU wheel here, the CUDA wheel from PyPI on a GPU
# machine. constraints.txt pins it, so no later install can replace it.
$(VENV)/.installed: requirements.txt requirements-docs.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0 2>&1 | $(QUIET_PIP)
	$(PIP) -c constraints.txt -r requirements.txt 2>&1 | $(QUIET_PIP)
	$(PIP) -c constraints.txt -r requirements-docs.txt 2>&1 | $(QUIET_PIP)
	$(PIP) -c constraints.txt --no-deps -e . 2>&1 | $(QUIET_PIP)
	$(PY) -c "import companion, torch, torchvision, timm, papermill, bm3d; print('environment ready: torch', torch.__version__)"
	touch $@

# The tests share out over the cores (pytest-xdist, at most 4 workers), each worker and each notebook
# kernel it starts with one torch thread, so that workers never oversubscribe the cores (docs/performance.md).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))

test: install
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not slow" $(PYTEST_ARGS)

# the tests marked slow: each notebook in the quick profile on the benchmark sets, whole-set checks
test-slow: install
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal -m slow $(PYTEST_ARGS)

reproduce: install
	$(PY) -m companion reproduce --profile $(PROFILE) --device $(DEVICE) $(if $(ONLY),--only $(ONLY)) $(if $(OUTPUT),--output $(OUTPUT)) $(if $(JOBS),--jobs $(JOBS))

# The documentation site in site/: docs/ and the executed notebooks of a run (DOCS_RUN, by default
# the run `make reproduce` writes with the same PROFILE and DEVICE). docs/site.md.
DOCS_RUN ?= outputs/$(PROFILE)-$(DEVICE)

docs: install
	$(PY) scripts/build_docs.py --run $(DOCS_RUN) --site site

# the widget renderer the site serves (npm registry, sha512-checked, kept in build/docs-assets)
docs-assets: install
	$(PY) scripts/build_docs.py --assets-only

benchmark: install
	$(PY) benchmarks/zoo.py --device $(DEVICE)

clean:
	rm -rf $(VENV) outputs .pytest_cache site build
