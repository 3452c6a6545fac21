"""The roleplay service contract walked end to end, as an integrating program would, with a real call."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from benchmarks.clients import websocket_call
from benchmarks.learner import Line
from tests.support.live import LiveServer

pytestmark = [pytest.mark.models, pytest.mark.usefixtures("grading_worker")]

REQUEST = {
    "user_id": "learner-7",
    "org_id": "acme-academy",
    "persona_id": "emma",
    "duration_minutes": 5,
    "roleplay_type": "sales",
    "brief": {
        "goal": "Book a pilot with the procurement director",
        "counterpart": "a procurement director at Northwind Foods",
        "likely_objections": ["switching suppliers is risky"],
        "desired_outcome": "a pilot at one plant",
    },
    "metadata": {"company": "Northwind Foods", "difficulty": "medium", "source": "lms"},
}


async def test_contract_walk(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=live_server.admin_headers, timeout=60) as http:
        draft = (await http.post("/api/v1/roleplays/configure/preview", json=REQUEST)).json()
        assert draft["status"] == "draft" and draft["needs_approval"]
        edited = await http.post(
            "/api/v1/roleplays/configure/questions",
            json={"session_id": draft["session_id"], "opening_prompt": "Emma speaking. You have five minutes."},
        )
        assert edited.status_code == 200
        active = (
            await http.post("/api/v1/roleplays/configure/approve", json={"session_id": draft["session_id"]})
        ).json()
        assert active["status"] == "active" and active["session_url"]
        session_id = active["session_id"]
        # The program's learner runs the call over the WebSocket (as the admin's key here).
        result = await websocket_call(
            live_server.base_url,
            session_id,
            [Line("Hi Emma, tell me about your current packaging supplier."), Line("Would a pilot at one plant help?")],
            headers=live_server.admin_headers,
        )
        assert result.attempt_id
        review: dict = {}
        for _ in range(300):
            review = (await http.get(f"/api/v1/roleplays/review/{session_id}")).json()
            if review["status"] in ("completed", "error"):
                break
            await asyncio.sleep(1)
        assert review["status"] == "completed", review
        assert review["overall_score"] is not None and review["scores"]
        board = (await http.get("/api/v1/roleplays/leaderboard", params={"limit": 50})).json()
        assert any(entry["session_id"] == session_id for entry in board)
        assigned = (
            await http.post(
                "/api/v1/roleplays/assignments",
                json={"emails": ["lee@acme.com"], "scenario_id": active["scenario_id"], "expected_frequency": 1},
            )
        ).json()
        bulk = (
            await http.post("/api/v1/roleplays/results:bulk", json={"assignment_ids": [assigned[0]["assignment_id"]]})
        ).json()
        assert bulk[0]["assignment"]["status"] == "to_do" and bulk[0]["review"]["status"] == "pending"
        for kind in ("session_audio", "transcript", "event_log"):
            signed = (await http.get(f"/api/v1/artifacts/{session_id}/{kind}")).json()
            async with httpx.AsyncClient() as anonymous:
                download = await anonymous.get(signed["url"])
            assert download.status_code == 200 and download.content, kind
        spec = (await http.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/roleplays/configure/preview",
        "/api/v1/roleplays/configure/questions",
        "/api/v1/roleplays/configure/approve",
        "/api/v1/roleplays/configure",
        "/api/v1/roleplays/review/{session_id}",
        "/api/v1/roleplays/leaderboard",
        "/api/v1/roleplays/assignments",
        "/api/v1/roleplays/assignments/unassign",
        "/api/v1/roleplays/results:bulk",
        "/api/v1/artifacts/{session_id}/{artifact_type}",
        "/api/v1/sessions/{session_id}/video/upload-url",
        "/api/v1/sessions/{session_id}/video/uploaded",
        "/api/v1/roleplays/session/{session_id}/offer",
    ):
        assert path in spec, path
