"""Scenario participants: invite (each gets an assigned session), remove (soft: history kept), and the
participation history of each person."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from server.api.access import managed_scenario
from server.api.common import as_utc_or_none, in_workspace, unprocessable, user_label
from server.api.deps import DB, Member
from server.api.schemas.participants import ParticipantInvite, ParticipantOut, ParticipationOut, ParticipationSession
from server.api.schemas.scenarios import InvalidScenario, invalid_response
from server.api.session_views import attempt_out, evaluations_for
from server.store.tables import Participant, PracticeSession, User
from server.workspace.attempts import session_status
from server.workspace.participants import UnknownUsers, assign, find_users, unassign
from server.workspace.scenarios import missing_setup

router = APIRouter(prefix="/api/v1/scenarios/{scenario_id}", tags=["participants"])
ASSIGN_INVALID = "Scenario is not valid for assignment"


def participant_out(db: DB, participant: Participant) -> ParticipantOut:
    user = db.get(User, participant.user_id)
    session = db.get(PracticeSession, participant.session_id) if participant.session_id else None
    return ParticipantOut(
        id=participant.id,
        user_id=participant.user_id,
        name=user_label(user.name, user.email) if user else "",
        email=participant.email or (user.email if user else ""),
        session_id=participant.session_id,
        session_status=session_status(session) if session else None,
        attempts=len(session.attempts) if session else 0,
        deadline=participant.deadline,
        frequency=participant.frequency,
        invited_at=participant.invited_at,
        removed_at=participant.removed_at,
        active=participant.removed_at is None,
    )


@router.get("/participants", response_model=list[ParticipantOut])
def list_participants(
    scenario_id: str, principal: Member, db: DB, include_removed: bool = False
) -> list[ParticipantOut]:
    scenario = managed_scenario(db, scenario_id, principal)
    query = select(Participant).where(Participant.scenario_id == scenario.id)
    if not include_removed:
        query = query.where(Participant.removed_at.is_(None))
    return [participant_out(db, p) for p in db.scalars(query.order_by(Participant.invited_at, Participant.id))]


@router.post(
    "/participants",
    response_model=list[ParticipantOut],
    status_code=201,
    responses={422: {"model": InvalidScenario, "description": ASSIGN_INVALID}},
)
def invite(scenario_id: str, body: ParticipantInvite, principal: Member, db: DB) -> list[ParticipantOut] | JSONResponse:
    scenario = managed_scenario(db, scenario_id, principal)
    missing = missing_setup(scenario)
    if missing:
        return invalid_response(ASSIGN_INVALID, missing)
    try:
        users = find_users(db, principal.workspace_id, user_ids=body.user_ids, emails=body.emails)
    except UnknownUsers as error:
        unprocessable(str(error))
    result = assign(
        db, scenario, users, assigned_by=principal.user_id, deadline=body.deadline, frequency=body.frequency
    )
    return [participant_out(db, p) for p in result]


@router.delete("/participants/{participant_id}", status_code=204)
def remove(scenario_id: str, participant_id: str, principal: Member, db: DB) -> Response:
    """Soft removal: the person's sessions, attempts and history stay."""
    scenario = managed_scenario(db, scenario_id, principal)
    participant = in_workspace(db, Participant, participant_id, principal, "participant")
    if participant.scenario_id != scenario.id:
        unprocessable("this participant belongs to another scenario")
    unassign(participant)
    return Response(status_code=204)


@router.get("/participation", response_model=list[ParticipationOut])
def participation(scenario_id: str, principal: Member, db: DB) -> list[ParticipationOut]:
    """Every person ever invited, with their sessions of this scenario, attempts, status, deadline and dates."""
    scenario = managed_scenario(db, scenario_id, principal)
    invitations = db.scalars(
        select(Participant).where(Participant.scenario_id == scenario.id).order_by(Participant.invited_at)
    ).all()
    latest: dict[str, Participant] = {}
    for invitation in invitations:
        latest[invitation.user_id] = invitation
    sessions = db.scalars(
        select(PracticeSession)
        .where(PracticeSession.scenario_id == scenario.id, PracticeSession.owner_id.in_(list(latest)))
        .order_by(PracticeSession.created_at)
    ).all()
    evaluations = evaluations_for(db, [a for s in sessions for a in s.attempts])
    result = []
    for user_id, invitation in latest.items():
        user = db.get(User, user_id)
        owned = [
            ParticipationSession(
                id=s.id,
                name=s.name,
                kind=s.kind,
                status=session_status(s),
                deadline=as_utc_or_none(s.deadline),
                created_at=s.created_at,
                attempts=[attempt_out(a, evaluations.get(a.id)) for a in s.attempts],
            )
            for s in sessions
            if s.owner_id == user_id
        ]
        result.append(
            ParticipationOut(
                user_id=user_id,
                name=user_label(user.name, user.email) if user else "",
                email=invitation.email,
                active=invitation.removed_at is None,
                invited_at=invitation.invited_at,
                removed_at=invitation.removed_at,
                deadline=invitation.deadline,
                sessions=owned,
            )
        )
    return result
