"""Durable job queue: Redis Streams with a consumer group (`REDIS_URL`), behind the `JobQueue` Protocol
that the in-process, database-backed queue also implements. Standalone: imports nothing else of ours."""

from server.jobs.base import (
    DeadJob,
    Job,
    JobQueue,
    JobQueueError,
    Outcome,
    QueueStats,
    QueueUnavailableError,
    RetryPolicy,
)
from server.jobs.redis_streams import RedisJobQueue
from server.jobs.worker import Handler, WorkerStats, process, run_worker

__all__ = [
    "DeadJob",
    "Handler",
    "Job",
    "JobQueue",
    "JobQueueError",
    "Outcome",
    "QueueStats",
    "QueueUnavailableError",
    "RedisJobQueue",
    "RetryPolicy",
    "WorkerStats",
    "process",
    "run_worker",
]
