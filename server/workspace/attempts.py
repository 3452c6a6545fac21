"""Practice-session status and the attempt lifecycle, shared by the REST API and live calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.store.tables import Attempt, PracticeSession

SessionStatus = Literal["to_do", "completed", "overdue"]
LIVE_STATES = ("initializing", "connecting", "in_session", "paused")
FINAL_STATES = ("ended", "evaluating", "completed", "error")
ERROR_MESSAGE = "There was an issue with the roleplay."


class AttemptError(ValueError):
    """An attempt action that the current state does not allow (HTTP 409)."""


def session_status(session: PracticeSession, now: datetime | None = None) -> SessionStatus:
    """`to_do` until the session has an attempt, then `completed`; `overdue` when the deadline passed
    with no attempt."""
    if any(a.state != "initializing" or a.started_at for a in session.attempts):
        return "completed"
    now = now or datetime.now(UTC)
    deadline = session.deadline
    if deadline is not None and deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)
    if deadline is not None and deadline < now:
        return "overdue"
    return "to_do"


def new_attempt(db: Session, session: PracticeSession, *, mode: str | None = None) -> Attempt:
    number = (db.scalar(select(func.max(Attempt.number)).where(Attempt.session_id == session.id)) or 0) + 1
    attempt = Attempt(
        workspace_id=session.workspace_id,
        session_id=session.id,
        number=number,
        state="initializing",
        mode=mode or session.scenario.mode,
    )
    db.add(attempt)
    db.flush()
    return attempt


def attempt_for_call(db: Session, session: PracticeSession, *, mode: str | None = None) -> Attempt:
    """The attempt a new live call runs in: the latest one not yet started, or a fresh one."""
    for attempt in reversed(session.attempts):
        if attempt.state == "initializing" and attempt.started_at is None:
            if mode:
                attempt.mode = mode
            return attempt
    return new_attempt(db, session, mode=mode)


def restart_attempt(db: Session, attempt: Attempt) -> Attempt:
    """Re-run an attempt that ended in error: a new attempt of the same session."""
    if attempt.state != "error":
        raise AttemptError(f"only an attempt that ended in error can be restarted (this one is {attempt.state})")
    return new_attempt(db, attempt.session, mode=attempt.mode)


def fail_interrupted_attempts(db: Session, node: str | None = None) -> int:
    """At start-up: attempts left live by a killed process are errors, not stuck `in_session`."""
    query = select(Attempt).where(Attempt.state.in_(("connecting", "in_session", "paused")))
    if node is not None:
        query = query.where((Attempt.node == node) | Attempt.node.is_(None))
    count = 0
    for attempt in db.scalars(query):
        attempt.state = "error"
        attempt.error = ERROR_MESSAGE
        attempt.end_reason = "server_restarted"
        attempt.ended_at = attempt.ended_at or datetime.now(UTC)
        count += 1
    return count
