"""Who may control, listen to or end someone else's live call (a real call on the embedded models).

A practice session is visible to its owner, its scenario's creator and named coaches, and admins
(server/api/access.py can_view_session); the live controls, the live event stream and WHIP delete must follow
the same rule, and another workspace gets 404. The learner's call runs in text mode over the WebSocket (fast;
the routes are the same). The live server runs no grading worker here, so these short calls are not graded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
import websockets

from server.security import new_api_key
from server.store.tables import ApiKey, User, Workspace
from tests.support.live import LiveServer

pytestmark = pytest.mark.models
HOLE = ("the live routes check only the workspace (server/api/routes/live.py: control, events, whip delete), not "
        "can_view_session (owner, scenario creator or coach, admin): any user of the workspace can pause, end or "
        "listen to another member's call")  # fmt: skip


@dataclass
class LiveCall:
    session_id: str
    call_id: str
    callers: dict[str, dict[str, str]]


def _key(live: LiveServer, workspace_id: str, email: str, role: str) -> dict[str, str]:
    key, prefix, key_hash = new_api_key()
    with live.db.session() as db:
        user = User(workspace_id=workspace_id, email=email, name=email.split("@", maxsplit=1)[0], role=role)
        db.add(user)
        db.flush()
        db.add(ApiKey(workspace_id=workspace_id, user_id=user.id, name="t", prefix=prefix, key_hash=key_hash))
    return {"Authorization": f"Bearer {key}"}


@pytest_asyncio.fixture(scope="module")
async def callers(live_server: LiveServer) -> dict[str, dict[str, str]]:
    with live_server.db.session() as db:
        other = Workspace(slug="globex-live", name="Globex")
        db.add(other)
        db.flush()
        other_id = other.id
    return {
        "admin": live_server.admin_headers,
        "member": _key(live_server, live_server.workspace_id, "mia@acme.com", "member"),
        "read_only": _key(live_server, live_server.workspace_id, "rob@acme.com", "read_only"),
        "outsider": _key(live_server, other_id, "olga@globex.com", "admin"),
    }


@pytest_asyncio.fixture
async def live_call(live_server: LiveServer, callers: dict[str, dict[str, str]]) -> AsyncIterator[LiveCall]:
    session_id = live_server.new_session(mode="text", opening_line="Emma here. Go ahead.")
    url = live_server.base_url.replace("http", "ws", 1) + f"/api/v1/roleplays/session/{session_id}"
    async with websockets.connect(url, additional_headers=live_server.learner_headers) as ws:
        json.loads(await ws.recv())  # the call event: it is live
        call = live_server.calls.find(session_id=session_id)
        assert call is not None
        yield LiveCall(session_id, call.call_id, callers)
        if live_server.calls.find(session_id=session_id) is not None:
            await ws.send(json.dumps({"type": "end"}))
            async for _ in ws:
                pass


async def request(live: LiveServer, call: LiveCall, caller: str, route: str) -> int:
    root = f"/api/v1/roleplays/session/{call.session_id}"
    async with httpx.AsyncClient(base_url=live.base_url, headers=call.callers[caller], timeout=20) as http:
        if route == "control":
            return (await http.post(f"{root}/control", json={"type": "pause"})).status_code
        if route == "whip delete":
            return (await http.delete(f"{root}/whip/{call.call_id}")).status_code
        async with http.stream("GET", f"{root}/events") as response:  # a 200 streams until the call ends
            return response.status_code


ROUTES = ["control", "events", "whip delete"]
ALLOWED = {"control": 202, "events": 200, "whip delete": 200}


@pytest.mark.parametrize("route", ROUTES)
async def test_the_admin_may_control_and_listen(live_server: LiveServer, live_call: LiveCall, route: str) -> None:
    assert await request(live_server, live_call, "admin", route) == ALLOWED[route]


@pytest.mark.parametrize("route", ROUTES)
async def test_another_workspace_gets_404(live_server: LiveServer, live_call: LiveCall, route: str) -> None:
    assert await request(live_server, live_call, "outsider", route) == 404
    await asyncio.sleep(0)
    assert live_server.calls.find(session_id=live_call.session_id) is not None  # still running


@pytest.mark.parametrize("caller", ["member", "read_only"])
@pytest.mark.parametrize("route", ROUTES)
async def test_other_users_of_the_workspace_are_refused(
    live_server: LiveServer, live_call: LiveCall, caller: str, route: str
) -> None:
    assert await request(live_server, live_call, caller, route) in (403, 404)
    assert live_server.calls.find(session_id=live_call.session_id) is not None
