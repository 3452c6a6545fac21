"""Grading: an attempt that ends is queued, a worker scores it with the grader, the evaluation is stored.

Queue: Redis Streams when REDIS_URL is set (any number of `sparring worker` processes), else the
same interface durable in the database, worked by the server itself. Delivery is at least once;
results are idempotent (one evaluation per attempt, enforced by a unique key).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grader import Grader, GraderError, load_template, template_names
from models.base import LLM
from server.jobs.base import Job, JobQueue
from server.jobs.db_queue import DatabaseQueue
from server.jobs.worker import run_worker
from server.settings import Settings
from server.store.db import Database
from server.store.tables import Attempt, Evaluation, GradingJob, PracticeSession

log = logging.getLogger(__name__)

GRADE = "grade"
TEMPLATE_FOR_TYPE = {
    "sales": "sales_discovery",
    "customer_success": "customer_success_renewal",
    "support": "support_de_escalation",
    "custom": "sales_discovery",
}


def make_queue(settings: Settings, db: Database) -> JobQueue:
    if settings.redis_url:
        from server.jobs.redis_streams import RedisJobQueue

        return RedisJobQueue(settings.redis_url)
    return DatabaseQueue(db)


@dataclass
class GradingTask:
    attempt_id: str
    transcript: list[dict[str, Any]]
    template: str
    goals: list[Any]
    instructions: str
    workspace_id: str


class GradingService:
    def __init__(
        self,
        db: Database,
        queue: JobQueue,
        grader_llm: LLM | None,
        *,
        mode: str = "hybrid",
        repeat_penalty: float = 1.1,
        n_ctx: int = 2048,
    ) -> None:
        self.db = db
        self.queue = queue
        self.grader_llm = grader_llm
        self.mode = mode
        self.repeat_penalty = repeat_penalty
        self.n_ctx = n_ctx  # what a served model (no n_ctx of its own to report) is given
        self._grader: Grader | None = None
        self._durations: list[float] = []  # job latencies not yet reported to /metrics

    # ------------------------------------------------------------------ enqueue

    async def enqueue(self, attempt_id: str) -> None:
        """The attempt goes to `evaluating` and a grading job is queued (its id is the attempt's)."""
        await asyncio.to_thread(self._mark_evaluating, attempt_id)
        await self.queue.enqueue(GRADE, {"attempt_id": attempt_id}, job_id=attempt_id)

    def _mark_evaluating(self, attempt_id: str) -> None:
        with self.db.session() as s:
            attempt = s.get(Attempt, attempt_id)
            if attempt is None:
                raise GraderError(f"no attempt {attempt_id}", retryable=False)
            attempt.state = "evaluating"
            attempt.error = None

    # ------------------------------------------------------------------ work

    def grader(self) -> Grader:
        if self._grader is None:
            if self.grader_llm is None:
                raise GraderError("no grader model is loaded on this node", retryable=True)
            served = self.grader_llm.info.details.get("n_ctx") if self.grader_llm.info.details else None
            self._grader = Grader(
                self.grader_llm,
                mode=self.mode,  # type: ignore[arg-type]
                n_ctx=int(served) if served else self.n_ctx,
                repeat_penalty=self.repeat_penalty,
            )
        return self._grader

    def _task(self, attempt_id: str) -> GradingTask | None:
        """What to grade, or None when the attempt already has its evaluation (a re-delivered job)."""
        with self.db.session() as s:
            attempt = s.get(Attempt, attempt_id)
            if attempt is None:
                raise GraderError(f"attempt {attempt_id} no longer exists", retryable=False)
            if s.scalar(select(Evaluation.id).where(Evaluation.attempt_id == attempt_id)) is not None:
                attempt.state = "completed"
                return None
            session = s.get(PracticeSession, attempt.session_id)
            assert session is not None
            scenario = session.scenario
            template = scenario.evaluation_template if scenario.evaluation_template in template_names() else ""
            return GradingTask(
                attempt_id=attempt.id,
                transcript=list(attempt.transcript),
                template=template or TEMPLATE_FOR_TYPE.get(scenario.type, "sales_discovery"),
                goals=list(scenario.goals),
                instructions=scenario.evaluation_instructions,
                workspace_id=attempt.workspace_id,
            )

    async def handle(self, job: Job) -> None:
        attempt_id = str(job.payload["attempt_id"])
        started = time.perf_counter()
        task = await asyncio.to_thread(self._task, attempt_id)
        if task is None:
            return
        if not any(t.get("speaker") == "learner" and t.get("text") for t in task.transcript):
            raise GraderError("the attempt has no learner turns to evaluate", retryable=False)
        evaluation = await self.grader().grade(
            task.transcript, load_template(task.template), goals=task.goals, instructions=task.instructions
        )
        stored = await asyncio.to_thread(self._store, task, evaluation.to_dict(), evaluation.overall)
        self._durations = [*self._durations[-999:], time.perf_counter() - started]
        log.info(
            "graded attempt %s (%s, %.1f)", attempt_id, "stored" if stored else "already stored", evaluation.overall
        )

    def _store(self, task: GradingTask, result: dict[str, Any], overall: float) -> bool:
        try:
            with self.db.session() as s:
                s.add(
                    Evaluation(
                        attempt_id=task.attempt_id, workspace_id=task.workspace_id, overall=overall, result=result
                    )
                )
                attempt = s.get(Attempt, task.attempt_id)
                if attempt is not None:
                    attempt.state = "completed"
                    attempt.error = None
            return True
        except IntegrityError:  # another delivery of the same job stored it first
            with self.db.session() as s:
                attempt = s.get(Attempt, task.attempt_id)
                if attempt is not None:
                    attempt.state = "completed"
            return False

    def drain_durations(self) -> list[float]:
        durations, self._durations = self._durations, []
        return durations

    async def on_dead(self, job: Job, reason: str) -> None:
        """A job that failed for good: the attempt shows the error and can be retried."""
        attempt_id = str(job.payload.get("attempt_id", job.id))

        def mark() -> None:
            with self.db.session() as s:
                attempt = s.get(Attempt, attempt_id)
                if attempt is not None and attempt.state != "completed":
                    attempt.state = "error"
                    attempt.error = f"The evaluation failed: {reason[:300]}"
                row = s.get(GradingJob, attempt_id)
                if row is not None and row.status != "dead":  # the Redis path keeps its own dead letters
                    row.status, row.last_error = "dead", reason[:2000]

        await asyncio.to_thread(mark)

    async def retry(self, attempt_id: str) -> None:
        """The retry action of an attempt whose evaluation failed."""
        if not await self.queue.retry_dead(attempt_id):
            await self.queue.enqueue(GRADE, {"attempt_id": attempt_id}, job_id=attempt_id)
        await asyncio.to_thread(self._mark_evaluating, attempt_id)

    async def run(self, stop: asyncio.Event, consumer: str | None = None) -> None:
        name = consumer or f"{socket.gethostname()}-{os.getpid()}"
        await run_worker(self.queue, self.handle, consumer=name, stop=stop, on_dead=self.on_dead)


def grader_mode(settings: Settings) -> str:
    """The small embedded model cannot score on its own: checklist evidence decides, it words the debrief."""
    return "llm" if settings.models.grader_llm.backend == "openai" else "hybrid"


def grading_options(settings: Settings) -> dict[str, Any]:
    """GradingService keywords from the settings: mode and the grader model's sampling and context."""
    config = settings.models.grader_llm
    return {"mode": grader_mode(settings), "repeat_penalty": config.repeat_penalty, "n_ctx": config.n_ctx}


def utcnow() -> datetime:
    return datetime.now(UTC)
