"""The job queue interface shared by the Redis Streams queue and the in-process, database-backed one.

Delivery is at least once: a job can reach a handler twice (a worker died after finishing but
before acknowledging, or a slow worker's lease ran out). Every job therefore carries a stable `id`,
the same across deliveries and retries, for handlers to deduplicate their results on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Outcome = Literal["retry", "dead"]


class JobQueueError(Exception):
    """Base of the queue's errors. `retryable`: trying the same call again later may succeed."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class QueueUnavailableError(JobQueueError):
    """The queue's backing store cannot be reached (Redis down or restarting)."""

    retryable = True


@dataclass(frozen=True)
class Job:
    id: str  # stable across deliveries and retries: the key handlers deduplicate on
    kind: str
    payload: dict[str, Any]
    attempt: int  # 1 on the first delivery; every delivery counts, re-claims of a dead worker's job included
    enqueued_at: float  # epoch seconds of the first enqueue
    consumer: str  # who holds it now
    receipt: str  # the backend's handle of this delivery (a stream entry id); opaque to handlers
    last_error: str | None = None  # why the previous attempt failed


@dataclass(frozen=True)
class DeadJob:
    """A job that failed for good: shown with its reason, and retried by `retry_dead`."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    reason: str
    failed_at: float
    enqueued_at: float


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 2.0
    max_delay_s: float = 300.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff after the `attempt`-th delivery failed."""
        return float(min(self.max_delay_s, self.base_delay_s * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class QueueStats:
    waiting: int  # enqueued, not yet delivered
    in_flight: int  # delivered, not yet acknowledged
    delayed: int  # waiting for a retry's backoff to pass
    dead: int
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class JobQueue(Protocol):
    async def enqueue(self, kind: str, payload: Mapping[str, Any], *, job_id: str | None = None) -> str:
        """Add a job; returns its id (generated unless given)."""

    async def consume(self, consumer: str, *, count: int = 1, block_s: float = 5.0) -> list[Job]:
        """Up to `count` jobs for `consumer`: a dead worker's stale jobs first, then new ones, waiting up
        to `block_s` when there are none. Each must end in `ack` or `fail`."""

    async def ack(self, job: Job) -> None:
        """The job is done; it will not be delivered again."""

    async def fail(self, job: Job, reason: str, *, retryable: bool = True) -> Outcome:
        """The attempt failed: retry after a backoff, or move to the dead letters once attempts are used up
        (or at once when not retryable)."""

    async def extend(self, job: Job) -> bool:
        """Keep a long job from being re-claimed as abandoned; False if another consumer took it over."""

    async def dead_letters(self) -> list[DeadJob]:
        """The jobs that used up their attempts, with their last failure."""

    async def retry_dead(self, job_id: str) -> bool:
        """Send a dead job back to the queue with fresh attempts; False if there is no such dead job."""

    async def stats(self) -> QueueStats:
        """Jobs waiting, in flight, delayed for a retry, and dead (for /metrics)."""

    async def close(self) -> None:
        """Release the queue's connections."""
