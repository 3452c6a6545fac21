"""A dropped client connection: the call waits a grace period, resumes on reconnection, or ends cleanly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from tests.support.live import LiveServer

pytestmark = pytest.mark.models


def ws_url(live: LiveServer, session_id: str) -> str:
    return live.base_url.replace("http", "ws", 1) + f"/api/v1/roleplays/session/{session_id}?mode=text"


async def exchange(ws, text: str, after: int = 1) -> None:  # type: ignore[no-untyped-def]
    """Say `text`, wait for the persona's answer (a transcript turn numbered above `after`: a reconnected
    client first receives the call's past events again)."""
    await ws.send(json.dumps({"type": "text", "text": text}))
    async for raw in ws:
        event = json.loads(raw)
        if event["type"] == "transcript" and event["speaker"] == "persona" and event["number"] > after:
            return


async def test_reconnecting_within_the_grace_period_resumes_the_same_call(live_server: LiveServer) -> None:
    session_id = live_server.new_session(mode="text")
    ws = await websockets.connect(ws_url(live_server, session_id), additional_headers=live_server.learner_headers)
    attempt_id = json.loads(await ws.recv())["attempt_id"]
    await exchange(ws, "Hello Emma, thanks for your time.")
    ws.transport.abort()  # the network drops: no closing handshake
    call = live_server.calls.find(session_id=session_id)
    for _ in range(50):
        if call is not None and call.detached:
            break
        await asyncio.sleep(0.1)
    assert call is not None and call.detached and call.conversation.state == "paused"
    async with websockets.connect(
        ws_url(live_server, session_id), additional_headers=live_server.learner_headers
    ) as again:
        assert json.loads(await again.recv())["attempt_id"] == attempt_id  # the same attempt, not a new one
        await exchange(again, "Sorry, I lost you. Where were we?", after=2)
        await again.send(json.dumps({"type": "end"}))
        async for raw in again:
            if json.loads(raw)["type"] == "ended":
                break
    attempt = await live_server.wait_attempt(attempt_id)
    learner = [t["text"] for t in attempt.transcript if t["speaker"] == "learner"]
    assert learner == ["Hello Emma, thanks for your time.", "Sorry, I lost you. Where were we?"]
    assert attempt.end_reason == "learner_ended"
    log = await asyncio.to_thread(Path(attempt.event_log_path or "").read_text)
    events = [json.loads(line)["type"] for line in log.splitlines()]
    assert "connection_lost" in events and "reconnected" in events


async def test_a_client_that_does_not_come_back_ends_the_call_cleanly(live_server: LiveServer) -> None:
    calls = live_server.calls
    saved, calls.reconnect_grace_s = calls.reconnect_grace_s, 1.0
    try:
        session_id = live_server.new_session(mode="text")
        ws = await websockets.connect(ws_url(live_server, session_id), additional_headers=live_server.learner_headers)
        attempt_id = json.loads(await ws.recv())["attempt_id"]
        await exchange(ws, "Hello Emma.")
        await ws.close()
        attempt = await live_server.wait_attempt(attempt_id, limit_s=20)
    finally:
        calls.reconnect_grace_s = saved
    assert attempt.state in ("ended", "evaluating", "completed") and attempt.end_reason == "connection_lost"
    assert [t["speaker"] for t in attempt.transcript][:1] == ["learner"] or attempt.transcript
    assert calls.find(session_id=session_id) is None
