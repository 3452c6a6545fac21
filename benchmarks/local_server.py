"""A real Sparring server in this process (uvicorn on 127.0.0.1), seeded with a workspace, two users
with API keys and a helper to create practice sessions. Used by transport benchmarks and tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.registry import Backends
from server.app import create_app
from server.live import CallManager
from server.security import hash_password, new_api_key
from server.settings import Settings, WebRTCSettings
from server.store.db import Database
from server.store.tables import ApiKey, Persona, PracticeSession, Scenario, User, Workspace

PASSWORD = "correct horse battery"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalServer:
    app: FastAPI
    base_url: str
    settings: Settings
    db: Database
    workspace_id: str
    learner_id: str
    learner_headers: dict[str, str]
    admin_headers: dict[str, str]
    admin_id: str = ""

    @property
    def backends(self) -> Backends:
        backends: Backends = self.app.state.backends
        return backends

    @property
    def calls(self) -> CallManager:
        calls: CallManager = self.app.state.calls
        return calls

    def new_session(
        self, *, mode: str = "voice", opening_line: str = "", time_limit_minutes: int = 5, persona: str = "emma",
        created_by: str | None = None, **scenario: Any,
    ) -> str:  # fmt: skip
        with self.db.session() as db:
            row = db.scalar(select(Persona).where(Persona.slug == persona, Persona.builtin.is_(True)))
            assert row is not None
            fields: dict[str, Any] = {
                "name": "Discovery call", "type": "sales", "goals": ["Learn the current supplier situation"],
                "evaluation_template": "sales_discovery", **scenario,
            }  # fmt: skip
            record = Scenario(
                workspace_id=self.workspace_id, persona_id=row.id, mode=mode, opening_line=opening_line,
                time_limit_minutes=time_limit_minutes, created_by=created_by or self.learner_id, **fields,
            )  # fmt: skip
            db.add(record)
            db.flush()
            session = PracticeSession(
                workspace_id=self.workspace_id, scenario_id=record.id, owner_id=self.learner_id,
                name="Practice", created_by=self.learner_id,
            )  # fmt: skip
            db.add(session)
            db.flush()
            return session.id


def _user_with_key(db: Session, workspace: Workspace, email: str, role: str) -> tuple[str, dict[str, str]]:
    name = email.split("@", maxsplit=1)[0]
    user = User(workspace_id=workspace.id, email=email, name=name, role=role, password_hash=hash_password(PASSWORD))
    db.add(user)
    db.flush()
    key, prefix, key_hash = new_api_key()
    db.add(ApiKey(workspace_id=workspace.id, user_id=user.id, name="local", prefix=prefix, key_hash=key_hash))
    return user.id, {"Authorization": f"Bearer {key}"}


@asynccontextmanager
async def local_server(
    backends: Backends, data_dir: Path, *, max_live: int = 4, port: int | None = None, **settings: Any
) -> AsyncIterator[LocalServer]:
    config = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'sparring.db'}",
        webrtc=WebRTCSettings(host_addresses=["127.0.0.1"]),
        max_live_sessions=max_live,
        **settings,
    )
    app = create_app(config, backends=backends)
    port = port or free_port()
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
        learner_id, learner_headers = _user_with_key(s, workspace, "lee@acme.com", "member")
        admin_id, admin_headers = _user_with_key(s, workspace, "ada@acme.com", "admin")
        workspace_id = workspace.id
    try:
        yield LocalServer(
            app,
            f"http://127.0.0.1:{port}",
            config,
            db,
            workspace_id,
            learner_id,
            learner_headers,
            admin_headers,
            admin_id,
        )
    finally:
        server.should_exit = True
        await task
