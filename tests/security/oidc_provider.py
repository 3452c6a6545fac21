"""A small, real OpenID Connect provider for tests, on 127.0.0.1 (stdlib http.server in a thread).

It serves discovery, its JWKS (one RS256 key generated at start), an authorize endpoint that approves the
configured user at once (no login page), and a token endpoint that authenticates the client (HTTP Basic),
checks the code, its redirect URI and the PKCE S256 verifier, and issues a signed ID token. Knobs on the
instance make it misbehave the way a test needs: another audience, an expired token, a tampered token...
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class TestUser:
    sub: str = "idp-user-1"
    email: str = "sam@acme.com"
    name: str = "Sam Sso"
    groups: list[str] = field(default_factory=lambda: ["sparring-members"])
    __test__ = False


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    user: TestUser
    issued_at: float = field(default_factory=time.monotonic)


class IdentityProvider:
    """Start with `running_provider()`; set `user` and the knobs before a sign-in."""

    def __init__(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-" + secrets.token_hex(4)
        self.user = TestUser()
        self.grants: dict[str, Grant] = {}
        self.token_requests: list[dict[str, str]] = []
        # knobs
        self.audience: str | None = None  # None: the client id
        self.lifetime_s = 300.0
        self.tamper = False  # change the payload after signing
        self.foreign_key = False  # sign with a key the JWKS does not publish under this kid
        self.nonce: str | None = None  # None: the nonce of the request
        self.issuer_in_discovery: str | None = None  # None: the real issuer
        self.server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # ------------------------------------------------------------------ documents

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer_in_discovery or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer, "sub": grant.user.sub, "aud": self.audience or grant.client_id,
            "iat": now, "exp": now + int(self.lifetime_s), "nonce": self.nonce or grant.nonce,
            "email": grant.user.email, "email_verified": True, "name": grant.user.name, "groups": grant.user.groups,
        }  # fmt: skip
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if self.foreign_key else self.key
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})
        if self.tamper:
            header, _, signature = token.split(".")
            forged = {**claims, "groups": ["sparring-admins"]}
            body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
            token = f"{header}.{body}.{signature}"
        return token

    # ------------------------------------------------------------------ endpoints

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], dict[str, Any]]:
        checks = {
            "response_type": query.get("response_type") == "code",
            "client_id": query.get("client_id") == self.client_id,
            "redirect_uri": query.get("redirect_uri") == self.redirect_uri,
            "scope": "openid" in query.get("scope", "").split(),
            "code_challenge_method": query.get("code_challenge_method") == "S256",
            "code_challenge": len(query.get("code_challenge", "")) == 43,
        }
        if not all(checks.values()):
            return 400, {}, {"error": "invalid_request", "failed": [k for k, ok in checks.items() if not ok]}
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(self.client_id, query["redirect_uri"], query["code_challenge"],
                                  query.get("nonce", ""), self.user)  # fmt: skip
        target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")})
        return 302, {"Location": target}, {}

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        scheme, _, encoded = authorization.partition(" ")
        user, _, password = base64.b64decode(encoded).decode().partition(":") if scheme == "Basic" else ("", "", "")
        if (unquote_plus(user), unquote_plus(password)) != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client"}
        grant = self.grants.pop(form.get("code", ""), None)  # one use only
        if form.get("grant_type") != "authorization_code" or grant is None or time.monotonic() - grant.issued_at > 60:
            return 400, {"error": "invalid_grant", "error_description": "unknown, used or expired code"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs from the authorization"}
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                     "id_token": self.id_token(grant)}  # fmt: skip


def _handler(provider: IdentityProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._send(200, provider.discovery())
            elif url.path == "/jwks":
                self._send(200, provider.jwks())
            elif url.path == "/authorize":
                status, headers, body = provider.authorize({k: v[0] for k, v in parse_qs(url.query).items()})
                self._send(status, body, headers)
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._send(404, {"error": "not_found"})
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            status, body = provider.token(form, self.headers.get("Authorization", ""))
            self._send(status, body, {"Cache-Control": "no-store"})

    return Handler


@contextmanager
def running_provider(client_id: str, client_secret: str, redirect_uri: str) -> Iterator[IdentityProvider]:
    provider = IdentityProvider(client_id, client_secret, redirect_uri)
    provider.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    thread = threading.Thread(target=provider.server.serve_forever, name="test-oidc-provider", daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.server.shutdown()
        provider.server.server_close()
        thread.join(5)
