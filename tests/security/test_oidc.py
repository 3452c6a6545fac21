"""Single sign-on end to end: the app against a real OpenID Connect provider started on 127.0.0.1.

The browser is a TestClient on the app; it follows the redirect to the provider's authorize endpoint with a
real HTTP request (the provider approves the configured user at once) and brings the code back to the
callback. The provider's knobs make it issue what an attacker or a misconfiguration would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from models.registry import Backends
from server.app import create_app
from server.oidc import new_pkce
from server.settings import OIDCSettings, Settings
from server.store.tables import User
from tests.security.oidc_provider import IdentityProvider, TestUser, running_provider
from tests.server.conftest import PASSWORD, Harness, fresh_database_url

pytestmark = pytest.mark.services

CLIENT_ID = "sparring-web"
CLIENT_SECRET = "s3cret: with spaces & symbols"  # form-encoded before HTTP Basic (RFC 6749 2.3.1)
BASE = "http://testserver"
ROLE_MAP: dict[str, Any] = {"sparring-admins": "admin", "sparring-members": "member", "sparring-viewers": "read_only"}


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    with running_provider(CLIENT_ID, CLIENT_SECRET, f"{BASE}/auth/oidc/callback") as provider:
        yield provider


@dataclass
class SSO:
    h: Harness
    idp: IdentityProvider

    def browser(self, base_url: str = BASE, **headers: str) -> TestClient:
        return TestClient(self.h.app, base_url=base_url, headers=headers)

    def user(self, sub: str) -> User | None:
        with self.h.db.session() as db:
            return db.scalar(select(User).where(User.external_id == sub))


@pytest.fixture
def sso(idp: IdentityProvider, request: pytest.FixtureRequest, tmp_path: Path, password_hash: str) -> Iterator[SSO]:
    idp.user, idp.audience, idp.lifetime_s, idp.tamper, idp.foreign_key = TestUser(), None, 300.0, False, False
    idp.nonce = idp.issuer_in_discovery = None
    oidc = OIDCSettings(issuer=idp.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, role_map=ROLE_MAP,
                        workspace="acme", redirect_base_url=BASE)  # fmt: skip
    with fresh_database_url("sqlite", request, tmp_path / "db", reuse=False) as url:
        settings = Settings(data_dir=tmp_path / "data", database_url=url, load_roles=(), oidc=oidc)
        app = create_app(settings, backends=Backends())
        with TestClient(app) as client:
            yield SSO(Harness(app, client, password_hash, tmp_path / "data"), idp)


def start(browser: TestClient, next_path: str = "/app/sessions") -> str:
    """The app's redirect to the identity provider (its authorize URL)."""
    response = browser.get("/auth/oidc/login", params={"next": next_path}, follow_redirects=False)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


def authorize(url: str) -> str:
    """What the browser does at the provider: it approves and redirects back to the callback."""
    response = httpx.get(url, follow_redirects=False, trust_env=False)
    assert response.status_code == 302, response.text
    location = str(response.headers["location"])
    assert location.startswith(f"{BASE}/auth/oidc/callback?")
    return location.removeprefix(BASE)


