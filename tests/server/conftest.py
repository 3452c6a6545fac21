"""Fixtures for the workspace API tests: the app on SQLite and on PostgreSQL, workspaces, users and sign-in.

The app is built with no model backends (nothing loaded: fast). Each test gets a fresh database copied from
one migrated once per run. Users sign in with API keys (fast) or, where cookies matter, with a password and
the `X-CSRF-Token` header copied from the `sparring_csrf` cookie.
"""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from models.registry import Backends
from server.app import create_app
from server.security import hash_password, new_api_key
from server.settings import Settings
from server.store.db import Database
from server.store.tables import ApiKey, Base, User, Workspace
from server.workspace.seed import seed_builtin_personas
from tests.support.postgres import PostgresServer, postgres, template_database

__all__ = ["postgres"]
PASSWORD = "correct horse battery staple"
Response = Any  # the TestClient's response: httpx2's where installed, else httpx's
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)]


def prepare_database(url: str) -> None:
    database = Database(url)
    database.migrate()
    with database.session() as db:
        seed_builtin_personas(db)
    database.dispose()


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "sparring.db"
    prepare_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer) -> str:
    return template_database(postgres, prepare_database)


@pytest.fixture(scope="session")
def postgres_scratch(postgres: PostgresServer, postgres_template: str) -> str:
    """One migrated PostgreSQL database that function-scoped tests empty and reuse."""
    return postgres.create_database(template=postgres_template)


@contextmanager
def fresh_database_url(kind: str, request: pytest.FixtureRequest, folder: Path, *, reuse: bool) -> Iterator[str]:
    """A migrated database with no rows. SQLite: a copy of the template file. PostgreSQL: the shared scratch
    database emptied (`reuse`), or a new copy of the template (for module-scoped apps)."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "sparring.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    if reuse:
        name = request.getfixturevalue("postgres_scratch")
        server.empty_tables(name, [t.name for t in reversed(Base.metadata.sorted_tables)])
        yield server.url(name)
        return
    name = server.create_database(template=request.getfixturevalue("postgres_template"))
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database with no rows: SQLite, and PostgreSQL (marked `services`)."""
    with fresh_database_url(request.param, request, tmp_path / "db", reuse=True) as url:
        yield url


