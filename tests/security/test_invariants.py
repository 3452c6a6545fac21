"""Security invariants: cookies, CSRF on every cookie-authenticated write, hashed and revocable API keys, hashed
passwords, the sign-in rate limit, no default secret in production, token purposes, page headers, audit log.

Signed artifact URLs (expiry, tampering, one artifact per URL) are tested in
tests/server/test_roleplay_api.py::test_signed_artifact_urls; this file adds only that a token signed for one
purpose (a session cookie) is useless for another (a download), and back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import routing
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.testclient import WebSocketDenialResponse

from server import cli
from server.security import sign
from server.settings import DEFAULT_SECRET, Settings
from server.store.tables import Attempt
from tests.server.conftest import PASSWORD, World, scenario_body

PUBLIC_WRITES = {  # writes that need no sign-in: the credential is in the request itself
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("PUT", "/api/v1/uploads/video"),  # a signed upload URL
    # node to node: only the deployment's node token opens them, never a cookie (test_route_matrix.py)
    ("POST", "/internal/v1/calls/{session_id}/offer"),
    ("POST", "/internal/v1/calls/{session_id}/control"),
}


def set_cookies(response: Any) -> dict[str, str]:
    return {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}


@pytest.mark.parametrize("forwarded", [None, "https"])
def test_session_cookies_are_httponly_samesite_and_secure_behind_tls(world: World, forwarded: str | None) -> None:
    headers = {"x-forwarded-proto": forwarded} if forwarded else {}
    response = TestClient(world.h.app).post(
        "/api/v1/auth/login", json={"email": "mo@acme.com", "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 200
    cookies = set_cookies(response)
    session, csrf = cookies["sparring_session"], cookies["sparring_csrf"]
    assert "httponly" in session and "samesite=lax" in session
    assert "httponly" not in csrf and "samesite=strict" in csrf  # the page reads it to echo it in a header
    assert ("secure" in session and "secure" in csrf) == (forwarded == "https")
    assert session.split(";")[0].split("=", 1)[1] not in response.text  # the session token is never in a body


def unsafe_routes(app: Any) -> list[tuple[str, str]]:
    flatten = getattr(routing, "iter_route_contexts", None)
    contexts = list(flatten(app.routes)) if flatten else list(app.routes)
    found = {
        (method, str(c.path))
        for c in contexts
        for method in (getattr(c, "methods", None) or set()) - {"GET", "HEAD", "OPTIONS"}
    }
    return sorted(found - PUBLIC_WRITES)


def test_every_cookie_authenticated_write_needs_the_csrf_header(world: World) -> None:
    browser = world.h.sign_in("ada@acme.com")  # an admin: the role never gets in the way of the CSRF check
    token = browser.headers.pop("X-CSRF-Token")
    routes = unsafe_routes(world.h.app)
    assert len(routes) > 40
    for method, path in routes:
        url = re.sub(r"\{\w+\}", "0123456789abcdef0123456789abcdef", path)
        for header in ({}, {"X-CSRF-Token": token + "x"}, {"X-CSRF-Token": ""}):
            response = browser.request(method, url, json={}, headers=header)
            assert response.status_code == 403, f"{method} {path} with {header}: {response.status_code}"
            assert "CSRF" in response.json()["detail"]
    # With the header, the same session writes; with an API key no CSRF header is needed at all.
    assert browser.post("/api/v1/personas", json={"name": "Dana"}, headers={"X-CSRF-Token": token}).status_code == 201
    assert world.admin.post("/api/v1/personas", json={"name": "Dana"}).status_code == 201


def test_websocket_refuses_a_cookie_from_another_origin(world: World) -> None:
    session_id = world.admin.ok("POST", "/api/v1/sessions", json={"name": "S", "scenario_id": world.admin.ok(
        "POST", "/api/v1/scenarios", json=scenario_body())["id"]})["id"]  # fmt: skip
    browser = world.h.sign_in("ada@acme.com")
    path = f"/api/v1/roleplays/session/{session_id}"

    def status(client: TestClient, **headers: str) -> int:
        try:
            with client.websocket_connect(path, headers=headers):
                return 101
        except WebSocketDenialResponse as denial:
            return denial.status_code

    assert status(browser, origin="http://evil.example") == 401  # cross-site WebSocket hijacking
    assert status(browser, origin="http://testserver") == 503  # past the checks; no voice models in this app
    assert status(TestClient(world.h.app), origin="http://evil.example", **world.admin.headers) == 503


def test_api_keys_are_stored_hashed_shown_once_and_revocable(world: World) -> None:
    created = world.admin.ok("POST", "/api/v1/auth/api-keys", json={"name": "lms"})
    key = created["key"]
    assert key.startswith("spk_") and len(key) > 40
    listed = world.admin.ok("GET", "/api/v1/auth/api-keys")
    assert all(k["key"] is None for k in listed) and key not in str(listed)
    program = TestClient(world.h.app, headers={"Authorization": f"Bearer {key}"})
    assert program.get("/api/v1/auth/me").json()["email"] == "ada@acme.com"
    from server.store.tables import ApiKey

    with world.h.db.session() as db:
        row = db.get(ApiKey, created["id"])
        assert row is not None and row.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in row.key_hash
    if world.h.db.url.startswith("sqlite"):
        path = Path(world.h.db.url.split("///", 1)[1])
        stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the file and its WAL
        assert key.encode() not in stored and key.split("_")[2].encode() not in stored
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")  # right prefix, wrong secret
    assert TestClient(world.h.app, headers={"Authorization": f"Bearer {forged}"}).get("/api/v1/auth/me").is_error
    world.admin.ok("DELETE", f"/api/v1/auth/api-keys/{created['id']}")
    assert program.get("/api/v1/auth/me").status_code == 401
    assert world.admin.ok("GET", "/api/v1/auth/api-keys")[-1]["revoked_at"]
    # A deactivated user's keys stop working too.
    world.admin.ok("DELETE", f"/api/v1/users/{world.member.user_id}")
    assert world.member.get("/api/v1/auth/me").status_code == 401


def test_passwords_are_stored_with_argon2id(world: World) -> None:
    password = "a long enough new password " + secrets.token_hex(4)
    user = world.admin.ok("POST", "/api/v1/users", json={"email": "new@acme.com", "password": password})
    from server.store.tables import User

    with world.h.db.session() as db:
        row = db.get(User, user["id"])
        assert row is not None and row.password_hash and row.password_hash.startswith("$argon2id$")
        assert password not in row.password_hash
    assert world.h.sign_in("new@acme.com", password).get("/api/v1/auth/me").status_code == 200


def test_sign_in_is_rate_limited(world: World) -> None:
    email = f"target-{secrets.token_hex(4)}@acme.com"  # the limit is per client and email
    world.h.user(world.admin.workspace_id, "member", email)
    client = TestClient(world.h.app)
    statuses = [client.post("/api/v1/auth/login", json={"email": email, "password": "guess"}).status_code
                for _ in range(10)]  # fmt: skip
    assert statuses == [401] * 10
    right = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert right.status_code == 429 and "too many" in right.json()["detail"]  # even the right password now
    assert "sparring_session" not in right.cookies
    other = client.post("/api/v1/auth/login", json={"email": "rita@acme.com", "password": PASSWORD})
    assert other.status_code == 200  # others are not locked out


def test_production_refuses_the_default_secret_key(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    with pytest.raises(ValidationError, match="SPARRING_SECRET_KEY is left at its default"):
        Settings(environment="production")
    assert Settings(environment="production", secret_key=secrets.token_hex(32)).environment == "production"
    monkeypatch.setenv("SPARRING_ENVIRONMENT", "production")
    monkeypatch.delenv("SPARRING_SECRET_KEY", raising=False)

    def started(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the server started with the default secret key")

    monkeypatch.setattr("uvicorn.run", started)
    assert cli.main(["serve"]) == 2
    assert "SPARRING_SECRET_KEY" in capsys.readouterr().err
    monkeypatch.setenv("SPARRING_SECRET_KEY", DEFAULT_SECRET)  # set explicitly to the default: still refused
    with pytest.raises(ValidationError):
        Settings()


def test_tokens_are_bound_to_their_purpose(world: World) -> None:
    secret = world.h.app.state.settings.secret_key
    session_token = sign(secret, {"uid": world.admin.user_id}, ttl_s=600, purpose="session")
    download = TestClient(world.h.app).get(f"/api/v1/artifacts/download?token={session_token}")
    assert download.status_code == 403
    body = {"user_id": "u1", "persona_id": "emma", "duration_minutes": 5, "brief": {"goal": "Discovery"}}
    session_id = world.author.ok("POST", "/api/v1/roleplays/configure", json=body)["session_id"]
    world.h.add(Attempt(workspace_id=world.author.workspace_id, session_id=session_id, number=1, state="ended",
                        started_at=datetime.now(UTC)))  # fmt: skip
    url = world.author.ok("GET", f"/api/v1/artifacts/{session_id}/transcript")["url"]
    artifact_token = url.split("token=", 1)[1]
    as_cookie = TestClient(world.h.app, cookies={"sparring_session": artifact_token})
    assert as_cookie.get("/api/v1/auth/me").status_code == 401
    as_session = TestClient(world.h.app, cookies={"sparring_session": session_token})
    assert as_session.get("/api/v1/auth/me").status_code == 200
    webm = {"content": b"\x1a\x45\xdf\xa3", "headers": {"content-type": "video/webm"}}
    as_upload = TestClient(world.h.app).put(f"/api/v1/uploads/video?token={artifact_token}", **webm)
    assert as_upload.status_code == 403


@pytest.mark.parametrize("path", ["/login", "/app"])
def test_pages_forbid_framing_and_foreign_scripts(world: World, path: str) -> None:
    response = world.h.sign_in("mo@acme.com").get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "default-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["cache-control"] == "no-store"


def test_admin_actions_are_in_the_audit_log(world: World) -> None:
    w = world
    persona = w.author.ok("POST", "/api/v1/personas", json={"name": "Pat"})["id"]
    scenario = w.author.ok("POST", "/api/v1/scenarios", json=scenario_body())["id"]
    contact = w.author.ok("POST", "/api/v1/contacts", json={"name": "Sam"})["id"]
    session = w.author.ok("POST", "/api/v1/sessions", json={"name": "S", "scenario_id": scenario})["id"]
    attempt = w.author.ok("POST", f"/api/v1/sessions/{session}/attempts")["id"]
    w.h.set(Attempt, attempt, state="error")
    w.admin.ok("PATCH", f"/api/v1/users/{w.member.user_id}", json={"role": "read_only"})
    w.admin.ok("DELETE", f"/api/v1/users/{w.reader.user_id}")
    w.admin.ok("PATCH", "/api/v1/workspace/settings", json={"retention": {"audio_days": 7}})
    w.admin.ok("DELETE", f"/api/v1/attempts/{attempt}")
    w.admin.ok("DELETE", f"/api/v1/sessions/{session}")
    w.admin.ok("DELETE", f"/api/v1/personas/{persona}")
    w.admin.ok("DELETE", f"/api/v1/contacts/{contact}")
    w.author.ok("DELETE", f"/api/v1/scenarios/{scenario}")  # only its creator deletes a scenario
    entries = w.admin.ok("GET", "/api/v1/audit?page_size=50")["items"]
    seen = {(e["action"], e["target"], e["actor_id"]) for e in entries}
    assert seen == {
        ("user.role_change", w.member.user_id, w.admin.user_id),
        ("user.deactivate", w.reader.user_id, w.admin.user_id),
        ("settings.retention_change", w.admin.workspace_id, w.admin.user_id),
        ("attempt.delete", attempt, w.admin.user_id),
        ("session.delete", session, w.admin.user_id),
        ("persona.delete", persona, w.admin.user_id),
        ("contact.delete", contact, w.admin.user_id),
        ("scenario.delete", scenario, w.author.user_id),
    }
    assert all(e["created_at"] for e in entries) and w.outsider.ok("GET", "/api/v1/audit")["total"] == 0
    assert w.reader.get("/api/v1/audit").status_code == 401  # deactivated now
    assert w.author.get("/api/v1/audit").status_code == 403


def test_key_and_document_changes_are_in_the_audit_log(world: World) -> None:
    key = world.admin.ok("POST", "/api/v1/auth/api-keys", json={"name": "lms"})["id"]
    world.admin.ok("DELETE", f"/api/v1/auth/api-keys/{key}")
    scenario = world.admin.ok("POST", "/api/v1/scenarios", json=scenario_body())["id"]
    files = {"file": ("brief.txt", b"Pricing: 40 a seat", "text/plain")}
    document = world.admin.ok("POST", f"/api/v1/scenarios/{scenario}/documents", files=files)["id"]
    world.admin.ok("DELETE", f"/api/v1/scenarios/{scenario}/documents/{document}")
    targets = {e["target"] for e in world.admin.ok("GET", "/api/v1/audit")["items"]}
    assert {key, document} <= targets
