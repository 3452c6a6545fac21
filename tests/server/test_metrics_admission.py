"""Admission control (503 + Retry-After past the node's limit, running calls unharmed) and /metrics."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.support.live import LiveServer

pytestmark = pytest.mark.models


async def say(ws, text: str) -> str:  # type: ignore[no-untyped-def]
    await ws.send(json.dumps({"type": "text", "text": text}))
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == "transcript" and event["speaker"] == "persona" and event["number"] > 1:
            return str(event["text"])


async def test_past_the_limit_new_calls_get_503_and_running_calls_continue(live_server: LiveServer) -> None:
    limit = live_server.calls.max_live
    urls = []
    for _ in range(limit + 1):
        session_id = live_server.new_session(mode="text")
        urls.append(live_server.base_url.replace("http", "ws", 1) + f"/api/v1/roleplays/session/{session_id}")
    sockets = [await websockets.connect(url, additional_headers=live_server.learner_headers) for url in urls[:limit]]
    try:
        for ws in sockets:
            assert json.loads(await ws.recv())["type"] == "call"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(urls[limit], additional_headers=live_server.learner_headers):
                pass
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["Retry-After"] == "30"
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=live_server.learner_headers) as http:
            offer = await http.post(urls[limit].split("/api/v1", 1)[1].join(["/api/v1", "/offer"]),
                                    json={"sdp": "v=0", "type": "offer"})  # fmt: skip
            assert offer.status_code == 503 and offer.headers["retry-after"] == "30"
            scraped = (await http.get("/metrics")).text
        assert f"sparring_live_sessions {float(limit)}" in scraped
        assert 'sparring_calls_refused_total{status="503"}' in scraped
        # The calls already running are unharmed: each still answers.
        replies = await asyncio.gather(*(say(ws, "Hello, do you have a minute?") for ws in sockets))
        assert all(replies)
    finally:
        for ws in sockets:
            await ws.send(json.dumps({"type": "end"}))
            await ws.close()
    for _ in range(100):
        if not live_server.calls.calls:
            break
        await asyncio.sleep(0.1)
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        scraped = (await http.get("/metrics")).text
    assert "sparring_live_sessions 0.0" in scraped
    assert 'sparring_stage_seconds_count{stage="llm_first_token"}' in scraped
    assert (
        "sparring_grading_queue_jobs" in scraped
        and 'sparring_model_loaded{backend="llama-cpp",role="persona_llm"} 1.0' in scraped
    )
