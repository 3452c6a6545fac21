"""Scenarios and personas: validation errors (422 with a message, nothing stored lost), duplicate, delete by
the creator only, validate and test session, tags, and the personality catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import World, scenario_body


def create(world: World, **overrides: Any) -> dict[str, Any]:
    return world.author.ok("POST", "/api/v1/scenarios", json=scenario_body(**overrides))


def messages(response: Any) -> str:
    detail = response.json()["detail"]
    return detail if isinstance(detail, str) else " | ".join(f"{e['loc'][-1]}: {e['msg']}" for e in detail)


def test_create_resolves_builtin_persona_and_fills_every_field(world: World) -> None:
    scenario = create(world)
    john = next(p for p in world.reader.ok("GET", "/api/v1/personas") if p["slug"] == "john")
    assert scenario["persona_id"] == john["id"] and scenario["persona_name"] == "John Okafor"
    assert scenario["time_limit_minutes"] == 15 and scenario["type"] == "customer_success"
    assert scenario["personality"]["trait"] == "assertive" and scenario["personality"]["decision_making"]
    assert scenario["tags"] == ["renewal", "CS"] and scenario["sessions_per_week"] == 2
    assert scenario["valid"] is True and scenario["missing"] == []
    assert scenario["created_by"] == world.author.user_id and scenario["created_by_name"] == "Alex Author"
    assert world.reader.ok("GET", f"/api/v1/scenarios/{scenario['id']}")["goals"] == scenario_body()["goals"]
    default = world.author.ok("POST", "/api/v1/scenarios", json={"name": "Bare"})
    assert default["time_limit_minutes"] == 10 and default["type"] == "sales" and default["valid"] is False


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"persona_id": "zed"}, "unknown persona 'zed'"),
        ({"time_limit_minutes": 7}, "time_limit_minutes: Input should be 5, 10, 15 or 30"),
        ({"name": "   "}, "name: String should have at least 1 character"),
        ({"name": ""}, "name: String should have at least 1 character"),
        ({"type": "cold_calling"}, "type: Input should be 'sales', 'customer_success', 'support' or 'custom'"),
        ({"personality": {"trait": "grumpy"}}, "unknown trait 'grumpy'; choose one of"),
        ({"mode": "video"}, "mode: Input should be 'voice', 'text' or 'hybrid'"),
        ({"tags": ["x" * 41]}, "longer than 40 characters"),
    ],
)
def test_bad_input_is_a_422_with_a_message_and_changes_nothing(
    world: World, overrides: dict[str, Any], expected: str
) -> None:
    scenario = create(world)
    response = world.author.post("/api/v1/scenarios", json=scenario_body(**overrides))
    assert response.status_code == 422 and expected in messages(response)
    response = world.author.patch(f"/api/v1/scenarios/{scenario['id']}", json={"goals": ["New goal"], **overrides})
    assert response.status_code == 422 and expected in messages(response)
    after = world.author.ok("GET", f"/api/v1/scenarios/{scenario['id']}")
    assert after == scenario  # nothing stored was lost or changed
    assert world.author.ok("GET", "/api/v1/scenarios")["total"] == 1


def test_another_workspaces_persona_is_unknown(world: World) -> None:
    theirs = world.outsider.ok("POST", "/api/v1/personas", json={"name": "Secret Sam"})
    response = world.author.post("/api/v1/scenarios", json=scenario_body(persona_id=theirs["id"]))
    assert response.status_code == 422 and "unknown persona" in response.json()["detail"]


def test_update_changes_only_the_fields_sent(world: World) -> None:
    scenario = create(world)
    updated = world.author.ok(
        "PATCH", f"/api/v1/scenarios/{scenario['id']}", json={"time_limit_minutes": 30, "persona_id": "emma"}
    )
    assert updated["time_limit_minutes"] == 30 and updated["persona_name"] == "Emma Clarke"
    assert updated["goals"] == scenario["goals"] and updated["tags"] == scenario["tags"]
    cleared = world.author.ok("PATCH", f"/api/v1/scenarios/{scenario['id']}", json={"persona_id": None})
    assert cleared["persona_id"] is None and cleared["valid"] is False
    assert [m["field"] for m in cleared["missing"]] == ["persona_id"]


def test_validate_and_test_session_of_an_incomplete_scenario(world: World) -> None:
    bare = world.author.ok("POST", "/api/v1/scenarios", json={"name": "Half done", "persona_id": "emma"})
    validation = world.reader.ok("GET", f"/api/v1/scenarios/{bare['id']}/validate")
    assert validation["valid"] is False
    assert {m["field"] for m in validation["missing"]} == {"goals", "evaluation"}
    response = world.author.post(f"/api/v1/scenarios/{bare['id']}/test-session")
    assert response.status_code == 422
    assert response.json()["detail"] == "Scenario is not valid for test session"
    assert {m["field"] for m in response.json()["missing"]} == {"goals", "evaluation"}
    assert world.author.ok("GET", "/api/v1/sessions")["total"] == 0
    world.author.ok("PATCH", f"/api/v1/scenarios/{bare['id']}", json={"goals": ["Book a demo"]})
    world.author.ok("PATCH", f"/api/v1/scenarios/{bare['id']}", json={"evaluation_instructions": "Score it"})
    assert world.reader.ok("GET", f"/api/v1/scenarios/{bare['id']}/validate") == {"valid": True, "missing": []}
    session = world.member.ok("POST", f"/api/v1/scenarios/{bare['id']}/test-session")
    assert session["kind"] == "test" and session["owner_id"] == world.member.user_id
    assert session["status"] == "to_do" and session["scenario_id"] == bare["id"]


def test_duplicate_prefills_a_copy_owned_by_the_caller(world: World) -> None:
    scenario = create(world)
    world.author.ok(
        "POST", f"/api/v1/scenarios/{scenario['id']}/documents",
        files={"file": ("pricing.txt", b"Seats cost 40 dollars.", "text/plain")},
    )  # fmt: skip
    copy = world.member.ok("POST", f"/api/v1/scenarios/{scenario['id']}/duplicate")
    assert copy["id"] != scenario["id"] and copy["name"] == "Copy of Renewal at risk"
    assert copy["created_by"] == world.member.user_id
    for field in ("type", "persona_id", "personality", "goals", "objections", "exit_conditions", "tags",
                  "time_limit_minutes", "evaluation_instructions", "participant_instructions"):  # fmt: skip
        assert copy[field] == scenario[field], field
    [document] = copy["documents"]
    text = world.member.get(f"/api/v1/scenarios/{copy['id']}/documents/{document['id']}/file")
    assert text.status_code == 200 and text.content == b"Seats cost 40 dollars."
    world.member.ok("PATCH", f"/api/v1/scenarios/{copy['id']}", json={"goals": ["Changed"]})
    assert world.author.ok("GET", f"/api/v1/scenarios/{scenario['id']}")["goals"] == scenario["goals"]


def test_only_the_creator_deletes_a_scenario(world: World) -> None:
    scenario = create(world)
    for other in (world.admin, world.member, world.reader):
        assert other.delete(f"/api/v1/scenarios/{scenario['id']}").status_code == 403
    assert world.author.delete(f"/api/v1/scenarios/{scenario['id']}").status_code == 204
    assert world.author.get(f"/api/v1/scenarios/{scenario['id']}").status_code == 404
    [entry] = world.admin.ok("GET", "/api/v1/audit?action=scenario.delete")["items"]
    assert entry["target"] == scenario["id"] and entry["actor_id"] == world.author.user_id


def test_admin_may_delete_a_scenario_whose_creator_is_gone(world: World) -> None:
    scenario = create(world)
    world.admin.ok("DELETE", f"/api/v1/users/{world.author.user_id}")
    assert world.admin.delete(f"/api/v1/scenarios/{scenario['id']}").status_code == 204


def test_tags_editor(world: World) -> None:
    first, second = create(world), create(world, name="Second", tags=["Q3"])
    path = f"/api/v1/scenarios/{first['id']}/tags"
    assert world.author.ok("PUT", path, json={"tags": [" Pricing ", "pricing", "q3", "Enterprise   deals"]}) == {
        "tags": ["Pricing", "q3", "Enterprise deals"]
    }
    assert world.reader.ok("GET", path) == {"tags": ["Pricing", "q3", "Enterprise deals"]}
    assert world.reader.ok("GET", "/api/v1/tags") == [
        {"tag": "q3", "scenarios": 2},
        {"tag": "Enterprise deals", "scenarios": 1},
        {"tag": "Pricing", "scenarios": 1},
    ]
    listed = world.reader.ok("GET", "/api/v1/scenarios?tag=Q3&sort=name&order=asc")
    assert [s["id"] for s in listed["items"]] == [first["id"], second["id"]]
    assert world.author.put(path, json={"tags": ["t"] * 0 + [f"t{i}" for i in range(21)]}).status_code == 422


def test_scenario_list_filters_sorts_and_pages(world: World) -> None:
    for index, (name, kind, persona) in enumerate(
        [("Alpha", "sales", "emma"), ("Bravo", "support", "john"), ("Charlie", "sales", "payal")]
    ):
        create(world, name=name, type=kind, persona_id=persona, sessions_per_week=index)
    listing = world.reader.ok("GET", "/api/v1/scenarios?type=sales&sort=name&order=desc")
    assert [s["name"] for s in listing["items"]] == ["Charlie", "Alpha"] and listing["total"] == 2
    assert [s["name"] for s in world.reader.ok("GET", "/api/v1/scenarios?persona_id=john")["items"]] == ["Bravo"]
    assert [s["name"] for s in world.reader.ok("GET", "/api/v1/scenarios?q=rav")["items"]] == ["Bravo"]
    page = world.reader.ok("GET", "/api/v1/scenarios?sort=sessions_per_week&order=asc&page=2&page_size=2")
    assert [s["name"] for s in page["items"]] == ["Charlie"] and page["total"] == 3 and page["page"] == 2
    mine = world.author.ok("GET", "/api/v1/scenarios?created_by=me")
    assert mine["total"] == 3 and world.member.ok("GET", "/api/v1/scenarios?created_by=me")["total"] == 0


def test_personas_builtin_read_only_and_workspace_crud(world: World) -> None:
    personas = world.reader.ok("GET", "/api/v1/personas")
    assert {"emma", "john", "payal", "kapil"} <= {p["slug"] for p in personas if p["builtin"]}
    emma = next(p for p in personas if p["slug"] == "emma")
    assert world.admin.patch(f"/api/v1/personas/{emma['id']}", json={"name": "X"}).status_code == 403
    assert world.admin.delete(f"/api/v1/personas/{emma['id']}").status_code == 403
    body = {"name": "Dana Ross", "job_title": "CFO", "ecosystem": "Retail", "profile_text": "Ex-auditor, blunt.",
            "linkedin_url": "https://www.linkedin.com/in/dana-ross"}  # fmt: skip
    dana = world.author.ok("POST", "/api/v1/personas", json=body)
    assert dana["builtin"] is False and dana["linkedin_url"] == body["linkedin_url"]
    assert world.author.post("/api/v1/personas", json={**body, "linkedin_url": "file:///etc/passwd"}).status_code == 422
    assert [p["name"] for p in world.reader.ok("GET", "/api/v1/personas?ecosystem=retail")] == ["Dana Ross"]
    assert world.author.ok("PATCH", f"/api/v1/personas/{dana['id']}", json={"vertical": "Grocery"})["vertical"]
    scenario = create(world, persona_id=dana["id"])
    assert world.author.delete(f"/api/v1/personas/{dana['id']}").status_code == 409  # still used
    world.author.ok("DELETE", f"/api/v1/scenarios/{scenario['id']}")
    assert world.author.delete(f"/api/v1/personas/{dana['id']}").status_code == 204


def test_personality_catalogue_has_descriptions(world: World) -> None:
    catalogue = world.reader.ok("GET", "/api/v1/personalities")
    assert set(catalogue["settings"]) == {
        "trait", "emotional_state", "communication_style", "decision_making", "voice_character",
    }  # fmt: skip
    assert all(o["value"] and o["description"] for options in catalogue["settings"].values() for o in options)
    assert catalogue["defaults"]["trait"] in {o["value"] for o in catalogue["settings"]["trait"]}


def test_cookie_sign_in_needs_the_csrf_header_for_writes(world: World) -> None:
    browser = world.h.sign_in("alex@acme.com")
    assert browser.post("/api/v1/scenarios", json=scenario_body()).status_code == 201
    token = browser.headers.pop("X-CSRF-Token")
    assert browser.get("/api/v1/scenarios").json()["total"] == 1
    assert browser.post("/api/v1/scenarios", json=scenario_body()).status_code == 403
    browser.headers["X-CSRF-Token"] = token + "x"
    assert browser.post("/api/v1/scenarios", json=scenario_body()).status_code == 403


def test_nul_characters_are_refused_not_a_server_error(world: World) -> None:
    assert world.author.post("/api/v1/scenarios", json=scenario_body(name="a\x00b")).status_code == 422
    assert world.author.get("/api/v1/scenarios?q=%00").status_code == 422
    assert world.author.get("/api/v1/scenarios/%00abc").status_code == 422
    assert world.author.ok("GET", "/api/v1/scenarios")["total"] == 0
