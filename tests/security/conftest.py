"""The security tests reuse the workspace API fixtures: the app with no models on SQLite (and PostgreSQL where
a test asks for `database_url`), two workspaces and their users (see tests/server/conftest.py)."""

from __future__ import annotations

from tests.server.conftest import (
    database_url,
    harness,
    password_hash,
    postgres,
    postgres_scratch,
    postgres_template,
    sqlite_template,
    world,
)

__all__ = [
    "database_url",
    "harness",
    "password_hash",
    "postgres",
    "postgres_scratch",
    "postgres_template",
    "sqlite_template",
    "world",
]
