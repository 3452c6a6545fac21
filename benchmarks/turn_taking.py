"""How turn-taking settings trade latency against cutting learners off.

    python -m benchmarks.turn_taking --json benchmarks/results/turn_taking.json

Learner turns are built from spoken phrases (espeak-ng) joined by the pauses people make
mid-sentence (0.15-0.7 s), each turn followed by silence. Silero VAD and the engine's turn
detector run over them for each end-of-turn silence setting, and we count:
- false cut-offs: the engine ended the turn in a mid-turn pause (the learner was not done);
- false waits: the engine waited longer than the setting after the real end (missed it, or a
  detection hiccup), beside the endpointing delay itself (median, p95).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

import numpy as np

from benchmarks.common import machine, summary, table, write_json
from benchmarks.speech import espeak, silence
from models.registry import load_backends
from pipeline.config import TurnTakingConfig
from pipeline.turn_detector import TurnDetector

PHRASES = [
    "I understand the budget is tight",
    "but if we can show a clear return",
    "within six months",
    "would you be open to a pilot",
    "with two of your teams",
    "our current supplier is fine",
    "and I do not see a reason to switch",
    "what would it take",
    "for you to consider us",
    "we could start next month",
    "let me check with my team",
    "the price matters most to us",
]
PAUSES = [0.15, 0.25, 0.35, 0.5, 0.7]
SETTINGS = [0.3, 0.45, 0.6, 0.8]


def build_turns(count: int, seed: int = 7) -> list[tuple[np.ndarray, list[tuple[float, float]], float]]:
    """(audio, internal pauses as (start, end), true end of speech) for `count` turns."""
    rng = random.Random(seed)
    turns = []
    for _ in range(count):
        parts: list[np.ndarray] = [silence(0.5)]
        pauses: list[tuple[float, float]] = []
        t = 0.5
        for i, phrase in enumerate(rng.sample(PHRASES, rng.randint(2, 3))):
            if i:
                gap = rng.choice(PAUSES)
                parts.append(silence(gap))
                pauses.append((t, t + gap))
                t += gap
            speech = espeak(phrase, words_per_minute=rng.choice([150, 170, 190]))
            parts.append(speech)
            t += len(speech) / 16_000
        parts.append(silence(2.0))
        turns.append((np.concatenate(parts), pauses, t))
    return turns


def score(
    name: str, end_silence: float, ends_per_turn: list[list[float]], turns: list[Any], pauses_total: int
) -> dict[str, Any]:
    cutoffs = 0
    waits = 0
    delays: list[float] = []
    for ends, (_, _, true_end) in zip(ends_per_turn, turns, strict=True):
        cutoffs += sum(1 for e in ends if e < true_end - 0.05)
        final = [e for e in ends if e >= true_end - 0.05]
        if final and final[0] - true_end <= end_silence + 0.15:
            delays.append(final[0] - true_end)
        else:
            waits += 1
            if final:
                delays.append(final[0] - true_end)
    return {
        "setting": name,
        "turns": len(turns),
        "mid_turn_pauses": pauses_total,
        "false_cutoffs": cutoffs,
        "false_cutoff_rate": round(cutoffs / len(turns), 3),
        "false_waits": waits,
        "endpointing_s": summary(delays),
    }


async def run(count: int) -> dict[str, Any]:
    from models.config import TurnConfig
    from models.registry import build_turn
    from server.settings import Settings

    backends = await load_backends(Settings().models, ("vad",))
    assert backends.vad is not None
    vad = backends.vad
    turn_model = build_turn(TurnConfig(backend="smart-turn"))
    assert turn_model is not None
    turns = build_turns(count)
    n = vad.frame_samples
    probabilities = []
    for audio, _, _ in turns:
        stream = vad.new_stream()
        probabilities.append([stream.probability(audio[i : i + n]) for i in range(0, len(audio) - n + 1, n)])
    pauses_total = sum(len(p) for _, p, _ in turns)
    rows = []
    for end_silence in SETTINGS:
        config = TurnTakingConfig(end_silence_s=end_silence)
        ends_per_turn = []
        for (audio, _, _), probs in zip(turns, probabilities, strict=True):
            detector = TurnDetector(config, frame_samples=n)
            ends = []
            for k, p in enumerate(probs):
                signals = detector.feed(audio[k * n : (k + 1) * n], p, (k + 1) * n / 16_000)
                ends += [s.t for s in signals if s.kind == "end"]
            ends_per_turn.append(ends)
        rows.append(score(f"silence {end_silence:.2f} s", end_silence, ends_per_turn, turns, pauses_total))
    # The learned model: asked after 0.2 s of silence; ends the turn if it judges it complete, else
    # silence ends it after 1.0 s. Its inference time (measured here) is added to each early end.
    config = TurnTakingConfig()
    detector_config = TurnTakingConfig(end_silence_s=config.model_max_silence_s)
    ends_per_turn = []
    inference: list[float] = []
    for (audio, _, _), probs in zip(turns, probabilities, strict=True):
        detector = TurnDetector(detector_config, frame_samples=n, check_after_s=config.model_check_s)
        ends = []
        for k, p in enumerate(probs):
            t_end = (k + 1) * n / 16_000
            for signal in detector.feed(audio[k * n : (k + 1) * n], p, t_end):
                if signal.kind == "end":
                    ends.append(signal.t)
                elif signal.kind == "check":
                    started = time.perf_counter()
                    probability = await turn_model.completion_probability(detector.full_audio())
                    inference.append(time.perf_counter() - started)
                    if probability >= turn_model.threshold:
                        ends.append(detector.force_end(t_end).t + inference[-1])
        ends_per_turn.append(ends)
    row = score(
        "smart-turn v3 (check 0.2 s, max 1.0 s)", config.model_max_silence_s, ends_per_turn, turns, pauses_total
    )
    row["inference_s"] = summary(inference)
    rows.append(row)
    return {"machine": machine(), "rows": rows, "pauses_s": PAUSES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    parser.add_argument("--turns", type=int, default=40)
    args = parser.parse_args()
    results = asyncio.run(run(args.turns))
    print(
        table(
            [
                [r["setting"], r["turns"], r["false_cutoffs"], r["false_waits"],
                 r["endpointing_s"]["p50"], r["endpointing_s"]["p95"]]
                for r in results["rows"]
            ],
            ["turn end rule", "turns", "false cut-offs", "false waits", "endpointing p50", "p95"],
        )
    )  # fmt: skip
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
