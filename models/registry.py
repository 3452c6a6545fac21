"""Build model backends by name from configuration. Loading is blocking; callers use `load_backends`."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from models.base import ASR, LLM, TTS, VAD, BackendInfo, TurnModel
from models.config import ASRConfig, LLMConfig, ModelsConfig, TTSConfig, TurnConfig, VADConfig
from models.errors import BackendConfigError

log = logging.getLogger(__name__)

ROLES = ("vad", "asr", "persona_llm", "grader_llm", "tts", "turn")


def thread_budget(config: ModelsConfig) -> int:
    return config.threads or os.cpu_count() or 1


def build_vad(config: VADConfig, threads: int) -> VAD:
    if config.backend == "silero":
        from models.silero_vad import SileroVAD

        return SileroVAD(config)
    raise BackendConfigError(f"unknown VAD backend {config.backend!r}; known: silero")


def build_asr(config: ASRConfig, threads: int) -> ASR:
    if config.backend == "faster-whisper":
        from models.faster_whisper_asr import FasterWhisperASR

        return FasterWhisperASR(config, threads=threads)
    raise BackendConfigError(f"unknown ASR backend {config.backend!r}; known: faster-whisper")


def build_llm(config: LLMConfig, threads: int, role: str = "llm") -> LLM:
    if config.backend == "llama-cpp":
        from models.llama_cpp_llm import LlamaCppLLM

        return LlamaCppLLM(config, threads=threads, role=role)
    if config.backend == "openai":
        from models.openai_llm import OpenAILLM

        return OpenAILLM(config, role=role)
    raise BackendConfigError(f"unknown LLM backend {config.backend!r}; known: llama-cpp, openai")


def build_tts(config: TTSConfig, threads: int) -> TTS:
    if config.backend == "piper":
        from models.piper_tts import PiperTTS

        return PiperTTS(config, threads=threads)
    if config.backend == "piper-process":
        from models.piper_process_tts import PiperProcessTTS

        return PiperProcessTTS(config, threads=threads)
    raise BackendConfigError(f"unknown TTS backend {config.backend!r}; known: piper, piper-process")


def build_turn(config: TurnConfig) -> TurnModel | None:
    if config.backend == "none":
        return None
    if config.backend == "smart-turn":
        from models.smart_turn import SmartTurn

        return SmartTurn(config)
    raise BackendConfigError(f"unknown turn backend {config.backend!r}; known: none, smart-turn")


@dataclass
class Backends:
    """The loaded backends of one process, shared by all its sessions."""

    vad: VAD | None = None
    asr: ASR | None = None
    persona_llm: LLM | None = None
    grader_llm: LLM | None = None
    tts: TTS | None = None
    turn: TurnModel | None = None
    load_seconds: dict[str, float] = field(default_factory=dict)

    def infos(self) -> dict[str, BackendInfo]:
        return {role: getattr(self, role).info for role in ROLES if getattr(self, role) is not None}

    def require(self) -> tuple[VAD, ASR, LLM, TTS]:
        if not (self.vad and self.asr and self.persona_llm and self.tts):
            raise BackendConfigError("voice sessions need VAD, ASR, persona LLM and TTS loaded")
        return self.vad, self.asr, self.persona_llm, self.tts

    async def aclose(self) -> None:
        for role in ROLES:
            backend = getattr(self, role)
            aclose = getattr(backend, "aclose", None)
            if aclose is not None:
                await aclose()


async def load_backends(config: ModelsConfig, roles: tuple[str, ...] = ROLES) -> Backends:
    """Load (and warm) each requested backend in a worker thread, one after another."""
    threads = thread_budget(config)
    builders: dict[str, Callable[[], Any]] = {
        "vad": lambda: build_vad(config.vad, threads),
        "asr": lambda: build_asr(config.asr, threads),
        "persona_llm": lambda: build_llm(config.persona_llm, threads, "persona_llm"),
        "grader_llm": lambda: build_llm(config.grader_llm, threads, "grader_llm"),
        "tts": lambda: build_tts(config.tts, threads),
        "turn": lambda: build_turn(config.turn),
    }
    backends = Backends()
    loop = asyncio.get_running_loop()
    for role in roles:
        if role not in builders:
            raise BackendConfigError(f"unknown model role {role!r}; known: {', '.join(ROLES)}")
        if role == "grader_llm" and backends.persona_llm is not None and config.grader_llm == config.persona_llm:
            backends.grader_llm = backends.persona_llm  # same engine and model: one copy in memory
            continue
        started = time.perf_counter()
        backend = await loop.run_in_executor(None, builders[role])
        if backend is None:
            continue
        start = getattr(backend, "start", None)
        if start is not None:
            await start()
        backends.load_seconds[role] = time.perf_counter() - started
        setattr(backends, role, backend)
        log.info("loaded %s", role, extra={"backend": backend.info.backend, "model": backend.info.model})
    return backends
