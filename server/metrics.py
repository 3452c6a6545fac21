"""Prometheus metrics of one node: live calls, per-stage latency, interruptions, playout underruns,
the grading queue, model load state. One registry per app (tests run several apps in a process)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

STAGES = {
    "endpointing_s": "endpointing",
    "asr_final_s": "asr_final",
    "llm_first_token_s": "llm_first_token",
    "tts_first_audio_s": "tts_first_audio",
    "voice_to_voice_s": "voice_to_voice",
}
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.live_sessions = Gauge("sparring_live_sessions", "Live calls on this node", registry=r)
        self.live_limit = Gauge("sparring_live_sessions_limit", "Live calls this node admits", registry=r)
        self.stage_seconds = Histogram(
            "sparring_stage_seconds", "Per-turn stage latency", ["stage"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.turns = Counter("sparring_persona_turns_total", "Persona replies", registry=r)
        self.interruptions = Counter("sparring_interruptions_total", "Learner barge-ins", registry=r)
        self.underruns = Counter(
            "sparring_playout_underruns_total", "Frames with no audio while the persona spoke", registry=r
        )
        self.calls = Counter("sparring_calls_total", "Calls ended, by outcome", ["outcome"], registry=r)
        self.refused = Counter("sparring_calls_refused_total", "Calls refused, by HTTP status", ["status"], registry=r)
        self.queue = Gauge("sparring_grading_queue_jobs", "Grading jobs by state", ["state"], registry=r)
        self.job_seconds = Histogram(
            "sparring_grading_job_seconds", "Time to grade one attempt", buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300),
            registry=r,
        )  # fmt: skip
        self.model_loaded = Gauge(
            "sparring_model_loaded", "1 when a backend is loaded", ["role", "backend"], registry=r
        )

    def observe_turn(self, summary: dict[str, Any]) -> None:
        self.turns.inc()
        for key, stage in STAGES.items():
            value = summary.get(key)
            if isinstance(value, int | float):
                self.stage_seconds.labels(stage).observe(float(value))

    def render(self) -> bytes:
        return generate_latest(self.registry)
