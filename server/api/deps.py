"""Request dependencies: the database session and the authenticated principal, with role checks."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlparse

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from server.security import api_key_prefix, hash_api_key, unsign
from server.settings import Settings
from server.store.db import Database
from server.store.tables import ApiKey, User

SESSION_COOKIE = "sparring_session"
CSRF_COOKIE = "sparring_csrf"
CSRF_HEADER = "x-csrf-token"
ROLE_LEVEL = {"read_only": 0, "member": 1, "admin": 2}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_settings_dep(request: HTTPConnection) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: HTTPConnection) -> Database:
    database: Database = request.app.state.db
    return database


def get_db(request: Request) -> Iterator[Session]:
    with get_database(request).session() as session:
        yield session


DB = Annotated[Session, Depends(get_db)]


@dataclass(frozen=True)
class Principal:
    user_id: str
    workspace_id: str
    role: str
    email: str
    via: str  # "cookie" | "api_key"

    def at_least(self, role: str) -> bool:
        return ROLE_LEVEL[self.role] >= ROLE_LEVEL[role]


def _principal_from_request(request: HTTPConnection, db: Session) -> Principal | None:
    settings = get_settings_dep(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        key = header[7:].strip()
        prefix = api_key_prefix(key)
        if prefix is None:
            return None
        row = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
        if row is None or not secrets.compare_digest(row.key_hash, hash_api_key(key)):
            return None
        user = db.get(User, row.user_id)
        if user is None or not user.active:
            return None
        row.last_used_at = datetime.now(UTC)
        return Principal(user.id, user.workspace_id, user.role, user.email, "api_key")
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        payload = unsign(settings.secret_key, token, purpose="session")
        if payload is None:
            return None
        user = db.get(User, str(payload.get("uid", "")))
        if user is None or not user.active:
            return None
        return Principal(user.id, user.workspace_id, user.role, user.email, "cookie")
    return None


def principal_from_connection(connection: HTTPConnection) -> Principal | None:
    """For WebSockets: the same credentials, and a cookie only from a page of our own origin
    (browsers send cookies on cross-site WebSocket handshakes; there is no CSRF header there)."""
    with get_database(connection).session() as db:
        principal = _principal_from_request(connection, db)
    if principal is not None and principal.via == "cookie":
        origin = connection.headers.get("origin")
        if origin and urlparse(origin).netloc != connection.headers.get("host"):
            return None
    return principal


def current_principal(request: Request, db: DB) -> Principal:
    principal = _principal_from_request(request, db)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in or send an API key (Authorization: Bearer ...)")
    if principal.via == "cookie" and request.method not in SAFE_METHODS:
        # Double-submit CSRF check: a cross-site form cannot read our cookie to copy it into a header.
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not secrets.compare_digest(cookie, request.headers.get(CSRF_HEADER, "")):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token (X-CSRF-Token header)")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(role: str):  # type: ignore[no-untyped-def]
    """A dependency that lets through principals with at least `role`."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.at_least(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this action needs the {role} role")
        return principal

    return check


Member = Annotated[Principal, Depends(require("member"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Reader = CurrentPrincipal
