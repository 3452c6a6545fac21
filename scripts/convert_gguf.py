"""Convert a GGUF file into a safetensors folder that vLLM's CPU build can serve.

Usage: python scripts/convert_gguf.py GGUF_DIR GGUF_FILE OUT_DIR   (runs in .venv-vllm, offline)
"""

import sys
import time
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig


def main() -> int:
    gguf_dir, gguf_file, out_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    started = time.time()
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file)
    model = AutoModelForCausalLM.from_pretrained(
        gguf_dir, gguf_file=gguf_file, quantization_config=GgufConfig(dequantize=True)
    )
    # The weights are plain tensors now; the saved config must not claim a GGUF quantizer.
    model.config.quantization_config = None
    if hasattr(model, "hf_quantizer"):
        model.hf_quantizer = None
    model.config.__dict__.pop("quantization_config", None)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    print(f"converted {gguf_file} -> {out_dir} in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
