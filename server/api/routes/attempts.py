"""Attempts of a practice session: list, open (transcript and evaluation), start new, restart after an error,
delete (with its files)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from server.api.access import owned_session, visible_attempt, visible_session
from server.api.common import DataDir, conflict, forbidden, require_manage, unprocessable
from server.api.deps import DB, Member, Reader
from server.api.schemas.sessions import AttemptDetail, AttemptOut, AttemptStart
from server.api.session_views import attempt_detail, attempt_out, evaluations_for
from server.workspace.attempts import AttemptError, attempt_for_call, restart_attempt
from server.workspace.audit import record
from server.workspace.sessions import delete_attempt

router = APIRouter(prefix="/api/v1", tags=["attempts"])


def allowed_mode(scenario_mode: str, wanted: str | None) -> str | None:
    """The learner's pick (voice or text) if the scenario allows it; None: the scenario's mode (a hybrid
    scenario's attempt then picks when its call starts)."""
    if wanted is not None and scenario_mode not in ("hybrid", wanted):
        unprocessable(f"this scenario is {scenario_mode} only; {wanted} attempts are not allowed")
    return wanted


@router.get("/sessions/{session_id}/attempts", response_model=list[AttemptOut])
def list_attempts(session_id: str, principal: Reader, db: DB) -> list[AttemptOut]:
    session = visible_session(db, session_id, principal)
    evaluations = evaluations_for(db, session.attempts)
    return [attempt_out(a, evaluations.get(a.id)) for a in session.attempts]


@router.post("/sessions/{session_id}/attempts", response_model=AttemptOut, status_code=201)
def start_attempt(session_id: str, principal: Member, db: DB, body: AttemptStart | None = None) -> AttemptOut:
    """Start new: the session's next attempt (or its latest one that has not started yet)."""
    session = owned_session(db, session_id, principal)
    if not session.active:
        conflict("this session is a draft awaiting approval")
    mode = allowed_mode(session.scenario.mode, body.mode if body else None)
    attempt = attempt_for_call(db, session, mode=mode)
    db.flush()
    return attempt_out(attempt, None)


@router.get("/attempts/{attempt_id}", response_model=AttemptDetail)
def get_attempt(attempt_id: str, principal: Reader, db: DB) -> AttemptDetail:
    return attempt_detail(db, visible_attempt(db, attempt_id, principal))


@router.post("/attempts/{attempt_id}/restart", response_model=AttemptOut, status_code=201)
def restart(attempt_id: str, principal: Member, db: DB) -> AttemptOut:
    """Restart roleplay after an error: a new attempt of the same session (owner only)."""
    attempt = visible_attempt(db, attempt_id, principal)
    if attempt.session.owner_id != principal.user_id:
        forbidden("only the session's owner can restart an attempt")
    try:
        fresh = restart_attempt(db, attempt)
    except AttemptError as error:
        conflict(str(error))
    return attempt_out(fresh, None)


@router.delete("/attempts/{attempt_id}", status_code=204)
def remove_attempt(attempt_id: str, principal: Member, db: DB, data: DataDir) -> Response:
    attempt = visible_attempt(db, attempt_id, principal)
    require_manage(principal, attempt.session.owner_id, "practice session", "owner")
    record(db, principal.workspace_id, principal.user_id, "attempt.delete", attempt.id, session_id=attempt.session_id)
    delete_attempt(db, attempt, data)
    return Response(status_code=204)