@dataclass
class Actor:
    """A signed-in user: requests go through the shared TestClient with this user's credentials."""

    client: TestClient
    user_id: str
    workspace_id: str
    role: str
    email: str
    headers: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a request that must succeed."""
        response = self.request(method, path, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None


class Harness:
    """The app under test plus helpers to make workspaces and users directly in its database."""

    def __init__(self, app: FastAPI, client: TestClient, password_hash: str, data_dir: Path) -> None:
        self.app = app
        self.client = client
        self.password_hash = password_hash
        self.data_dir = data_dir
        self.db: Database = app.state.db

    def workspace(self, slug: str) -> str:
        with self.db.session() as db:
            workspace = Workspace(slug=slug, name=slug.title())
            db.add(workspace)
            db.flush()
            return workspace.id

    def user(self, workspace_id: str, role: str, email: str, name: str = "") -> Actor:
        key, prefix, key_hash = new_api_key()
        with self.db.session() as db:
            user = User(workspace_id=workspace_id, email=email, name=name or email.split("@", maxsplit=1)[0], role=role,
                        password_hash=self.password_hash)  # fmt: skip
            db.add(user)
            db.flush()
            db.add(ApiKey(workspace_id=workspace_id, user_id=user.id, name="tests", prefix=prefix, key_hash=key_hash))
            user_id = user.id
        headers = {"Authorization": f"Bearer {key}"}
        return Actor(self.client, user_id, workspace_id, role, email, headers)

    def sign_in(self, email: str, password: str = PASSWORD) -> TestClient:
        """A separate browser-like client signed in with the session cookie, sending the CSRF header."""
        browser = TestClient(self.app)
        response = browser.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        browser.headers["X-CSRF-Token"] = browser.cookies["sparring_csrf"]
        return browser

    def set(self, model: type[Any], row_id: str, **values: Any) -> None:
        """Change a stored row directly (what a live call or the grader would do)."""
        with self.db.session() as db:
            row = db.get(model, row_id)
            assert row is not None
            for name, value in values.items():
                setattr(row, name, value)

    def add(self, row: Any) -> None:
        with self.db.session() as db:
            db.add(row)


@contextmanager
def running_app(url: str, data_dir: Path, password_hash: str) -> Iterator[Harness]:
    settings = Settings(data_dir=data_dir, database_url=url, load_roles=())
    app = create_app(settings, backends=Backends())
    with TestClient(app) as client:
        yield Harness(app, client, password_hash, data_dir.resolve())


@pytest.fixture
def harness(database_url: str, tmp_path: Path, password_hash: str) -> Iterator[Harness]:
    with running_app(database_url, tmp_path / "data", password_hash) as h:
        yield h


@dataclass
class World:
    """Two workspaces: acme (admin, two members, read-only) and globex (an admin, to test isolation)."""

    h: Harness
    admin: Actor
    member: Actor
    author: Actor
    reader: Actor
    outsider: Actor

    def by_role(self, role: str) -> Actor:
        return {"admin": self.admin, "member": self.member, "read_only": self.reader}[role]


def build_world(h: Harness) -> World:
    acme, globex = h.workspace("acme"), h.workspace("globex")
    return World(
        h=h,
        admin=h.user(acme, "admin", "ada@acme.com", "Ada Admin"),
        member=h.user(acme, "member", "mo@acme.com", "Mo Member"),
        author=h.user(acme, "member", "alex@acme.com", "Alex Author"),
        reader=h.user(acme, "read_only", "rita@acme.com", "Rita Reader"),
        outsider=h.user(globex, "admin", "olga@globex.com", "Olga Outsider"),
    )


@pytest.fixture
def world(harness: Harness) -> World:
    return build_world(harness)


def scenario_body(**overrides: Any) -> dict[str, Any]:
    """A complete, valid scenario."""
    body: dict[str, Any] = {
        "name": "Renewal at risk",
        "type": "customer_success",
        "tuning": "John is irritated about slow ticket routing since the last release.",
        "persona_id": "john",
        "personality": {"trait": "assertive", "emotional_state": "frustrated"},
        "goals": ["Acknowledge the routing problem", "Agree a recovery plan"],
        "opening_line": "I'll be honest, I'm not sure we're renewing.",
        "objections": ["Your competitor routes tickets in seconds"],
        "exit_conditions": ["the learner commits to a recovery plan with dates"],
        "time_limit_minutes": 15,
        "mode": "voice",
        "evaluation_template": "customer_success_renewal",
        "evaluation_instructions": "Score empathy, ownership and a concrete plan.",
        "participant_instructions": "Keep the account: listen first.",
        "sessions_per_week": 2,
        "tags": ["renewal", "CS"],
    }
    body.update(overrides)
    return body


def make_pdf(pages: list[str], *, compress: bool = False, stream: bytes | None = None) -> bytes:
    """A minimal valid PDF with one line of text per page (or the given raw content stream on every page)."""
    objects: dict[int, bytes] = {1: b"<< /Type /Catalog /Pages 2 0 R >>"}
    page_ids = [4 + 2 * i for i in range(len(pages))]
    kids = b" ".join(b"%d 0 R" % p for p in page_ids)
    objects[2] = b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(pages)
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    for page_id, text in zip(page_ids, pages, strict=True):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        content = stream if stream is not None else b"BT /F1 12 Tf 72 720 Td (" + escaped + b") Tj ET"
        filters = b""
        if compress:
            content, filters = zlib.compress(content, 9), b" /Filter /FlateDecode"
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (page_id + 1)
        )
        objects[page_id + 1] = b"<< /Length %d%s >>\nstream\n" % (len(content), filters) + content + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)
