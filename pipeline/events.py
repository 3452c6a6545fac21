"""Typed events of a conversation, and the event log that stores them (JSON lines, append-only)."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

STATES = ("initializing", "in_session", "paused", "ended", "error")


@dataclass(frozen=True)
class Event:
    """One thing that happened. `t` is seconds since the conversation started (monotonic)."""

    type: str
    t: float
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "t": round(self.t, 4), **self.data}


class EventLog:
    """Keeps every event, appends each to a JSONL file as it happens, fans out to subscribers."""

    def __init__(self, path: Path | None = None) -> None:
        self.events: list[Event] = []
        self._file: TextIO | None = None
        self._write_failed = False
        self._subscribers: list[asyncio.Queue[Event | None]] = []
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if self._file is not None and not self._write_failed:
            try:
                self._file.write(json.dumps(event.to_json(), default=str) + "\n")
                self._file.flush()
            except OSError as error:  # disk full: keep the call going, keep events in memory
                self._write_failed = True
                log.warning("event log write failed: %s", error)
        for queue in self._subscribers:
            queue.put_nowait(event)

    def subscribe(self) -> asyncio.Queue[Event | None]:
        """A queue receiving every later event; `None` marks the end of the conversation."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event | None]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def close(self) -> None:
        for queue in self._subscribers:
            queue.put_nowait(None)
        if self._file is not None:
            self._file.close()
            self._file = None

    def of_type(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.type == kind]


@dataclass
class TurnMetrics:
    """Stage timings of one persona reply, in seconds since the conversation started."""

    turn: int
    speech_end: float | None = None  # learner's last speech (VAD frame end), the latency origin
    endpoint: float | None = None  # the engine decided the learner was done
    asr_start: float | None = None
    asr_final: float | None = None
    llm_start: float | None = None
    llm_first_token: float | None = None
    first_chunk: float | None = None
    tts_first_audio: float | None = None
    playout_start: float | None = None
    speculative: bool = False

    def summary(self) -> dict[str, float | int | bool | None]:
        def span(a: float | None, b: float | None) -> float | None:
            return round(b - a, 4) if a is not None and b is not None else None

        return {
            "turn": self.turn,
            "speculative": self.speculative,
            "endpointing_s": span(self.speech_end, self.endpoint),
            "asr_final_s": span(self.asr_start, self.asr_final),
            "llm_first_token_s": span(self.llm_start, self.llm_first_token),
            "first_chunk_s": span(self.llm_start, self.first_chunk),
            "tts_first_audio_s": span(self.first_chunk, self.tts_first_audio),
            "voice_to_voice_s": span(self.speech_end, self.playout_start),
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
