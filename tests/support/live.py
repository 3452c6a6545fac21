"""A real Sparring server (uvicorn, in the test loop) on 127.0.0.1 with real models and seeded records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from models.registry import Backends
from server.app import create_app
from server.live import CallManager
from server.security import hash_password, new_api_key
from server.settings import Settings, WebRTCSettings
from server.store.db import Database
from server.store.tables import ApiKey, Attempt, Persona, PracticeSession, Scenario, User, Workspace
from tests.support.processes import free_port

PASSWORD = "correct horse battery"
FINAL = ("ended", "error", "evaluating", "completed")


@dataclass
class LiveServer:
    app: FastAPI
    base_url: str
    settings: Settings
    db: Database
    workspace_id: str
    learner_id: str
    learner_headers: dict[str, str]
    admin_headers: dict[str, str]

    async def wait_attempt(self, attempt_id: str, states: tuple[str, ...] = FINAL, limit_s: float = 15) -> Attempt:
        """The attempt once it reached one of `states` (the call's end is persisted asynchronously)."""
        deadline = asyncio.get_running_loop().time() + limit_s
        while True:
            with self.db.session() as db:
                attempt = db.get(Attempt, attempt_id)
                if attempt is not None and (attempt.state in states or asyncio.get_running_loop().time() > deadline):
                    db.expunge(attempt)
                    return attempt
            await asyncio.sleep(0.1)

    @property
    def backends(self) -> Backends:
        backends: Backends = self.app.state.backends
        return backends

    @property
    def calls(self) -> CallManager:
        calls: CallManager = self.app.state.calls
        return calls

    def new_session(self, *, mode: str = "voice", opening_line: str = "", time_limit_minutes: int = 5) -> str:
        with self.db.session() as db:
            emma = db.scalar(select(Persona).where(Persona.slug == "emma", Persona.builtin.is_(True)))
            assert emma is not None
            scenario = Scenario(
                workspace_id=self.workspace_id, name="Discovery call", type="sales", persona_id=emma.id,
                mode=mode, opening_line=opening_line, time_limit_minutes=time_limit_minutes,
                goals=["Learn the current supplier situation"], evaluation_template="sales_discovery",
            )  # fmt: skip
            db.add(scenario)
            db.flush()
            session = PracticeSession(
                workspace_id=self.workspace_id, scenario_id=scenario.id, owner_id=self.learner_id,
                name="Practice", created_by=self.learner_id,
            )  # fmt: skip
            db.add(session)
            db.flush()
            return session.id


def _user_with_key(db, workspace: Workspace, email: str, role: str) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    name = email.split("@", maxsplit=1)[0]
    user = User(workspace_id=workspace.id, email=email, name=name, role=role, password_hash=hash_password(PASSWORD))
    db.add(user)
    db.flush()
    key, prefix, key_hash = new_api_key()
    db.add(ApiKey(workspace_id=workspace.id, user_id=user.id, name="test", prefix=prefix, key_hash=key_hash))
    return user.id, {"Authorization": f"Bearer {key}"}


@pytest_asyncio.fixture(scope="session")
async def live_server(real_backends: Backends, tmp_path_factory) -> AsyncIterator[LiveServer]:  # type: ignore[no-untyped-def]
    data_dir: Path = tmp_path_factory.mktemp("live")
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'live.db'}",
        webrtc=WebRTCSettings(host_addresses=["127.0.0.1"]),
        max_live_sessions=3,
    )
    app = create_app(settings, backends=real_backends)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    db: Database = app.state.db
    with db.session() as s:
        workspace = Workspace(slug="acme", name="Acme")
        s.add(workspace)
        s.flush()
        learner_id, learner_headers = _user_with_key(s, workspace, "lee@acme.test", "member")
        _, admin_headers = _user_with_key(s, workspace, "ada@acme.test", "admin")
        workspace_id = workspace.id
    yield LiveServer(
        app, f"http://127.0.0.1:{port}", settings, db, workspace_id, learner_id, learner_headers, admin_headers
    )
    server.should_exit = True
    await task
