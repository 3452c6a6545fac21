"""ML backends behind four small Protocols (VAD, ASR, LLM, TTS), built by name from config."""

from models.base import (
    ASR,
    LLM,
    TTS,
    VAD,
    Audio,
    BackendInfo,
    ChatMessage,
    GenerationOptions,
    Transcription,
    VADStream,
    Word,
    complete,
)
from models.errors import (
    BackendConfigError,
    BackendResponseError,
    BackendUnavailableError,
    ModelError,
    ModelNotFoundError,
)

__all__ = [
    "ASR",
    "LLM",
    "TTS",
    "VAD",
    "Audio",
    "BackendConfigError",
    "BackendInfo",
    "BackendResponseError",
    "BackendUnavailableError",
    "ChatMessage",
    "GenerationOptions",
    "ModelError",
    "ModelNotFoundError",
    "Transcription",
    "VADStream",
    "Word",
    "complete",
]
