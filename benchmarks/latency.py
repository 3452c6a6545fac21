"""Voice-to-voice latency of the conversation engine on the configured models.

    python -m benchmarks.latency --json benchmarks/results/latency.json [--repeats 3] [--transport inproc]

A scripted learner (espeak-ng speech, real time) holds a 6-turn conversation with a persona,
including one interruption, `--repeats` times; then the same with the naive chain (whole
transcript, whole reply, whole audio, then play). Prints p50/p95 per stage, writes JSON and a
PNG (per-turn stage waterfall and streaming vs naive). Also reports how often the persona's raw
replies break its rules, over at least 50 replies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.clients import webrtc_call, websocket_call
from benchmarks.common import machine, summary, table, write_json
from benchmarks.learner import Line, ScriptedLearner
from benchmarks.local_server import LocalServer, local_server
from models.base import Audio
from models.registry import Backends, load_backends
from pipeline.config import ConversationConfig, TurnTakingConfig
from pipeline.conversation import Conversation
from pipeline.events import EventLog
from pipeline.persona_guard import violations
from server.store.tables import Attempt, Persona, Scenario
from server.workspace.seed import PERSONA_FIELDS, builtin_personas
from server.workspace.setup import conversation_config

SCRIPT = [
    Line("Hi Emma, thanks for taking my call. I work for Greenpack."),
    Line("What does your current packaging process look like?"),
    Line("Sorry to jump in, what matters most to you in a supplier?", mode="interrupt", delay_s=1.2),
    Line("We can cut your packaging costs by about fifteen percent."),
    Line("What would you need to see before running a pilot?"),
    Line("Could we schedule a call next week with your operations lead?"),
]
STAGES = ["endpointing_s", "asr_final_s", "llm_first_token_s", "first_chunk_s", "tts_first_audio_s", "voice_to_voice_s"]
QUALITY_PROMPTS = [
    "Hi Emma, thanks for taking my call.",
    "What does your current packaging process look like?",
    "What matters most to you in a supplier?",
    "We can cut your packaging costs by about fifteen percent.",
    "What would you need to see before running a pilot?",
    "Could we schedule a call next week?",
    "Why did you choose your current supplier?",
    "How many plants do you run?",
    "What problems do you have with late deliveries?",
    "Is price the only thing that matters to you?",
]


OPENING = "Emma Clarke speaking. Who is this?"
SCENARIO_FIELDS: dict[str, Any] = {
    "tuning": "You are talking to a salesperson from Greenpack, a packaging supplier, who wants your business.",
    "objections": ["switching suppliers is risky", "your current supplier is cheaper"],
    "personality": {"trait": "skeptical", "communication_style": "direct"},
}


def emma_scenario() -> tuple[Scenario, Persona]:
    """The benchmark scenario, as the server would store it, with the built-in persona Emma."""
    data = next(p for p in builtin_personas() if p["slug"] == "emma")
    persona = Persona(slug="emma", builtin=True, **{k: " ".join(str(data[k]).split()) for k in PERSONA_FIELDS})
    scenario = Scenario(name="Discovery call", type="sales", opening_line=OPENING, time_limit_minutes=15,
                        persona_speaks_first=True, mode="voice", goals=[], exit_conditions=[], prompt_outline=[],
                        brief={}, **SCENARIO_FIELDS)  # fmt: skip
    scenario.documents = []
    return scenario, persona


def persona_config(conversation_id: str, *, naive: bool = False, mode: str = "voice") -> ConversationConfig:
    """The server's own configuration for the benchmark scenario (same prompt on every transport)."""
    scenario, persona = emma_scenario()
    config = conversation_config(scenario, persona, conversation_id=conversation_id, mode=mode)  # type: ignore[arg-type]
    if naive:
        turn_taking = replace(
            config.turn_taking, speculate_after_s=config.turn_taking.end_silence_s, partial_interval_s=0.0
        )
        config = replace(config, naive=True, turn_taking=turn_taking)
    return config


Connector = Callable[[ConversationConfig, ScriptedLearner], Awaitable[Any]]


async def run_inproc(backends: Backends, config: ConversationConfig) -> tuple[Conversation, Any]:
    vad, asr, llm, tts = backends.require()
    conversation = Conversation(config, llm=llm, vad=vad, asr=asr, tts=tts)
    learner = ScriptedLearner(SCRIPT, conversation.push_audio)
    await conversation.start()

    async def listen() -> None:
        while True:
            frame: Audio = await conversation.output.get()
            learner.hear(frame)

    listener = asyncio.ensure_future(listen())
    report = await learner.run()
    await conversation.end()
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    return conversation, report


