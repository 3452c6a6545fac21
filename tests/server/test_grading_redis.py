"""The Redis path end to end: an ended attempt is queued on Redis Streams and graded once by a separate
`sparring worker` process, which survives being killed mid-job (another worker re-claims the job)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.grading import GradingService
from server.jobs.redis_streams import RedisJobQueue
from server.store.db import Database
from server.store.tables import Attempt, Evaluation, PracticeSession, Scenario, User, Workspace
from server.workspace.seed import seed_builtin_personas
from tests.support.processes import free_port, running

pytestmark = [pytest.mark.services, pytest.mark.models]

TRANSCRIPT = [
    {"number": 1, "speaker": "persona", "text": "Emma speaking. Who is this?", "start": 0.5, "end": 2.0},
    {
        "number": 2,
        "speaker": "learner",
        "text": "Hi Emma, this is Sam from Greenpack. What does your current packaging process look like?",
        "start": 2.6,
        "end": 6.0,
    },
    {"number": 3, "speaker": "persona", "text": "We use one supplier for all twelve plants.", "start": 6.7, "end": 9.0},
    {
        "number": 4,
        "speaker": "learner",
        "text": "What would make you consider a change? Could we try a pilot at one plant next month?",
        "start": 9.5,
        "end": 13.0,
    },
]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
               "--dir", str(tmp_path)]  # fmt: skip
    with running(command, ready_port=port, timeout=20, log_path=tmp_path / "redis.log"):
        yield f"redis://127.0.0.1:{port}/0"


def ended_attempt(database: Database) -> str:
    with database.session() as s:
        seed_builtin_personas(s)
        workspace = Workspace(slug="w", name="W")
        s.add(workspace)
        s.flush()
        user = User(workspace_id=workspace.id, email="l@w.com", role="member")
        s.add(user)
        s.flush()
        scenario = Scenario(workspace_id=workspace.id, name="S", type="sales", evaluation_template="sales_discovery",
                            goals=["Learn the current process"])  # fmt: skip
        s.add(scenario)
        s.flush()
        session = PracticeSession(workspace_id=workspace.id, scenario_id=scenario.id, owner_id=user.id, name="P")
        s.add(session)
        s.flush()
        attempt = Attempt(workspace_id=workspace.id, session_id=session.id, number=1, state="ended",
                          transcript=TRANSCRIPT, interactions=2)  # fmt: skip
        s.add(attempt)
        s.flush()
        return attempt.id


def worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "server.cli", "worker", "--name", name]
    return subprocess.Popen(command, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT)


async def wait_state(database: Database, attempt_id: str, states: tuple[str, ...], limit_s: float) -> str:
    for _ in range(int(limit_s * 10)):
        with database.session() as s:
            attempt = s.get(Attempt, attempt_id)
            assert attempt is not None
            if attempt.state in states:
                return attempt.state
        await asyncio.sleep(0.1)
    raise AssertionError(f"attempt still {attempt.state}")


async def test_worker_process_grades_from_redis_once_even_when_killed(redis_url: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    database = Database(url)
    database.migrate()
    attempt_id = ended_attempt(database)
    queue = RedisJobQueue(redis_url, claim_timeout_s=3.0)
    service = GradingService(database, queue, None)
    await service.enqueue(attempt_id)
    env = {"REDIS_URL": redis_url, "DATABASE_URL": url, "SPARRING_DATA_DIR": str(tmp_path)}
    first = worker(env, "first", tmp_path / "first.log")
    try:
        # Kill the first worker as soon as it holds the job (before it can finish grading).
        for _ in range(600):
            stats = await queue.stats()
            if stats.in_flight:
                break
            await asyncio.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = worker(env, "second", tmp_path / "second.log")
        try:
            state = await wait_state(database, attempt_id, ("completed", "error"), limit_s=240)
        finally:
            second.terminate()
            second.wait(20)
    finally:
        if first.poll() is None:
            first.kill()
        await queue.close()
    log = (tmp_path / "second.log").read_text(errors="replace")
    assert state == "completed", log[-3000:]
    with database.session() as s:
        assert s.scalar(select(func.count()).where(Evaluation.attempt_id == attempt_id)) == 1
