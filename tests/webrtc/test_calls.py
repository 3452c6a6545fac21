"""Live calls end to end over real transports against a real server with the bundled models."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from benchmarks.clients import webrtc_call, websocket_call
from benchmarks.learner import Line
from benchmarks.wer import wer
from server.store.tables import Attempt
from tests.support.live import LiveServer

pytestmark = pytest.mark.models

QUESTION = Line("Tell me about your current packaging supplier.")


def stored_attempt(live: LiveServer, attempt_id: str) -> Attempt:
    with live.db.session() as db:
        attempt = db.get(Attempt, attempt_id)
        assert attempt is not None
        db.expunge(attempt)
        return attempt


async def wait_attempt_final(live: LiveServer, session_id: str) -> Attempt:
    for _ in range(100):
        with live.db.session() as db:
            rows = db.query(Attempt).filter(Attempt.session_id == session_id).all()
            final = [a for a in rows if a.state in ("ended", "error", "evaluating", "completed")]
            if final:
                db.expunge(final[-1])
                return final[-1]
        await asyncio.sleep(0.1)
    raise AssertionError("the attempt never ended")


def check_call(live: LiveServer, attempt: Attempt, heard: np.ndarray) -> None:
    learner = [t for t in attempt.transcript if t["speaker"] == "learner"]
    persona = [t for t in attempt.transcript if t["speaker"] == "persona"]
    assert learner and "packaging supplier" in learner[0]["text"].lower(), attempt.transcript
    assert persona, attempt.transcript
    assert float(np.max(np.abs(heard))) > 0.05, "the client heard no persona audio"
    assert attempt.recording_path and attempt.event_log_path
    assert attempt.interactions == len(learner)


async def test_webrtc_call_in_process(live_server: LiveServer) -> None:
    session_id = live_server.new_session(opening_line="Hello, this is Emma from Northwind. How can I help you today?")
    result = await webrtc_call(live_server.base_url, session_id, [QUESTION], headers=live_server.learner_headers)
    assert result.attempt_id
    attempt = await wait_attempt_final(live_server, session_id)
    assert attempt.id == result.attempt_id and attempt.state in ("ended", "evaluating", "completed")
    check_call(live_server, attempt, result.heard)
    # The events channel carried the live state and the transcript.
    kinds = {e["type"] for e in result.events}
    assert {"state", "timer", "transcript"} <= kinds
    assert any(e.get("status") == "In session" for e in result.of_type("state"))
    # What the client heard is what the transcript says the persona said (its opening line).
    opening = attempt.transcript[0]
    assert opening["speaker"] == "persona" and not opening["interrupted"]
    first = int(np.flatnonzero(np.abs(result.heard) > 0.02)[0])
    length = int((opening["end"] - opening["start"] + 0.2) * 16_000)
    asr = live_server.backends.asr
    assert asr is not None
    heard_text = (await asr.transcribe(result.heard[first : first + length])).text
    assert wer(opening["text"], heard_text) <= 0.3, (opening["text"], heard_text)
    # Only loopback candidates were offered, as configured.
    candidates = [line for line in result.answer_sdp.splitlines() if line.startswith("a=candidate")]
    assert candidates and all(" 127.0.0.1 " in c for c in candidates)


async def test_websocket_call(live_server: LiveServer) -> None:
    session_id = live_server.new_session(opening_line="Emma here. Go ahead.")
    result = await websocket_call(live_server.base_url, session_id, [QUESTION], headers=live_server.learner_headers)
    attempt = await wait_attempt_final(live_server, session_id)
    check_call(live_server, attempt, result.heard)
    assert result.of_type("ended")


async def test_whip_call_ends_with_delete(live_server: LiveServer) -> None:
    session_id = live_server.new_session(opening_line="Emma speaking.")
    result = await webrtc_call(
        live_server.base_url, session_id, [QUESTION], headers=live_server.learner_headers, whip=True
    )
    attempt = await wait_attempt_final(live_server, session_id)
    check_call(live_server, attempt, result.heard)
    assert attempt.end_reason == "learner_ended"


async def test_bad_offers_are_refused_and_data_kept(live_server: LiveServer) -> None:
    session_id = live_server.new_session()
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=live_server.learner_headers) as http:
        root = f"/api/v1/roleplays/session/{session_id}"
        bad = await http.post(f"{root}/offer", json={"sdp": "hello", "type": "offer"})
        assert bad.status_code == 400 and "SDP" in bad.json()["detail"]
        no_audio = await http.post(f"{root}/offer", json={"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "type": "offer"})
        assert no_audio.status_code == 400 and "audio" in no_audio.json()["detail"]
        answer = await http.post(f"{root}/offer", json={"sdp": "v=0\r\n", "type": "answer"})
        assert answer.status_code == 400
        unknown = await http.post("/api/v1/roleplays/session/nope/offer", json={"sdp": "v=0", "type": "offer"})
        assert unknown.status_code == 404
        whip = await http.post(f"{root}/whip", content="v=0", headers={"Content-Type": "text/plain"})
        assert whip.status_code == 415
        other = await http.post(f"{root}/offer", json={"sdp": "x" * 70_000, "type": "offer"})
        assert other.status_code == 422
    # Nothing is left live, and the session can still run a call.
    assert live_server.calls.find(session_id=session_id) is None
    with live_server.db.session() as db:
        attempts = db.query(Attempt).filter(Attempt.session_id == session_id).all()
        assert all(a.state == "initializing" for a in attempts)
