"""The Redis Streams job queue against a real redis-server on loopback (append-only file in a tmp dir).

Covers: many workers share the work once each; a worker killed mid-job (SIGKILL) has its job re-claimed
and completed once by another; a live worker's long job is not stolen while it keeps its lease;
Redis restarted with jobs pending loses none; a poisoned job ends in the dead letters with its reason
and can be retried; a job that keeps killing its worker is buried too.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from server.jobs import Job, RedisJobQueue, RetryPolicy, run_worker
from tests.support.processes import free_port, running

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RedisServer:
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @contextlib.contextmanager
    def run(self) -> Iterator[subprocess.Popen[bytes]]:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--dir",
            str(self.directory),
        ]
        with running(command, ready_port=self.port, timeout=20, log_path=self.directory / "redis.log") as process:
            yield process


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path)
    with server.run():
        yield server


@pytest_asyncio.fixture
async def queues(redis_server: RedisServer) -> AsyncIterator[Callable[..., RedisJobQueue]]:
    made: list[RedisJobQueue] = []

    def make(**kwargs: object) -> RedisJobQueue:
        options = {"claim_timeout_s": 1.0, "poll_s": 0.1, "policy": RetryPolicy(3, 0.05, 0.2), **kwargs}
        queue = RedisJobQueue(redis_server.url, **options)  # type: ignore[arg-type]
        made.append(queue)
        return queue

    yield make
    for queue in made:
        await queue.close()


@contextlib.asynccontextmanager
async def workers(queue: RedisJobQueue, handler: Callable[[Job], Awaitable[None]], names: list[str], **kwargs: object):
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_worker(queue, handler, consumer=n, stop=stop, block_s=0.2, **kwargs))  # type: ignore[arg-type]
        for n in names
    ]
    try:
        yield tasks
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_many_workers_share_the_jobs_each_done_once(queues: Callable[..., RedisJobQueue]) -> None:
    queue = queues()
    ids = [await queue.enqueue("grade", {"attempt_id": i}) for i in range(30)]
    done: list[tuple[str, str]] = []

    async def handler(job: Job) -> None:
        await asyncio.sleep(0.01)
        done.append((job.consumer, job.id))

    async with workers(queue, handler, ["w1", "w2", "w3"]):
        await until(lambda: len(done) == 30)
    assert sorted(i for _, i in done) == sorted(ids)  # every job exactly once
    stats = await queue.stats()
    assert (stats.waiting, stats.in_flight, stats.delayed, stats.dead) == (0, 0, 0, 0)


WORKER = """
import asyncio, sys
from server.jobs import RedisJobQueue, run_worker

async def main():
    queue = RedisJobQueue(sys.argv[1], claim_timeout_s=1.0, poll_s=0.1)
    async def handler(job):
        print("started", job.id, job.attempt, flush=True)
        await asyncio.sleep(3600)
    await run_worker(queue, handler, consumer="doomed", heartbeat_s=0.2, block_s=0.2)

