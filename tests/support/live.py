"""The real server (uvicorn, in the test loop) on 127.0.0.1 with the real models, shared by a test run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import delete

from benchmarks.local_server import PASSWORD, LocalServer, local_server
from models.registry import Backends
from server.store.tables import Attempt, GradingJob

FINAL = ("ended", "error", "evaluating", "completed")
__all__ = ["PASSWORD", "LiveServer"]


class LiveServer(LocalServer):
    async def wait_attempt(self, attempt_id: str, states: tuple[str, ...] = FINAL, limit_s: float = 15) -> Attempt:
        """The attempt once it reached one of `states` (the call's end is persisted asynchronously)."""
        deadline = asyncio.get_running_loop().time() + limit_s
        while True:
            with self.db.session() as db:
                attempt = db.get(Attempt, attempt_id)
                if attempt is not None and (attempt.state in states or asyncio.get_running_loop().time() > deadline):
                    db.expunge(attempt)
                    return attempt
            await asyncio.sleep(0.1)


@pytest_asyncio.fixture(scope="session")
async def live_server(real_backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    # No grading worker by default: queued grading would eat the CPU that latency-sensitive tests need.
    # Tests about grading start one with the `grading_worker` fixture.
    async with local_server(real_backends, tmp_path_factory.mktemp("live"), max_live=3, grader_workers=0) as server:
        server.__class__ = LiveServer
        yield server  # type: ignore[misc]


@pytest_asyncio.fixture
async def grading_worker(live_server: LiveServer) -> AsyncIterator[None]:
    """The live server's grading worker, for the duration of one test. Jobs queued by earlier tests (which
    did not ask for grading) are dropped first, so this test's attempts are not stuck behind them."""
    with live_server.db.session() as db:
        db.execute(delete(GradingJob).where(GradingJob.status.in_(("pending", "running"))))
    stop = asyncio.Event()
    task = asyncio.ensure_future(live_server.app.state.grading.run(stop, "test-worker"))
    try:
        yield
    finally:
        stop.set()
        await task
