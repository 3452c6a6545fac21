"""Passwords (argon2), API keys (random, stored as SHA-256), and HMAC-signed tokens (cookies, URLs)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
API_KEY_PREFIX = "spk_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> tuple[str, str, str]:
    """(the key shown once, its lookup prefix, its stored hash)."""
    prefix = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    # Keys carry 256 random bits: a fast hash is enough, and it lets every request be checked cheaply.
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str) -> str | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    prefix, _, rest = key[len(API_KEY_PREFIX) :].partition("_")
    return prefix if len(prefix) == 8 and rest else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, payload: dict[str, Any], *, ttl_s: float, purpose: str) -> str:
    """A tamper-proof, expiring token; `purpose` keeps a cookie from being used as a download URL."""
    body = _b64(
        json.dumps({**payload, "exp": int(time.time() + ttl_s), "pur": purpose}, separators=(",", ":")).encode()
    )
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(secret: str, token: str, *, purpose: str) -> dict[str, Any] | None:
    """The payload, or None if the token is malformed, tampered with, expired or for another purpose."""
    body, _, mac = token.partition(".")
    if not body or not mac:
        return None
    expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        payload: dict[str, Any] = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if payload.get("pur") != purpose or int(payload.get("exp", 0)) < time.time():
        return None
    return payload