asyncio.run(main())
"""


async def test_a_killed_workers_job_is_reclaimed_and_completed_once(
    redis_server: RedisServer, queues: Callable[..., RedisJobQueue]
) -> None:
    queue = queues()
    job_id = await queue.enqueue("grade", {"attempt_id": 7})
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, redis_server.url, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    try:
        assert doomed.stdout is not None
        line = await asyncio.wait_for(doomed.stdout.readline(), 30)
        assert line.decode().split() == ["started", job_id, "1"]
        assert (await queue.stats()).in_flight == 1
    finally:
        doomed.kill()  # SIGKILL: no cleanup, no ack, no goodbye
        await doomed.wait()
    completed: list[Job] = []

    async def handler(job: Job) -> None:
        completed.append(job)

    async with workers(queue, handler, ["rescuer"]):
        await until(lambda: len(completed) == 1)
        await asyncio.sleep(1.5)  # past another claim timeout: nothing is delivered twice
    assert [(j.id, j.attempt, j.consumer, j.payload) for j in completed] == [(job_id, 2, "rescuer", {"attempt_id": 7})]
    stats = await queue.stats()
    assert (stats.in_flight, stats.waiting, stats.dead) == (0, 0, 0)


async def test_a_live_worker_keeps_its_long_job(queues: Callable[..., RedisJobQueue]) -> None:
    queue = queues()
    await queue.enqueue("grade", {"attempt_id": 1})
    runs: list[str] = []

    async def slow(job: Job) -> None:
        runs.append(job.consumer)
        await asyncio.sleep(2.5)  # longer than the 1 s claim timeout; the heartbeat keeps the lease

    async with workers(queue, slow, ["a", "b"], heartbeat_s=0.25):
        await until(lambda: len(runs) == 1)
        await asyncio.sleep(3.0)
    assert len(runs) == 1
    assert (await queue.stats()).in_flight == 0


async def test_redis_restart_with_jobs_pending_loses_none(
    redis_server: RedisServer, queues: Callable[..., RedisJobQueue]
) -> None:
    queue = queues(claim_timeout_s=0.5)
    ids = [await queue.enqueue("grade", {"n": i}) for i in range(6)]
    taken = await queue.consume("crashed", count=2, block_s=1.0)  # delivered, never acknowledged
    assert len(taken) == 2
    await queue.fail(await _one(queue, "flaky"), "TimeoutError: model busy")  # parked for a retry
    done: list[str] = []

    async def handler(job: Job) -> None:
        done.append(job.id)

    # Restart twice: once with nobody working, once under a running worker that must ride it out.
    await _stop(redis_server)
    with redis_server.run():
        stats = await queue.stats()
        assert (stats.in_flight, stats.waiting, stats.delayed) == (2, 3, 1)  # the append-only file kept them all
        async with workers(queue, handler, ["survivor"]):
            await until(lambda: len(done) == 6)
            await _stop(redis_server)
            await asyncio.sleep(1.0)
            with redis_server.run():
                extra = await queue.enqueue("grade", {"n": 6})
                await until(lambda: len(done) == 7, within=20)
                stats = await queue.stats()
    assert sorted(set(done)) == sorted([*ids, extra])
    assert len(done) == 7  # and none twice
    assert (stats.in_flight, stats.waiting, stats.delayed, stats.dead) == (0, 0, 0, 0)


async def _one(queue: RedisJobQueue, consumer: str) -> Job:
    (job,) = await queue.consume(consumer, count=1, block_s=1.0)
    return job


async def _stop(server: RedisServer) -> None:
    """Shut the running redis down cleanly (it flushes the append-only file), as an operator restart would."""
    shutdown = await asyncio.create_subprocess_exec(
        "redis-cli", "-p", str(server.port), "shutdown", stdout=asyncio.subprocess.DEVNULL
    )
    await shutdown.wait()
    await until(lambda: not _listening(server.port))


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_a_poisoned_job_goes_to_the_dead_letters_and_can_be_retried(queues: Callable[..., RedisJobQueue]) -> None:
    queue = queues()
    poison = await queue.enqueue("grade", {"attempt_id": "broken"}, job_id="attempt-broken")
    fine = await queue.enqueue("grade", {"attempt_id": "ok"})
    seen: list[tuple[str, int, str | None]] = []
    fixed = False
    buried: list[tuple[str, str]] = []

    async def handler(job: Job) -> None:
        seen.append((job.id, job.attempt, job.last_error))
        if job.payload["attempt_id"] == "broken" and not fixed:
            raise ValueError("transcript missing")

    async def on_dead(job: Job, reason: str) -> None:
        buried.append((job.id, reason))

    async with workers(queue, handler, ["w1", "w2"], on_dead=on_dead):
        await until(lambda: len(buried) == 1)
    assert [s for s in seen if s[0] == fine] == [(fine, 1, None)]
    assert [s[1:] for s in seen if s[0] == poison] == [
        (1, None),
        (2, "ValueError: transcript missing"),
        (3, "ValueError: transcript missing"),
    ]
    (dead,) = await queue.dead_letters()
    assert (dead.id, dead.attempts, dead.reason, dead.payload) == (
        poison,
        3,
        "ValueError: transcript missing",
        {"attempt_id": "broken"},
    )
    assert buried == [(poison, "ValueError: transcript missing")]

    fixed = True
    assert await queue.retry_dead(poison)
    assert not await queue.retry_dead(poison)  # revived once only
    async with workers(queue, handler, ["w1"]):
        await until(lambda: len(seen) == 5)
    assert seen[-1] == (poison, 1, "ValueError: transcript missing")
    assert await queue.dead_letters() == []
    assert (await queue.stats()).in_flight == 0


async def test_a_permanent_error_is_not_retried(queues: Callable[..., RedisJobQueue]) -> None:
    class Permanent(Exception):
        retryable = False

    queue = queues()
    job_id = await queue.enqueue("grade", {})
    calls: list[int] = []

    async def handler(job: Job) -> None:
        calls.append(job.attempt)
        raise Permanent("rubric deleted")

    async with workers(queue, handler, ["w"]):
        await until(lambda: len(calls) == 1)
        await asyncio.sleep(0.3)
    (dead,) = await queue.dead_letters()
    assert dead.id == job_id and dead.attempts == 1 and dead.reason == "Permanent: rubric deleted"
    assert calls == [1]


async def test_a_job_that_keeps_killing_its_worker_is_buried(queues: Callable[..., RedisJobQueue]) -> None:
    queue = queues(claim_timeout_s=0.2, policy=RetryPolicy(max_attempts=2))
    job_id = await queue.enqueue("grade", {})
    first = await _one(queue, "a")  # each consumer "dies" holding it
    await asyncio.sleep(0.3)
    second = await _one(queue, "b")
    assert (first.id, first.attempt, second.id, second.attempt) == (job_id, 1, job_id, 2)
    await asyncio.sleep(0.3)
    assert await queue.consume("c", block_s=0.3) == []
    (dead,) = await queue.dead_letters()
    assert dead.id == job_id and dead.reason.startswith("abandoned: delivered 2 times")
