"""Per-backend costs of the configured models on this machine.

python -m benchmarks.models --json benchmarks/results/models.json [--profile cpu] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import numpy as np

from benchmarks.common import machine, median, table, write_json
from benchmarks.speech import espeak, silence
from models.base import ChatMessage, GenerationOptions
from models.registry import load_backends

UTTERANCES = {
    3: "Thanks for meeting me. What does your current process look like?",
    8: (
        "I understand the budget is tight this quarter, but if we can show a clear return within six months, "
        "would you be open to a pilot with two of your teams?"
    ),
}
PROMPT = [
    ChatMessage("system", "You are Emma, a skeptical procurement director. Reply in one or two short sentences."),
    ChatMessage("user", "Hi Emma, thanks for taking the call. What matters most to you in a new supplier?"),
]
TTS_TEXT = "We have worked with the same vendor for six years, and switching is a real risk for my team."


def fit_to(audio: np.ndarray, seconds: float) -> np.ndarray:
    target = int(seconds * 16_000)
    return np.concatenate([audio, silence(max(0.0, (target - len(audio)) / 16_000))])[:target]


async def run(repeats: int) -> dict:
    from server.settings import Settings

    settings = Settings()
    started = time.perf_counter()
    backends = await load_backends(settings.models, ("vad", "asr", "persona_llm", "tts"))
    total_load = time.perf_counter() - started
    vad, asr, llm, tts = backends.require()
    results: dict = {"machine": machine(), "profile": settings.profile, "repeats": repeats}
    results["load_s"] = {**{k: round(v, 3) for k, v in backends.load_seconds.items()}, "total": round(total_load, 3)}
    results["models"] = {role: info.model for role, info in backends.infos().items()}

    # VAD: per 32 ms frame, over 30 s of real speech and silence.
    audio = np.concatenate([espeak(UTTERANCES[8]), silence(2.0)] * 3)
    stream = vad.new_stream()
    n = vad.frame_samples
    frames = [audio[i : i + n] for i in range(0, len(audio) - n, n)]
    timings = []
    for _ in range(repeats):
        t = time.perf_counter()
        for frame in frames:
            stream.probability(frame)
        timings.append((time.perf_counter() - t) / len(frames))
    results["vad_ms_per_frame"] = round(median(timings) * 1000, 4)

    # ASR: latency for 3 s and 8 s utterances.
    results["asr_latency_s"] = {}
    for seconds, text in UTTERANCES.items():
        clip = fit_to(espeak(text), seconds)
        runs = []
        for _ in range(repeats):
            t = time.perf_counter()
            await asr.transcribe(clip)
            runs.append(time.perf_counter() - t)
        results["asr_latency_s"][f"{seconds}s"] = round(median(runs), 4)

    # LLM: time to first token (cold prompt and reused prefix) and decode speed.
    cold: list[float] = []
    warm: list[float] = []
    rates: list[float] = []
    options = GenerationOptions(max_tokens=64, temperature=0.3, seed=1)
    for i in range(repeats):
        messages = [ChatMessage("system", f"Session {i}. " + PROMPT[0].content), PROMPT[1]]
        for bucket, context in ((cold, f"bench-{i}"), (warm, f"bench-{i}")):
            t = time.perf_counter()
            first = None
            count = 0
            async for _ in llm.stream(messages, options, context_id=context):
                count += 1
                if first is None:
                    first = time.perf_counter() - t
            total = time.perf_counter() - t
            bucket.append(first or total)
            if count > 1 and first is not None:
                rates.append((count - 1) / (total - first))
    results["llm_first_token_s"] = {"cold": round(median(cold), 4), "prefix_reused": round(median(warm), 4)}
    results["llm_tokens_per_s"] = round(median(rates), 1)

    # TTS: time to first audio and real-time factor.
    firsts, rtfs = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        first = None
        samples = 0
        async for chunk in tts.synthesize(TTS_TEXT):
            if first is None:
                first = time.perf_counter() - t
            samples += len(chunk)
        total = time.perf_counter() - t
        firsts.append(first or total)
        rtfs.append(total / (samples / tts.sample_rate))
    results["tts_first_audio_s"] = round(median(firsts), 4)
    results["tts_real_time_factor"] = round(median(rtfs), 4)
    await backends.aclose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write results to this path")
    parser.add_argument("--profile", help="cpu, gpu or a YAML path")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.profile:
        os.environ["SPARRING_PROFILE"] = args.profile
    results = asyncio.run(run(args.repeats))
    rows = [
        ["load (all four)", results["load_s"]["total"], "s"],
        ["VAD per 32 ms frame", results["vad_ms_per_frame"], "ms"],
        ["ASR 3 s utterance", results["asr_latency_s"]["3s"], "s"],
        ["ASR 8 s utterance", results["asr_latency_s"]["8s"], "s"],
        ["LLM first token (cold)", results["llm_first_token_s"]["cold"], "s"],
        ["LLM first token (prefix reused)", results["llm_first_token_s"]["prefix_reused"], "s"],
        ["LLM decode", results["llm_tokens_per_s"], "tokens/s"],
        ["TTS first audio", results["tts_first_audio_s"], "s"],
        ["TTS real-time factor", results["tts_real_time_factor"], "x"],
    ]
    print(table(rows, ["measure (median)", "value", "unit"]))
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
