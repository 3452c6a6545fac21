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


async def run(count: int) -> dict[str, Any]:
    from server.settings import Settings

    backends = await load_backends(Settings().models, ("vad",))
    assert backends.vad is not None
    vad = backends.vad
    turns = build_turns(count)
    n = vad.frame_samples
    probabilities = []
    for audio, _, _ in turns:
        stream = vad.new_stream()
        probabilities.append([stream.probability(audio[i : i + n]) for i in range(0, len(audio) - n + 1, n)])
    rows = []
    for end_silence in SETTINGS:
        config = TurnTakingConfig(end_silence_s=end_silence)
        cutoffs = 0
        waits = 0
        delays: list[float] = []
        pauses_total = 0
        for (audio, pauses, true_end), probs in zip(turns, probabilities, strict=True):
            detector = TurnDetector(config, frame_samples=n)
            ends = []
            for k, p in enumerate(probs):
                t_end = (k + 1) * n / 16_000
                ends += [s.t for s in detector.feed(audio[k * n : (k + 1) * n], p, t_end) if s.kind == "end"]
            pauses_total += len(pauses)
            early = [e for e in ends if e < true_end - 0.05]
            cutoffs += len(early)
            final = [e for e in ends if e >= true_end - 0.05]
            if final:
                delay = final[0] - true_end
                delays.append(delay)
                if delay > end_silence + 0.15:
                    waits += 1
            else:
                waits += 1
        rows.append(
            {
                "end_silence_s": end_silence,
                "turns": len(turns),
                "mid_turn_pauses": pauses_total,
                "false_cutoffs": cutoffs,
                "false_cutoff_rate": round(cutoffs / len(turns), 3),
                "false_waits": waits,
                "endpointing_s": summary(delays),
            }
        )
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
                [r["end_silence_s"], r["turns"], r["false_cutoffs"], r["false_waits"],
                 r["endpointing_s"]["p50"], r["endpointing_s"]["p95"]]
                for r in results["rows"]
            ],
            ["end silence (s)", "turns", "false cut-offs", "false waits", "endpointing p50", "p95"],
        )
    )  # fmt: skip
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
