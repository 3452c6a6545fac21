"""The job queue without Redis: durable in the database (the `grading_jobs` table), for one node.

Same contract as the Redis Streams queue: at-least-once delivery, a lease that a dead worker's job
loses (and another consumer re-claims), retries with backoff, dead letters with their reason.
A restart finds pending and expired jobs in the table and finishes them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from server.jobs.base import DeadJob, Job, Outcome, QueueStats, QueueUnavailableError, RetryPolicy
from server.store.db import Database
from server.store.tables import GradingJob

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class DatabaseQueue:
    def __init__(
        self,
        db: Database,
        *,
        claim_timeout_s: float = 60.0,
        policy: RetryPolicy | None = None,
        poll_s: float = 0.5,
    ) -> None:
        self.db = db
        self.claim_timeout = timedelta(seconds=claim_timeout_s)
        self.policy = policy or RetryPolicy()
        self.poll_s = poll_s

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A database call in a thread; a database that is down or restarting is a queue outage, which the
        worker loop waits out, not a crash."""
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except DBAPIError as error:
            if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
                raise QueueUnavailableError(f"database unavailable: {error.orig!r}") from error
            raise

    async def enqueue(self, kind: str, payload: Mapping[str, Any], *, job_id: str | None = None) -> str:
        return await self._run(self._enqueue, kind, dict(payload), job_id or uuid.uuid4().hex)

    def _enqueue(self, kind: str, payload: dict[str, Any], job_id: str) -> str:
        with self.db.session() as s:
            row = s.get(GradingJob, job_id)
            if row is None:
                s.add(GradingJob(id=job_id, attempt_id=payload["attempt_id"], kind=kind, payload=payload,
                                 status="pending", available_at=_now()))  # fmt: skip
            elif row.status in ("done", "dead"):  # asked again (a retry action): a fresh run
                row.status, row.tries, row.available_at, row.consumer = "pending", 0, _now(), None
        return job_id

    async def consume(self, consumer: str, *, count: int = 1, block_s: float = 5.0) -> list[Job]:
        deadline = asyncio.get_running_loop().time() + block_s
        while True:
            jobs = await self._run(self._claim, consumer, count)
            if jobs or asyncio.get_running_loop().time() >= deadline:
                return jobs
            await asyncio.sleep(self.poll_s)

    def _claim(self, consumer: str, count: int) -> list[Job]:
        now = _now()
        ready = or_(
            (GradingJob.status == "pending") & (or_(GradingJob.available_at.is_(None), GradingJob.available_at <= now)),
            (GradingJob.status == "running") & (GradingJob.lease_until < now),
        )
        jobs: list[Job] = []
        with self.db.session() as s:
            candidates = list(
                s.scalars(select(GradingJob.id).where(ready).order_by(GradingJob.created_at).limit(count))
            )
            for job_id in candidates:
                # Optimistic claim: only one consumer's UPDATE matches the row while it is claimable.
                claimed = s.execute(
                    update(GradingJob)
                    .where(GradingJob.id == job_id, ready)
                    .values(
                        status="running",
                        consumer=consumer,
                        lease_until=now + self.claim_timeout,
                        tries=GradingJob.tries + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    row = s.get(GradingJob, job_id)
                    assert row is not None
                    s.refresh(row)
                    jobs.append(
                        Job(
                            id=row.id,
                            kind=row.kind,
                            payload=dict(row.payload),
                            attempt=row.tries,
                            enqueued_at=(_aware(row.created_at) or now).timestamp(),
                            consumer=consumer,
                            receipt=row.id,
                            last_error=row.last_error,
                        )
                    )
        return jobs

    async def ack(self, job: Job) -> None:
        await self._run(self._set, job.id, status="done", lease_until=None, last_error=None)

    async def fail(self, job: Job, reason: str, *, retryable: bool = True) -> Outcome:
        dead = not retryable or job.attempt >= self.policy.max_attempts
        if dead:
            await self._run(self._set, job.id, status="dead", last_error=reason, lease_until=None)
            return "dead"
        later = _now() + timedelta(seconds=self.policy.delay(job.attempt))
        await self._run(self._set, job.id, status="pending", last_error=reason, available_at=later, lease_until=None)
        return "retry"

    def _set(self, job_id: str, **values: Any) -> None:
        with self.db.session() as s:
            s.execute(update(GradingJob).where(GradingJob.id == job_id).values(**values))

    async def extend(self, job: Job) -> bool:
        def renew() -> bool:
            with self.db.session() as s:
                result = s.execute(
                    update(GradingJob)
                    .where(GradingJob.id == job.id, GradingJob.consumer == job.consumer, GradingJob.status == "running")
                    .values(lease_until=_now() + self.claim_timeout)
                )
                return bool(result.rowcount)  # type: ignore[attr-defined]

        return await self._run(renew)

    async def dead_letters(self) -> list[DeadJob]:
        def read() -> list[DeadJob]:
            with self.db.session() as s:
                rows = s.scalars(select(GradingJob).where(GradingJob.status == "dead").order_by(GradingJob.updated_at))
                return [
                    DeadJob(
                        id=r.id,
                        kind=r.kind,
                        payload=dict(r.payload),
                        attempts=r.tries,
                        reason=r.last_error or "",
                        failed_at=(_aware(r.updated_at) or _now()).timestamp(),
                        enqueued_at=(_aware(r.created_at) or _now()).timestamp(),
                    )
                    for r in rows
                ]

        return await self._run(read)

    async def retry_dead(self, job_id: str) -> bool:
        def retry() -> bool:
            with self.db.session() as s:
                result = s.execute(
                    update(GradingJob)
                    .where(GradingJob.id == job_id, GradingJob.status == "dead")
                    .values(status="pending", tries=0, available_at=_now(), consumer=None)
                )
                return bool(result.rowcount)  # type: ignore[attr-defined]

        return await self._run(retry)

    async def stats(self) -> QueueStats:
        def count() -> QueueStats:
            now = _now()
            with self.db.session() as s:
                rows = dict(s.execute(select(GradingJob.status, func.count()).group_by(GradingJob.status)).all())
                delayed = s.scalar(
                    select(func.count()).where(GradingJob.status == "pending", GradingJob.available_at > now)
                )
            delayed = int(delayed or 0)
            return QueueStats(waiting=int(rows.get("pending", 0)) - delayed, in_flight=int(rows.get("running", 0)),
                              delayed=delayed, dead=int(rows.get("dead", 0)))  # fmt: skip

        return await self._run(count)

    async def close(self) -> None:
        return None
