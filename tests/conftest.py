"""Shared fixtures: the real bundled models, loaded once per test run (one event loop per run)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from models.config import ModelsConfig
from models.registry import Backends, load_backends

pytest_plugins = ["tests.support.live", "tests.support.vllm"]


@pytest.fixture(scope="session")
def models_config() -> ModelsConfig:
    from server.settings import Settings

    return Settings().models


@pytest_asyncio.fixture(scope="session")
async def real_backends(models_config: ModelsConfig) -> AsyncIterator[Backends]:
    """VAD, ASR, persona LLM and TTS on the bundled CPU models (loaded once, a few seconds)."""
    backends = await load_backends(models_config, ("vad", "asr", "persona_llm", "grader_llm", "tts"))
    yield backends
    await backends.aclose()