async def run_transport(server: LocalServer, transport: str, jitter_frames: int | None) -> tuple[Any, Any]:
    """One scripted conversation through the real server over WebRTC or the WebSocket."""
    session_id = server.new_session(opening_line=OPENING, time_limit_minutes=15, **SCENARIO_FIELDS)
    headers = server.learner_headers
    if transport == "webrtc":
        result = await webrtc_call(server.base_url, session_id, SCRIPT, headers=headers, jitter_frames=jitter_frames)
    else:
        result = await websocket_call(server.base_url, session_id, SCRIPT, headers=headers)
    attempt_id = result.attempt_id
    assert attempt_id is not None
    for _ in range(100):
        with server.db.session() as db:
            attempt = db.get(Attempt, attempt_id)
            if attempt is not None and attempt.state not in ("connecting", "in_session", "paused"):
                return _StoredCall(attempt.metrics), result.report
        await asyncio.sleep(0.1)
    raise RuntimeError(f"attempt {attempt_id} did not end")


class _StoredCall:
    """What `collect` needs of a conversation, rebuilt from the attempt the server stored."""

    def __init__(self, metrics: list[dict[str, Any]]) -> None:
        self.stored_metrics = metrics
        self.underruns = 0
        self.events = EventLog()


async def persona_quality(backends: Backends, turns: int) -> dict[str, Any]:
    """Raw replies of the persona model to typical learner lines (text mode), checked against its rules."""
    assert backends.persona_llm is not None
    counts: dict[str, int] = {}
    broken = 0
    samples: list[dict[str, Any]] = []
    for i in range(turns):
        config = persona_config(f"quality-{i // len(QUALITY_PROMPTS)}", mode="text")
        conversation = Conversation(config, llm=backends.persona_llm)
        conversation._turn_counter = 0
        await conversation.start()
        await conversation.send_text(QUALITY_PROMPTS[i % len(QUALITY_PROMPTS)])
        while conversation._reply is not None:
            await asyncio.sleep(0.02)
        raw = next((t.generated_text or "" for t in conversation.transcript.turns if t.speaker == "persona"), "")
        await conversation.end()
        found = violations(raw)
        broken += bool(found)
        for rule in found:
            counts[rule] = counts.get(rule, 0) + 1
        if len(samples) < 12:
            samples.append({"learner": QUALITY_PROMPTS[i % len(QUALITY_PROMPTS)], "persona": raw, "broken": found})
    share = round(broken / turns, 3) if turns else None
    return {"replies": turns, "broken_share": share, "by_rule": counts, "samples": samples}


