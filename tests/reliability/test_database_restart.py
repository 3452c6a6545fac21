"""PostgreSQL restarted while grading jobs are queued and running: every attempt still ends evaluated,
exactly once (the queue's rows are durable; connections are re-established after the restart)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select

from models.base import BackendInfo, ChatMessage, GenerationOptions
from server.grading import GradingService
from server.jobs.db_queue import DatabaseQueue
from server.store.db import Database
from server.store.tables import Attempt, Evaluation, PracticeSession, Scenario, User, Workspace
from tests.support.postgres import PG_BIN, _as_server_user, postgres_missing, running_postgres

pytestmark = [pytest.mark.services, pytest.mark.models]

TRANSCRIPT = [
    {"number": 1, "speaker": "persona", "text": "Emma speaking.", "start": 0.0, "end": 1.0},
    {"number": 2, "speaker": "learner", "text": "What does your current process look like?", "start": 1.5, "end": 3.0},
    {"number": 3, "speaker": "persona", "text": "We order by hand every week.", "start": 3.5, "end": 5.0},
    {
        "number": 4,
        "speaker": "learner",
        "text": "Could we try a pilot at one plant next month?",
        "start": 5.5,
        "end": 7.0,
    },
]


class SlowLLM:
    """A grader model that takes its time, so the database restart lands while jobs are running."""

    info = BackendInfo("grader_llm", "slow", "slow", {"n_ctx": 2048})

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, *, context_id: str | None = None
    ) -> AsyncIterator[str]:
        await asyncio.sleep(1.0)
        yield "{}"  # not what the schema asks: the grader words the debrief from its facts instead


def seed(database: Database, count: int) -> list[str]:
    with database.session() as s:
        workspace = Workspace(slug="w", name="W")
        s.add(workspace)
        s.flush()
        user = User(workspace_id=workspace.id, email="l@w.com", role="member")
        scenario = Scenario(workspace_id=workspace.id, name="S", evaluation_template="sales_discovery")
        s.add_all([user, scenario])
        s.flush()
        session = PracticeSession(workspace_id=workspace.id, scenario_id=scenario.id, owner_id=user.id, name="P")
        s.add(session)
        s.flush()
        attempts = [Attempt(workspace_id=workspace.id, session_id=session.id, number=i + 1, state="ended",
                            transcript=TRANSCRIPT) for i in range(count)]  # fmt: skip
        s.add_all(attempts)
        s.flush()
        return [a.id for a in attempts]


async def test_postgres_restart_loses_no_grading() -> None:
    if missing := postgres_missing():
        pytest.fail(missing)
    with running_postgres() as server:
        name = server.create_database()
        database = Database(server.url(name))
        database.migrate()
        attempt_ids = seed(database, 4)
        service = GradingService(database, DatabaseQueue(database, claim_timeout_s=5, poll_s=0.2), SlowLLM())  # type: ignore[arg-type]
        for attempt_id in attempt_ids:
            await service.enqueue(attempt_id)
        stop = asyncio.Event()
        worker = asyncio.ensure_future(service.run(stop, "w1"))
        while True:  # wait until grading is under way
            with database.session() as s:
                if s.scalar(select(func.count()).where(Attempt.state == "completed")):
                    break
            await asyncio.sleep(0.2)
        restart = [str(PG_BIN / "pg_ctl"), "-D", str(server.root / "data"), "-m", "immediate", "-w", "restart",
                   "-l", str(server.root / "server.log"),
                   "-o", f"-p {server.port} -k {server.root} -c listen_addresses=127.0.0.1"]  # fmt: skip
        # The restarted server must not hold our pipes open: its output goes to its log.
        await asyncio.to_thread(
            subprocess.run, _as_server_user(restart), check=True, timeout=60,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(600):
            with database.session() as s:
                done = s.scalar(select(func.count()).where(Attempt.state == "completed"))
            if done == len(attempt_ids):
                break
            await asyncio.sleep(0.2)
        stop.set()
        await worker
        with database.session() as s:
            states = dict(s.execute(select(Attempt.state, func.count()).group_by(Attempt.state)).all())
            evaluations = s.scalar(select(func.count()).select_from(Evaluation))
        database.dispose()
    assert states == {"completed": len(attempt_ids)}
    assert evaluations == len(attempt_ids)  # exactly once each
