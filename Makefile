# The two commands in the README: `make demo` (main job) and `make test` (whole test suite).
# Both set up .venv themselves (tools/bootstrap.sh; a second run skips the install).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CLIP ?=
.PHONY: demo test venv bench docs export clean-nbs

venv:
	@bash tools/bootstrap.sh

demo: venv
	$(PY) tools/demo.py $(if $(CLIP),--clip "$(CLIP)")

test: venv
	@bash tools/install_browser.sh || echo "make test: Chromium unavailable; the browser tests will skip"
	$(PY) -m pytest

bench: venv
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

docs: venv
	$(PY) tools/build_docs.py

export: venv
	$(VENV)/bin/nbdev_export && $(VENV)/bin/nbdev_clean
