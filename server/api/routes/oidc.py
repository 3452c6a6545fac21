"""Single sign-on: OpenID Connect authorization code flow with PKCE (S256), state and nonce.

`/auth/oidc/login` sends the browser to the identity provider with a fresh state, nonce and code challenge,
kept in a signed, short-lived cookie. `/auth/oidc/callback` checks the state, exchanges the code (with the
verifier), validates the ID token, creates or updates the user (role from the groups claim, no password)
and starts the same session cookie as a password sign-in. Local accounts keep working beside it.
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.deps import get_database, get_settings_dep
from server.api.routes.auth import start_session
from server.oidc import Identity, OIDCClient, OIDCError, identity_from_claims, new_pkce
from server.security import sign, unsign
from server.store.tables import User, Workspace
from server.ui.pages import HEADERS
from server.workspace.audit import record

log = logging.getLogger(__name__)
router = APIRouter(prefix="/auth/oidc", tags=["auth"])

FLOW_COOKIE = "sparring_oidc"
FLOW_PATH = "/auth/oidc"
FLOW_TTL_S = 600
FLOW_PURPOSE = "oidc-flow"
Param = Annotated[str | None, Query(max_length=4096)]
ERROR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in failed · Sparring</title>
<link rel="stylesheet" href="/static/app.css"></head><body class="centered"><main class="card narrow">
<h1>Sign-in failed</h1><p class="error" role="alert">{message}</p><p><a href="/login">Back to sign in</a></p>
</main></body></html>"""


def _client(request: Request) -> OIDCClient:
    settings = get_settings_dep(request).oidc
    if not settings.enabled:
        raise OIDCError(404, "single sign-on is not configured on this server; sign in with your password")
    client: OIDCClient | None = getattr(request.app.state, "oidc", None)
    if client is None or client.settings is not settings:
        client = OIDCClient(settings)
        request.app.state.oidc = client
    return client


def _secure(request: Request) -> bool:
    settings = get_settings_dep(request).oidc
    forwarded = request.headers.get("x-forwarded-proto") == "https"
    return request.url.scheme == "https" or forwarded or settings.redirect_base_url.startswith("https://")


def _local_path(target: str | None) -> str:
    """Where to land after sign-in: a path on this server only (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/app"
    return target if target.isprintable() else "/app"


def _error(request: Request, error: OIDCError) -> Response:
    log.warning("SSO sign-in refused", extra={"status": error.status, "reason": str(error)})
    if "text/html" in request.headers.get("accept", ""):
        page = ERROR_PAGE.format(message=html.escape(str(error)))
        response: Response = HTMLResponse(page, status_code=error.status, headers=HEADERS)
    else:
        response = JSONResponse({"detail": str(error)}, status_code=error.status, headers={"Cache-Control": "no-store"})
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response


@router.get("/login", response_model=None)
async def oidc_login(
    request: Request, next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None
) -> Response:
    """Redirect to the identity provider's sign-in page (404 when SSO is not configured)."""
    try:
        client = _client(request)
        metadata = await client.metadata()
    except OIDCError as error:
        return _error(request, error)
    state, nonce, pkce = secrets.token_urlsafe(32), secrets.token_urlsafe(32), new_pkce()
    flow = {"s": state, "n": nonce, "v": pkce.verifier, "next": _local_path(next_)}
    token = sign(get_settings_dep(request).secret_key, flow, ttl_s=FLOW_TTL_S, purpose=FLOW_PURPOSE)
    response = RedirectResponse(
        client.authorization_url(metadata, state=state, nonce=nonce, challenge=pkce.challenge), status_code=302
    )
    response.headers["Cache-Control"] = "no-store"
    # Lax: the IdP's redirect back is a top-level GET navigation from another site, which Lax lets through.
    response.set_cookie(FLOW_COOKIE, token, max_age=FLOW_TTL_S, path=FLOW_PATH, httponly=True, samesite="lax",
                        secure=_secure(request))  # fmt: skip
    return response


