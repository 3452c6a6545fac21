"""Migrations from an empty database on SQLite and PostgreSQL: they build exactly the tables of tables.py,
go down and up again, and keep rows written before the 0002 upgrade."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from server.store.db import MIGRATIONS, Database
from server.store.tables import Base
from tests.server.conftest import DATABASES
from tests.support.postgres import PostgresServer


@pytest.fixture(params=DATABASES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


def _alembic(database: Database, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _head() -> str:
    from alembic.script import ScriptDirectory

    from server.store.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _schema_diff(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def test_upgrade_from_empty_builds_the_tables(empty_url: str) -> None:
    database = Database(empty_url)
    try:
        database.migrate()
        tables = set(sa.inspect(database.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with database.engine.connect() as connection:
            assert connection.scalar(sa.text("select version_num from alembic_version")) == _head()
        assert _schema_diff(database) == []
        database.migrate()  # a second run is a no-op
    finally:
        database.dispose()


def test_downgrade_and_upgrade_again_keep_older_rows(empty_url: str) -> None:
    database = Database(empty_url)
    try:
        _alembic(database, "0001")
        with database.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "insert into workspaces (id, slug, name, settings, created_at) "
                    "values ('w1', 'acme', 'Acme', '{}', CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                sa.text(
                    "insert into scenarios (id, workspace_id, name, type, status, tuning, personality, goals, "
                    "opening_line, persona_speaks_first, objections, exit_conditions, prompt_outline, "
                    "candidate_brief, brief, extra, time_limit_minutes, mode, evaluation_template, "
                    "evaluation_instructions, participant_instructions, sessions_per_week, tags, created_at, "
                    "updated_at) values ('s1', 'w1', 'Old', 'sales', 'active', '', '{}', '[]', '', true, '[]', "
                    "'[]', '[]', '', '{}', '{}', 10, 'voice', '', '', '', 0, '[]', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"
                )
            )
        database.migrate()
        with database.engine.connect() as connection:
            hidden = connection.scalar(sa.text("select hidden from scenarios where id = 's1'"))
        assert hidden in (False, 0)
        _alembic(database, "0001", down=True)
        assert "hidden" not in {c["name"] for c in sa.inspect(database.engine).get_columns("scenarios")}
        _alembic(database, "base", down=True)
        assert set(sa.inspect(database.engine).get_table_names()) <= {"alembic_version"}
        database.migrate()
        assert _schema_diff(database) == []
    finally:
        database.dispose()
