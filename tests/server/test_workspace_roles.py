"""The role matrix and workspace isolation, generated from one table of every workspace route.

Resources are owned by another member ("the author"), so the table says what each role may do to someone
else's things: read_only reads, members create and change their own, admins everything in the workspace.
Another workspace's ids are always 404 and reveal nothing. A route missing from the table fails the test.
"""

from __future__ import annotations

import importlib
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from server.store.tables import Attempt
from tests.server.conftest import DATABASES, Actor, World, build_world, fresh_database_url, running_app, scenario_body

A, M, R = "admin", "member", "read_only"
ALL: set[str] = {A, M, R}
WRITERS: set[str] = {A, M}
ADMIN: set[str] = {A}
NOBODY: set[str] = set()
MODULES = (
    "personas", "personalities", "scenarios", "documents", "participants", "sessions", "attempts", "contacts",
    "problems", "report", "users", "workspace",
)  # fmt: skip


@dataclass(frozen=True)
class Action:
    method: str
    path: str
    allowed: set[str]
    body: Callable[[], dict[str, Any]] | None = None
    files: Callable[[], dict[str, Any]] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def _csv() -> dict[str, Any]:
    return {"file": ("contacts.csv", b"name,title\nDana Ross,CFO\n", "text/csv")}


def _text() -> dict[str, Any]:
    return {"file": ("brief.txt", b"Pricing sheet: 40 dollars a seat.", "text/plain")}


ACTIONS = [
    Action("GET", "/api/v1/personas", ALL),
    Action("POST", "/api/v1/personas", WRITERS, lambda: {"name": "Dana Ross"}),
    Action("GET", "/api/v1/personas/{persona}", ALL),
    Action("PATCH", "/api/v1/personas/{persona}", ADMIN, lambda: {"job_title": "CFO"}),
    Action("DELETE", "/api/v1/personas/{persona}", ADMIN),
    Action("GET", "/api/v1/personalities", ALL),
    Action("GET", "/api/v1/scenarios", ALL),
    Action("POST", "/api/v1/scenarios", WRITERS, scenario_body),
    Action("GET", "/api/v1/scenarios/{scenario}", ALL),
    Action("PATCH", "/api/v1/scenarios/{scenario}", ADMIN, lambda: {"name": "Renamed"}),
    Action("DELETE", "/api/v1/scenarios/{scenario}", NOBODY),  # the creator only, not even an admin
    Action("POST", "/api/v1/scenarios/{scenario}/duplicate", WRITERS),
    Action("GET", "/api/v1/scenarios/{scenario}/validate", ALL),
    Action("POST", "/api/v1/scenarios/{scenario}/test-session", WRITERS),
    Action("GET", "/api/v1/scenarios/{scenario}/tags", ALL),
    Action("PUT", "/api/v1/scenarios/{scenario}/tags", ADMIN, lambda: {"tags": ["q3"]}),
    Action("GET", "/api/v1/tags", ALL),
    Action("GET", "/api/v1/scenarios/{scenario}/documents", ALL),
    Action("POST", "/api/v1/scenarios/{scenario}/documents", ADMIN, files=_text),
    Action("GET", "/api/v1/scenarios/{scenario}/documents/{document}", ALL),
    Action("GET", "/api/v1/scenarios/{scenario}/documents/{document}/file", ALL),
    Action("DELETE", "/api/v1/scenarios/{scenario}/documents/{document}", ADMIN),
    Action("GET", "/api/v1/scenarios/{scenario}/participants", ADMIN),
    Action("POST", "/api/v1/scenarios/{scenario}/participants", ADMIN, lambda: {"emails": ["mo@acme.com"]}),
    Action("DELETE", "/api/v1/scenarios/{scenario}/participants/{participant}", ADMIN),
    Action("GET", "/api/v1/scenarios/{scenario}/participation", ADMIN),
    Action("GET", "/api/v1/scenarios/{scenario}/problems", ADMIN),
    Action("GET", "/api/v1/sessions", ALL),
    Action("POST", "/api/v1/sessions", WRITERS, lambda: {"name": "Inline", "config": {"persona": {"persona_id": "emma"},
           "details": {"tuning": "Discovery call"}, "evaluation": {"instructions": "Score discovery."}}}),
    Action("GET", "/api/v1/sessions/{session}", ADMIN),
    Action("PATCH", "/api/v1/sessions/{session}", ADMIN, lambda: {"name": "Renamed"}),
    Action("DELETE", "/api/v1/sessions/{session}", ADMIN),
    Action("GET", "/api/v1/sessions/{session}/attempts", ADMIN),
    Action("POST", "/api/v1/sessions/{session}/attempts", NOBODY),  # the owner only
    Action("GET", "/api/v1/attempts/{attempt}", ADMIN),
    Action("POST", "/api/v1/attempts/{attempt}/restart", NOBODY),  # the owner only
    Action("DELETE", "/api/v1/attempts/{attempt}", ADMIN),
    Action("POST", "/api/v1/attempts/{attempt}/problems", NOBODY, lambda: {"reason": "broke character"}),
    Action("GET", "/api/v1/attempts/{attempt}/problems", ADMIN),
    Action("POST", "/api/v1/problems/{problem}/resolve", ADMIN),
    Action("GET", "/api/v1/contacts", ALL),
    Action("POST", "/api/v1/contacts", WRITERS, lambda: {"name": "Dana Ross"}),
    Action("POST", "/api/v1/contacts/import", WRITERS, files=_csv),
    Action("GET", "/api/v1/contacts/{contact}", ADMIN),
    Action("PATCH", "/api/v1/contacts/{contact}", ADMIN, lambda: {"title": "CEO"}),
    Action("DELETE", "/api/v1/contacts/{contact}", ADMIN),
    Action("POST", "/api/v1/contacts/{contact}/roleplays", ADMIN, lambda: {"details": {"tuning": "Intro call"},
           "evaluation": {"instructions": "Score rapport."}}),
    Action("GET", "/api/v1/contacts/{contact}/roleplays", ADMIN),
    Action("GET", "/api/v1/report", WRITERS),
    Action("GET", "/api/v1/users", WRITERS),
    Action("POST", "/api/v1/users", ADMIN, lambda: {"email": "new@acme.com", "role": "member"}),
    Action("GET", "/api/v1/users/{user}", WRITERS),
    Action("PATCH", "/api/v1/users/{user}", ADMIN, lambda: {"role": "read_only"}),
    Action("DELETE", "/api/v1/users/{user}", ADMIN),
    Action("GET", "/api/v1/workspace", ALL),
    Action("PATCH", "/api/v1/workspace", ADMIN, lambda: {"name": "Acme Corp"}),
    Action("GET", "/api/v1/workspace/settings", ADMIN),
    Action("PATCH", "/api/v1/workspace/settings", ADMIN, lambda: {"retention": {"audio_days": 30}}),
    Action("GET", "/api/v1/audit", ADMIN),
]  # fmt: skip