def sign_in(browser: TestClient, next_path: str = "/app/sessions") -> Any:
    return browser.get(authorize(start(browser, next_path)), follow_redirects=False)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def refused(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.json()["detail"], response.json()["detail"]
    assert "sparring_session" not in response.cookies


@pytest.mark.parametrize(
    ("groups", "role"),
    [
        (["sparring-members"], "member"),
        (["sparring-viewers", "sparring-admins", "unrelated"], "admin"),
        (["unrelated", "sparring-viewers"], "read_only"),
        ("sparring-members", "member"),  # a single group as a string
    ],
)
def test_sign_in_creates_the_user_with_the_role_of_its_groups(sso: SSO, groups: Any, role: str) -> None:
    sso.idp.user = TestUser(sub="sub-42", email="Sam@Acme.com", groups=groups)
    browser = sso.browser()
    authorize_url = start(browser)
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(f"{sso.idp.issuer}/authorize?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"][0] and query["nonce"][0] and query["state"] != query["nonce"]
    assert query["scope"] == ["openid email profile"] and query["redirect_uri"] == [f"{BASE}/auth/oidc/callback"]
    response = browser.get(authorize(authorize_url), follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/app/sessions"
    me = browser.get("/api/v1/auth/me").json()
    assert (me["email"], me["role"], me["workspace"], me["name"]) == ("sam@acme.com", role, "acme", "Sam Sso")
    user = sso.user("sub-42")
    assert user is not None and user.password_hash is None and user.role == role
    token_request = sso.idp.token_requests[-1]
    assert len(token_request["code_verifier"]) >= 43 and "client_secret" not in token_request  # sent by Basic auth
    # The session is the same as a password sign-in's: cookie writes need the CSRF header.
    assert browser.post("/api/v1/personas", json={"name": "Dana"}).status_code == 403
    csrf = {"X-CSRF-Token": browser.cookies["sparring_csrf"]}
    expected = 201 if role != "read_only" else 403
    assert browser.post("/api/v1/personas", json={"name": "Dana"}, headers=csrf).status_code == expected


def test_roles_follow_the_groups_at_every_sign_in_and_are_audited(sso: SSO) -> None:
    assert sign_in(sso.browser()).status_code == 303
    first = sso.user("idp-user-1")
    assert first is not None and first.role == "member"
    sso.idp.user = TestUser(groups=["sparring-viewers"])
    browser = sso.browser()
    assert sign_in(browser).status_code == 303
    assert browser.get("/api/v1/auth/me").json()["role"] == "read_only"
    again = sso.user("idp-user-1")
    assert again is not None and again.id == first.id and again.role == "read_only"
    admin = sso.h.user(first.workspace_id, "admin", "ada@acme.com")
    entries = admin.ok("GET", "/api/v1/audit")["items"]
    assert [(e["action"], e["target"], e["actor_id"]) for e in entries] == [
        ("user.role_change", first.id, None), ("user.create", first.id, None),
    ]  # fmt: skip
    details = {"email": "sam@acme.com", "before": "member", "after": "read_only", "source": "oidc"}
    assert entries[0]["details"] == details


def test_pkce_verifier_mismatch_is_refused(sso: SSO) -> None:
    """A code obtained with another code challenge (an injected or stolen code) cannot be redeemed here."""
    browser = sso.browser()
    forged = with_query(start(browser), code_challenge=new_pkce().challenge)
    response = browser.get(authorize(forged), follow_redirects=False)
    refused(response, 400, "PKCE verification failed")
    assert sso.user("idp-user-1") is None


@pytest.mark.parametrize(
    ("knob", "value", "status", "words"),
    [
        ("tamper", True, 401, "signature does not verify"),
        ("foreign_key", True, 401, "signature does not verify"),
        ("audience", "another-app", 401, "issued for another application"),
        ("lifetime_s", -120.0, 401, "expired"),
        ("nonce", "a-nonce-from-another-sign-in", 401, "nonce does not match"),
        ("issuer_in_discovery", "http://127.0.0.1:9/other", 502, "names issuer"),
    ],
)
def test_bad_id_tokens_are_refused(sso: SSO, knob: str, value: Any, status: int, words: str) -> None:
    browser = sso.browser()
    if knob == "issuer_in_discovery":
        setattr(sso.idp, knob, value)
        refused(browser.get("/auth/oidc/login", follow_redirects=False), status, words)
        return
    callback = authorize(start(browser))
    setattr(sso.idp, knob, value)
    refused(browser.get(callback, follow_redirects=False), status, words)
    assert sso.user("idp-user-1") is None
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_state_mismatch_missing_flow_and_replay_are_refused(sso: SSO) -> None:
    browser = sso.browser()
    callback = authorize(start(browser))
    refused(browser.get(with_query(callback, state="forged"), follow_redirects=False), 400, "state does not match")
    # The failed attempt ended the pending sign-in: the real state no longer works either.
    refused(browser.get(callback, follow_redirects=False), 400, "no sign-in is pending")
    # A callback in a browser that never started the sign-in (login CSRF) is refused.
    refused(sso.browser().get(authorize(start(sso.browser())), follow_redirects=False), 400, "no sign-in is pending")
    # A finished sign-in cannot be replayed.
    callback = authorize(start(browser))
    assert browser.get(callback, follow_redirects=False).status_code == 303
    assert browser.get(callback, follow_redirects=False).status_code == 400


def test_unmapped_group_is_refused_with_a_message(sso: SSO) -> None:
    sso.idp.user = TestUser(groups=["finance", "<script>"])
    refused(sign_in(sso.browser()), 403, "no group with a Sparring role (groups: finance, <script>)")
    assert sso.user("idp-user-1") is None
    page = sign_in(sso.browser(accept="text/html"))
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "&lt;script&gt;" in page.text and "<script>" not in page.text and 'href="/login"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_a_response_naming_another_issuer_is_refused(sso: SSO) -> None:
    """RFC 9207: an authorization response carrying another issuer's name (an IdP mix-up) is not redeemed."""
    browser = sso.browser()
    callback = authorize(start(browser))
    refused(browser.get(with_query(callback, iss="https://evil.example")), 400, "not the configured one")
    assert sso.idp.token_requests == [] or sso.idp.token_requests[-1]["code"] not in callback


def test_identity_provider_refusal_is_reported(sso: SSO) -> None:
    browser = sso.browser()
    state = parse_qs(urlsplit(start(browser)).query)["state"][0]
    query = urlencode({"state": state, "error": "access_denied", "error_description": "user cancelled"})
    response = browser.get(f"/auth/oidc/callback?{query}")
    assert response.status_code == 403, response.text
    refused(response, 403, "refused the sign-in (access_denied: user cancelled)")


def test_local_password_accounts_keep_working_and_are_linked_by_email(sso: SSO) -> None:
    acme = sso.h.workspace("acme")
    local = sso.h.user(acme, "member", "sam@acme.com")
    other = sso.h.user(acme, "admin", "ada@acme.com")
    password = sso.browser().post("/api/v1/auth/login", json={"email": "ada@acme.com", "password": PASSWORD})
    assert password.status_code == 200 and password.json()["role"] == "admin"
    sso.idp.user = TestUser(groups=["sparring-admins"])  # the same email signs in through the IdP
    browser = sso.browser()
    assert sign_in(browser).status_code == 303
    me = browser.get("/api/v1/auth/me").json()
    assert me["id"] == local.user_id and me["role"] == "admin"
    linked = sso.user("idp-user-1")
    assert linked is not None and linked.password_hash  # the password still works too
    again = sso.browser().post("/api/v1/auth/login", json={"email": "sam@acme.com", "password": PASSWORD})
    assert again.status_code == 200
    assert other.ok("GET", "/api/v1/auth/me")["role"] == "admin"


def test_sso_users_have_no_password_and_deactivated_accounts_stay_out(sso: SSO) -> None:
    assert sign_in(sso.browser()).status_code == 303
    user = sso.user("idp-user-1")
    assert user is not None
    login = sso.browser().post("/api/v1/auth/login", json={"email": "sam@acme.com", "password": ""})
    assert login.status_code == 422
    login = sso.browser().post("/api/v1/auth/login", json={"email": "sam@acme.com", "password": "anything"})
    assert login.status_code == 401
    sso.h.set(User, user.id, active=False)
    refused(sign_in(sso.browser()), 403, "deactivated")


def test_next_is_a_local_path_only(sso: SSO) -> None:
    for target, landing in (
        ("//evil.example/steal", "/app"),
        ("https://evil.example/", "/app"),
        ("/\\evil.example", "/app"),
        ("/app/scenarios?tab=mine", "/app/scenarios?tab=mine"),
    ):
        response = sign_in(sso.browser(), target)
        assert response.status_code == 303 and response.headers["location"] == landing, target


def test_flow_and_session_cookies_are_protected(sso: SSO) -> None:
    browser = sso.browser("https://testserver", **{"x-forwarded-proto": "https"})  # behind a TLS proxy
    login = browser.get("/auth/oidc/login", follow_redirects=False)
    flow = login.headers["set-cookie"].lower()
    assert "sparring_oidc=" in flow and "httponly" in flow and "samesite=lax" in flow and "secure" in flow
    assert "path=/auth/oidc" in flow and "max-age=600" in flow
    done = browser.get(authorize(login.headers["location"]), follow_redirects=False)
    cookies = {c.split("=", 1)[0]: c.lower() for c in done.headers.get_list("set-cookie")}
    assert "httponly" in cookies["sparring_session"] and "samesite=lax" in cookies["sparring_session"]
    assert "secure" in cookies["sparring_session"] and "secure" in cookies["sparring_csrf"]
    assert 'sparring_oidc=""' in cookies["sparring_oidc"] or "max-age=0" in cookies["sparring_oidc"]  # deleted


def test_sso_is_404_when_not_configured(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.db", load_roles=()))
    client = TestClient(app)  # no lifespan needed: these routes read only the settings
    response = client.get("/auth/oidc/login", follow_redirects=False)
    assert response.status_code == 404 and "not configured" in response.json()["detail"]
    assert client.get("/auth/oidc/callback?code=x&state=y").status_code == 404


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"client_id": ""}, "client_id"),
        ({"redirect_base_url": ""}, "redirect_base_url"),
        ({"issuer": "http://idp.corp.example"}, "must use https"),
        ({"scopes": ["email"]}, "openid"),
        ({"issuer": "idp.corp.example"}, "absolute http(s) URL"),
        ({"role_map": {}}, "nobody could sign in"),
    ],
)
def test_incomplete_sso_settings_are_refused_at_start(changes: dict[str, Any], words: str) -> None:
    complete = {"issuer": "https://idp.corp.example/realms/staff", "client_id": "x", "redirect_base_url": BASE,
                "role_map": ROLE_MAP}  # fmt: skip
    assert OIDCSettings(**complete).enabled
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        OIDCSettings(**(complete | changes))


def test_the_sign_in_page_offers_sso_only_where_it_is_configured(sso: SSO, tmp_path: Path) -> None:
    assert "/auth/oidc/login" in sso.browser().get("/login").text
    plain = create_app(Settings(data_dir=tmp_path / "plain", load_roles=()), backends=Backends())
    with TestClient(plain) as client:
        page = client.get("/login")
    assert page.status_code == 200 and "/auth/oidc/login" not in page.text and 'id="login"' in page.text
