"""Practice sessions and attempts as the API shows them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.common import as_utc_or_none, user_label
from server.api.schemas.scenarios import DocumentOut
from server.api.schemas.sessions import (
    AttemptDetail,
    AttemptOut,
    Briefing,
    BriefingPersona,
    EvaluationOut,
    SessionDetail,
    SessionOut,
)
from server.store.tables import Attempt, Contact, Evaluation, PracticeSession, User
from server.workspace.attempts import session_status
from server.workspace.session_query import SessionRow


def _name(db: Session, user_id: str | None) -> str:
    user = db.get(User, user_id) if user_id else None
    return user_label(user.name, user.email) if user else ""


def from_row(row: SessionRow) -> SessionOut:
    s = row.session
    return SessionOut(
        id=s.id,
        name=s.name,
        kind=s.kind,
        active=s.active,
        status=row.status,
        attempts=row.attempts,
        deadline=as_utc_or_none(s.deadline),
        scenario_id=s.scenario_id,
        scenario_name=s.scenario.name,
        scenario_type=s.scenario.type,
        persona_id=s.scenario.persona_id,
        persona_name=row.persona_name,
        contact_id=s.contact_id,
        owner_id=s.owner_id,
        owner_name=row.owner_name,
        created_by=s.created_by,
        created_by_name=row.created_by_name,
        created_at=s.created_at,
        time_limit_minutes=s.scenario.time_limit_minutes,
        mode=s.scenario.mode,
    )


def session_out(db: Session, session: PracticeSession) -> SessionOut:
    contact = db.get(Contact, session.contact_id) if session.contact_id else None
    persona = session.scenario.persona
    row = SessionRow(
        session=session,
        attempts=len(session.attempts),
        status=session_status(session),
        persona_name=contact.name if contact else persona.name if persona else "",
        created_by_name=_name(db, session.created_by),
        owner_name=_name(db, session.owner_id),
    )
    return from_row(row)


def evaluations_for(db: Session, attempts: Sequence[Attempt]) -> dict[str, Evaluation]:
    ids = [a.id for a in attempts]
    if not ids:
        return {}
    return {e.attempt_id: e for e in db.scalars(select(Evaluation).where(Evaluation.attempt_id.in_(ids)))}


def attempt_out(attempt: Attempt, evaluation: Evaluation | None) -> AttemptOut:
    return AttemptOut(
        id=attempt.id,
        session_id=attempt.session_id,
        number=attempt.number,
        state=attempt.state,
        mode=attempt.mode,
        started_at=as_utc_or_none(attempt.started_at),
        ended_at=as_utc_or_none(attempt.ended_at),
        end_reason=attempt.end_reason,
        error=attempt.error,
        interactions=attempt.interactions,
        overall=evaluation.overall if evaluation else None,
        has_recording=bool(attempt.recording_path),
        created_at=attempt.created_at,
    )


def attempt_detail(db: Session, attempt: Attempt) -> AttemptDetail:
    evaluation = db.scalar(select(Evaluation).where(Evaluation.attempt_id == attempt.id))
    summary = attempt_out(attempt, evaluation)
    evaluation_out = None
    if evaluation is not None:
        evaluation_out = EvaluationOut(
            overall=evaluation.overall,
            result=evaluation.result or {},
            coach=evaluation.coach or {},
            created_at=evaluation.created_at,
        )
    return AttemptDetail(**summary.model_dump(), transcript=attempt.transcript or [], evaluation=evaluation_out)


def session_detail(db: Session, session: PracticeSession) -> SessionDetail:
    scenario = session.scenario
    contact = db.get(Contact, session.contact_id) if session.contact_id else None
    persona: BriefingPersona | None = None
    if contact is not None:
        persona = BriefingPersona(name=contact.name, job_title=contact.title, company=contact.company)
    elif scenario.persona is not None:
        p = scenario.persona
        persona = BriefingPersona(name=p.name, job_title=p.job_title, company=p.company)
    briefing = Briefing(
        goals=scenario.goals,
        participant_instructions=scenario.participant_instructions,
        time_limit_minutes=scenario.time_limit_minutes,
        mode=scenario.mode,
        persona=persona,
        documents=[DocumentOut.model_validate(d) for d in scenario.documents],
    )
    evaluations = evaluations_for(db, session.attempts)
    attempts = [attempt_out(a, evaluations.get(a.id)) for a in session.attempts]
    return SessionDetail(**session_out(db, session).model_dump(), attempt_list=attempts, briefing=briefing)
