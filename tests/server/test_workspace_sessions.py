"""Practice sessions and attempts: create from a scenario or inline, status derivation (to do, completed,
overdue), the training table's filters, sorts, search and pages, attempts (start new, restart after an error,
delete) and the delete cascade that removes files from disk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.store.tables import Attempt, Evaluation, GradingJob, PracticeSession, ProblemReport, Scenario
from server.workspace.attempts import session_status
from tests.server.conftest import Actor, World, scenario_body

INLINE = {
    "details": {"scenario_type": "sales", "tuning": "Discovery call about freight software", "time_limit_minutes": 5},
    "persona": {"persona_id": "emma", "profile_text": "Prefers numbers to adjectives."},
    "personality": {"trait": "analytical"},
    "evaluation": {"template": "sales_discovery", "instructions": "Score the discovery questions."},
}


def scenario(actor: Actor, **overrides: Any) -> str:
    return str(actor.ok("POST", "/api/v1/scenarios", json=scenario_body(**overrides))["id"])


def session(actor: Actor, scenario_id: str, name: str = "Practice", **extra: Any) -> dict[str, Any]:
    return actor.ok("POST", "/api/v1/sessions", json={"name": name, "scenario_id": scenario_id, **extra})


def artifacts(world: World, attempt_id: str) -> list[Path]:
    """Files like the ones a live call leaves: a recording, an event log and a video."""
    folder = world.h.data_dir / "artifacts" / world.author.workspace_id / attempt_id
    folder.mkdir(parents=True)
    paths = [folder / "recording.wav", folder / "events.jsonl", folder / "video.webm"]
    for path in paths:
        path.write_bytes(b"data")
    world.h.set(
        Attempt, attempt_id, recording_path=str(paths[0]), event_log_path=str(paths[1]),
        video_path=str(paths[2].relative_to(world.h.data_dir)), state="completed", transcript=[{"text": "hi"}],
    )  # fmt: skip
    return paths


def test_session_from_scenario_shows_the_briefing(world: World) -> None:
    sid = scenario(world.author)
    world.author.ok(
        "POST", f"/api/v1/scenarios/{sid}/documents", files={"file": ("a.md", b"# Prices", "text/markdown")}
    )
    deadline = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    created = session(world.member, sid, "My renewal practice", deadline=deadline.isoformat())
    assert created["owner_id"] == world.member.user_id and created["kind"] == "practice"
    assert created["persona_name"] == "John Okafor" and created["scenario_type"] == "customer_success"
    assert datetime.fromisoformat(created["deadline"]) == deadline and created["status"] == "to_do"
    detail = world.member.ok("GET", f"/api/v1/sessions/{created['id']}")
    briefing = detail["briefing"]
    assert briefing["goals"] == scenario_body()["goals"] and briefing["time_limit_minutes"] == 15
    assert briefing["persona"]["name"] == "John Okafor" and [d["name"] for d in briefing["documents"]] == ["a.md"]
    assert "evaluation_instructions" not in briefing  # the rubric is not part of the learner's briefing
    assert world.member.ok("PATCH", f"/api/v1/sessions/{created['id']}", json={"deadline": None})["deadline"] is None


def test_inline_configuration_makes_a_hidden_scenario(world: World) -> None:
    created = world.member.ok("POST", "/api/v1/sessions", json={"name": "Freight discovery", "config": INLINE})
    assert created["persona_name"] == "Emma Clarke" and created["time_limit_minutes"] == 5
    assert world.member.ok("GET", "/api/v1/scenarios")["total"] == 0  # not in the library
    hidden = world.member.ok("GET", f"/api/v1/scenarios/{created['scenario_id']}")
    assert hidden["hidden"] is True and hidden["evaluation_template"] == "sales_discovery"
    assert hidden["personality"]["trait"] == "analytical" and hidden["persona_id"] == created["persona_id"]
    emma = next(p for p in world.member.ok("GET", "/api/v1/personas") if p["slug"] == "emma")
    assert hidden["persona_id"] != emma["id"]  # a private copy grounded in the pasted profile text
    with world.h.db.session() as db:
        row = db.get(Scenario, created["scenario_id"])
        assert row is not None and row.persona is not None
        assert row.persona.hidden and row.persona.profile_text == "Prefers numbers to adjectives."
        assert row.persona.name == "Emma Clarke" and row.persona.workspace_id == world.member.workspace_id
    assert world.author.get(f"/api/v1/scenarios/{created['scenario_id']}").status_code == 403
    assert len([p for p in world.member.ok("GET", "/api/v1/personas") if p["name"] == "Emma Clarke"]) == 1


def test_inline_configuration_errors_store_nothing(world: World) -> None:
    bad_persona = {**INLINE, "persona": {"persona_id": "nobody"}}
    response = world.member.post("/api/v1/sessions", json={"name": "X", "config": bad_persona})
    assert response.status_code == 422 and "unknown persona 'nobody'" in response.json()["detail"]
    incomplete = {**INLINE, "evaluation": {}, "persona": {"persona_id": "emma", "profile_text": "grounding"}}
    response = world.member.post("/api/v1/sessions", json={"name": "X", "config": incomplete})
    assert response.status_code == 422
    assert response.json()["detail"] == "Scenario is not valid for practice session"
    assert [m["field"] for m in response.json()["missing"]] == ["evaluation"]
    both = world.member.post("/api/v1/sessions", json={"name": "X", "config": INLINE, "scenario_id": "abc"})
    assert both.status_code == 422
    with world.h.db.session() as db:
        assert db.scalars(select(Scenario)).all() == [] and db.scalars(select(PracticeSession)).all() == []


def test_read_only_users_open_their_sessions_but_cannot_create_or_practise(world: World) -> None:
    sid = scenario(world.author)
    [participant] = world.author.ok("POST", f"/api/v1/scenarios/{sid}/participants", json={"emails": ["rita@acme.com"]})
    assert world.reader.ok("GET", f"/api/v1/sessions/{participant['session_id']}")["owner_id"] == world.reader.user_id
    assert world.reader.ok("GET", "/api/v1/sessions")["total"] == 1
    assert world.reader.post("/api/v1/sessions", json={"name": "X", "scenario_id": sid}).status_code == 403
    assert world.reader.post(f"/api/v1/sessions/{participant['session_id']}/attempts").status_code == 403


def test_status_to_do_completed_overdue(world: World) -> None:
    sid = scenario(world.author)
    past, future = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(days=1)
    todo = session(world.member, sid, "todo", deadline=future.isoformat())
    overdue = session(world.member, sid, "overdue", deadline=past.isoformat())
    done = session(world.member, sid, "done", deadline=past.isoformat())
    no_deadline = session(world.member, sid, "open")
    attempt = world.member.ok("POST", f"/api/v1/sessions/{done['id']}/attempts")
    assert world.member.ok("GET", f"/api/v1/sessions/{done['id']}")["status"] == "overdue"  # not started yet
    world.h.set(Attempt, attempt["id"], state="in_session", started_at=datetime.now(UTC))
    expected = {todo["id"]: "to_do", overdue["id"]: "overdue", done["id"]: "completed", no_deadline["id"]: "to_do"}
    for session_id, status in expected.items():
        assert world.member.ok("GET", f"/api/v1/sessions/{session_id}")["status"] == status
    for status in ("to_do", "completed", "overdue"):  # the SQL filter agrees with session_status
        listed = world.member.ok("GET", f"/api/v1/sessions?status={status}")["items"]
        assert {s["id"] for s in listed} == {k for k, v in expected.items() if v == status}
    with world.h.db.session() as db:
        row = db.get(PracticeSession, todo["id"])
        assert row is not None
        assert session_status(row, now=future + timedelta(minutes=1)) == "overdue"


def test_training_table_filters_sorts_searches_and_pages(world: World) -> None:
    sales = scenario(world.author, name="Cold call", type="sales", persona_id="emma")
    support = scenario(world.author, name="Angry customer", type="support", persona_id="kapil")
    made = [
        session(world.member, sales, "Zeta run"),
        session(world.member, support, "alpha run"),
        session(world.member, sales, "Mid run", deadline=(datetime.now(UTC) + timedelta(days=1)).isoformat()),
    ]
    world.member.ok("POST", f"/api/v1/sessions/{made[0]['id']}/attempts")
    world.member.ok("POST", f"/api/v1/sessions/{made[0]['id']}/attempts")  # reuses the unstarted one
    second = world.member.ok("POST", f"/api/v1/sessions/{made[1]['id']}/attempts")
    world.h.set(Attempt, second["id"], state="error")
    world.member.ok("POST", f"/api/v1/attempts/{second['id']}/restart")
    session(world.admin, sales, "Admin's own")

    def names(query: str, actor: Actor = world.member) -> list[str]:
        return [s["name"] for s in actor.ok("GET", f"/api/v1/sessions?{query}")["items"]]

    assert names("sort=name&order=asc") == ["alpha run", "Mid run", "Zeta run"]
    assert names("sort=attempts&order=desc") == ["alpha run", "Zeta run", "Mid run"]
    assert names("sort=deadline&order=asc")[0] == "Mid run"
    assert names("sort=scenario_type&order=asc")[-1] == "alpha run"
    assert names("sort=persona&order=asc")[-1] == "alpha run" and names("sort=persona&order=desc")[0] == "alpha run"
    assert set(names("scenario_type=sales")) == {"Zeta run", "Mid run"}
    assert names("persona_id=kapil") == ["alpha run"]
    assert names("q=angry") == ["alpha run"] and names("q=RUN&sort=name&order=desc")[0] == "Zeta run"
    assert names("q=%25") == [] and names("q=_") == []  # LIKE wildcards are literal
    page = world.member.ok("GET", "/api/v1/sessions?sort=name&order=asc&page=2&page_size=2")
    assert [s["name"] for s in page["items"]] == ["Zeta run"] and page["total"] == 3
    first = world.member.ok("GET", "/api/v1/sessions?sort=name&order=asc")["items"][0]
    assert first["name"] == "alpha run" and first["attempts"] == 2 and first["created_by_name"] == "Mo Member"
    assert first["persona_name"].startswith("Kapil") and first["scenario_name"] == "Angry customer"
    # admins see everyone's by owner (participant) or all; members only their own
    assert names("owner_id=all&sort=name&order=asc", world.admin)[0] == "Admin's own"
    assert set(names(f"owner_id={world.member.user_id}", world.admin)) == {"Zeta run", "alpha run", "Mid run"}
    assert names("", world.admin) == ["Admin's own"]
    assert world.member.get(f"/api/v1/sessions?owner_id={world.admin.user_id}").status_code == 403
    assert world.member.get("/api/v1/sessions?sort=bogus").status_code == 422


def test_attempt_lifecycle_start_restart_and_details(world: World) -> None:
    sid = scenario(world.author, mode="hybrid")
    own = session(world.member, sid)
    first = world.member.ok("POST", f"/api/v1/sessions/{own['id']}/attempts", json={"mode": "text"})
    assert first["number"] == 1 and first["state"] == "initializing" and first["mode"] == "text"
    restart = world.member.post(f"/api/v1/attempts/{first['id']}/restart")
    assert restart.status_code == 409 and "ended in error" in restart.json()["detail"]
    world.h.set(Attempt, first["id"], state="error", error="There was an issue with the roleplay.")
    assert world.admin.post(f"/api/v1/attempts/{first['id']}/restart").status_code == 403  # owner only
    second = world.member.ok("POST", f"/api/v1/attempts/{first['id']}/restart")
    assert second["number"] == 2 and second["mode"] == "text"
    world.h.set(Attempt, second["id"], state="completed", interactions=6, transcript=[{"speaker": "persona"}])
    world.h.add(Evaluation(attempt_id=second["id"], workspace_id=world.member.workspace_id, overall=72.5,
                           result={"criteria": [{"name": "Empathy", "score": 3}]}))  # fmt: skip
    detail = world.member.ok("GET", f"/api/v1/attempts/{second['id']}")
    assert detail["transcript"] == [{"speaker": "persona"}] and detail["interactions"] == 6
    assert detail["evaluation"]["overall"] == 72.5 and detail["overall"] == 72.5
    listed = world.author.ok("GET", f"/api/v1/sessions/{own['id']}/attempts")  # the scenario's creator may look
    assert [(a["number"], a["state"]) for a in listed] == [(1, "error"), (2, "completed")]
    voice_only = session(world.member, scenario(world.author, mode="voice"))
    refused = world.member.post(f"/api/v1/sessions/{voice_only['id']}/attempts", json={"mode": "text"})
    assert refused.status_code == 422 and "voice only" in refused.json()["detail"]


def test_delete_session_removes_attempts_rows_and_files(world: World) -> None:
    own = session(world.author, scenario(world.author))
    attempt = world.author.ok("POST", f"/api/v1/sessions/{own['id']}/attempts")
    files = artifacts(world, attempt["id"])
    world.h.add(Evaluation(attempt_id=attempt["id"], workspace_id=world.author.workspace_id, overall=50.0))
    world.h.add(GradingJob(attempt_id=attempt["id"], status="done"))
    world.author.ok("POST", f"/api/v1/attempts/{attempt['id']}/problems", json={"reason": "persona broke character"})
    outside = world.h.data_dir.parent / "outside.txt"
    outside.write_text("keep me")
    world.h.set(Attempt, attempt["id"], video_path=str(outside))  # never deletes outside the data directory
    assert world.member.delete(f"/api/v1/sessions/{own['id']}").status_code == 403
    assert world.author.delete(f"/api/v1/sessions/{own['id']}").status_code == 204
    assert not files[0].exists() and not files[1].exists()
    assert outside.exists()
    assert world.author.get(f"/api/v1/sessions/{own['id']}").status_code == 404
    assert world.author.get(f"/api/v1/attempts/{attempt['id']}").status_code == 404
    with world.h.db.session() as db:
        for model in (Attempt, Evaluation, GradingJob, ProblemReport):
            assert db.scalars(select(model)).all() == [], model.__name__


def test_delete_attempt_and_scenario_remove_their_files(world: World) -> None:
    sid = scenario(world.author)
    world.author.ok("POST", f"/api/v1/scenarios/{sid}/documents", files={"file": ("a.txt", b"notes", "text/plain")})
    own = session(world.member, sid)
    first = world.member.ok("POST", f"/api/v1/sessions/{own['id']}/attempts")
    first_files = artifacts(world, first["id"])
    second = world.member.ok("POST", f"/api/v1/sessions/{own['id']}/attempts")
    second_files = artifacts(world, second["id"])
    assert world.member.delete(f"/api/v1/attempts/{first['id']}").status_code == 204
    assert not any(p.exists() for p in first_files) and all(p.exists() for p in second_files)
    assert not first_files[0].parent.exists()  # the attempt's emptied folder goes too
    assert [a["number"] for a in world.member.ok("GET", f"/api/v1/sessions/{own['id']}/attempts")] == [2]
    documents = list((world.h.data_dir / "documents").rglob("*.txt"))
    assert len(documents) == 1
    world.author.ok("DELETE", f"/api/v1/scenarios/{sid}")
    assert not any(p.exists() for p in second_files) and not any(p.exists() for p in documents)
    assert world.member.get(f"/api/v1/sessions/{own['id']}").status_code == 404


@pytest.mark.parametrize("inline", [True, False])
def test_deleting_an_inline_session_deletes_its_hidden_scenario(world: World, inline: bool) -> None:
    body = {"name": "X", "config": INLINE} if inline else {"name": "X", "scenario_id": scenario(world.author)}
    created = world.member.ok("POST", "/api/v1/sessions", json=body)
    world.member.ok("DELETE", f"/api/v1/sessions/{created['id']}")
    with world.h.db.session() as db:
        assert (db.get(Scenario, created["scenario_id"]) is None) == inline
