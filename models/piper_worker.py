"""Out-of-process Piper: `python -m models.piper_worker --model PATH`.

Keeps the GPL-3.0 Piper code out of the server process. Protocol on stdin/stdout:
first a JSON line `{"sample_rate": N}`; then per request line `{"text": ...}` one frame per
sentence (4-byte little-endian byte count + float32 PCM) and an empty frame at the end.
A failed request writes a frame of length 0xFFFFFFFF followed by one JSON error line.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys

import numpy as np

from models.piper_tts import load_voice, synthesis_config

ERROR_MARK = 0xFFFFFFFF


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--length-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    voice = load_voice(args.model, threads=args.threads)
    syn_config = synthesis_config(args.length_scale)
    out = sys.stdout.buffer
    out.write(json.dumps({"sample_rate": voice.config.sample_rate}).encode() + b"\n")
    out.flush()
    for line in sys.stdin.buffer:
        try:
            text = json.loads(line)["text"]
            for chunk in voice.synthesize(text, syn_config=syn_config):
                pcm = np.asarray(chunk.audio_float_array, dtype="<f4").tobytes()
                out.write(struct.pack("<I", len(pcm)) + pcm)
                out.flush()
            out.write(struct.pack("<I", 0))
        except Exception as error:
            out.write(struct.pack("<I", ERROR_MARK) + json.dumps({"error": repr(error)}).encode() + b"\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
