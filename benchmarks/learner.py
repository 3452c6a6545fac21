"""A scripted learner: speaks given lines (espeak-ng audio) in real time over any transport.

It behaves like a person with a microphone: it sends 20 ms frames continuously (silence between
lines), listens to the persona's audio, and speaks its next line when the persona has finished
(after a response delay), or cuts in a given time after the persona starts, or stays silent.
It measures on its own clock what a user would: voice-to-voice from the true end of its speech
to the first audible persona audio, and how fast the persona stops when interrupted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from benchmarks.speech import espeak, silence
from models.base import Audio

RATE = 16_000
FRAME_S = 0.02
AUDIBLE = 0.01


@dataclass(frozen=True)
class Line:
    text: str
    mode: Literal["after_reply", "interrupt", "silent"] = "after_reply"
    delay_s: float = 0.5  # response delay after the persona finished, or how long into its reply to cut in


@dataclass
class TurnResult:
    text: str
    mode: str
    speech_start: float
    speech_end: float
    persona_audio_at: float | None = None  # first audible persona frame after speech_end
    persona_stopped_at: float | None = None  # interrupt lines: persona went quiet

    def answered(self) -> bool:
        return self.persona_audio_at is not None

    @property
    def voice_to_voice_s(self) -> float | None:
        if self.mode != "after_reply" or self.persona_audio_at is None:
            return None
        return self.persona_audio_at - self.speech_end

    @property
    def barge_in_stop_s(self) -> float | None:
        if self.mode != "interrupt" or self.persona_stopped_at is None:
            return None
        return self.persona_stopped_at - self.speech_start


@dataclass
class LearnerReport:
    turns: list[TurnResult] = field(default_factory=list)
    timeouts: int = 0
    received_frames: int = 0


class ScriptedLearner:
    """Drive with `run()`; feed every frame received from the persona to `hear()`."""

    def __init__(
        self,
        lines: list[Line],
        send: Callable[[Audio], Awaitable[None] | None],
        *,
        wait_for_opening: bool = True,
        quiet_after_s: float = 0.9,
        reply_timeout_s: float = 20.0,
    ) -> None:
        self.lines = lines
        self._send = send
        self._wait_for_opening = wait_for_opening
        self._quiet_after_s = quiet_after_s
        self._reply_timeout_s = reply_timeout_s
        self._last_audible: float | None = None
        self._audible_since: float | None = None
        self._started = time.monotonic()
        self.report = LearnerReport()
        self._speaking_until = 0.0

    def now(self) -> float:
        return time.monotonic() - self._started

    def hear(self, frame: Audio) -> None:
        """One frame of persona audio as it arrived (any rate; only its level matters)."""
        self.report.received_frames += 1
        now = self.now()
        if frame.size and float(np.max(np.abs(frame))) >= AUDIBLE:
            if self._last_audible is None or now - self._last_audible > 0.5:
                self._audible_since = now
            self._last_audible = now
            for turn in self.report.turns:
                if turn.persona_audio_at is None and now > turn.speech_end:
                    turn.persona_audio_at = now

    def _persona_quiet_for(self) -> float:
        return float("inf") if self._last_audible is None else self.now() - self._last_audible

    async def _wait(self, condition: Callable[[], bool], limit_s: float) -> bool:
        deadline = self.now() + limit_s
        while not condition():
            if self.now() > deadline:
                self.report.timeouts += 1
                return False
            await asyncio.sleep(0.01)
        return True

    async def _speak(self, audio: Audio) -> tuple[float, float]:
        """Send audio in real time, 20 ms per frame; returns its (start, end) on our clock."""
        start = self.now()
        n = round(FRAME_S * RATE)
        for i in range(0, len(audio), n):
            result = self._send(audio[i : i + n])
            if result is not None:
                await result
            await asyncio.sleep(max(0.0, start + (i + n) / RATE - self.now()))
        return start, self.now()

    async def _background_silence(self, stop: asyncio.Event) -> None:
        n = round(FRAME_S * RATE)
        frame = np.zeros(n, dtype=np.float32)
        next_t = self.now()
        while not stop.is_set():
            if self.now() >= self._speaking_until:
                result = self._send(frame)
                if result is not None:
                    await result
            next_t += FRAME_S
            await asyncio.sleep(max(0.0, next_t - self.now()))

    async def run(self) -> LearnerReport:
        self._started = time.monotonic()
        stop = asyncio.Event()
        background = asyncio.ensure_future(self._background_silence(stop))
        try:
            if self._wait_for_opening:
                await self._wait(lambda: self._last_audible is not None, self._reply_timeout_s)
            for line in self.lines:
                if line.mode == "silent":
                    await asyncio.sleep(line.delay_s)
                    continue
                if line.mode == "interrupt":
                    await self._wait(lambda: self._persona_quiet_for() < 0.1, self._reply_timeout_s)
                    since = self._audible_since or self.now()
                    await asyncio.sleep(max(0.0, since + line.delay_s - self.now()))
                else:
                    await self._wait(lambda: self._persona_quiet_for() >= self._quiet_after_s, self._reply_timeout_s)
                    await asyncio.sleep(max(0.0, line.delay_s - self._quiet_after_s))
                audio = espeak(line.text)
                self._speaking_until = self.now() + len(audio) / RATE + 0.05
                start, end = await self._speak(audio)
                turn = TurnResult(line.text, line.mode, start, end)
                self.report.turns.append(turn)
                if line.mode == "after_reply":
                    await self._wait(turn.answered, self._reply_timeout_s)
                if line.mode == "interrupt":
                    await self._wait(lambda: self._persona_quiet_for() >= 0.3, 5.0)
                    if self._last_audible is not None:
                        turn.persona_stopped_at = self._last_audible
                        if turn.persona_audio_at is not None and turn.persona_audio_at <= self._last_audible:
                            turn.persona_audio_at = None
                    # Someone who cuts in with a question waits for the answer to it before going on.
                    await self._wait(turn.answered, self._reply_timeout_s)
            await self._wait(lambda: self._persona_quiet_for() >= self._quiet_after_s, self._reply_timeout_s)
            await asyncio.sleep(0.3)
        finally:
            stop.set()
            await background
        return self.report


def padded(text: str, before: float = 0.0, after: float = 0.0) -> Audio:
    return np.concatenate([silence(before), espeak(text), silence(after)])
