"""The four model Protocols and the plain records that cross them.

Audio is float32 mono in [-1, 1] everywhere inside `models` and `pipeline`; transports convert.
Blocking inference never runs on the event loop: async methods hand work to executors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BackendInfo:
    """What /healthz and `sparring models` report about a loaded backend."""

    role: str
    backend: str
    model: str
    details: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- VAD


@runtime_checkable
class VADStream(Protocol):
    """Per-session VAD state: feed consecutive frames, get a speech probability per frame."""

    def probability(self, frame: Audio) -> float: ...

    def reset(self) -> None: ...


@runtime_checkable
class VAD(Protocol):
    """A voice activity detector. The model is shared; each session opens its own stream."""

    sample_rate: int
    frame_samples: int
    info: BackendInfo

    def new_stream(self) -> VADStream: ...


# ---------------------------------------------------------------- ASR


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class Transcription:
    text: str
    words: tuple[Word, ...] = ()
    duration: float = 0.0
    language: str = "en"


@runtime_checkable
class ASR(Protocol):
    """Speech to text on 16 kHz mono audio."""

    sample_rate: int
    info: BackendInfo

    async def transcribe(self, audio: Audio, *, prompt: str | None = None) -> Transcription: ...


# ---------------------------------------------------------------- LLM

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    """Decoding settings. `json_schema` forces structured output (grammar / guided decoding)."""

    max_tokens: int = 120
    temperature: float = 0.3
    top_p: float = 0.9
    repeat_penalty: float = 1.3
    stop: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    seed: int | None = None


@runtime_checkable
class LLM(Protocol):
    """A chat model that streams text deltas.

    `context_id` names a conversation so an engine can keep its prompt prefix cached between
    turns. Closing the iterator (or cancelling its task) must stop generation promptly.
    """

    info: BackendInfo

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        *,
        context_id: str | None = None,
    ) -> AsyncIterator[str]: ...


async def complete(
    llm: LLM, messages: Sequence[ChatMessage], options: GenerationOptions, *, context_id: str | None = None
) -> str:
    """Collect a whole reply (for graders and tools, never for the live persona)."""
    parts: list[str] = []
    stream = llm.stream(messages, options, context_id=context_id)
    try:
        async for delta in stream:
            parts.append(delta)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    return "".join(parts)


# ---------------------------------------------------------------- end of turn


@runtime_checkable
class TurnModel(Protocol):
    """Judges from the audio whether the learner has finished speaking (vs pausing mid-thought)."""

    threshold: float
    info: BackendInfo

    async def completion_probability(self, audio: Audio) -> float: ...


# ---------------------------------------------------------------- TTS


@runtime_checkable
class TTS(Protocol):
    """Text to speech. Yields audio as soon as each sentence of the text is synthesised."""

    sample_rate: int
    info: BackendInfo

    def synthesize(self, text: str) -> AsyncIterator[Audio]: ...
