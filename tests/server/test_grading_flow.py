"""An attempt that ends is evaluated automatically by the real embedded grader; coach review on top."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from server.store.tables import Attempt, Evaluation
from tests.support.live import LiveServer

pytestmark = [pytest.mark.models, pytest.mark.usefixtures("grading_worker")]

LINES = [
    "Hi Emma, thanks for taking my call. What does your current packaging process look like?",
    "What is the biggest problem with your current supplier?",
    "Would a two week pilot at one plant be a useful next step?",
]


async def chat_call(live: LiveServer, lines: list[str]) -> tuple[str, str]:
    session_id = live.new_session(mode="text", evaluation_template="sales_discovery", created_by=live.admin_id)
    url = live.base_url.replace("http", "ws", 1) + f"/api/v1/roleplays/session/{session_id}"
    async with websockets.connect(url, additional_headers=live.learner_headers) as ws:
        attempt_id = json.loads(await ws.recv())["attempt_id"]
        for line in lines:
            await ws.send(json.dumps({"type": "text", "text": line}))
            while True:
                event = json.loads(await ws.recv())
                if event["type"] == "transcript" and event["speaker"] == "persona" and event["number"] > 1:
                    break
        await ws.send(json.dumps({"type": "end"}))
        async for raw in ws:
            if json.loads(raw)["type"] == "ended":
                break
    return session_id, attempt_id


async def test_ended_attempt_is_evaluated_and_reviewable(live_server: LiveServer) -> None:
    session_id, attempt_id = await chat_call(live_server, LINES)
    evaluating = await live_server.wait_attempt(attempt_id, states=("evaluating", "completed"))
    assert evaluating.state in ("evaluating", "completed")
    attempt = await live_server.wait_attempt(attempt_id, states=("completed", "error"), limit_s=240)
    assert attempt.state == "completed", attempt.error
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=live_server.admin_headers) as http:
        review = (await http.get(f"/api/v1/roleplays/review/{session_id}")).json()
        assert review["status"] == "completed" and review["overall_score"] is not None
        assert review["scores"] and all(1 <= s["score"] <= 5 or s["max_score"] == 1 for s in review["scores"])
        evaluation = (await http.get(f"/api/v1/attempts/{attempt_id}/evaluation")).json()
        assert evaluation["status"] == "completed" and evaluation["can_coach"]
        criterion = evaluation["criteria"][0]
        new_score = 1 if criterion["score"] != 1 else 2
        if criterion.get("kind") == "check":
            new_score = 0 if criterion["score"] else 1
        override = await http.post(
            f"/api/v1/attempts/{attempt_id}/evaluation/overrides",
            json={"criterion": criterion["name"], "score": new_score, "reason": "The question was leading."},
        )
        assert override.status_code == 200, override.text
        shown = override.json()
        changed = next(c for c in shown["criteria"] if c["name"] == criterion["name"])
        assert changed["score"] == new_score and changed["ai_score"] == criterion["ai_score"]
        assert shown["coach"]["history"][-1]["from"] == criterion["ai_score"]
        assert shown["ai_overall"] == evaluation["ai_overall"]
        comment = await http.post(
            f"/api/v1/attempts/{attempt_id}/evaluation/comments", json={"turn": 2, "text": "Good open question."}
        )
        assert comment.status_code == 200 and comment.json()["coach"]["comments"][0]["turn"] == 2
        reviewed = await http.post(f"/api/v1/attempts/{attempt_id}/evaluation/reviewed")
        assert reviewed.json()["coach"]["reviewed"]["by"]
        # The learner sees both views; a learner is not a coach.
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=live_server.learner_headers) as http:
        mine = (await http.get(f"/api/v1/attempts/{attempt_id}/evaluation")).json()
        assert mine["criteria"][0]["override"] and mine["ai_overall"] is not None and not mine["can_coach"]
        refused = await http.post(f"/api/v1/attempts/{attempt_id}/evaluation/reviewed")
        assert refused.status_code == 403


async def test_redelivered_job_does_not_create_a_second_evaluation(live_server: LiveServer) -> None:
    _, attempt_id = await chat_call(live_server, LINES[:1])
    await live_server.wait_attempt(attempt_id, states=("completed", "error"), limit_s=240)
    grading = live_server.app.state.grading
    await grading.enqueue(attempt_id)  # delivered again, e.g. after a worker died before acknowledging
    attempt = await live_server.wait_attempt(attempt_id, states=("completed",), limit_s=60)
    with live_server.db.session() as db:
        count = db.scalar(select(func.count()).where(Evaluation.attempt_id == attempt_id))
    assert count == 1 and attempt.state == "completed"


async def test_poisoned_job_ends_in_error_with_its_reason_and_can_be_retried(live_server: LiveServer) -> None:
    _, attempt_id = await chat_call(live_server, [])  # no learner turn: nothing can be graded
    attempt = await live_server.wait_attempt(attempt_id)
    assert attempt.state == "ended"  # a call with no learner turns is not sent to grading
    grading = live_server.app.state.grading
    await grading.enqueue(attempt_id)
    failed = await live_server.wait_attempt(attempt_id, states=("error",), limit_s=60)
    assert failed.error and "no learner turns" in failed.error
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=live_server.learner_headers) as http:
        retried = await http.post(f"/api/v1/attempts/{attempt_id}/evaluation/retry")
    assert retried.status_code == 202
    # Retried for real: evaluating again, and (the transcript still has nothing to grade) an error again.
    with live_server.db.session() as db:
        stored = db.get(Attempt, attempt_id)
        assert stored is not None and stored.state in ("evaluating", "error")
    again = await live_server.wait_attempt(attempt_id, states=("error",), limit_s=60)
    assert again.error and "no learner turns" in again.error
