# The two commands in the README: `make demo` (main job) and `make test` (whole test suite).
# Both set up .venv themselves (tools/bootstrap.sh; a second run skips the install).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CLIP ?=
# The clip reaches tools/demo.py through the environment, exactly as typed: the shell never parses it, so a path with
# spaces, quotes or $ works (make demo CLIP='my clips/it'"'"'s.mp4'); $(value) stops make expanding a $ in it.
override CLIP := $(value CLIP)
export CLIP
.PHONY: demo test venv bench docs export clean-nbs pretrained

venv:
	@bash tools/bootstrap.sh

# --overwrite replaces only a previous demo run (tools/demo.py checks its run.json), never another run or folder.
demo: venv
	$(PY) tools/demo.py --overwrite --clip "$$CLIP"

# The shipped model, in five runs on the shared training clips (rerun to continue an interrupted one): the `cpu`
# preset into results/pretrained_base (2600 steps, about 1.9 h on 2 cores), then the `cpu_aug` preset (the same
# with random crops and flips) forked from its last checkpoint into results/pretrained_aug (to step 5000, about
# 1.3 h), then `cpu_keep` (the skip's fill keeps each pixel's current sample) forked from that into
# results/pretrained_keep (to step 6800, about 1 h), then `cpu_stream` (that fill carried across windows) forked
# from that into results/pretrained_stream (to step 8600), then `cpu_stream_all` (an average of the weights, every
# frame of the training clips) started from that run's model.pt into results/pretrained (to step 10600, about
# 1.1 h); then package it: model.pt, eval/, curves, README.md (tools/pretrained.py --train does all of it).
pretrained: venv
	$(PY) tools/pretrained.py --train

test: venv
	@bash tools/install_browser.sh || echo "make test: Chromium unavailable; the browser tests will skip"
	$(PY) -m pytest

bench: venv
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

docs: venv
	$(PY) tools/build_docs.py

export: venv
	$(VENV)/bin/nbdev_export && $(VENV)/bin/nbdev_clean
