# snnlab: the two set-up commands are `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 5006

.PHONY: test demo brunel bench lab lint clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,viz,mpi,data]'
	touch $(STAMP)

## the whole suite: unit and reference tests, then the notebooks under nbval
test: $(STAMP)
	$(VENV)/bin/ruff check snnlab tests benchmarks
	$(PY) -m pytest --nbval-lax --doctest-modules -p no:cacheprovider tests notebooks snnlab

## the main job: the topographic map forming live in the browser (prints its URL; Ctrl-C stops)
demo: $(STAMP)
	$(VENV)/bin/snnlab serve topographic_map --port $(PORT)

## Brunel's network from the command line: a summary and a static raster
brunel: $(STAMP)
	$(VENV)/bin/snnlab run brunel --n 12500 --t 1000 --presim 100 --seed 1 --backend auto \
		--raster brunel_raster.html
	@echo "raster: file://$(CURDIR)/brunel_raster.html"

## side-by-side benchmark against NEST and Brian2 (installs them in benchmarks/.peers-venv)
bench: $(STAMP)
	$(PY) benchmarks/brunel.py

## JupyterLab on the notebooks (127.0.0.1)
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 notebooks/

lint: $(STAMP)
	$(VENV)/bin/ruff check snnlab tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info
