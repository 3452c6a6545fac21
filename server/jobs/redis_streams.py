"""A durable job queue on Redis Streams with one consumer group (any number of workers).

- A job is a stream entry; `XREADGROUP` hands each to one consumer and keeps it in the group's
  pending list until `XACK`, so a worker that dies holding it does not lose it.
- `XAUTOCLAIM` hands a pending entry idle for longer than `claim_timeout_s` to a live consumer.
  Long handlers keep their lease with `extend` (an `XCLAIM ... JUSTID` by the owner, which resets
  the idle time without counting a delivery).
- A failed attempt is acknowledged and parked in a sorted set until its backoff passes; a Lua
  script moves due retries back onto the stream atomically, on Redis' own clock.
- A job that failed `max_attempts` deliveries (or was abandoned that often: a poison job that
  kills its worker) moves to a hash of dead letters with its reason, and `retry_dead` revives it.
Every state change that touches two keys is one MULTI or one script, so a crash between steps
can neither lose a job nor duplicate it.

Durability is Redis' own: run it with `appendonly yes` so a restart keeps the stream, the pending
lists and the parked retries.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.jobs.base import DeadJob, Job, Outcome, QueueStats, QueueUnavailableError, RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")

# Move due retries (members are JSON arrays of stream fields) back onto the stream.
_PROMOTE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(member)))
end
return #due
"""
# Acknowledge a failed delivery and park it for its backoff: KEYS stream, delayed; ARGV group, entry, delay_ms, member.
_PARK = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], now_ms + tonumber(ARGV[3]), ARGV[4])
return now_ms
"""
# Keep a lease: only the current owner may reset the idle time. KEYS stream; ARGV group, entry, consumer.
_EXTEND = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
"""
# Revive a dead job exactly once: KEYS dead, stream; ARGV job id, then the stream fields.
_REVIVE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
"""


class RedisJobQueue:
    def __init__(
        self,
        url: str,
        *,
        name: str = "grading",
        group: str = "workers",
        claim_timeout_s: float = 60.0,
        policy: RetryPolicy | None = None,
        poll_s: float = 1.0,
        prefix: str = "sparring:jobs",
    ) -> None:
        # Reconnect transparently across a short Redis restart; longer outages surface as
        # QueueUnavailableError for the worker loop to wait out.
        self._redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            socket_connect_timeout=2.0,
        )
        self.stream = f"{prefix}:{name}:stream"
        self.delayed = f"{prefix}:{name}:delayed"
        self.dead = f"{prefix}:{name}:dead"
        self.group = group
        self.claim_timeout_ms = int(claim_timeout_s * 1000)
        self.policy = policy or RetryPolicy()
        self.poll_s = poll_s
        self._cursor = "0-0"
        self._ready = False
        self._promote = self._redis.register_script(_PROMOTE)
        self._park = self._redis.register_script(_PARK)
        self._extend = self._redis.register_script(_EXTEND)
        self._revive = self._redis.register_script(_REVIVE)

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a Redis operation, creating the group first and again if Redis lost it."""
        try:
            if not self._ready:
                await self._ensure_group()
            try:
                return await operation()
            except ResponseError as error:
                if "NOGROUP" not in str(error):
                    raise
                self._ready = False  # Redis restarted without persistence: recreate, then try once more
                await self._ensure_group()
                return await operation()
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            raise QueueUnavailableError(f"redis unreachable: {error}") from error

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._ready = True

    # ---------------------------------------------------------------- producing

    async def enqueue(self, kind: str, payload: Mapping[str, Any], *, job_id: str | None = None) -> str:
        job_id = job_id or uuid.uuid4().hex
        fields = _fields(job_id, kind, dict(payload), base=0, enqueued_at=time.time())

        async def add() -> None:
            await self._redis.xadd(self.stream, fields)

        await self._call(add)
        log.info("job enqueued", extra={"job_id": job_id, "kind": kind})
        return job_id

    # ---------------------------------------------------------------- consuming

    async def consume(self, consumer: str, *, count: int = 1, block_s: float = 5.0) -> list[Job]:
        deadline = time.monotonic() + block_s
        while True:
            jobs = await self._call(lambda: self._take(consumer, count, deadline))
            if jobs or time.monotonic() >= deadline:
                return jobs

    async def _take(self, consumer: str, count: int, deadline: float) -> list[Job]:
        await self._promote(keys=[self.delayed, self.stream], args=[100])
        jobs = await self._claim_stale(consumer, count)
        if len(jobs) < count:
            # Block for new entries, but not past the next poll: due retries and stale jobs need a look too.
            wait_ms = int(max(0.0, min(deadline - time.monotonic(), self.poll_s)) * 1000)
            block = None if jobs or wait_ms <= 0 else wait_ms
            reply: Any = await self._redis.xreadgroup(
                self.group, consumer, {self.stream: ">"}, count=count - len(jobs), block=block
            )
            for _stream, entries in reply or []:
                jobs += [_job(entry_id, fields, consumer, deliveries=1) for entry_id, fields in entries if fields]
        return jobs

    async def _claim_stale(self, consumer: str, count: int) -> list[Job]:
        reply: Any = await self._redis.xautoclaim(
            self.stream, self.group, consumer, self.claim_timeout_ms, start_id=self._cursor, count=count
        )
        self._cursor = reply[0]
        jobs = []
        for entry_id, fields in reply[1]:
            if not fields:
                continue
            pending = await self._redis.xpending_range(self.stream, self.group, entry_id, entry_id, 1)
            deliveries = int(pending[0]["times_delivered"]) if pending else 1
            job = _job(entry_id, fields, consumer, deliveries)
            log.warning("re-claimed a stale job", extra={"job_id": job.id, "attempt": job.attempt})
            if job.attempt > self.policy.max_attempts:
                # Delivered again and again without an ack: a job that kills or hangs its worker.
                reason = f"abandoned: delivered {job.attempt - 1} times without an acknowledgement"
                await self._bury(job, reason if not job.last_error else f"{reason}; last error: {job.last_error}")
                continue
            jobs.append(job)
        return jobs

    async def ack(self, job: Job) -> None:
        async def ack() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(self.stream, self.group, job.receipt)
                pipe.xdel(self.stream, job.receipt)
                await pipe.execute()

        await self._call(ack)

    async def fail(self, job: Job, reason: str, *, retryable: bool = True) -> Outcome:
        if not retryable or job.attempt >= self.policy.max_attempts:
            await self._call(lambda: self._bury(job, reason))
            return "dead"
        delay_ms = int(self.policy.delay(job.attempt) * 1000)
        member = json.dumps(_fields(job.id, job.kind, job.payload, job.attempt, job.enqueued_at, reason, flat=True))
        await self._call(
            lambda: self._park(keys=[self.stream, self.delayed], args=[self.group, job.receipt, delay_ms, member])
        )
        log.warning("job failed; retry later", extra={"job_id": job.id, "attempt": job.attempt, "delay_ms": delay_ms})
        return "retry"

    async def _bury(self, job: Job, reason: str) -> None:
        record = {
            "id": job.id,
            "kind": job.kind,
            "payload": job.payload,
            "attempts": job.attempt,
            "reason": reason,
            "failed_at": time.time(),
            "enqueued_at": job.enqueued_at,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.dead, job.id, json.dumps(record))
            pipe.xack(self.stream, self.group, job.receipt)
            pipe.xdel(self.stream, job.receipt)
            await pipe.execute()
        log.error("job moved to dead letters", extra={"job_id": job.id, "attempts": job.attempt, "reason": reason})

    async def extend(self, job: Job) -> bool:
        held = await self._call(lambda: self._extend(keys=[self.stream], args=[self.group, job.receipt, job.consumer]))
        return bool(held)

    # ---------------------------------------------------------------- dead letters and stats

    async def dead_letters(self) -> list[DeadJob]:
        records = await self._call(lambda: self._redis.hvals(self.dead))
        dead = [DeadJob(**json.loads(r)) for r in records]
        return sorted(dead, key=lambda d: d.failed_at)

    async def retry_dead(self, job_id: str) -> bool:
        raw = await self._call(lambda: self._redis.hget(self.dead, job_id))
        if raw is None:
            return False
        record = json.loads(raw)
        fields = _fields(
            job_id, record["kind"], record["payload"], 0, record["enqueued_at"], record["reason"], flat=True
        )
        added = await self._call(lambda: self._revive(keys=[self.dead, self.stream], args=[job_id, *fields]))
        if added:
            log.info("dead job sent back to the queue", extra={"job_id": job_id})
        return bool(added)

    async def stats(self) -> QueueStats:
        async def read() -> QueueStats:
            groups = await self._redis.xinfo_groups(self.stream)
            mine = next((g for g in groups if g["name"] == self.group), {})
            length = await self._redis.xlen(self.stream)
            pending = int(mine.get("pending", 0))
            lag = mine.get("lag")
            waiting = int(lag) if lag is not None else max(0, length - pending)
            delayed = await self._redis.zcard(self.delayed)
            dead = await self._redis.hlen(self.dead)
            return QueueStats(waiting, pending, delayed, dead, {"stream_length": length})

        return await self._call(read)

    async def close(self) -> None:
        await self._redis.aclose()


def _fields(
    job_id: str,
    kind: str,
    payload: dict[str, Any],
    base: int,
    enqueued_at: float,
    last_error: str | None = None,
    *,
    flat: bool = False,
) -> Any:
    """Stream entry fields; `base` counts the deliveries before this entry (earlier failed attempts)."""
    fields = {
        "id": job_id,
        "kind": kind,
        "payload": json.dumps(payload),
        "base": str(base),
        "enqueued_at": repr(enqueued_at),
        "last_error": last_error or "",
    }
    return [item for pair in fields.items() for item in pair] if flat else fields


def _job(entry_id: str, fields: Mapping[str, str], consumer: str, deliveries: int) -> Job:
    return Job(
        id=fields["id"],
        kind=fields["kind"],
        payload=json.loads(fields["payload"]),
        attempt=int(fields.get("base", "0")) + deliveries,
        enqueued_at=float(fields.get("enqueued_at", "0")),
        consumer=consumer,
        receipt=entry_id,
        last_error=fields.get("last_error") or None,
    )