class Resources:
    """Makes, on demand, the records a path names, all owned by the author."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.ids: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.ids:
            self.ids[name] = getattr(self, f"_{name}")()
        return self.ids[name]

    def _persona(self) -> str:
        return str(self.w.author.ok("POST", "/api/v1/personas", json={"name": "Pat Quinn"})["id"])

    def _scenario(self) -> str:
        return str(self.w.author.ok("POST", "/api/v1/scenarios", json=scenario_body())["id"])

    def _document(self) -> str:
        path = f"/api/v1/scenarios/{self('scenario')}/documents"
        return str(self.w.author.ok("POST", path, files=_text())["id"])

    def _participant(self) -> str:
        path = f"/api/v1/scenarios/{self('scenario')}/participants"
        return str(self.w.author.ok("POST", path, json={"emails": ["rita@acme.com"]})[0]["id"])

    def _session(self) -> str:
        return str(
            self.w.author.ok("POST", "/api/v1/sessions", json={"name": "S", "scenario_id": self("scenario")})["id"]
        )

    def _attempt(self) -> str:
        attempt = self.w.author.ok("POST", f"/api/v1/sessions/{self('session')}/attempts")
        self.w.h.set(Attempt, attempt["id"], state="error")
        return str(attempt["id"])

    def _problem(self) -> str:
        path = f"/api/v1/attempts/{self('attempt')}/problems"
        return str(self.w.author.ok("POST", path, json={"reason": "persona broke character"})["id"])

    def _contact(self) -> str:
        return str(self.w.author.ok("POST", "/api/v1/contacts", json={"name": "Sam Lee"})["id"])

    def _user(self) -> str:
        return self.w.h.user(self.w.admin.workspace_id, "member", f"u-{secrets.token_hex(4)}@acme.com").user_id


def call(actor: Actor, action: Action, resources: Resources) -> int:
    names = [part[1:-1] for part in action.path.split("/") if part.startswith("{")]
    path = action.path.format(**{name: resources(name) for name in names})
    kwargs: dict[str, Any] = {}
    if action.body:
        kwargs["json"] = action.body()
    if action.files:
        kwargs["files"] = action.files()
    return actor.request(action.method, path, **kwargs).status_code


@pytest.fixture(scope="module", params=DATABASES)
def shared_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One app per database for the whole matrix (each case makes its own records)."""
    folder: Path = tmp_path_factory.mktemp("matrix")
    with (
        fresh_database_url(request.param, request, folder / "db", reuse=False) as url,
        running_app(url, folder / "data", request.getfixturevalue("password_hash")) as h,
    ):
        yield build_world(h)


