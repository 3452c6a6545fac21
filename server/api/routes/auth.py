"""Sign in and out (session cookie for the browser), who am I, and API keys for programs."""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import CSRF_COOKIE, DB, SESSION_COOKIE, Admin, CurrentPrincipal, get_settings_dep
from server.security import hash_password, new_api_key, sign, verify_password
from server.store.tables import ApiKey, User, Workspace
from server.workspace.audit import record

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
SESSION_TTL_S = 12 * 3600
_LOGIN_WINDOW_S = 300
_LOGIN_MAX_FAILURES = 10
_failures: dict[str, deque[float]] = defaultdict(deque)
_DUMMY_HASH = hash_password(secrets.token_hex(8))


class LoginRequest(BaseModel):
    # Not EmailStr: on-prem directories use internal domains (corp.local) that strict validators refuse.
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=500)
    workspace: str | None = Field(default=None, max_length=64, description="workspace slug, if the email is in several")


class Me(BaseModel):
    id: str
    email: str
    name: str
    role: str
    workspace_id: str
    workspace: str
    csrf_token: str | None = None


def _rate_limited(key: str) -> bool:
    now = time.monotonic()
    window = _failures[key]
    while window and now - window[0] > _LOGIN_WINDOW_S:
        window.popleft()
    return len(window) >= _LOGIN_MAX_FAILURES


def start_session(response: Response, request: Request, user: User) -> str:
    settings = get_settings_dep(request)
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    token = sign(settings.secret_key, {"uid": user.id}, ttl_s=SESSION_TTL_S, purpose="session")
    csrf = secrets.token_urlsafe(24)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL_S, httponly=True, samesite="lax", secure=secure)
    response.set_cookie(CSRF_COOKIE, csrf, max_age=SESSION_TTL_S, httponly=False, samesite="strict", secure=secure)
    return csrf


@router.post("/login", response_model=Me)
def login(body: LoginRequest, request: Request, response: Response, db: DB) -> Me:
    client = request.client.host if request.client else "unknown"
    key = f"{client}:{body.email.strip().lower()}"
    if _rate_limited(key):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed sign-ins; wait a few minutes")
    query = (
        select(User, Workspace).join(Workspace).where(User.email == body.email.strip().lower(), User.active.is_(True))
    )
    if body.workspace:
        query = query.where(Workspace.slug == body.workspace)
    rows = db.execute(query).all()
    user, workspace = rows[0] if len(rows) == 1 else (None, None)
    if user is None or workspace is None or not verify_password(user.password_hash, body.password):
        if user is None:
            verify_password(_DUMMY_HASH, body.password)  # same timing whether or not the email exists
        _failures[key].append(time.monotonic())
        detail = "wrong email or password"
        if len(rows) > 1:
            detail = "this email is in several workspaces: give the workspace slug"
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail)
    _failures.pop(key, None)
    csrf = start_session(response, request, user)
    return Me(id=user.id, email=user.email, name=user.name, role=user.role, workspace_id=workspace.id,
              workspace=workspace.slug, csrf_token=csrf)  # fmt: skip


@router.post("/logout", status_code=204)
def logout(response: Response) -> Response:
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal, db: DB, request: Request) -> Me:
    user = db.get(User, principal.user_id)
    workspace = db.get(Workspace, principal.workspace_id)
    assert user is not None and workspace is not None
    return Me(id=user.id, email=user.email, name=user.name, role=user.role, workspace_id=workspace.id,
              workspace=workspace.slug, csrf_token=request.cookies.get(CSRF_COOKIE))  # fmt: skip


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    key: str | None = Field(default=None, description="shown once, at creation")


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(principal: Admin, db: DB) -> list[ApiKeyOut]:
    rows = db.scalars(select(ApiKey).where(ApiKey.workspace_id == principal.workspace_id).order_by(ApiKey.created_at))
    return [ApiKeyOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/api-keys", response_model=ApiKeyOut, status_code=201)
def create_api_key(body: ApiKeyCreate, principal: Admin, db: DB) -> ApiKeyOut:
    key, prefix, key_hash = new_api_key()
    row = ApiKey(workspace_id=principal.workspace_id, user_id=principal.user_id, name=body.name, prefix=prefix,
                 key_hash=key_hash)  # fmt: skip
    db.add(row)
    db.flush()
    record(db, principal.workspace_id, principal.user_id, "api_key.create", row.id, name=row.name, prefix=prefix)
    return ApiKeyOut.model_validate(row, from_attributes=True).model_copy(update={"key": key})


@router.delete("/api-keys/{key_id}", status_code=204)
def revoke_api_key(key_id: str, principal: Admin, db: DB) -> Response:
    row = db.get(ApiKey, key_id)
    if row is None or row.workspace_id != principal.workspace_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such API key")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        record(
            db, principal.workspace_id, principal.user_id, "api_key.revoke", row.id, name=row.name, prefix=row.prefix
        )
    return Response(status_code=204)
