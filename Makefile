# The two commands of a fresh machine:
#   make run    the all-in-one server (SQLite file, in-process bus, noauth, 127.0.0.1:9696)
#   make test   the whole test suite (installs system packages and Python deps first)
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test deps deps-python check lint typecheck unit bench clean

deps-python:
	VENV=$(VENV) tools/install-deps.sh

deps:
	VENV=$(VENV) tools/install-deps.sh --system
	tests/fixtures/ensure_keystone_venv.sh

run: deps-python
	$(VENV)/bin/neutrino

lint:
	$(VENV)/bin/ruff check neutrino tests bench

typecheck:
	$(VENV)/bin/mypy neutrino

test: deps lint typecheck
	$(PY) -m pytest -q -ra $(PYTEST_ARGS)

unit: deps-python
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

bench: deps-python
	$(PY) bench/api.py

clean:
	rm -rf $(VENV) .cache neutrino.sqlite*