@pytest.mark.parametrize("role", [A, M, R])
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.id)
def test_role_matrix(shared_world: World, action: Action, role: str) -> None:
    status = call(shared_world.by_role(role), action, Resources(shared_world))
    if role in action.allowed:
        assert status < 300, f"{role} should be allowed: {action.id} gave {status}"
    else:
        assert status == 403, f"{role} should get 403: {action.id} gave {status}"


@pytest.mark.parametrize("action", [a for a in ACTIONS if "{" in a.path], ids=lambda a: a.id)
def test_other_workspace_ids_are_404(shared_world: World, action: Action) -> None:
    resources = Resources(shared_world)
    response_status = call(shared_world.outsider, action, resources)
    assert response_status == 404, f"{action.id} from another workspace gave {response_status}"


def _generic(path: str) -> str:
    return re.sub(r"\{(\w+)_id\}", r"{\1}", path)


def test_every_workspace_route_is_in_the_matrix(shared_world: World) -> None:
    declared: set[tuple[str, str]] = set()
    for name in MODULES:
        module = importlib.import_module(f"server.api.routes.{name}")
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            declared |= {(method, route.path) for method in (route.methods or set()) - {"HEAD"}}
    mounted = shared_world.h.app.openapi()["paths"]
    assert {(m, p) for m, p in declared if m.lower() not in mounted.get(p, {})} == set(), "routes not mounted"
    table = {(a.method, a.path) for a in ACTIONS}
    generic = {(method, _generic(path)) for method, path in declared}
    assert generic - table == set(), "routes missing from the role matrix"
    assert table - generic == set(), "matrix rows for routes that do not exist"


def test_lists_show_nothing_from_another_workspace(shared_world: World) -> None:
    w = shared_world
    resources = Resources(w)
    for name in ("persona", "scenario", "session", "contact", "problem"):
        resources(name)
    w.admin.ok("PATCH", "/api/v1/users/" + resources("user"), json={"role": "read_only"})  # an audit entry
    outsider = w.outsider
    assert all(p["builtin"] for p in outsider.ok("GET", "/api/v1/personas"))
    assert outsider.ok("GET", "/api/v1/scenarios")["total"] == 0
    assert outsider.ok("GET", "/api/v1/sessions?owner_id=all")["total"] == 0
    assert outsider.ok("GET", "/api/v1/contacts?owner_id=all")["total"] == 0
    assert outsider.ok("GET", "/api/v1/tags") == []
    assert {u["email"] for u in outsider.ok("GET", "/api/v1/users")} == {"olga@globex.com"}
    assert outsider.ok("GET", "/api/v1/audit")["total"] == 0
    assert outsider.ok("GET", "/api/v1/report")["totals"]["sessions"] == 0
    # and the same lists in acme do show them
    assert w.admin.ok("GET", "/api/v1/sessions?owner_id=all")["total"] >= 1
    assert w.admin.ok("GET", "/api/v1/audit")["total"] >= 1


def test_ids_in_bodies_and_queries_from_another_workspace(shared_world: World) -> None:
    w = shared_world
    theirs = w.outsider.ok("POST", "/api/v1/scenarios", json=scenario_body())
    mine = Resources(w)("scenario")
    assert w.member.post("/api/v1/sessions", json={"name": "X", "scenario_id": theirs["id"]}).status_code == 404
    assert w.admin.get(f"/api/v1/report?scenario_id={theirs['id']}").status_code == 404
    invite = w.admin.post(f"/api/v1/scenarios/{mine}/participants", json={"user_ids": [w.outsider.user_id]})
    assert invite.status_code == 422 and w.outsider.user_id in invite.json()["detail"]
    assert w.admin.ok("GET", f"/api/v1/sessions?owner_id={w.outsider.user_id}")["total"] == 0
    assert w.outsider.ok("GET", f"/api/v1/sessions?owner_id=all&scenario_id={mine}")["total"] == 0
