# Two commands matter: `make run` and `make test` (see README).
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install install-test test test-fast lint format vllm-env system-deps bench clean

run: install
	$(VENV)/bin/sparring serve --host $(HOST) --port $(PORT)

install:
	scripts/install.sh piper

install-test: system-deps
	scripts/install.sh piper,dev
	scripts/vllm_env.sh

# apt packages the tests use: espeak-ng renders learner speech, sox edits WAVs, redis-server and
# postgresql back the service tests, chromium + chromium-driver run the browser tests.
system-deps:
	scripts/system_deps.sh

lint: install-test-python
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

install-test-python:
	scripts/install.sh piper,dev

test: install-test lint
	$(PY) -m pytest -ra

test-fast: install-test-python
	$(PY) -m pytest -ra -m "not models and not vllm and not browser and not services"

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) -m benchmarks.models --json benchmarks/results/models.json

clean:
	rm -rf $(VENV) .venv-vllm var .pytest_cache .mypy_cache .ruff_cache
