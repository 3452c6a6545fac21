"""Call lifecycle: one live peer per attempt, bad frames, shutdown, and nothing leaked afterwards."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from benchmarks.clients import websocket_call
from benchmarks.learner import Line
from tests.support.live import LiveServer

pytestmark = pytest.mark.models


def ws_url(live: LiveServer, session_id: str, query: str = "") -> str:
    return live.base_url.replace("http", "ws", 1) + f"/api/v1/roleplays/session/{session_id}{query}"


async def test_second_peer_for_a_live_session_is_refused(live_server: LiveServer) -> None:
    session_id = live_server.new_session(mode="text")
    async with websockets.connect(
        ws_url(live_server, session_id), additional_headers=live_server.learner_headers
    ) as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "call"
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=live_server.learner_headers) as http:
            second = await http.post(
                f"/api/v1/roleplays/session/{session_id}/offer", json={"sdp": "v=0", "type": "offer"}
            )
        assert second.status_code == 409 and "live call" in second.json()["detail"]
        with pytest.raises(websockets.InvalidStatus) as again:  # nor a second WebSocket
            async with websockets.connect(
                ws_url(live_server, session_id), additional_headers=live_server.learner_headers
            ):
                pass
        assert again.value.response.status_code == 409
        await ws.send(json.dumps({"type": "text", "text": "Hello Emma, do you have a minute?"}))
        reply = None
        while reply is None:
            event = json.loads(await ws.recv())
            if event["type"] == "transcript" and event["speaker"] == "persona":
                reply = event
        await ws.send(json.dumps({"type": "end"}))
        async for raw in ws:
            if json.loads(raw)["type"] == "ended":
                break
    attempt = await live_server.wait_attempt(first["attempt_id"])
    assert attempt.state in ("ended", "evaluating", "completed")
    assert [t["speaker"] for t in attempt.transcript[-2:]] == ["learner", "persona"]


async def test_oversized_websocket_frame_closes_the_call_cleanly(live_server: LiveServer) -> None:
    session_id = live_server.new_session()
    async with websockets.connect(
        ws_url(live_server, session_id), additional_headers=live_server.learner_headers
    ) as ws:
        first = json.loads(await ws.recv())
        await ws.send(b"\0" * 70_000)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    attempt = await live_server.wait_attempt(first["attempt_id"])
    assert attempt.state in ("ended", "evaluating", "completed") and attempt.end_reason == "frame_too_large"
    assert live_server.calls.find(session_id=session_id) is None


async def test_websocket_refusals_are_clear(live_server: LiveServer) -> None:
    session_id = live_server.new_session()
    with pytest.raises(websockets.InvalidStatus) as anonymous:
        async with websockets.connect(ws_url(live_server, session_id)):
            pass
    assert anonymous.value.response.status_code == 401
    assert b"API key" in anonymous.value.response.body
    with pytest.raises(websockets.InvalidStatus) as unknown:
        async with websockets.connect(ws_url(live_server, "nope"), additional_headers=live_server.learner_headers):
            pass
    assert unknown.value.response.status_code == 404


async def test_no_tasks_or_calls_left_after_a_call(live_server: LiveServer) -> None:
    await asyncio.sleep(0.5)
    before = {t for t in asyncio.all_tasks() if not t.done()}
    session_id = live_server.new_session(opening_line="Emma speaking.")
    await websocket_call(
        live_server.base_url, session_id, [Line("Tell me about your current packaging supplier.")],
        headers=live_server.learner_headers,
    )  # fmt: skip
    for _ in range(50):
        await asyncio.sleep(0.1)
        leftover = {t for t in asyncio.all_tasks() if not t.done()} - before - {asyncio.current_task()}
        if not leftover and not live_server.calls.calls:
            break
    assert not live_server.calls.calls
    assert not leftover, [t.get_name() + ": " + repr(t.get_coro()) for t in leftover]


async def test_shutdown_ends_live_calls(live_server: LiveServer) -> None:
    session_id = live_server.new_session(mode="text")
    async with websockets.connect(
        ws_url(live_server, session_id), additional_headers=live_server.learner_headers
    ) as ws:
        first = json.loads(await ws.recv())
        await live_server.calls.close_all()
        kinds = []
        async for raw in ws:
            kinds.append(json.loads(raw)["type"])
            if kinds[-1] == "ended":
                break
    assert "ended" in kinds
    attempt = await live_server.wait_attempt(first["attempt_id"])
    assert attempt.state in ("ended", "evaluating", "completed") and attempt.end_reason == "server_shutdown"
