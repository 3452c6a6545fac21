"""Every route of the app, from `app.routes`: who may call it, per role, and another workspace's ids are 404.

The table below holds, for each route outside the workspace API, the status each caller gets: admin, member
and read-only users of the workspace that owns the records, an anonymous caller, and another workspace's admin.
Records belong to another member (the author), so "member" means "a member who is not the owner".
The workspace API routes (personas ... audit) have their role and workspace matrix in
tests/server/test_workspace_roles.py (its ACTIONS table is imported here); this file adds their anonymous case.
A route missing from both tables, or a row for a route that no longer exists, fails the test.

Exceptions, documented: the app runs with no models (load_roles=()), so a live call that passes every access
check answers 503 "voice models are not loaded" (the check order puts the workspace, owner and draft checks
first). Live controls, events and WHIP delete need a running call to get past 404; their access is tested with
a real call in tests/security/test_live_access.py. UI pages are static shells: signed-in users get the page
(data comes through the API, checked here), anonymous callers are sent to /login.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient
from starlette.routing import Mount, WebSocketRoute
from starlette.testclient import WebSocketDenialResponse

from server.store.tables import Attempt, Evaluation
from tests.server.conftest import DATABASES, PASSWORD, World, build_world, fresh_database_url, running_app
from tests.server.conftest import scenario_body as scenario
from tests.server.test_workspace_roles import ACTIONS as WORKSPACE_ACTIONS

A, M, R, ANON, OUT = "admin", "member", "read_only", "anonymous", "outsider"
CALLERS = (A, M, R, ANON, OUT)
WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 64
SALARY = {"user_id": "cand-7", "persona_id": "payal", "duration_minutes": 15, "roleplay_type": "custom",
          "brief": {"goal": "Negotiate the base salary", "counterpart": "a recruiter"}}  # fmt: skip


def expect(admin: int, member: int, reader: int, anonymous: int = 401, outsider: int = 404) -> dict[str, int]:
    return {A: admin, M: member, R: reader, ANON: anonymous, OUT: outsider}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


class Records:
    """The author's records a route names, made on demand (fresh for each case: some routes change them)."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.ids: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.ids:
            self.ids[name] = getattr(self, f"_{name}")()
        return self.ids[name]

    def _scenario_id(self) -> str:
        return str(self.w.author.ok("POST", "/api/v1/scenarios", json=scenario())["id"])

    def _session_id(self) -> str:
        """An active practice session of the author's, with a completed, evaluated attempt."""
        body = {"name": "Renewal practice", "scenario_id": self("scenario_id")}
        session_id = str(self.w.author.ok("POST", "/api/v1/sessions", json=body)["id"])
        attempt = self.w.author.ok("POST", f"/api/v1/sessions/{session_id}/attempts")
        now = datetime.now(UTC)
        transcript = [{"number": 1, "speaker": "persona", "text": "We may not renew.", "start": 0, "end": 1},
                      {"number": 2, "speaker": "learner", "text": "Why?", "start": 1, "end": 2}]  # fmt: skip
        self.w.h.set(Attempt, attempt["id"], state="completed", started_at=now, ended_at=now, transcript=transcript)
        criteria = [{"name": "empathy", "title": "Empathy", "kind": "scale", "score": 3, "weight": 1.0}]
        self.w.h.add(Evaluation(attempt_id=attempt["id"], workspace_id=self.w.author.workspace_id, overall=50.0,
                                result={"criteria": criteria}))  # fmt: skip
        self.ids["attempt_id"] = str(attempt["id"])
        return session_id

    def _attempt_id(self) -> str:
        self("session_id")
        return self.ids["attempt_id"]

    def _draft_id(self) -> str:
        return str(self.w.author.ok("POST", "/api/v1/roleplays/configure/preview", json=SALARY)["session_id"])

    def _assignment_id(self) -> str:
        body = {"emails": ["mo@acme.com"], "scenario_id": self("scenario_id")}
        return str(self.w.author.ok("POST", "/api/v1/roleplays/assignments", json=body)[0]["assignment_id"])

    def _key_id(self) -> str:
        return str(self.w.admin.ok("POST", "/api/v1/auth/api-keys", json={"name": "integration"})["id"])

    def _call_id(self) -> str:
        return "no-live-call"

    def _download_token(self) -> str:
        signed = self.w.admin.ok("GET", f"/api/v1/artifacts/{self('session_id')}/transcript")
        return str(signed["url"].split("token=", 1)[1])

    def _upload_token(self) -> str:
        signed = self.w.admin.ok("POST", f"/api/v1/sessions/{self('session_id')}/video/upload-url")
        return str(signed["upload_url"].split("token=", 1)[1])


