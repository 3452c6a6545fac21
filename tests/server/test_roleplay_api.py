"""The roleplay service API contract: configuration, validation rules, assignments, signed artifacts,
video upload checks and the retention purge (no models needed: fast, on SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.purge import purge_expired
from server.security import sign
from server.store.tables import Attempt, Evaluation, PracticeSession
from tests.server.conftest import World

SALARY = {
    "user_id": "cand-42",
    "persona_id": "payal",
    "duration_minutes": 15,
    "roleplay_type": "custom",
    "brief": {
        "goal": "Negotiate a higher base salary for the senior engineer offer",
        "counterpart": "a recruiter at Arcadia Health making a low offer",
        "stakes": "the offer is 12% under market",
        "likely_objections": ["the salary band is fixed", "other candidates would accept"],
        "desired_outcome": "a base at the market median or a signing bonus",
    },
    "metadata": {"target_role": "Senior Engineer", "company": "Arcadia Health", "source": "coach-agent"},
}


def configure(actor: Any, path: str = "/api/v1/roleplays/configure/preview", **changes: Any) -> Any:
    return actor.post(path, json={**SALARY, **changes})


def test_preview_questions_approve(world: World) -> None:
    draft = world.member.ok("POST", "/api/v1/roleplays/configure/preview", json=SALARY)
    assert draft["status"] == "draft" and draft["needs_approval"] is True and draft["session_url"] is None
    assert draft["scenario"]["persona"]["id"] == "payal"
    # The brief shapes the call for real: a recruiter persona who raises salary objections.
    assert "recruiter" in draft["scenario"]["persona"]["job_title"].lower()
    outline = " ".join(draft["prompt_outline"]).lower()
    assert "salary" in outline and "band is fixed" in outline
    assert "Senior Engineer" in draft["opening_prompt"] and "Arcadia Health" in draft["candidate_brief"]
    assert draft["scenario"]["evaluation_template"] == "salary_negotiation"
    assert draft["qscore_context"] is None
    # A draft cannot start a call.
    refused = world.member.post(f"/api/v1/roleplays/session/{draft['session_id']}/offer", json={"sdp": "v=0"})
    assert refused.status_code in (409, 403)
    edited = world.member.ok(
        "POST",
        "/api/v1/roleplays/configure/questions",
        json={
            "session_id": draft["session_id"],
            "prompt_outline": ["Open with the number"],
            "opening_prompt": "Let's talk numbers.",
        },
    )
    assert edited["prompt_outline"] == ["Open with the number"] and edited["opening_prompt"] == "Let's talk numbers."
    approved = world.member.ok("POST", "/api/v1/roleplays/configure/approve", json={"session_id": draft["session_id"]})
    assert approved["status"] == "active" and approved["needs_approval"] is False
    assert approved["session_url"].endswith(f"/call/{draft['session_id']}")
    assert approved["websocket_url"].startswith("ws")
    again = world.member.post("/api/v1/roleplays/configure/approve", json={"session_id": draft["session_id"]})
    assert again.status_code == 409
    late = world.member.post(
        "/api/v1/roleplays/configure/questions", json={"session_id": draft["session_id"], "opening_prompt": "Too late"}
    )
    assert late.status_code == 409 and "approved" in late.json()["detail"]


def test_configure_activates_at_once_and_qscore_shapes_difficulty(world: World) -> None:
    body = world.member.ok(
        "POST", "/api/v1/roleplays/configure", json={**SALARY, "qscore": {"q_score": 85, "weaknesses": ["anchoring"]}}
    )
    assert body["status"] == "active" and body["session_url"]
    assert body["qscore_context"]["q_score"] == 85 and body["qscore_context"]["difficulty"] == "hard"
    sales = world.member.ok(
        "POST",
        "/api/v1/roleplays/configure",
        json={"user_id": "u1", "duration_minutes": 5, "roleplay_type": "sales", "brief": {"goal": "Book a demo"}},
    )
    assert sales["scenario"]["persona"]["id"] == "emma"  # the default persona
    assert sales["scenario"]["evaluation_template"] == "sales_discovery"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration_minutes": 10}, "5, 15, 30"),
        ({"duration_minutes": 7}, "5, 15, 30"),
        ({"persona_id": "zed"}, "payal, emma, john, kapil"),
        ({"qscore": {"score": 80}}, "numeric q_score"),
        ({"qscore": {"q_score": "high"}}, "numeric q_score"),
        ({"roleplay_type": "cooking"}, "sales"),
    ],
)
def test_validation_rules(world: World, changes: dict[str, Any], message: str) -> None:
    response = configure(world.member, **changes)
    assert response.status_code == 422
    assert message in response.text


def test_programs_need_a_member_key_and_stay_in_their_workspace(world: World) -> None:
    assert configure(world.reader).status_code == 403
    assert world.h.client.get("/api/v1/roleplays/leaderboard").status_code == 401
    draft = configure(world.member).json()
    assert (
        world.outsider.post("/api/v1/roleplays/configure/approve", json={"session_id": draft["session_id"]}).status_code
        == 404
    )
    assert world.outsider.get(f"/api/v1/roleplays/review/{draft['session_id']}").status_code == 404


def test_review_states_and_leaderboard(world: World) -> None:
    h = world.h
    active = world.member.ok("POST", "/api/v1/roleplays/configure", json=SALARY)
    session_id = active["session_id"]
    assert world.member.ok("GET", f"/api/v1/roleplays/review/{session_id}")["status"] == "pending"
    with h.db.session() as db:
        session = db.get(PracticeSession, session_id)
        assert session is not None
        attempt = Attempt(
            workspace_id=session.workspace_id,
            session_id=session_id,
            number=1,
            state="evaluating",
            started_at=datetime.now(UTC),
            transcript=[],
        )
        db.add(attempt)
        db.flush()
        attempt_id = attempt.id
    assert world.member.ok("GET", f"/api/v1/roleplays/review/{session_id}")["status"] == "evaluating"
    result = {
        "criteria": [
            {
                "name": "anchoring",
                "title": "Anchoring",
                "kind": "scale",
                "score": 4,
                "weight": 1,
                "rationale": "Named a number first.",
                "evidence": [{"turn": 2, "text": "I was thinking 140"}],
            }
        ],
        "debrief": {"suggestions": [{"text": "Justify the number with market data."}], "what_worked": []},
    }
    with h.db.session() as db:
        db.add(Evaluation(attempt_id=attempt_id, workspace_id=world.member.workspace_id, overall=75.0, result=result))
        row = db.get(Attempt, attempt_id)
        assert row is not None
        row.state = "completed"
    review = world.member.ok("GET", f"/api/v1/roleplays/review/{session_id}")
    assert review["status"] == "completed" and review["overall_score"] == 75.0
    assert review["scores"][0]["name"] == "anchoring" and review["scores"][0]["score"] == 4
    assert review["recommendations"] == ["Justify the number with market data."]
    board = world.member.ok("GET", "/api/v1/roleplays/leaderboard", params={"period": "week", "limit": 5})
    assert (
        board[0]["session_id"] == session_id and board[0]["overall_score"] == 75.0 and board[0]["user_id"] == "cand-42"
    )
    assert world.member.ok("GET", "/api/v1/roleplays/leaderboard", params={"roleplay_type": "support"}) == []
    assert world.outsider.ok("GET", "/api/v1/roleplays/leaderboard") == []


def test_assignments_unassign_and_bulk_results(world: World) -> None:
    scenario = world.member.ok("POST", "/api/v1/roleplays/configure", json=SALARY)["scenario"]
    deadline = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    made = world.member.ok(
        "POST",
        "/api/v1/roleplays/assignments",
        json={
            "emails": ["new.hire@acme.com", "mo@acme.com"],
            "scenario_id": scenario["id"],
            "deadline": deadline,
            "expected_frequency": 2,
        },
    )
    assert {a["email"] for a in made} == {"new.hire@acme.com", "mo@acme.com"}
    assert all(a["status"] == "to_do" and a["expected_frequency"] == 2 and a["session_id"] for a in made)
    listed = world.member.ok("GET", "/api/v1/roleplays/assignments", params={"email": "new.hire@acme.com"})
    assert [a["assignment_id"] for a in listed] == [
        next(a["assignment_id"] for a in made if a["email"] == "new.hire@acme.com")
    ]
    from_payload = world.member.ok(
        "POST",
        "/api/v1/roleplays/assignments",
        json={"emails": ["mo@acme.com"], "configure": {**SALARY, "user_id": "template"}},
    )
    assert from_payload[0]["scenario_id"] != scenario["id"]
    ids = [a["assignment_id"] for a in made]
    gone = world.member.ok("POST", "/api/v1/roleplays/assignments/unassign", json={"assignment_ids": ids[:1]})
    assert gone[0]["status"] == "unassigned" and gone[0]["unassigned_at"]
    assert (
        world.member.ok("GET", "/api/v1/roleplays/assignments", params={"status": "unassigned"})[0]["assignment_id"]
        == ids[0]
    )
    results = world.member.ok("POST", "/api/v1/roleplays/results:bulk", json={"assignment_ids": ids})
    assert [r["assignment"]["assignment_id"] for r in results] == ids
    assert all(r["review"]["status"] == "pending" for r in results)
    missing = world.member.post("/api/v1/roleplays/results:bulk", json={"assignment_ids": [ids[0], "nope"]})
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    bad = world.member.post(
        "/api/v1/roleplays/assignments", json={"emails": ["not-an-email"], "scenario_id": scenario["id"]}
    )
    assert bad.status_code == 422


def _attempt_with_files(world: World, ended_days_ago: float = 0) -> tuple[str, str, Path]:
    h = world.h
    session_id = world.member.ok("POST", "/api/v1/roleplays/configure", json=SALARY)["session_id"]
    folder = h.data_dir / "artifacts" / world.member.workspace_id / f"a{time.monotonic_ns()}"
    folder.mkdir(parents=True)
    (folder / "recording.wav").write_bytes(b"RIFF" + b"\0" * 100)
    (folder / "events.jsonl").write_text('{"type": "state"}\n')
    ended = datetime.now(UTC) - timedelta(days=ended_days_ago)
    with h.db.session() as db:
        attempt = Attempt(
            workspace_id=world.member.workspace_id,
            session_id=session_id,
            number=1,
            state="ended",
            started_at=ended,
            ended_at=ended,
            recording_path=str(folder / "recording.wav"),
            event_log_path=str(folder / "events.jsonl"),
            transcript=[{"number": 1, "speaker": "learner", "text": "Hello", "start": 0, "end": 1}],
        )
        db.add(attempt)
        db.flush()
        return session_id, attempt.id, folder


def test_signed_artifact_urls(world: World) -> None:
    session_id, attempt_id, _ = _attempt_with_files(world)
    anonymous = world.h.client
    for kind, check in (("session_audio", b"RIFF"), ("event_log", b'{"type"'), ("transcript", b'"Hello"')):
        signed = world.member.ok("GET", f"/api/v1/artifacts/{session_id}/{kind}")
        assert signed["attempt_id"] == attempt_id
        url = signed["url"].split("://", 1)[1].split("/", 1)[1]
        response = anonymous.get("/" + url)  # no API key needed
        assert response.status_code == 200 and check in response.content
        tampered = anonymous.get("/" + url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))
        assert tampered.status_code == 403
    secret = world.h.app.state.settings.secret_key
    expired = sign(
        secret, {"w": world.member.workspace_id, "a": attempt_id, "t": "session_audio"}, ttl_s=-1, purpose="artifact"
    )
    response = anonymous.get(f"/api/v1/artifacts/download?token={expired}")
    assert response.status_code == 403 and "expired" in response.json()["detail"]
    # One artifact per URL: a token for the audio cannot fetch the event log.
    audio = world.member.ok("GET", f"/api/v1/artifacts/{session_id}/session_audio")["url"].split("token=")[1]
    assert "event_log" not in audio
    assert world.member.get(f"/api/v1/artifacts/{session_id}/session_video").status_code == 404
    assert world.outsider.get(f"/api/v1/artifacts/{session_id}/session_audio").status_code == 404


def test_video_upload_checks_type_and_content(world: World) -> None:
    session_id, _, _ = _attempt_with_files(world)
    target = world.member.ok("POST", f"/api/v1/sessions/{session_id}/video/upload-url")
    assert target["content_type"] == "video/webm" and target["max_bytes"] > 0
    path = "/" + target["upload_url"].split("://", 1)[1].split("/", 1)[1]
    client = world.h.client
    wrong_type = client.put(path, content=b"\x1a\x45\xdf\xa3rest", headers={"Content-Type": "video/mp4"})
    assert wrong_type.status_code == 415
    not_webm = client.put(path, content=b"GIF89a....", headers={"Content-Type": "video/webm"})
    assert not_webm.status_code == 415 and "not a WebM" in not_webm.json()["detail"]
    tampered = client.put(path + "x", content=b"\x1a\x45\xdf\xa3", headers={"Content-Type": "video/webm"})
    assert tampered.status_code == 403
    early = world.member.post(f"/api/v1/sessions/{session_id}/video/uploaded")
    assert early.status_code == 409


def test_retention_purge_deletes_only_what_expired(world: World) -> None:
    _, old_id, old_folder = _attempt_with_files(world, ended_days_ago=100)
    _, new_id, new_folder = _attempt_with_files(world, ended_days_ago=10)
    report = purge_expired(world.h.db, world.h.data_dir)
    assert report.audio == 1 and report.event_logs == 1 and report.transcripts == 0
    assert not (old_folder / "recording.wav").exists() and not (old_folder / "events.jsonl").exists()
    assert (new_folder / "recording.wav").exists() and (new_folder / "events.jsonl").exists()
    with world.h.db.session() as db:
        old = db.get(Attempt, old_id)
        assert old is not None and old.recording_path is None and old.transcript  # transcripts kept indefinitely
    # A settings change takes effect at the next purge: transcripts kept 30 days, audio 5.
    world.admin.ok("PATCH", "/api/v1/workspace/settings", json={"retention": {"transcript_days": 30, "audio_days": 5}})
    later = purge_expired(world.h.db, world.h.data_dir, now=datetime.now(UTC))
    assert later.transcripts == 1 and later.audio == 1
    assert not (new_folder / "recording.wav").exists()
    with world.h.db.session() as db:
        assert db.get(Attempt, old_id).transcript == []  # type: ignore[union-attr]
        assert db.get(Attempt, new_id).transcript  # type: ignore[union-attr]
