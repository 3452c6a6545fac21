"""The real vLLM server (CPU build in .venv-vllm) serving the bundled SmolLM2, shared by a test run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import free_port, running

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = ROOT / ".venv-vllm/bin/python"
VLLM_MODEL = ROOT / "var/models/smollm2-135m-instruct"
SERVED_NAME = "smollm2"


@dataclass(frozen=True)
class VLLMServer:
    base_url: str  # ends with /v1
    log: Path
    model: str = SERVED_NAME


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    if not VLLM_PYTHON.exists() or not (VLLM_MODEL / "config.json").exists():
        pytest.fail("vLLM CPU venv missing: run scripts/vllm_env.sh (make test does)")
    port = free_port()
    log = tmp_path_factory.mktemp("vllm") / "vllm.log"
    command = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server", "--model", str(VLLM_MODEL),
               "--served-model-name", SERVED_NAME, "--host", "127.0.0.1", "--port", str(port),
               "--max-model-len", "2048", "--enforce-eager", "--enable-log-requests"]  # fmt: skip
    env = {"HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
    with running(command, ready_url=f"http://127.0.0.1:{port}/health", timeout=300, env=env, log_path=log):
        yield VLLMServer(f"http://127.0.0.1:{port}/v1", log)