def collect(results: list[tuple[Conversation, Any]]) -> dict[str, Any]:
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    client_v2v: list[float] = []
    client_over_engine: list[float] = []
    barge_in: list[float] = []
    turns: list[dict[str, Any]] = []
    for conversation, report in results:
        summaries = getattr(conversation, "stored_metrics", None) or [m.summary() for m in conversation.metrics]
        engine = [float(s["voice_to_voice_s"]) for s in summaries if s.get("voice_to_voice_s") is not None]
        # Every line's answer, the one after an interruption included, as the engine counts them.
        heard = [t.persona_audio_at - t.speech_end for t in report.turns if t.persona_audio_at is not None]
        if len(engine) == len(heard):  # the same turns seen from both ends: the model time cancels out
            client_over_engine += [c - e for c, e in zip(heard, engine, strict=True)]
        for s in summaries:
            turns.append(s)
            for stage in STAGES:
                if s.get(stage) is not None:
                    stages[stage].append(float(s[stage]))
        for turn in report.turns:
            if turn.voice_to_voice_s is not None:
                client_v2v.append(turn.voice_to_voice_s)
            if turn.barge_in_stop_s is not None:
                barge_in.append(turn.barge_in_stop_s)
    return {
        "stages": {k: summary(v) for k, v in stages.items()},
        "client_voice_to_voice_s": summary(client_v2v),
        "client_over_engine_s": summary(client_over_engine),
        "barge_in_stop_s": summary(barge_in),
        "turns": turns,
        "underruns": sum(c.underruns for c, _ in results),
        "interruptions": sum(len(c.events.of_type("interruption")) for c, _ in results),
        "timeouts": sum(r.timeouts for _, r in results),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streaming = [t for t in results["streaming"]["turns"] if t["voice_to_voice_s"] is not None]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.35 * len(streaming) + 2.5), width_ratios=[3, 1])
    colors = {"endpointing": "#bbbbbb", "asr": "#4c72b0", "llm": "#dd8452", "chunk": "#f2b447", "tts": "#55a868"}
    for row, turn in enumerate(streaming):
        # Stages as measured from the learner's speech end; ASR and LLM overlap the endpointing wait.
        y = len(streaming) - row
        ax1.barh(y, turn["endpointing_s"] or 0, color=colors["endpointing"], height=0.8)
        start = (turn["endpointing_s"] or 0) - (0.45 - 0.16 if turn["speculative"] else 0)
        for key, stage in (("asr", "asr_final_s"), ("llm", "llm_first_token_s"), ("chunk", "first_chunk_s")):
            width = turn[stage] or 0
            if key == "chunk":
                width -= turn["llm_first_token_s"] or 0
            ax1.barh(y, width, left=start, color=colors[key], height=0.4)
            start += width
        ax1.barh(y, turn["tts_first_audio_s"] or 0, left=start, color=colors["tts"], height=0.4)
        ax1.plot([turn["voice_to_voice_s"]], [y], "k|", markersize=14)
    ax1.set_xlabel("seconds after the learner stopped speaking")
    ax1.set_yticks([])
    ax1.set_title(
        "Per-turn stages (grey: silence wait; blue ASR, orange LLM, yellow first chunk, green TTS; | playout)"
    )
    p50s = [
        results["naive"]["stages"]["voice_to_voice_s"]["p50"],
        results["streaming"]["stages"]["voice_to_voice_s"]["p50"],
    ]
    ax2.bar(["naive", "streaming"], [v or 0 for v in p50s], color=["#c44e52", "#55a868"])
    ax2.set_ylabel("voice-to-voice p50 (s)")
    ax2.set_title("Streaming vs naive")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from server.settings import Settings

    settings = Settings()
    backends = await load_backends(settings.models, ("vad", "asr", "persona_llm", "tts"))
    started = time.time()
    inproc = [await run_inproc(backends, persona_config(f"s{i}")) for i in range(args.repeats)]
    streaming = inproc
    if args.transport != "inproc":
        with tempfile.TemporaryDirectory() as tmp:
            async with local_server(backends, Path(tmp)) as server:
                jitter = args.client_jitter_frames
                streaming = [await run_transport(server, args.transport, jitter) for _ in range(args.repeats)]
    naive = [await run_inproc(backends, persona_config(f"n{i}", naive=True)) for i in range(args.naive_repeats)]
    quality = await persona_quality(backends, args.quality_turns)
    await backends.aclose()
    results: dict[str, Any] = {
        "machine": machine(),
        "profile": settings.profile,
        "transport": args.transport,
        "threads": {
            "budget": settings.models.threads or os.cpu_count(),
            "asr": settings.models.asr.threads,
            "llm": settings.models.persona_llm.threads,
            "tts": settings.models.tts.threads,
        },
        "turn_taking": TurnTakingConfig().__dict__,
        "repeats": args.repeats,
        "streaming": collect(streaming),
        "naive": collect(naive),
        "client_jitter_frames": args.client_jitter_frames if args.transport == "webrtc" else None,
        "persona_quality": quality,
        "wall_s": round(time.time() - started, 1),
    }
    s50 = results["streaming"]["stages"]["voice_to_voice_s"]["p50"]
    n50 = results["naive"]["stages"]["voice_to_voice_s"]["p50"]
    results["naive_over_streaming_p50"] = round(n50 / s50, 2) if s50 and n50 else None
    if args.transport != "inproc":
        # The same script in-process in this run. The transport's cost is what the client hears on top of
        # the engine's own figure for the same turn, beyond what it hears on top of it in-process.
        results["inproc"] = collect(inproc)
        over = results["streaming"]["client_over_engine_s"]["p50"]
        local = results["inproc"]["client_over_engine_s"]["p50"]
        results["transport_added_p50_s"] = round(over - local, 4) if over is not None and local is not None else None
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write results here (a PNG is written beside it)")
    parser.add_argument("--profile")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-repeats", type=int, default=2)
    parser.add_argument("--quality-turns", type=int, default=50)
    parser.add_argument("--transport", choices=["inproc", "ws", "webrtc"], default="inproc")
    parser.add_argument(
        "--client-jitter-frames", type=int, default=0,
        help="frames the WebRTC client holds before releasing one: 0 = on arrival (the transport alone), "
        "4 = aiortc's default (80 ms); a browser's playout buffer adapts to the network",
    )  # fmt: skip
    args = parser.parse_args()
    if args.profile:
        os.environ["SPARRING_PROFILE"] = args.profile
    results = asyncio.run(run(args))
    rows = []
    for stage in [*STAGES, "client_voice_to_voice_s", "barge_in_stop_s"]:
        s = results["streaming"]["stages"].get(stage) or results["streaming"][stage]
        n = results["naive"]["stages"].get(stage) or results["naive"][stage]
        rows.append([stage, s["p50"], s["p95"], n["p50"], n["p95"], s["n"]])
    print(table(rows, ["stage (s)", "stream p50", "stream p95", "naive p50", "naive p95", "n"]))
    print(f"naive / streaming voice-to-voice p50: {results['naive_over_streaming_p50']}")
    if "transport_added_p50_s" in results:
        local = results["inproc"]["client_voice_to_voice_s"]["p50"]
        added = results["transport_added_p50_s"]
        print(f"client voice-to-voice p50 in-process {local} s; {args.transport} adds {added} s per turn (p50)")
    q = results["persona_quality"]
    print(f"persona replies breaking the rules: {q['broken_share']} of {q['replies']} ({q['by_rule']})")
    if args.json:
        write_json(args.json, results)
        plot(results, Path(args.json).with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
