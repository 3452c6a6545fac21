"""Soak: many sessions for a long time, to catch leaks and errors that short tests never see.

    python -m benchmarks.soak --json benchmarks/results/soak.json [--sessions 10] [--minutes 10]

`sparring serve` runs as its own process with its grading worker on; `--sessions` learners hold
text-mode practice calls back to back (a few exchanges with think time, then end, then a new call)
for `--minutes`. Then the grading backlog drains. Reports server memory over time (flat within 10%
after warm-up means no leak), errors, calls, and how many attempts were evaluated (all of them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import func, select

from benchmarks.common import machine, write_json
from benchmarks.serve import Served, served
from server.store.tables import Attempt

LINES = [
    "Hi Emma, thanks for taking my call.",
    "What does your current packaging process look like?",
    "What matters most to you in a supplier?",
    "Could we schedule a call next week?",
]


async def learner(server: Served, index: int, until: float, think_s: float, stats: dict[str, Any]) -> None:
    rng = random.Random(index)
    async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers, timeout=60) as http:
        while time.monotonic() < until:
            try:
                body = {
                    "user_id": f"soak-{index}",
                    "duration_minutes": 5,
                    "metadata": {"email": f"soak{index}@bench.local", "practice_mode": "text"},
                }
                session = (await http.post("/api/v1/roleplays/configure", json=body)).json()
                await asyncio.sleep(rng.uniform(0, think_s))
                url = (
                    server.base_url.replace("http", "ws", 1)
                    + f"/api/v1/roleplays/session/{session['session_id']}?mode=text"
                )
                async with websockets.connect(url, additional_headers=server.headers) as ws:
                    json.loads(await ws.recv())
                    for number, line in enumerate(rng.sample(LINES, 3)):
                        await ws.send(json.dumps({"type": "text", "text": line}))
                        while True:
                            event = json.loads(await ws.recv())
                            if (
                                event["type"] == "transcript"
                                and event["speaker"] == "persona"
                                and event["number"] > 2 * number + 1
                            ):
                                break
                            if event["type"] == "ended":
                                raise RuntimeError(f"call ended early: {event}")
                        await asyncio.sleep(rng.uniform(0.5, think_s))
                    await ws.send(json.dumps({"type": "end"}))
                    async for raw in ws:
                        if json.loads(raw)["type"] == "ended":
                            break
                stats["calls"] += 1
            except Exception as error:  # counted and reported; the soak goes on
                stats["errors"].append(repr(error)[:300])
                await asyncio.sleep(1.0)


async def soak(sessions: int, minutes: float, think_s: float, drain_limit_s: float, workers: int) -> dict[str, Any]:
    environment = {"SPARRING_GRADER_WORKERS": str(workers), "SPARRING_MAX_LIVE_SESSIONS": str(sessions + 2)}
    async with served(**environment) as server:
        stats: dict[str, Any] = {"calls": 0, "errors": []}
        samples: list[tuple[float, float]] = []
        started = time.monotonic()
        until = started + minutes * 60
        learners = [asyncio.ensure_future(learner(server, i, until, think_s, stats)) for i in range(sessions)]
        while not all(task.done() for task in learners):
            samples.append((time.monotonic() - started, server.process.memory_info().rss / 1e6))
            await asyncio.sleep(5)
        await asyncio.gather(*learners)
        drain_started = time.monotonic()
        while time.monotonic() - drain_started < drain_limit_s:
            with server.db.session() as db:
                pending = db.scalar(select(func.count()).where(Attempt.state.in_(("ended", "evaluating"))))
            samples.append((time.monotonic() - started, server.process.memory_info().rss / 1e6))
            if not pending:
                break
            await asyncio.sleep(5)
        with server.db.session() as db:
            states = dict(db.execute(select(Attempt.state, func.count()).group_by(Attempt.state)).all())
    warm = [mb for t, mb in samples if t >= minutes * 60 * 0.2 and t <= minutes * 60] or [mb for _, mb in samples]
    growth = (max(warm) - warm[0]) / warm[0] if warm else 0.0
    return {
        "machine": machine(),
        "sessions": sessions,
        "minutes": minutes,
        "grader_workers": workers,
        "calls": stats["calls"],
        "errors": stats["errors"],
        "attempt_states": states,
        "evaluated": states.get("completed", 0),
        "memory_mb": {
            "after_warmup": round(warm[0], 1),
            "max_after_warmup": round(max(warm), 1),
            "growth": round(growth, 3),
        },
        "drain_s": round(time.monotonic() - drain_started, 1),
        "samples": [(round(t, 1), round(mb, 1)) for t, mb in samples],
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times, mbs = zip(*results["samples"], strict=True)
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot([t / 60 for t in times], mbs, "-", color="#4c72b0")
    ax.axvline(results["minutes"], color="grey", linestyle="--", label="calls stop, grading drains")
    ax.axvline(results["minutes"] * 0.2, color="grey", linestyle=":", label="end of warm-up")
    ax.set_xlabel("minutes")
    ax.set_ylabel("server RSS (MB)")
    ax.set_title(f"Soak: {results['sessions']} sessions, {results['calls']} calls, {results['evaluated']} evaluated")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--think", type=float, default=4.0, help="seconds a learner pauses between lines (max)")
    parser.add_argument("--drain-limit", type=float, default=3600, help="seconds to wait for grading to finish")
    parser.add_argument("--grader-workers", type=int, default=1)
    args = parser.parse_args()
    results = asyncio.run(soak(args.sessions, args.minutes, args.think, args.drain_limit, args.grader_workers))
    memory = results["memory_mb"]
    print(
        f"{results['calls']} calls by {args.sessions} sessions in {args.minutes} min; errors: {len(results['errors'])}"
    )
    print(f"attempts: {results['attempt_states']} (evaluated {results['evaluated']}, drain {results['drain_s']} s)")
    print(f"server memory after warm-up {memory['after_warmup']} MB, max {memory['max_after_warmup']} MB", end=" ")
    print(f"(growth {memory['growth']:.1%})")
    if args.json:
        write_json(args.json, results)
        plot(results, Path(args.json).with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
