"""A throwaway PostgreSQL 15 on loopback for the store and API tests (started once per test session).

The cluster lives in a temporary folder owned by the `postgres` OS user (PostgreSQL refuses to run as root),
listens on 127.0.0.1 only, trusts local connections and skips fsync: it holds nothing worth keeping.
Each test gets its own database, copied from a migrated template (fast), and dropped afterwards.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.support.processes import free_port


def _pg_bin() -> Path:
    """$SPARRING_PG_BIN, else Debian's PostgreSQL 15, else the newest version installed."""
    if os.environ.get("SPARRING_PG_BIN"):
        return Path(os.environ["SPARRING_PG_BIN"])
    preferred = Path("/usr/lib/postgresql/15/bin")
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parts[-3].isdigit()]
    installed = sorted(found, key=lambda p: int(p.parts[-3]))
    return preferred if (preferred / "initdb").exists() or not installed else installed[-1].parent


PG_BIN = _pg_bin()


def postgres_missing() -> str | None:
    """Why PostgreSQL cannot be started here, or None."""
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL 15 binaries not found in {PG_BIN} (apt-get install postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root but there is no `postgres` OS user to run the server as"
    return None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class PostgresServer:
    port: int
    root: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(sql)

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        name = name or f"t_{secrets.token_hex(6)}"
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def empty_tables(self, name: str, tables: Sequence[str]) -> None:
        """Delete every row of `tables` (children first): much faster than a new database per test."""
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname={name}") as connection:
            for table in tables:
                connection.execute(f'DELETE FROM "{table}"')


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="sparring-pg-"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    port = free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    try:
        subprocess.run(
            _as_server_user(
                [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield PostgresServer(port=port, root=root)
    except subprocess.CalledProcessError as error:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {error.stderr.decode(errors='replace')}\n{tail}") from error
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                check=False,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server: skipped where PostgreSQL is not installed, but never in CI."""
    missing = postgres_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with running_postgres() as server:
        yield server


def template_database(server: PostgresServer, prepare: Callable[[str], None]) -> str:
    """A database prepared once (`prepare(url)`, e.g. migrations) to copy for each test."""
    name = server.create_database(f"template_{secrets.token_hex(4)}")
    prepare(server.url(name))
    return name
