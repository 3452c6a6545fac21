"""Concurrent calls against one server: how many sessions this node holds at a latency target.

    python -m benchmarks.load --json benchmarks/results/load.json [--transport ws] [--max 16] [--threshold 1.5]

Starts `sparring serve` as its own process (embedded CPU profile, grading workers off so only calls
load the node), then steps N = 1, 2, 4, 8, ... simulated learners at once, each a scripted voice
conversation (espeak-ng speech in real time, pauses, one interruption) over the WebSocket or
WebRTC transport. Per step: client-measured voice-to-voice p50/p95/p99, server per-stage latency,
server CPU (share of one core) and memory per session, playout underruns, errors. Stops at the
first step whose p95 voice-to-voice passes the threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.clients import webrtc_call, websocket_call
from benchmarks.common import machine, summary, table, write_json
from benchmarks.learner import Line
from benchmarks.serve import served
from server.store.db import Database
from server.store.tables import Attempt

SCRIPT = [
    Line("Hi Emma, thanks for taking my call. I work for Greenpack."),
    Line("What does your current packaging process look like?", delay_s=0.8),
    Line("Sorry to jump in, what matters most to you in a supplier?", mode="interrupt", delay_s=1.2),
    Line("Could we schedule a call next week with your operations lead?", delay_s=0.6),
]
STAGES = ["endpointing_s", "asr_final_s", "llm_first_token_s", "first_chunk_s", "tts_first_audio_s", "voice_to_voice_s"]
REQUEST = {
    "user_id": "load-learner",
    "persona_id": "emma",
    "duration_minutes": 5,
    "roleplay_type": "sales",
    "brief": {"counterpart": "a procurement director at Northwind Foods", "goal": "Learn the current process"},
}


def cli(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name) and " " in line)


async def one_call(base: str, headers: dict[str, str], transport: str, delay: float) -> dict[str, Any]:
    await asyncio.sleep(delay)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        session = (await http.post("/api/v1/roleplays/configure", json=REQUEST)).json()
    call = webrtc_call if transport == "webrtc" else websocket_call
    try:
        result = await call(base, session["session_id"], SCRIPT, headers=headers)
    except Exception as error:  # counted, not fatal: the step reports its errors
        return {"error": repr(error)}
    return {
        "attempt_id": result.attempt_id,
        "v2v": [t.voice_to_voice_s for t in result.report.turns if t.voice_to_voice_s is not None],
        "barge_in": [t.barge_in_stop_s for t in result.report.turns if t.barge_in_stop_s is not None],
        "timeouts": result.report.timeouts,
    }


async def step(
    n: int, base: str, headers: dict[str, str], transport: str, server: psutil.Process, db: Database
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as http:
        before_metrics = (await http.get("/metrics")).text
    rss_before = server.memory_info().rss
    cpu_before = server.cpu_times()
    started = time.monotonic()
    rng = random.Random(n)
    outcomes = await asyncio.gather(*(one_call(base, headers, transport, rng.uniform(0, 2.0)) for _ in range(n)))
    wall = time.monotonic() - started
    cpu_after = server.cpu_times()
    rss_after = server.memory_info().rss
    async with httpx.AsyncClient(base_url=base) as http:
        after_metrics = (await http.get("/metrics")).text
    errors = [o["error"] for o in outcomes if "error" in o]
    done = [o for o in outcomes if "error" not in o]
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    await asyncio.sleep(1.0)
    with db.session() as s:
        for outcome in done:
            attempt = s.get(Attempt, outcome["attempt_id"])
            for turn in attempt.metrics if attempt else []:
                for stage in STAGES:
                    if turn.get(stage) is not None:
                        stages[stage].append(float(turn[stage]))
    cpu_s = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    return {
        "sessions": n,
        "client_voice_to_voice_s": summary([v for o in done for v in o["v2v"]]),
        "barge_in_stop_s": summary([v for o in done for v in o["barge_in"]]),
        "server_stages": {k: summary(v) for k, v in stages.items()},
        "server_cpu_cores": round(cpu_s / wall, 3),
        "server_cpu_cores_per_session": round(cpu_s / wall / n, 3),
        "server_rss_mb": round(rss_after / 1e6, 1),
        "server_rss_mb_per_session": round(max(0, rss_after - rss_before) / 1e6 / n, 1),
        "underruns": metric(after_metrics, "sparring_playout_underruns_total")
        - metric(before_metrics, "sparring_playout_underruns_total"),
        "errors": errors,
        "timeouts": sum(o["timeouts"] for o in done),
        "wall_s": round(wall, 1),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = results["steps"]
    ns = [s["sessions"] for s in steps]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for key, style in (("p50", "o-"), ("p95", "s-"), ("p99", "^-")):
        ax1.plot(ns, [s["client_voice_to_voice_s"][key] for s in steps], style, label=f"voice-to-voice {key}")
    ax1.axhline(results["threshold_s"], color="grey", linestyle="--", label="target p95")
    ax1.set_xscale("log", base=2)
    ax1.set_xticks(ns, [str(n) for n in ns])
    ax1.set_xlabel("concurrent sessions")
    ax1.set_ylabel("seconds (client-measured)")
    ax1.set_title(f"Latency under load ({results['transport']}, {results['machine']['cores']} cores)")
    ax1.legend()
    ax2.bar([str(n) for n in ns], [s["server_cpu_cores"] for s in steps], color="#4c72b0", label="server CPU (cores)")
    ax2.set_xlabel("concurrent sessions")
    ax2.set_ylabel("cores busy")
    twin = ax2.twinx()
    twin.plot([str(n) for n in ns], [s["server_rss_mb"] for s in steps], "r.-", label="server RSS (MB)")
    twin.set_ylabel("MB")
    ax2.set_title("Server resources")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = {"SPARRING_GRADER_WORKERS": "0", "SPARRING_MAX_LIVE_SESSIONS": str(args.max * 2)}
    async with served(**settings) as server:
        idle_rss = server.process.memory_info().rss
        steps = []
        n = 1
        while n <= args.max:
            result = await step(n, server.base_url, server.headers, args.transport, server.process, server.db)
            steps.append(result)
            p95 = result["client_voice_to_voice_s"]["p95"]
            print(
                f"N={n}: voice-to-voice p50 {result['client_voice_to_voice_s']['p50']} p95 {p95}, "
                f"CPU {result['server_cpu_cores']} cores, errors {len(result['errors'])}",
                flush=True,
            )
            if p95 is None or p95 > args.threshold:
                break
            n *= 2
    held = [
        s["sessions"]
        for s in steps
        if (s["client_voice_to_voice_s"]["p95"] or 99) <= args.threshold and not s["errors"]
    ]
    return {
        "machine": machine(),
        "transport": args.transport,
        "threshold_s": args.threshold,
        "idle_server_rss_mb": round(idle_rss / 1e6, 1),
        "sessions_held_at_threshold": max(held) if held else 0,
        "steps": steps,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    parser.add_argument("--transport", choices=["ws", "webrtc"], default="ws")
    parser.add_argument("--max", type=int, default=16)
    parser.add_argument("--threshold", type=float, default=1.5, help="p95 voice-to-voice target (s)")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    rows = [
        [
            s["sessions"],
            s["client_voice_to_voice_s"]["p50"],
            s["client_voice_to_voice_s"]["p95"],
            s["client_voice_to_voice_s"]["p99"],
            s["server_cpu_cores"],
            s["server_rss_mb_per_session"],
            s["underruns"],
            len(s["errors"]),
        ]
        for s in results["steps"]
    ]
    print(table(rows, ["sessions", "v2v p50", "v2v p95", "v2v p99", "CPU cores", "MB/session", "underruns", "errors"]))
    print(f"sessions held at p95 voice-to-voice <= {args.threshold} s: {results['sessions_held_at_threshold']}")
    if args.json:
        write_json(args.json, results)
        plot(results, Path(args.json).with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
