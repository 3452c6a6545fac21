"""Participants and participation history, contacts (CSV import, roleplays grounded in a contact), problem
reports, user management and the audit log, workspace retention settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.store.tables import Attempt, Contact, PracticeSession, Scenario
from server.workspace.setup import persona_spec
from tests.server.conftest import World, scenario_body


def test_invite_remove_and_participation_history(world: World) -> None:
    scenario = world.author.ok("POST", "/api/v1/scenarios", json=scenario_body())
    path = f"/api/v1/scenarios/{scenario['id']}"
    deadline = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    invited = world.author.ok(
        "POST", f"{path}/participants",
        json={"emails": ["MO@acme.com"], "user_ids": [world.reader.user_id], "deadline": deadline.isoformat()},
    )  # fmt: skip
    assert {p["email"] for p in invited} == {"mo@acme.com", "rita@acme.com"}
    assert all(p["frequency"] == 2 and p["session_status"] == "to_do" and p["active"] for p in invited)
    mo = next(p for p in invited if p["email"] == "mo@acme.com")
    assigned = world.member.ok("GET", f"/api/v1/sessions/{mo['session_id']}")
    assert assigned["kind"] == "assignment" and assigned["owner_id"] == world.member.user_id
    assert datetime.fromisoformat(assigned["deadline"]) == deadline
    assert world.author.ok("GET", f"{path}")["participant_count"] == 2
    again = world.author.ok("POST", f"{path}/participants", json={"emails": ["mo@acme.com"]})
    assert [p["id"] for p in again] == [mo["id"]]  # already invited: the same assignment
    unknown = world.author.post(f"{path}/participants", json={"emails": ["ghost@acme.com", "olga@globex.com"]})
    assert unknown.status_code == 422 and "ghost@acme.com, olga@globex.com" in unknown.json()["detail"]

    attempt = world.member.ok("POST", f"/api/v1/sessions/{mo['session_id']}/attempts")
    world.h.set(Attempt, attempt["id"], state="completed", started_at=datetime.now(UTC))
    world.author.ok("DELETE", f"{path}/participants/{mo['id']}")
    assert [p["email"] for p in world.author.ok("GET", f"{path}/participants")] == ["rita@acme.com"]
    everyone = world.author.ok("GET", f"{path}/participants?include_removed=true")
    assert {p["email"]: p["active"] for p in everyone} == {"mo@acme.com": False, "rita@acme.com": True}
    history = {h["email"]: h for h in world.author.ok("GET", f"{path}/participation")}
    mo_history = history["mo@acme.com"]
    assert mo_history["active"] is False and mo_history["removed_at"]
    [kept] = mo_history["sessions"]  # soft removal: the session and its attempts stay
    assert kept["status"] == "completed" and [a["state"] for a in kept["attempts"]] == ["completed"]
    assert world.member.ok("GET", f"/api/v1/sessions/{mo['session_id']}")["attempts"] == 1
    assert history["rita@acme.com"]["sessions"][0]["status"] == "to_do"
    reinvited = world.author.ok("POST", f"{path}/participants", json={"user_ids": [world.member.user_id]})
    assert reinvited[0]["id"] != mo["id"] and reinvited[0]["session_id"] != mo["session_id"]


def test_invalid_scenario_cannot_be_assigned(world: World) -> None:
    bare = world.author.ok("POST", "/api/v1/scenarios", json={"name": "Draft"})
    response = world.author.post(f"/api/v1/scenarios/{bare['id']}/participants", json={"emails": ["mo@acme.com"]})
    assert response.status_code == 422 and response.json()["detail"] == "Scenario is not valid for assignment"
    assert response.json()["missing"]


def test_contacts_crud_and_csv_import(world: World) -> None:
    dana = world.member.ok("POST", "/api/v1/contacts", json={"name": "Dana Ross", "title": "CFO", "company": "Initech"})
    assert world.member.ok("PATCH", f"/api/v1/contacts/{dana['id']}", json={"notes": "Hates slides."})["notes"]
    csv = (
        b"Name,Title,Company,Profile URL,Notes\n"
        b'Sam Lee,VP Sales,Globex,https://www.linkedin.com/in/samlee,"Met at a fair, likes golf"\n'
        b",Missing name,Acme,,\n"
        b"Kim Park,CTO,Hooli,ftp://nope,\n"
        b"\n"
        b"Ana Diaz,Buyer,Umbrella,,\n"
    )
    report = world.member.ok("POST", "/api/v1/contacts/import", files={"file": ("c.csv", csv, "text/csv")})
    assert report["created"] == 2 and sorted(c["name"] for c in report["contacts"]) == ["Ana Diaz", "Sam Lee"]
    assert [(e["row"], e["error"].split(":")[0]) for e in report["errors"]] == [(3, "name"), (4, "profile_url")]
    assert next(c for c in report["contacts"] if c["name"] == "Sam Lee")["notes"] == "Met at a fair, likes golf"
    headerless = world.member.ok(
        "POST", "/api/v1/contacts/import", files={"file": ("c.csv", b"Lee Chan,COO,Acme,,x,extra\nBo Li,CEO\n", "")}
    )
    assert headerless["created"] == 1 and headerless["errors"][0]["row"] == 1
    assert (
        world.member.post(
            "/api/v1/contacts/import", files={"file": ("c.csv", b"\xff\xfe\x00bad", "text/csv")}
        ).status_code
        == 422
    )
    mine = world.member.ok("GET", "/api/v1/contacts?q=ross")
    assert [c["name"] for c in mine["items"]] == ["Dana Ross"] and mine["total"] == 1
    page = world.member.ok("GET", "/api/v1/contacts?page=2&page_size=3")
    assert page["total"] == 4 and [c["name"] for c in page["items"]] == ["Sam Lee"]
    assert world.author.ok("GET", "/api/v1/contacts")["total"] == 0
    assert world.admin.ok("GET", "/api/v1/contacts?owner_id=all")["total"] == 4
    world.member.ok("DELETE", f"/api/v1/contacts/{dana['id']}")
    assert world.member.get(f"/api/v1/contacts/{dana['id']}").status_code == 404


def test_roleplay_with_a_contact_grounds_the_persona(world: World) -> None:
    contact = world.member.ok(
        "POST", "/api/v1/contacts",
        json={"name": "Dana Ross", "title": "CFO", "company": "Initech", "notes": "Cuts costs everywhere."},
    )  # fmt: skip
    incomplete = world.member.post(f"/api/v1/contacts/{contact['id']}/roleplays", json={})
    assert incomplete.status_code == 422 and {m["field"] for m in incomplete.json()["missing"]} == {
        "goals", "evaluation",
    }  # fmt: skip
    body = {
        "details": {"scenario_type": "sales", "tuning": "Renewal pricing talk", "goals": ["Hold the price"]},
        "personality": {"trait": "skeptical"},
        "evaluation": {"instructions": "Did they defend value?"},
        "deadline": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    }
    created = world.member.ok("POST", f"/api/v1/contacts/{contact['id']}/roleplays", json=body)
    assert created["name"] == "Roleplay with Dana Ross" and created["contact_id"] == contact["id"]
    assert created["persona_name"] == "Dana Ross" and created["status"] == "overdue"
    with world.h.db.session() as db:
        session = db.get(PracticeSession, created["id"])
        assert session is not None and session.scenario.hidden and session.scenario.persona_id is None
        spec = persona_spec(session.scenario, None, db.get(Contact, contact["id"]))
        assert spec.name == "Dana Ross" and spec.profile_text == "Cuts costs everywhere."
    attempt = world.member.ok("POST", f"/api/v1/sessions/{created['id']}/attempts")
    [roleplay] = world.member.ok("GET", f"/api/v1/contacts/{contact['id']}/roleplays")
    assert roleplay["id"] == created["id"] and [a["id"] for a in roleplay["attempt_list"]] == [attempt["id"]]
    assert roleplay["deadline"] and roleplay["status"] == "overdue"
    assert world.member.ok("GET", f"/api/v1/contacts/{contact['id']}")["roleplays"] == 1
    briefing = world.member.ok("GET", f"/api/v1/sessions/{created['id']}")["briefing"]
    assert briefing["persona"] == {"name": "Dana Ross", "job_title": "CFO", "company": "Initech"}
    world.member.ok("DELETE", f"/api/v1/contacts/{contact['id']}")
    assert world.member.get(f"/api/v1/sessions/{created['id']}").status_code == 404
    with world.h.db.session() as db:
        assert db.get(Scenario, created["scenario_id"]) is None


def test_problem_reports_reach_the_scenario_creator(world: World) -> None:
    scenario = world.author.ok("POST", "/api/v1/scenarios", json=scenario_body())
    session = world.member.ok("POST", "/api/v1/sessions", json={"name": "S", "scenario_id": scenario["id"]})
    attempt = world.member.ok("POST", f"/api/v1/sessions/{session['id']}/attempts")
    empty = world.member.post(f"/api/v1/attempts/{attempt['id']}/problems", json={"reason": "  "})
    assert empty.status_code == 422
    flag = world.member.ok(
        "POST", f"/api/v1/attempts/{attempt['id']}/problems", json={"reason": "The persona broke character"}
    )
    assert flag["scenario_id"] == scenario["id"] and flag["user_name"] == "Mo Member" and flag["resolved_at"] is None
    path = f"/api/v1/scenarios/{scenario['id']}/problems"
    assert [p["reason"] for p in world.author.ok("GET", path)] == ["The persona broke character"]
    assert world.member.get(path).status_code == 403
    assert world.member.post(f"/api/v1/problems/{flag['id']}/resolve").status_code == 403
    assert world.author.ok("POST", f"/api/v1/problems/{flag['id']}/resolve")["resolved_at"]
    assert world.author.ok("GET", path) == [] and len(world.author.ok("GET", f"{path}?state=resolved")) == 1
    assert len(world.member.ok("GET", f"/api/v1/attempts/{attempt['id']}/problems")) == 1


def test_user_management_is_audited(world: World) -> None:
    created = world.admin.ok(
        "POST", "/api/v1/users", json={"email": "Newbie@Acme.com", "role": "member", "password": "long enough pw"}
    )
    assert created["email"] == "newbie@acme.com" and created["has_password"] is True
    assert world.admin.post("/api/v1/users", json={"email": "newbie@acme.com"}).status_code == 409
    assert world.admin.post("/api/v1/users", json={"email": "x@acme.com", "role": "owner"}).status_code == 422
    assert world.admin.post("/api/v1/users", json={"email": "y@acme.com", "password": "short"}).status_code == 422
    browser = world.h.sign_in("newbie@acme.com", "long enough pw")
    assert browser.get("/api/v1/auth/me").json()["role"] == "member"
    world.admin.ok("PATCH", f"/api/v1/users/{created['id']}", json={"role": "read_only"})
    assert browser.post("/api/v1/scenarios", json=scenario_body()).status_code == 403  # the new role applies at once
    world.admin.ok("DELETE", f"/api/v1/users/{created['id']}")
    assert browser.get("/api/v1/auth/me").status_code == 401
    assert created["id"] not in {u["id"] for u in world.member.ok("GET", "/api/v1/users")}
    assert created["id"] in {u["id"] for u in world.admin.ok("GET", "/api/v1/users?include_inactive=true")}
    actions = [(e["action"], e["target"]) for e in world.admin.ok("GET", "/api/v1/audit")["items"]]
    assert actions[:3] == [
        ("user.deactivate", created["id"]), ("user.role_change", created["id"]), ("user.create", created["id"]),
    ]  # fmt: skip
    change = world.admin.ok("GET", "/api/v1/audit?action=user.role_change")["items"][0]
    assert change["details"] == {"email": "newbie@acme.com", "before": "member", "after": "read_only"}
    assert change["actor_name"] == "Ada Admin"


def test_the_last_admin_cannot_be_demoted_or_deactivated(world: World) -> None:
    admin = world.admin.user_id
    assert world.admin.patch(f"/api/v1/users/{admin}", json={"role": "member"}).status_code == 409
    assert world.admin.delete(f"/api/v1/users/{admin}").status_code == 409
    world.admin.ok("PATCH", f"/api/v1/users/{world.member.user_id}", json={"role": "admin"})
    assert world.admin.ok("PATCH", f"/api/v1/users/{admin}", json={"role": "member"})["role"] == "member"


def test_retention_settings_are_validated_and_audited(world: World) -> None:
    settings = world.admin.ok("GET", "/api/v1/workspace/settings")
    assert settings["retention"] == {
        "audio_days": 90, "event_log_days": 90, "video_days": 90, "transcript_days": None, "evaluation_days": None,
    }  # fmt: skip
    changed = world.admin.ok(
        "PATCH", "/api/v1/workspace/settings", json={"retention": {"audio_days": 30, "transcript_days": 365}}
    )
    assert changed["retention"]["audio_days"] == 30 and changed["retention"]["event_log_days"] == 90
    bad = world.admin.patch("/api/v1/workspace/settings", json={"retention": {"audio_days": 0}})
    assert bad.status_code == 422
    assert world.admin.ok("GET", "/api/v1/workspace/settings")["retention"]["audio_days"] == 30
    forever = world.admin.ok("PATCH", "/api/v1/workspace/settings", json={"retention": {"audio_days": None}})
    assert forever["retention"]["audio_days"] is None
    entries = world.admin.ok("GET", "/api/v1/audit?action=settings.retention_change")["items"]
    assert len(entries) == 2 and entries[-1]["details"]["before"]["audio_days"] == 90
    assert entries[-1]["details"]["after"]["audio_days"] == 30
    assert world.admin.ok("PATCH", "/api/v1/workspace", json={"name": "Acme Corp"})["name"] == "Acme Corp"
    assert world.reader.ok("GET", "/api/v1/workspace")["name"] == "Acme Corp"
