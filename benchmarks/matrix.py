"""The same scripted conversation on each model combination of a YAML matrix.

    python -m benchmarks.matrix --json benchmarks/results/matrix.json [--matrix benchmarks/matrix.yaml]

Per row: latency per stage (p50) and voice-to-voice over `--repeats` conversations, the ASR's word
error rate on the learner's test utterances, and the share of persona replies that break its rules.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmarks.common import machine, summary, table, write_json
from benchmarks.latency import SCRIPT, STAGES, persona_config, run_inproc
from benchmarks.speech import espeak, silence
from benchmarks.wer import wer
from models.config import ModelsConfig
from models.registry import load_backends
from pipeline.persona_guard import violations

TEST_UTTERANCES = [line.text for line in SCRIPT] + [
    "Our budget for this project is fifty thousand dollars.",
    "I am worried that the price is too high for our team.",
]


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


async def run_row(row: dict[str, Any], base: ModelsConfig, repeats: int) -> dict[str, Any]:
    config = ModelsConfig.model_validate(merged(base.model_dump(), row.get("models", {})))
    started = time.perf_counter()
    backends = await load_backends(config, ("vad", "asr", "persona_llm", "tts"))
    load_s = time.perf_counter() - started
    try:
        assert backends.asr is not None
        errors = []
        for text in TEST_UTTERANCES:
            heard = await backends.asr.transcribe(np.concatenate([silence(0.3), espeak(text), silence(0.3)]))
            errors.append(wer(text, heard.text))
        stages: dict[str, list[float]] = {s: [] for s in STAGES}
        client: list[float] = []
        broken = replies = 0
        for i in range(repeats):
            conversation, report = await run_inproc(backends, persona_config(f"m{i}"))
            for metrics in conversation.metrics:
                summary_row = metrics.summary()
                for stage in STAGES:
                    if summary_row.get(stage) is not None:
                        stages[stage].append(float(summary_row[stage]))  # type: ignore[arg-type]
            client += [t.voice_to_voice_s for t in report.turns if t.voice_to_voice_s is not None]
            for turn in conversation.transcript.turns:
                if turn.speaker == "persona" and turn.generated_text is not None:
                    replies += 1
                    broken += bool(violations(turn.generated_text))
        return {
            "name": row["name"],
            "models": {role: info.model for role, info in backends.infos().items()},
            "load_s": round(load_s, 2),
            "asr_wer": round(float(np.mean(errors)), 3),
            "stages": {k: summary(v) for k, v in stages.items()},
            "client_voice_to_voice_s": summary(client),
            "persona_replies": replies,
            "persona_broken_share": round(broken / replies, 3) if replies else None,
        }
    finally:
        await backends.aclose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from server.settings import Settings

    base = Settings().models
    rows = yaml.safe_load(Path(args.matrix).read_text())["rows"]
    results = []
    for row in rows:
        print(f"== {row['name']}", flush=True)
        results.append(await run_row(row, base, args.repeats))
    return {"machine": machine(), "matrix": args.matrix, "repeats": args.repeats, "rows": results}


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    names = [r["name"] for r in rows]
    stages = ["asr_final_s", "llm_first_token_s", "tts_first_audio_s", "voice_to_voice_s"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.5 * len(rows) + 3), width_ratios=[3, 1])
    height = 0.8 / len(stages)
    for k, stage in enumerate(stages):
        values = [r["stages"][stage]["p50"] or 0 for r in rows]
        ax1.barh([i + k * height for i in range(len(rows))], values, height=height, label=stage.removesuffix("_s"))
    ax1.set_yticks([i + 0.4 - height / 2 for i in range(len(rows))], names)
    ax1.invert_yaxis()
    ax1.set_xlabel("seconds (p50)")
    ax1.legend()
    ax1.set_title("Latency per stage")
    ax2.barh(names, [r["asr_wer"] for r in rows], color="#8172b2")
    ax2.invert_yaxis()
    ax2.set_yticks([])
    ax2.set_xlabel("ASR word error rate")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    parser.add_argument("--matrix", default=str(Path(__file__).with_name("matrix.yaml")))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(
        table(
            [
                [
                    r["name"],
                    r["asr_wer"],
                    r["stages"]["asr_final_s"]["p50"],
                    r["stages"]["llm_first_token_s"]["p50"],
                    r["stages"]["tts_first_audio_s"]["p50"],
                    r["stages"]["voice_to_voice_s"]["p50"],
                    r["persona_broken_share"],
                ]
                for r in results["rows"]
            ],
            ["row", "ASR WER", "ASR s", "LLM 1st token s", "TTS 1st audio s", "v2v p50 s", "persona broken"],
        )
    )
    if args.json:
        write_json(args.json, results)
        plot(results, Path(args.json).with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