@dataclass(frozen=True)
class Row:
    method: str  # an HTTP method, WS for a WebSocket, MOUNT for a mounted app
    path: str
    outcome: dict[str, int]
    json: Callable[[Records], Any] | None = None
    query: Callable[[Records], dict[str, str]] = lambda r: {}
    content: bytes | None = None
    content_type: str | None = None
    page: bool = False  # a browser page: callers come with the session cookie, not an API key
    location: str | None = None  # for redirects: where to (a prefix)
    capability: bool = False  # the request carries a signed token: whoever holds it gets the data it names

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


PAGES_SIGNED_IN, PAGES_ANON = 200, 303
ROWS = [
    # ---- sign-in, API keys, SSO (not configured here: 404 for everyone; tests/security/test_oidc.py runs it)
    Row("POST", "/api/v1/auth/login", everyone(200), json=lambda r: {"email": "ada@acme.com", "password": PASSWORD}),
    Row("POST", "/api/v1/auth/logout", everyone(204)),
    Row("GET", "/api/v1/auth/me", expect(200, 200, 200, outsider=200)),
    Row("GET", "/api/v1/auth/api-keys", expect(200, 403, 403, outsider=200)),
    Row("POST", "/api/v1/auth/api-keys", expect(201, 403, 403, outsider=201), json=lambda r: {"name": "ci"}),
    Row("DELETE", "/api/v1/auth/api-keys/{key_id}", expect(204, 403, 403)),
    Row("GET", "/auth/oidc/login", everyone(404)),
    Row("GET", "/auth/oidc/callback", everyone(404)),
    # ---- the roleplay service API: results and drafts are for the program (key) that set the session up,
    # the session's viewers (learner, scenario creator, coaches) and admins; other members get 404
    Row("POST", "/api/v1/roleplays/configure/preview", expect(201, 201, 403, outsider=201), json=lambda r: SALARY),
    Row("POST", "/api/v1/roleplays/configure", expect(201, 201, 403, outsider=201), json=lambda r: SALARY),
    Row("POST", "/api/v1/roleplays/configure/questions", expect(200, 404, 403),
        json=lambda r: {"session_id": r("draft_id"), "opening_prompt": "Let's talk numbers."}),
    Row("POST", "/api/v1/roleplays/configure/approve", expect(200, 404, 403),
        json=lambda r: {"session_id": r("draft_id")}),
    Row("GET", "/api/v1/roleplays/review/{session_id}", expect(200, 404, 404)),
    Row("GET", "/api/v1/roleplays/leaderboard", expect(200, 200, 200, outsider=200)),
    Row("POST", "/api/v1/roleplays/assignments", expect(201, 201, 403),
        json=lambda r: {"emails": ["rita@acme.com"], "scenario_id": r("scenario_id")}),
    Row("GET", "/api/v1/roleplays/assignments", expect(200, 200, 200, outsider=200)),
    Row("POST", "/api/v1/roleplays/assignments/unassign", expect(200, 200, 403),
        json=lambda r: {"assignment_ids": [r("assignment_id")]}),
    Row("POST", "/api/v1/roleplays/results:bulk", expect(200, 200, 404),  # read-only: only their own
        json=lambda r: {"assignment_ids": [r("assignment_id")]}),
    # ---- artifacts: signed URLs are the capability (no key needed), scoped and expiring (test_roleplay_api.py)
    Row("GET", "/api/v1/artifacts/{session_id}/{artifact_type}", expect(200, 404, 404)),
    Row("GET", "/api/v1/artifacts/download", everyone(200), query=lambda r: {"token": r("download_token")},
        capability=True),
    Row("POST", "/api/v1/sessions/{session_id}/video/upload-url", expect(200, 404, 403)),
    Row("PUT", "/api/v1/uploads/video", everyone(201), query=lambda r: {"token": r("upload_token")}, content=WEBM,
        content_type="video/webm", capability=True),
    Row("POST", "/api/v1/sessions/{session_id}/video/uploaded", expect(409, 404, 403)),  # 409: nothing uploaded yet
    Row("GET", "/api/v1/sessions/{session_id}/video", expect(200, 404, 404)),
    # ---- evaluation: the owner, the scenario's creator, its coaches and admins
    Row("GET", "/api/v1/attempts/{attempt_id}/evaluation", expect(200, 404, 404)),
    Row("POST", "/api/v1/attempts/{attempt_id}/evaluation/overrides", expect(200, 404, 403),
        json=lambda r: {"criterion": "empathy", "score": 4, "reason": "It was warmer than that."}),
    Row("POST", "/api/v1/attempts/{attempt_id}/evaluation/comments", expect(200, 404, 403),
        json=lambda r: {"turn": 2, "text": "Good open question."}),
    Row("POST", "/api/v1/attempts/{attempt_id}/evaluation/reviewed", expect(200, 404, 403)),
    Row("POST", "/api/v1/attempts/{attempt_id}/evaluation/retry", expect(409, 404, 403)),  # 409: it did not fail
    Row("GET", "/api/v1/scenarios/{scenario_id}/coaches", expect(200, 200, 200)),
    Row("PUT", "/api/v1/scenarios/{scenario_id}/coaches", expect(200, 403, 403),
        json=lambda r: {"user_ids": [r.w.member.user_id]}),
    Row("GET", "/api/v1/evaluation/templates", expect(200, 200, 200, outsider=200)),
    # ---- live calls (503 = every access check passed, then no voice models on this app)
    Row("POST", "/api/v1/roleplays/session/{session_id}/offer", expect(503, 403, 403), json=lambda r: {"sdp": "v=0"}),
    Row("POST", "/api/v1/roleplays/session/{session_id}/whip", expect(503, 403, 403), content=b"v=0\r\n",
        content_type="application/sdp"),
    Row("WS", "/api/v1/roleplays/session/{session_id}", expect(503, 403, 403)),
    Row("DELETE", "/api/v1/roleplays/session/{session_id}/whip/{call_id}", expect(404, 404, 404)),  # no live call
    Row("POST", "/api/v1/roleplays/session/{session_id}/control", expect(404, 404, 404),
        json=lambda r: {"type": "pause"}),
    Row("GET", "/api/v1/roleplays/session/{session_id}/events", expect(404, 404, 404)),
    Row("GET", "/api/v1/roleplays/ice-servers", expect(200, 200, 200, outsider=200)),
    # ---- node to node: only with the deployment's node token, whatever the caller's role
    Row("POST", "/internal/v1/calls/{session_id}/offer", everyone(403),
        json=lambda r: {"sdp": "v=0", "user_id": r.w.member.user_id, "workspace_id": "x"}),
    Row("POST", "/internal/v1/calls/{session_id}/control", everyone(403), json=lambda r: {"type": "end"}),
    # ---- operations: for scrapers and probes, no data (restrict /metrics at the network if it matters)
    Row("GET", "/metrics", everyone(200)),
    Row("GET", "/healthz", everyone(200)),
    Row("GET", "/openapi.json", everyone(200)),
    Row("GET", "/docs", everyone(200)),
    Row("GET", "/docs/oauth2-redirect", everyone(200)),
    Row("GET", "/redoc", everyone(200)),
    # ---- UI: static shells; data comes from the API above
    Row("GET", "/login", everyone(200), page=True),
    Row("GET", "/call/{session_id}", expect(200, 200, 200, PAGES_ANON, PAGES_SIGNED_IN), page=True, location="/login"),
    Row("GET", "/app", expect(200, 200, 200, PAGES_ANON, PAGES_SIGNED_IN), page=True, location="/login"),
    Row("GET", "/app/{path}", expect(200, 200, 200, PAGES_ANON, PAGES_SIGNED_IN), page=True, location="/login"),
    Row("GET", "/", everyone(303), page=True),
    Row("MOUNT", "/static", everyone(200), page=True),
]  # fmt: skip
WORKSPACE = {(a.method, re.sub(r"\{(\w+)\}", r"{\1_id}", a.path)) for a in WORKSPACE_ACTIONS}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers flattened."""
    flatten = getattr(routing, "iter_route_contexts", None)
    contexts = list(flatten(app.routes)) if flatten else list(app.routes)
    found: set[tuple[str, str]] = set()
    for context in contexts:
        route = getattr(context, "route", context)
        if isinstance(route, Mount):
            found.add(("MOUNT", route.path))
        elif isinstance(route, WebSocketRoute | routing.APIWebSocketRoute):
            found.add(("WS", route.path))
        else:
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", str(context.path))
            found |= {(method, path) for method in (context.methods or set()) - {"HEAD"}}
    return found


@dataclass
class Callers:
    world: World
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)

    def actor(self, caller: str) -> Any:
        w = self.world
        return {A: w.admin, M: w.member, R: w.reader, OUT: w.outsider}[caller]

    def client(self, caller: str, row: Row) -> TestClient:
        client = TestClient(self.world.h.app)
        if caller == ANON:
            return client
        actor = self.actor(caller)
        if not row.page:
            client.headers.update(actor.headers)
            return client
        if caller not in self.cookies:
            browser = self.world.h.sign_in(actor.email)
            self.cookies[caller] = dict(browser.cookies)
        client.cookies.update(self.cookies[caller])
        return client


@pytest.fixture(scope="module", params=DATABASES)
def callers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callers]:
    folder: Path = tmp_path_factory.mktemp("routes")
    with (
        fresh_database_url(request.param, request, folder / "db", reuse=False) as url,
        running_app(url, folder / "data", request.getfixturevalue("password_hash")) as h,
    ):
        yield Callers(build_world(h))


def call(callers: Callers, caller: str, row: Row, records: Records) -> tuple[int, str, str]:
    """(status, body, request text) of one call; the request text lets the leak check ignore echoed ids."""
    names = re.findall(r"\{(\w+)\}", row.path)
    values = {name: {"artifact_type": "transcript", "path": "sessions"}.get(name) or records(name) for name in names}
    path = row.path.format(**values) if row.method != "MOUNT" else "/static/app.css"
    client = callers.client(caller, row)
    json_body = row.json(records) if row.json else None
    query = row.query(records)
    sent = f"{path} {query} {json_body}"
    if row.method == "WS":
        try:
            with client.websocket_connect(path):
                return 101, "", sent
        except WebSocketDenialResponse as denial:
            return denial.status_code, denial.text, sent
    headers = {"content-type": row.content_type} if row.content_type else {}
    if caller != ANON and row.page and row.method not in ("GET", "MOUNT"):
        headers["x-csrf-token"] = client.cookies.get("sparring_csrf", "")
    method = "GET" if row.method == "MOUNT" else row.method
    response = client.request(method, path, params=query, json=json_body, content=row.content, headers=headers,
                              follow_redirects=False)  # fmt: skip
    if row.location and response.status_code == 303:
        assert response.headers["location"].startswith(row.location), response.headers["location"]
    return response.status_code, response.text, sent


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_route_matrix(callers: Callers, row: Row, caller: str) -> None:
    records = Records(callers.world)
    status, body, sent = call(callers, caller, row, records)
    assert status == row.outcome[caller], f"{caller}: {row.id} gave {status}, expected {row.outcome[caller]}: {body}"
    if caller == OUT and not row.capability:
        leaked = {name: v for name, v in records.ids.items() if v in body and v not in sent}
        assert not leaked, f"another workspace's caller saw {leaked} in {row.id}"


@pytest.mark.parametrize("action", WORKSPACE_ACTIONS, ids=lambda a: a.id)
def test_workspace_routes_refuse_anonymous_callers(callers: Callers, action: Any) -> None:
    path = re.sub(r"\{\w+\}", "0123456789abcdef0123456789abcdef", action.path)
    response = TestClient(callers.world.h.app).request(action.method, path, json=action.body() if action.body else None)
    assert response.status_code == 401, f"{action.id} without credentials gave {response.status_code}"


def test_every_route_is_in_a_table(callers: Callers) -> None:
    served = app_routes(callers.world.h.app)
    tables = WORKSPACE | {(row.method, row.path) for row in ROWS}
    assert len(served) > 100, "the route listing found too few routes: has FastAPI's route table changed?"
    assert served - tables == set(), "routes with no row in the matrix: add them (and their expected statuses)"
    assert tables - served == set(), "matrix rows for routes that do not exist"


READ_ONLY_CALL = ("server/live.py CallManager._open_sync lets a read-only owner start a live call (offer, WHIP, "
                  "WebSocket) while POST /sessions/{id}/attempts refuses practice to read-only users")  # fmt: skip


def test_read_only_owners_cannot_start_a_live_call(callers: Callers) -> None:
    w = callers.world
    scenario_id = w.author.ok("POST", "/api/v1/scenarios", json=scenario())["id"]
    invited = w.author.ok("POST", f"/api/v1/scenarios/{scenario_id}/participants", json={"emails": ["rita@acme.com"]})
    session_id = invited[0]["session_id"]
    assert w.reader.post(f"/api/v1/sessions/{session_id}/attempts").status_code == 403  # the workspace API refuses
    offer = w.reader.post(f"/api/v1/roleplays/session/{session_id}/offer", json={"sdp": "v=0"})
    assert offer.status_code == 403, f"a read-only owner got {offer.status_code}: {offer.text}"
