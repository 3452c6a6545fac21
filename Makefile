# Two commands matter: `make run` and `make test` (see README).
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install install-test install-test-python test test-fast lint format system-deps bench bench-matrix clean

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

# The benchmarks whose figures the README quotes (run on a quiet machine; see README "Measured").
bench: install-test-python
	$(PY) -m benchmarks.models --json benchmarks/results/models.json
	$(PY) -m benchmarks.turn_taking --json benchmarks/results/turn_taking.json
	$(PY) -m benchmarks.latency --json benchmarks/results/latency.json
	$(PY) -m benchmarks.latency --transport webrtc --naive-repeats 0 --quality-turns 0 --json benchmarks/results/latency_webrtc.json
	$(PY) -m benchmarks.load --json benchmarks/results/load.json

bench-matrix: install-test-python
	scripts/extra_models.sh
	$(PY) -m benchmarks.matrix --json benchmarks/results/matrix.json

clean:
	rm -rf $(VENV) .venv-vllm var .pytest_cache .mypy_cache .ruff_cache