def _pending_flow(request: Request, state: str | None) -> dict[str, Any]:
    cookie = request.cookies.get(FLOW_COOKIE)
    flow = unsign(get_settings_dep(request).secret_key, cookie, purpose=FLOW_PURPOSE) if cookie else None
    if flow is None:
        raise OIDCError(400, "no sign-in is pending in this browser (it expired, or cookies are blocked); start again")
    if not state or not secrets.compare_digest(str(flow.get("s", "")), state):
        raise OIDCError(400, "the sign-in state does not match this browser's request (forged or stale); start again")
    return flow


@router.get("/callback", response_model=None)
async def oidc_callback(
    request: Request, code: Param = None, state: Param = None, error: Param = None, error_description: Param = None,
    iss: Param = None,
) -> Response:  # fmt: skip
    """The identity provider's redirect back: check, exchange, validate, sign in, and go to the app."""
    try:
        client = _client(request)
        flow = _pending_flow(request, state)
        if iss is not None and iss.rstrip("/") != client.settings.issuer.rstrip("/"):  # RFC 9207: no mix-up
            raise OIDCError(400, f"the sign-in response comes from issuer {iss!r}, not the configured one")
        if error:
            detail = f"{error}: {error_description}" if error_description else error
            status = 403 if error == "access_denied" else 400
            raise OIDCError(status, f"the identity provider refused the sign-in ({detail})")
        if not code:
            raise OIDCError(400, "the identity provider sent no authorization code")
        id_token = await client.exchange(code, str(flow["v"]))
        claims = await client.validate(id_token, str(flow["n"]))
        identity = identity_from_claims(claims, client.settings)
        if identity.role is None:
            groups = ", ".join(identity.groups) or "none"
            raise OIDCError(
                403, f"your account is in no group with a Sparring role (groups: {groups}); ask your administrator"
            )
        database = get_database(request)
        user = await asyncio.to_thread(_sign_in_user, database.session, identity, client.settings.workspace)
    except OIDCError as failure:
        return _error(request, failure)
    response = RedirectResponse(str(flow["next"]), status_code=303)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    start_session(response, request, user)
    log.info("SSO sign-in", extra={"user": user.id, "role": user.role, "workspace": user.workspace_id})
    return response


def _sign_in_user(new_session: Callable[[], AbstractContextManager[Session]], identity: Identity, slug: str) -> User:
    with new_session() as db:
        return provision_user(db, identity, slug)


def provision_user(db: Session, identity: Identity, slug: str) -> User:
    """The workspace user for this identity: found by subject, else linked by email, else created; its role
    follows the groups at every sign-in (audited). Deactivated accounts stay out."""
    assert identity.role is not None
    workspace = db.scalar(select(Workspace).where(Workspace.slug == slug))
    if workspace is None:
        workspace = Workspace(slug=slug, name=slug.replace("-", " ").title())
        db.add(workspace)
        db.flush()
        log.info("workspace created for SSO users", extra={"workspace": slug})
    in_workspace = select(User).where(User.workspace_id == workspace.id)
    user = db.scalar(in_workspace.where(User.external_id == identity.subject))
    if user is None:
        user = db.scalar(in_workspace.where(User.email == identity.email))
        if user is not None and (user.external_id not in (None, identity.subject) or identity.email_verified is False):
            raise OIDCError(409, f"{identity.email} already has an account here that is not linked to this sign-in")
    if user is None:
        user = User(workspace_id=workspace.id, email=identity.email, name=identity.name, role=identity.role,
                    external_id=identity.subject, password_hash=None)  # fmt: skip
        db.add(user)
        db.flush()
        record(db, workspace.id, None, "user.create", user.id, email=user.email, role=user.role, source="oidc")
        return user
    if not user.active:
        raise OIDCError(403, "this account is deactivated; ask your administrator")
    user.external_id = identity.subject
    if user.role != identity.role:
        record(db, workspace.id, None, "user.role_change", user.id, email=user.email, before=user.role,
               after=identity.role, source="oidc")  # fmt: skip
        user.role = identity.role
    user.name = identity.name or user.name
    db.flush()
    return user
