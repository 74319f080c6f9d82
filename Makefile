# casekit — two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CASE   ?= data/jlc2022
OUT    ?= build/jlc2022
JOBS   ?=
# The small mixed series of hand-curated cases (the series notebooks are stored executed for it).
SERIES_CASES ?= data/jlc2022 data/demo-synthetic
SERIES_NOTEBOOKS := $(notdir $(wildcard notebooks/series/*.ipynb))
STAMP  := $(VENV)/.installed
# cffconvert lives in its own venv: it pins jsonschema<4, which jupyter cannot use.
CFFVENV := $(VENV)/cffconvert

.PHONY: setup run test test-slow lab bench validate notebooks clean lock

setup: $(STAMP)

# Re-install whenever the pins change; the stamp records a finished install.
$(STAMP): requirements.txt requirements-cffconvert.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (casekit)" >/dev/null
	@test -x $(CFFVENV)/bin/python || $(PYTHON) -m venv $(CFFVENV)
	$(CFFVENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-cffconvert.txt
	@touch $@

## run: execute the whole collection for the default case (refresh figures/, write the report), then the default series (the vendored SDTM subjects) and the small mixed series
run: $(STAMP)
	$(BIN)/python -m casekit run --case $(CASE) --out $(OUT) $(if $(JOBS),--jobs $(JOBS)) --figures figures
	$(BIN)/python -m casekit series --cases $(SERIES_CASES) --out build/series-mixed $(if $(JOBS),--jobs $(JOBS))
	$(BIN)/python -m casekit series --out build/series $(if $(JOBS),--jobs $(JOBS))

## test: the suite (unit tests, validation, nbval over the stored notebooks, end-to-end runs), slow tests aside
# Bytecode is cached (some environments set PYTHONDONTWRITEBYTECODE): without it every test
# process and kernel recompiles casekit and pytest re-rewrites every test module (~13 s).
test: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not slow"

## test-slow: only the tests marked slow (long fault-injection and scale tests); CI runs them after `make test`
test-slow: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 2 --dist loadfile -q -m slow || [ $$? -eq 5 ]

## notebooks: re-execute the stored notebooks in place for the default case (after changing code or data)
notebooks: $(STAMP)
	$(BIN)/python -m casekit refresh-notebooks
	$(BIN)/python -m casekit refresh-notebooks --notebooks-dir notebooks/series $(addprefix --notebook ,$(SERIES_NOTEBOOKS))

## lab: JupyterLab on notebooks/ with the venv's kernel; extra options via ARGS, e.g.
## make lab ARGS="--port 8899 --no-browser". Notebooks run there without out_dir write to
## build/interactive/<case>, never into the folder `make run` built its report from.
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(ARGS)

validate: $(STAMP)
	$(BIN)/python -m casekit validate $(CASE)

## bench: casekit run vs the naive papermill CLI vs a floor of trivial notebooks; the series, the SDTM import and a big case
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench.py series
	$(BIN)/python benchmarks/bench.py sdtm
	$(BIN)/python benchmarks/big_case.py

## lock: re-resolve the pins from the direct dependencies (deliberate upgrades only)
lock:
	rm -rf /tmp/casekit-lock && $(PYTHON) -m venv /tmp/casekit-lock
	/tmp/casekit-lock/bin/pip install --quiet pandas pandera matplotlib jupyterlab papermill nbval ipykernel pytest pytest-xdist nbstripout nbconvert dask distributed 'lifelines<0.30.3' scipy pyyaml pyreadstat odmlib defineutils hypothesis
	( sed -n '1,3p' requirements.txt; /tmp/casekit-lock/bin/pip freeze --exclude-editable ) > requirements.txt
	( sed -n '1,4p' .binder/requirements.txt; grep -v '^-e ' requirements.txt | sed '1,2d' ) > .binder/requirements.txt.new
	mv .binder/requirements.txt.new .binder/requirements.txt
	rm -rf /tmp/casekit-lock-cff && $(PYTHON) -m venv /tmp/casekit-lock-cff
	/tmp/casekit-lock-cff/bin/pip install --quiet cffconvert
	( sed -n '1,3p' requirements-cffconvert.txt; /tmp/casekit-lock-cff/bin/pip freeze ) > requirements-cffconvert.txt

clean:
	rm -rf build $(VENV)
