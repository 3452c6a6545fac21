"""The worker loop: consume, run the handler, then ack or fail; keep the lease while the handler runs.

Works with any `JobQueue`. A handler signals a permanent failure by raising an exception whose
`retryable` attribute is False (GraderError and ModelError carry one); anything else is retried
with backoff until the queue's attempts are used up. Cancellation (shutdown) leaves the job
unacknowledged on purpose: another worker re-claims it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.jobs.base import Job, JobQueue, QueueUnavailableError

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[None]]
DeadHandler = Callable[[Job, str], Awaitable[None]]


@dataclass
class WorkerStats:
    done: int = 0
    retried: int = 0
    dead: int = 0


async def run_worker(
    queue: JobQueue,
    handler: Handler,
    *,
    consumer: str,
    stop: asyncio.Event | None = None,
    heartbeat_s: float | None = 10.0,
    block_s: float = 2.0,
    on_dead: DeadHandler | None = None,
) -> WorkerStats:
    """Process jobs until `stop` is set. `heartbeat_s` should be well under the queue's claim timeout."""
    stop = stop or asyncio.Event()
    stats = WorkerStats()
    outage = 0.1
    while not stop.is_set():
        try:
            jobs = await queue.consume(consumer, count=1, block_s=block_s)
            outage = 0.1
        except QueueUnavailableError as error:
            log.warning("queue unavailable; waiting", extra={"consumer": consumer, "error": str(error)})
            await asyncio.sleep(outage)
            outage = min(outage * 2, 5.0)
            continue
        for job in jobs:
            try:
                await process(queue, handler, job, stats, heartbeat_s=heartbeat_s, on_dead=on_dead)
            except Exception:
                # A bug in the queue or in on_dead must not stop the worker; the job stays pending and is
                # re-claimed after the timeout.
                log.exception("job processing broke", extra={"job_id": job.id, "consumer": consumer})
    return stats


async def process(
    queue: JobQueue,
    handler: Handler,
    job: Job,
    stats: WorkerStats,
    *,
    heartbeat_s: float | None = 10.0,
    on_dead: DeadHandler | None = None,
) -> None:
    heartbeat = asyncio.create_task(_keep_lease(queue, job, heartbeat_s)) if heartbeat_s else None
    try:
        await handler(job)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        retryable = bool(getattr(error, "retryable", True))
        log.warning("job failed", extra={"job_id": job.id, "attempt": job.attempt, "error": reason})
        try:
            outcome = await queue.fail(job, reason, retryable=retryable)
        except QueueUnavailableError:
            log.warning("could not record the failure; the job will be re-claimed", extra={"job_id": job.id})
            return
        if outcome == "dead":
            stats.dead += 1
            if on_dead is not None:
                await on_dead(job, reason)
        else:
            stats.retried += 1
        return
    finally:
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
    try:
        await queue.ack(job)
        stats.done += 1
    except QueueUnavailableError:
        # Done but not acknowledged: it will be delivered again, and the handler's dedupe on job.id absorbs it.
        log.warning("could not acknowledge a finished job", extra={"job_id": job.id})


async def _keep_lease(queue: JobQueue, job: Job, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            if not await queue.extend(job):
                log.warning("lost the lease on a running job", extra={"job_id": job.id})
                return
        except QueueUnavailableError:
            continue
