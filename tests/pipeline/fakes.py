"""Fake backends with scripted timings, for engine logic tests on a virtual clock.

Learner "speech" is a constant tone whose amplitude encodes which scripted line is being said:
the fake VAD hears any loud frame as speech, the fake ASR maps the amplitude back to the text.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.base import Audio, BackendInfo, ChatMessage, GenerationOptions, Transcription

RATE = 16_000


def amplitude_for(index: int) -> float:
    return 0.2 + 0.05 * index


def tone(seconds: float, index: int) -> Audio:
    return np.full(round(seconds * RATE), amplitude_for(index), dtype=np.float32)


def quiet(seconds: float) -> Audio:
    return np.zeros(round(seconds * RATE), dtype=np.float32)


class FakeVADStream:
    def probability(self, frame: Audio) -> float:
        return 1.0 if float(np.mean(np.abs(frame))) > 0.1 else 0.0

    def reset(self) -> None:
        pass


class FakeVAD:
    sample_rate = RATE
    frame_samples = 512
    info = BackendInfo("vad", "fake", "-")

    def new_stream(self) -> FakeVADStream:
        return FakeVADStream()


@dataclass
class FakeASR:
    lines: Sequence[str]
    delay_s: float = 0.3
    calls: list[float] = field(default_factory=list)
    sample_rate: int = RATE
    info: BackendInfo = BackendInfo("asr", "fake", "-")
    fail: bool = False

    async def transcribe(self, audio: Audio, *, prompt: str | None = None) -> Transcription:
        self.calls.append(len(audio) / RATE)
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("ASR backend crashed")
        loud = audio[np.abs(audio) > 0.1]
        if loud.size == 0:
            return Transcription("", duration=len(audio) / RATE)
        index = round((float(np.median(np.abs(loud))) - 0.2) / 0.05)
        return Transcription(self.lines[index], duration=len(audio) / RATE)


@dataclass
class FakeLLM:
    """Replies with scripted texts in order, one word per token after `first_token_s`."""

    replies: Sequence[str]
    first_token_s: float = 0.1
    token_s: float = 0.02
    requests: list[list[ChatMessage]] = field(default_factory=list)
    cancelled: int = 0
    active: int = 0
    info: BackendInfo = BackendInfo("persona_llm", "fake", "-")
    fail_at_token: int | None = None

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, *, context_id: str | None = None
    ) -> AsyncIterator[str]:
        if options.max_tokens == 1:  # the engine's prompt prefill: no reply consumed
            return
        reply = self.replies[min(len(self.requests), len(self.replies) - 1)]
        self.requests.append(list(messages))
        self.active += 1
        try:
            await asyncio.sleep(self.first_token_s)
            for i, word in enumerate(reply.split(" ")):
                if self.fail_at_token is not None and i == self.fail_at_token:
                    raise ConnectionError("LLM stream broke")
                yield (" " if i else "") + word
                await asyncio.sleep(self.token_s)
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled += 1
            raise
        finally:
            self.active -= 1


@dataclass
class FakeTTS:
    """0.25 s of a 0.3-amplitude tone per word, after `delay_s`; one piece per sentence."""

    delay_s: float = 0.1
    seconds_per_word: float = 0.25
    sample_rate: int = RATE
    info: BackendInfo = BackendInfo("tts", "fake", "-")
    texts: list[str] = field(default_factory=list)
    fail: bool = False

    async def synthesize(self, text: str) -> AsyncIterator[Audio]:
        self.texts.append(text)
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("TTS backend crashed")
        yield np.full(round(len(text.split()) * self.seconds_per_word * RATE), 0.3, dtype=np.float32)
