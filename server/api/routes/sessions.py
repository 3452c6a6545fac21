"""Practice sessions: the training table (filter, sort, search, paginate), create, open, edit and delete."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from server.api.access import managed_session, visible_scenario, visible_session
from server.api.common import DataDir, Paging, forbidden, unprocessable
from server.api.deps import DB, Member, Principal, Reader
from server.api.schemas.scenarios import InvalidScenario, invalid_response
from server.api.schemas.sessions import (
    InlineConfig,
    SessionCreate,
    SessionDetail,
    SessionOut,
    SessionPage,
    SessionStatus,
    SessionUpdate,
)
from server.api.session_views import from_row, session_detail, session_out
from server.store.tables import Persona, Scenario
from server.workspace.audit import record
from server.workspace.scenarios import missing_setup, resolve_persona
from server.workspace.session_query import SessionFilter, SessionSort, list_sessions
from server.workspace.sessions import create_session, delete_session, inline_scenario

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])
SESSION_INVALID = "Scenario is not valid for practice session"


def persona_for(db: Session, principal: Principal, ref: str) -> Persona:
    persona = resolve_persona(db, principal.workspace_id, ref)
    if persona is None:
        unprocessable(f"unknown persona {ref!r}: use a persona id or one of emma, john, payal, kapil")
    return persona


def scenario_from_config(db: Session, principal: Principal, name: str, config: InlineConfig) -> Scenario:
    persona = persona_for(db, principal, config.persona.persona_id)
    return inline_scenario(
        db,
        workspace_id=principal.workspace_id,
        actor_id=principal.user_id,
        name=name,
        details=config.details.model_dump(),
        personality=config.personality,
        evaluation=config.evaluation.model_dump(),
        persona=persona,
        profile_text=config.persona.profile_text,
    )


@router.get("", response_model=SessionPage)
def list_practice_sessions(
    principal: Reader,
    db: DB,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=200, description="search session, scenario and persona names")] = None,
    status: SessionStatus | None = None,
    scenario_type: Annotated[str | None, Query(max_length=32)] = None,
    persona_id: Annotated[str | None, Query(max_length=64, description="persona id or built-in slug")] = None,
    scenario_id: Annotated[str | None, Query(max_length=32)] = None,
    contact_id: Annotated[str | None, Query(max_length=32)] = None,
    kind: Literal["practice", "assignment", "test"] | None = None,
    owner_id: Annotated[
        str | None, Query(max_length=32, description="admins: a participant's user id, or 'all'; default: yours")
    ] = None,
    sort: SessionSort = "created_at",
    order: Literal["asc", "desc"] = "desc",
) -> SessionPage:
    owner: str | None = principal.user_id
    if owner_id not in (None, principal.user_id):
        if principal.role != "admin":
            forbidden("only admins can list other people's sessions")
        owner = None if owner_id == "all" else owner_id
    slug = None
    if persona_id:
        persona = resolve_persona(db, principal.workspace_id, persona_id)
        slug = persona.slug if persona else persona_id
    f = SessionFilter(
        workspace_id=principal.workspace_id,
        owner_id=owner,
        q=q,
        status=status,
        scenario_type=scenario_type,
        persona_slug=slug,
        scenario_id=scenario_id,
        contact_id=contact_id,
        kind=kind,
    )
    total, rows = list_sessions(db, f, sort=sort, order=order, offset=paging.offset, limit=paging.page_size)
    return SessionPage(items=[from_row(r) for r in rows], total=total, page=paging.page, page_size=paging.page_size)


@router.post(
    "",
    response_model=SessionOut,
    status_code=201,
    responses={422: {"model": InvalidScenario, "description": SESSION_INVALID}},
)
def create_practice_session(body: SessionCreate, principal: Member, db: DB) -> SessionOut | JSONResponse:
    if body.scenario_id is not None:
        scenario = visible_scenario(db, body.scenario_id, principal)
    else:
        assert body.config is not None
        scenario = scenario_from_config(db, principal, body.name, body.config)
    missing = missing_setup(scenario)
    if missing:
        db.rollback()  # nothing of an invalid inline configuration is kept
        return invalid_response(SESSION_INVALID, missing)
    session = create_session(
        db, scenario, owner_id=principal.user_id, created_by=principal.user_id, name=body.name, deadline=body.deadline
    )
    return session_out(db, session)


@router.get("/{session_id}", response_model=SessionDetail)
def get_practice_session(session_id: str, principal: Reader, db: DB) -> SessionDetail:
    return session_detail(db, visible_session(db, session_id, principal))


@router.patch("/{session_id}", response_model=SessionOut)
def update_practice_session(session_id: str, body: SessionUpdate, principal: Member, db: DB) -> SessionOut:
    session = managed_session(db, session_id, principal)
    fields = body.model_dump(exclude_unset=True)
    if fields.get("name") is not None:
        session.name = fields["name"]
    if "deadline" in fields:
        session.deadline = fields["deadline"]
    db.flush()
    return session_out(db, session)


@router.delete("/{session_id}", status_code=204)
def delete_practice_session(session_id: str, principal: Member, db: DB, data: DataDir) -> Response:
    session = managed_session(db, session_id, principal)
    record(
        db,
        principal.workspace_id,
        principal.user_id,
        "session.delete",
        session.id,
        name=session.name,
        owner_id=session.owner_id,
        attempts=len(session.attempts),
    )
    delete_session(db, session, data)
    return Response(status_code=204)
