"""OpenID Connect relying party: discovery, PKCE, the code exchange and ID token validation.

Only the configured issuer is contacted, and only on its own origin: its discovery document, its signing
keys (JWKS) and its token endpoint. The browser alone visits its sign-in page. An ID token is accepted only
with a valid signature from a published key and the right issuer, audience, expiry and nonce.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import httpx
import jwt

from server.settings import OIDCSettings

log = logging.getLogger(__name__)

CALLBACK_PATH = "/auth/oidc/callback"
METADATA_TTL_S = 3600
KEYS_REFRESH_MIN_S = 10  # an unknown key id refetches the JWKS (key rotation), at most this often
LEEWAY_S = 60  # clock skew allowed between this server and the identity provider
ROLE_RANK = {"read_only": 0, "member": 1, "admin": 2}


class OIDCError(Exception):
    """A sign-in that cannot go on: `status` is the HTTP status to answer with; the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str


@dataclass(frozen=True)
class Identity:
    """Who the identity provider says signed in, and the Sparring role their groups map to (None: no role)."""

    subject: str
    email: str
    name: str
    email_verified: bool | None
    groups: tuple[str, ...]
    role: str | None


def new_pkce() -> Pkce:
    """A code verifier (RFC 7636: 43-128 characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def role_for(groups: tuple[str, ...], role_map: dict[str, str]) -> str | None:
    """The highest role any of the groups maps to, or None when no group is mapped."""
    roles = [role_map[g] for g in groups if g in role_map]
    return max(roles, key=ROLE_RANK.__getitem__) if roles else None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def identity_from_claims(claims: dict[str, Any], settings: OIDCSettings) -> Identity:
    raw = claims.get(settings.groups_claim)
    if isinstance(raw, str):
        raw = [raw]
    groups = tuple(g for g in raw if isinstance(g, str)) if isinstance(raw, list) else ()
    subject = str(claims["sub"])
    username = claims.get("preferred_username")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        email = username if isinstance(username, str) and "@" in username else f"{subject}@sso.invalid"
    email = email.strip().lower()[:254]
    name = claims.get("name") or (username if isinstance(username, str) else "") or email.split("@", 1)[0]
    verified = claims.get("email_verified")
    return Identity(
        subject=subject, email=email, name=str(name)[:200], groups=groups,
        email_verified=verified if isinstance(verified, bool) else None, role=role_for(groups, dict(settings.role_map)),
    )  # fmt: skip


class OIDCClient:
    """One per app: caches the provider's metadata and keys; each exchange opens a short-lived HTTP client."""

    def __init__(self, settings: OIDCSettings) -> None:
        self.settings = settings
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: jwt.PyJWKSet | None = None
        self._keys_at = 0.0

    @property
    def redirect_uri(self) -> str:
        return self.settings.redirect_base_url.rstrip("/") + CALLBACK_PATH

    def _http(self) -> httpx.AsyncClient:
        verify: ssl.SSLContext | bool = True
        if self.settings.ca_file:
            verify = ssl.create_default_context(cafile=self.settings.ca_file)
        return httpx.AsyncClient(timeout=self.settings.timeout_s, verify=verify, follow_redirects=False)

    def _check_origin(self, url: str) -> None:
        if _origin(url) != _origin(self.settings.issuer):
            raise OIDCError(502, f"the identity provider names an endpoint off its own origin ({url}): not contacted")

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self._check_origin(url)
        try:
            async with self._http() as http:
                return await http.request(method, url, headers={"Accept": "application/json"}, **kwargs)
        except httpx.HTTPError as error:
            log.warning("identity provider unreachable", extra={"url": url, "error": repr(error)})
            raise OIDCError(502, f"the identity provider could not be reached ({type(error).__name__})") from error

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._request("GET", url)
        if response.status_code != 200:
            raise OIDCError(502, f"the identity provider answered {response.status_code} for {url}")
        try:
            data = response.json()
        except ValueError as error:
            raise OIDCError(502, f"the identity provider sent no JSON from {url}") from error
        if not isinstance(data, dict):
            raise OIDCError(502, f"the identity provider sent unexpected JSON from {url}")
        return data

    async def metadata(self) -> ProviderMetadata:
        """The discovery document (cached an hour), checked to name this issuer and its own endpoints."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_S:
            return self._metadata
        issuer = self.settings.issuer.rstrip("/")
        doc = await self._get_json(f"{issuer}/.well-known/openid-configuration")
        if str(doc.get("issuer", "")).rstrip("/") != issuer:
            raise OIDCError(502, f"the discovery document names issuer {doc.get('issuer')!r}, not {issuer!r}")
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise OIDCError(502, f"the discovery document has no usable {name}")
            endpoints[name] = value
        for name in ("token_endpoint", "jwks_uri"):
            self._check_origin(endpoints[name])  # fetched by this server: only ever the issuer itself
        if "S256" not in doc.get("code_challenge_methods_supported", ["S256"]):
            raise OIDCError(502, "the identity provider does not support PKCE with S256")
        methods = doc.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        self._metadata = ProviderMetadata(
            issuer=str(doc["issuer"]), token_auth_methods=tuple(m for m in methods if isinstance(m, str)), **endpoints
        )
        self._metadata_at = time.monotonic()
        return self._metadata

    def authorization_url(self, metadata: ProviderMetadata, *, state: str, nonce: str, challenge: str) -> str:
        params = {
            "response_type": "code", "client_id": self.settings.client_id, "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.settings.scopes), "state": state, "nonce": nonce,
            "code_challenge": challenge, "code_challenge_method": "S256",
        }  # fmt: skip
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return metadata.authorization_endpoint + separator + urlencode(params)

    async def exchange(self, code: str, verifier: str) -> str:
        """The ID token for an authorization code, proving with the PKCE verifier that we asked for it."""
        metadata = await self.metadata()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": verifier}  # fmt: skip
        auth: httpx.BasicAuth | None = None
        client_id, secret = self.settings.client_id, self.settings.client_secret
        if secret and "client_secret_basic" in metadata.token_auth_methods:
            auth = httpx.BasicAuth(quote_plus(client_id), quote_plus(secret))  # RFC 6749 2.3.1: form-encoded first
        elif secret:
            form |= {"client_id": client_id, "client_secret": secret}
        else:
            form["client_id"] = client_id
        response = await self._request("POST", metadata.token_endpoint, data=form, auth=auth)
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if response.status_code != 200:
            error = str(body.get("error", response.status_code))
            detail = f"{error}: {body['error_description']}" if body.get("error_description") else error
            if error == "invalid_grant":
                raise OIDCError(400, f"the identity provider refused the sign-in code ({detail}); sign in again")
            raise OIDCError(502, f"the identity provider refused the token request ({detail}): check the SSO settings")
        token = body.get("id_token")
        if not isinstance(token, str) or not token:
            raise OIDCError(502, "the identity provider's token response has no ID token (is the openid scope on?)")
        return token

    async def _signing_key(self, metadata: ProviderMetadata, kid: str | None) -> Any:
        for refresh in (False, True):
            if refresh and time.monotonic() - self._keys_at < KEYS_REFRESH_MIN_S:
                break
            if self._keys is None or refresh:
                try:
                    self._keys = jwt.PyJWKSet.from_dict(await self._get_json(metadata.jwks_uri))
                except (jwt.PyJWKSetError, jwt.InvalidKeyError) as error:
                    raise OIDCError(502, f"the identity provider's key set is unusable: {error}") from error
                self._keys_at = time.monotonic()
            keys = [k for k in self._keys.keys if k.public_key_use in (None, "sig") and kid in (None, k.key_id)]
            if len(keys) == 1 or (keys and kid is not None):
                return keys[0].key
            if len(keys) > 1:
                raise OIDCError(401, "the ID token names no key id (kid) and the identity provider has several keys")
        raise OIDCError(401, "the ID token is signed with a key the identity provider does not publish")

    async def validate(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, expiry and nonce are right."""
        metadata = await self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.DecodeError as error:
            raise OIDCError(401, "the ID token is malformed") from error
        algorithm = header.get("alg")
        if algorithm not in self.settings.algorithms:
            raise OIDCError(401, f"the ID token is signed with {algorithm!r}, not one of {self.settings.algorithms}")
        kid = header.get("kid")
        key = await self._signing_key(metadata, kid if isinstance(kid, str) else None)
        audience = self.settings.client_id
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token, key, algorithms=[algorithm], audience=audience, issuer=metadata.issuer, leeway=LEEWAY_S,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )  # fmt: skip
        except jwt.InvalidSignatureError as error:
            raise OIDCError(
                401, "the ID token's signature does not verify: altered, or not signed by the IdP"
            ) from error
        except jwt.ExpiredSignatureError as error:
            raise OIDCError(401, "the ID token has expired; sign in again") from error
        except jwt.InvalidAudienceError as error:
            raise OIDCError(401, f"the ID token was issued for another application, not {audience!r}") from error
        except jwt.InvalidIssuerError as error:
            raise OIDCError(401, f"the ID token was issued by another issuer, not {metadata.issuer!r}") from error
        except jwt.MissingRequiredClaimError as error:
            raise OIDCError(401, f"the ID token has no {error.claim!r} claim") from error
        except jwt.InvalidTokenError as error:
            raise OIDCError(401, f"the ID token is invalid: {error}") from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if ("azp" in claims or len(audiences) > 1) and claims.get("azp") != audience:
            raise OIDCError(401, f"the ID token's authorized party is {claims.get('azp')!r}, not {audience!r}")
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not secrets.compare_digest(token_nonce, nonce):
            raise OIDCError(401, "the ID token's nonce does not match this sign-in (a replayed token?); sign in again")
        return claims
