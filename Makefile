# Share Funnel — every target sets itself up (venv + dependencies) on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-stamp

.PHONY: test demo bench compat clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## make test: every test (Python 3.10 compatibility, the pytest suite, the mini program kit on node).
test: $(STAMP) compat
	$(PY) -m pytest
	cd miniprogram && SHARE_FUNNEL_PYTHON=$(abspath $(PY)) node --test test/

## Runtime code must run on SCF's Python 3.10.
compat: $(STAMP)
	$(VENV)/bin/vermin --no-tips --violations -t=3.10- --eval-annotations functions shared

## make demo: a simulated share campaign through the real handler on the embedded engine.
demo: $(STAMP)
	$(PY) tools/demo.py

## make bench: benchmarks; numbers are appended to bench/RESULTS.md.
bench: $(STAMP)
	$(PY) bench/landing.py
	$(PY) bench/wxacode_batch.py

clean:
	rm -rf $(VENV) .pytest_cache build
