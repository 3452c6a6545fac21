"""Drive a Conversation on the virtual clock with a scripted learner timeline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.config import ConversationConfig, TurnTakingConfig
from pipeline.conversation import Conversation
from tests.pipeline.fakes import RATE, FakeASR, FakeLLM, FakeTTS, FakeVAD, tone

FRAME = 320  # 20 ms at 16 kHz


@dataclass
class Run:
    conversation: Conversation
    output: list[tuple[float, float]] = field(default_factory=list)  # (time, peak) per output frame

    def events(self, kind: str) -> list[Any]:
        return self.conversation.events.of_type(kind)

    def audible_between(self, start: float, end: float) -> bool:
        return any(peak > 0.01 for t, peak in self.output if start <= t < end)


def timeline(seconds: float, speech: list[tuple[float, float, int]]) -> np.ndarray:
    """Learner audio: silence with a tone for each (start, end, line index)."""
    audio = np.zeros(round(seconds * RATE), dtype=np.float32)
    for start, end, index in speech:
        audio[round(start * RATE) : round(start * RATE) + round((end - start) * RATE)] = tone(end - start, index)
    return audio


def make(
    lines: list[str],
    replies: list[str],
    *,
    config: dict[str, Any] | None = None,
    turn_taking: dict[str, Any] | None = None,
    llm: FakeLLM | None = None,
    asr: FakeASR | None = None,
    tts: FakeTTS | None = None,
    **kwargs: Any,
) -> Conversation:
    options: dict[str, Any] = {"system_prompt": "You are Emma.", "persona_speaks_first": False, **(config or {})}
    options["turn_taking"] = TurnTakingConfig(**(turn_taking or {}))
    return Conversation(
        ConversationConfig(**options),
        llm=llm or FakeLLM(replies),
        vad=FakeVAD(),
        asr=asr or FakeASR(lines),
        tts=tts or FakeTTS(),
        **kwargs,
    )


async def drive(
    conversation: Conversation,
    learner: np.ndarray,
    *,
    actions: list[tuple[float, Any]] | None = None,
    end_at: float | None = None,
) -> Run:
    """Feed `learner` in real (virtual) time, run `actions` [(t, callable)], end at `end_at`."""
    run = Run(conversation)
    loop = asyncio.get_running_loop()
    await conversation.start()
    t0 = loop.time()

    async def consume() -> None:
        while True:
            frame = await conversation.output.get()
            run.output.append((loop.time() - t0, float(np.max(np.abs(frame)))))

    consumer = asyncio.ensure_future(consume())
    pending = sorted(actions or [], key=lambda a: a[0])
    duration = end_at if end_at is not None else len(learner) / RATE
    step = 0
    while step * FRAME / RATE < duration and conversation.state not in ("ended", "error"):
        now = step * FRAME / RATE
        while pending and pending[0][0] <= now:
            result = pending.pop(0)[1]()
            if asyncio.iscoroutine(result):
                await result
        chunk = learner[step * FRAME : (step + 1) * FRAME]
        if len(chunk):
            conversation.push_audio(chunk)
        step += 1
        await asyncio.sleep(max(0.0, t0 + step * FRAME / RATE - loop.time()))
    if end_at is not None and conversation.state not in ("ended", "error"):
        await conversation.end()
    await asyncio.wait_for(conversation.wait_ended(), 600)
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    return run
