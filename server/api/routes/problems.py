"""Problem reports: a learner flags an attempt ("persona broke character"); the scenario's creator sees the
open flags on the scenario and resolves them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.access import managed_scenario, visible_attempt
from server.api.common import UtcDatetime, forbidden, in_workspace, require_manage, user_label
from server.api.deps import DB, Member, Reader
from server.store.tables import Attempt, PracticeSession, ProblemReport, User

router = APIRouter(prefix="/api/v1", tags=["problem reports"])


class ProblemCreate(BaseModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ProblemOut(BaseModel):
    id: str
    attempt_id: str
    attempt_number: int
    session_id: str
    session_name: str
    scenario_id: str
    user_id: str | None
    user_name: str
    reason: str
    created_at: UtcDatetime
    resolved_at: UtcDatetime | None


def problem_out(db: Session, report: ProblemReport) -> ProblemOut:
    attempt = db.get(Attempt, report.attempt_id)
    assert attempt is not None
    user = db.get(User, report.user_id) if report.user_id else None
    return ProblemOut(
        id=report.id,
        attempt_id=attempt.id,
        attempt_number=attempt.number,
        session_id=attempt.session_id,
        session_name=attempt.session.name,
        scenario_id=attempt.session.scenario_id,
        user_id=report.user_id,
        user_name=user_label(user.name, user.email) if user else "",
        reason=report.reason,
        created_at=report.created_at,
        resolved_at=report.resolved_at,
    )


@router.post("/attempts/{attempt_id}/problems", response_model=ProblemOut, status_code=201)
def report_problem(attempt_id: str, body: ProblemCreate, principal: Member, db: DB) -> ProblemOut:
    attempt = visible_attempt(db, attempt_id, principal)
    if attempt.session.owner_id != principal.user_id:
        forbidden("only the learner who ran the attempt can report a problem with it")
    report = ProblemReport(
        workspace_id=principal.workspace_id, attempt_id=attempt.id, user_id=principal.user_id, reason=body.reason
    )
    db.add(report)
    db.flush()
    return problem_out(db, report)


@router.get("/attempts/{attempt_id}/problems", response_model=list[ProblemOut])
def attempt_problems(attempt_id: str, principal: Reader, db: DB) -> list[ProblemOut]:
    attempt = visible_attempt(db, attempt_id, principal)
    rows = db.scalars(
        select(ProblemReport).where(ProblemReport.attempt_id == attempt.id).order_by(ProblemReport.created_at)
    )
    return [problem_out(db, r) for r in rows]


@router.get("/scenarios/{scenario_id}/problems", response_model=list[ProblemOut])
def scenario_problems(
    scenario_id: str, principal: Member, db: DB, state: Literal["open", "resolved", "all"] = "open"
) -> list[ProblemOut]:
    scenario = managed_scenario(db, scenario_id, principal)
    query = (
        select(ProblemReport)
        .join(Attempt, Attempt.id == ProblemReport.attempt_id)
        .join(PracticeSession, PracticeSession.id == Attempt.session_id)
        .where(PracticeSession.scenario_id == scenario.id)
    )
    if state == "open":
        query = query.where(ProblemReport.resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(ProblemReport.resolved_at.is_not(None))
    return [problem_out(db, r) for r in db.scalars(query.order_by(ProblemReport.created_at.desc()))]


@router.post("/problems/{problem_id}/resolve", response_model=ProblemOut)
def resolve_problem(problem_id: str, principal: Member, db: DB) -> ProblemOut:
    report = in_workspace(db, ProblemReport, problem_id, principal, "problem report")
    attempt = db.get(Attempt, report.attempt_id)
    assert attempt is not None
    require_manage(principal, attempt.session.scenario.created_by, "scenario")
    report.resolved_at = report.resolved_at or datetime.now(UTC)
    db.flush()
    return problem_out(db, report)
