"""Scenarios: create, edit, list, duplicate, delete (creator only), validate, tags and test sessions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.api.access import managed_scenario, visible_scenario
from server.api.common import DataDir, Paging, forbidden, unprocessable, user_label
from server.api.deps import DB, Member, Principal, Reader
from server.api.schemas.scenarios import (
    DocumentOut,
    InvalidScenario,
    MissingOut,
    ScenarioCreate,
    ScenarioOut,
    ScenarioPage,
    ScenarioUpdate,
    TagCount,
    TagsIn,
    TagsOut,
    Validation,
    invalid_response,
)
from server.api.schemas.sessions import SessionOut
from server.api.session_views import session_out
from server.store.tables import Participant, Persona, Scenario, User
from server.workspace.audit import record
from server.workspace.scenarios import delete_scenario, duplicate_scenario, missing_setup, resolve_persona
from server.workspace.sessions import create_session

router = APIRouter(prefix="/api/v1", tags=["scenarios"])
TEST_SESSION_INVALID = "Scenario is not valid for test session"
SortKey = Literal["name", "type", "persona", "created_by", "participants", "sessions_per_week", "created_at"]


def scenario_outs(db: Session, scenarios: Sequence[Scenario]) -> list[ScenarioOut]:
    ids = [s.id for s in scenarios]
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    if ids:
        counted = db.execute(
            select(Participant.scenario_id, func.count(Participant.id))
            .where(Participant.scenario_id.in_(ids), Participant.removed_at.is_(None))
            .group_by(Participant.scenario_id)
        )
        counts = {scenario_id: int(n) for scenario_id, n in counted}
        creators = {s.created_by for s in scenarios if s.created_by}
        if creators:
            users = db.execute(select(User.id, User.name, User.email).where(User.id.in_(creators))).all()
            names = {uid: user_label(name, email) for uid, name, email in users}
    result = []
    for s in scenarios:
        missing = missing_setup(s)
        result.append(
            ScenarioOut(
                id=s.id,
                name=s.name,
                type=s.type,
                status=s.status,
                hidden=s.hidden,
                tuning=s.tuning,
                persona_id=s.persona_id,
                persona_name=s.persona.name if s.persona else None,
                personality=s.personality or {},
                goals=s.goals,
                opening_line=s.opening_line,
                persona_speaks_first=s.persona_speaks_first,
                objections=s.objections,
                exit_conditions=s.exit_conditions,
                time_limit_minutes=s.time_limit_minutes,
                mode=s.mode,
                evaluation_template=s.evaluation_template,
                evaluation_instructions=s.evaluation_instructions,
                participant_instructions=s.participant_instructions,
                sessions_per_week=s.sessions_per_week,
                tags=s.tags,
                documents=[DocumentOut.model_validate(d) for d in s.documents],
                participant_count=counts.get(s.id, 0),
                created_by=s.created_by,
                created_by_name=names.get(s.created_by or ""),
                created_at=s.created_at,
                updated_at=s.updated_at,
                valid=not missing,
                missing=[MissingOut(field=m.field, message=m.message) for m in missing],
            )
        )
    return result


def scenario_out(db: Session, scenario: Scenario) -> ScenarioOut:
    return scenario_outs(db, [scenario])[0]


def apply_fields(db: Session, scenario: Scenario, fields: dict[str, Any], principal: Principal) -> None:
    """Set the given fields; an unknown persona is a 422 before anything changes."""
    persona: Persona | None = None
    if fields.get("persona_id") is not None:
        persona = resolve_persona(db, principal.workspace_id, fields["persona_id"])
        if persona is None:
            unprocessable(
                f"unknown persona {fields['persona_id']!r}: use a persona id or one of emma, john, payal, kapil"
            )
    for field, value in fields.items():
        if field == "persona_id":
            scenario.persona = persona
            scenario.persona_id = persona.id if persona else None
        elif value is not None:
            setattr(scenario, field, value)


@router.get("/scenarios", response_model=ScenarioPage)
def list_scenarios(
    principal: Reader,
    db: DB,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=200, description="search in names")] = None,
    type: Annotated[str | None, Query(max_length=32)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    persona_id: Annotated[str | None, Query(max_length=64)] = None,
    created_by: Annotated[str | None, Query(max_length=32, description="a user id, or 'me'")] = None,
    sort: SortKey = "created_at",
    order: Literal["asc", "desc"] = "desc",
) -> ScenarioPage:
    query = select(Scenario).where(Scenario.workspace_id == principal.workspace_id, Scenario.hidden.is_(False))
    if type:
        query = query.where(Scenario.type == type)
    if persona_id:
        persona = resolve_persona(db, principal.workspace_id, persona_id)
        query = query.where(Scenario.persona_id == (persona.id if persona else persona_id))
    if created_by:
        query = query.where(Scenario.created_by == (principal.user_id if created_by == "me" else created_by))
    rows = list(db.scalars(query).unique())
    if q:
        needle = q.strip().lower()
        rows = [s for s in rows if needle in s.name.lower()]
    if tag:
        rows = [s for s in rows if tag.strip().lower() in (str(t).lower() for t in s.tags)]
    outs = scenario_outs(db, rows)
    keys: dict[str, Any] = {
        "name": lambda o: o.name.lower(),
        "type": lambda o: o.type,
        "persona": lambda o: (o.persona_name or "").lower(),
        "created_by": lambda o: (o.created_by_name or "").lower(),
        "participants": lambda o: o.participant_count,
        "sessions_per_week": lambda o: o.sessions_per_week,
        "created_at": lambda o: o.created_at,
    }
    outs.sort(key=lambda o: (keys[sort](o), o.id), reverse=order == "desc")
    items = outs[paging.offset : paging.offset + paging.page_size]
    return ScenarioPage(items=items, total=len(outs), page=paging.page, page_size=paging.page_size)


@router.post("/scenarios", response_model=ScenarioOut, status_code=201)
def create_scenario(body: ScenarioCreate, principal: Member, db: DB) -> ScenarioOut:
    scenario = Scenario(workspace_id=principal.workspace_id, created_by=principal.user_id, name=body.name)
    apply_fields(db, scenario, body.model_dump(), principal)
    db.add(scenario)
    db.flush()
    return scenario_out(db, scenario)


@router.get("/scenarios/{scenario_id}", response_model=ScenarioOut)
def get_scenario(scenario_id: str, principal: Reader, db: DB) -> ScenarioOut:
    return scenario_out(db, visible_scenario(db, scenario_id, principal))


@router.patch("/scenarios/{scenario_id}", response_model=ScenarioOut)
def update_scenario(scenario_id: str, body: ScenarioUpdate, principal: Member, db: DB) -> ScenarioOut:
    scenario = managed_scenario(db, scenario_id, principal)
    apply_fields(db, scenario, body.model_dump(exclude_unset=True), principal)
    db.flush()
    return scenario_out(db, scenario)


@router.delete("/scenarios/{scenario_id}", status_code=204)
def remove_scenario(scenario_id: str, principal: Member, db: DB, data: DataDir) -> Response:
    scenario = visible_scenario(db, scenario_id, principal)
    creator = db.get(User, scenario.created_by) if scenario.created_by else None
    creator_gone = creator is None or not creator.active
    if scenario.created_by != principal.user_id and not (principal.role == "admin" and creator_gone):
        forbidden("only the scenario's creator can delete it")
    record(db, principal.workspace_id, principal.user_id, "scenario.delete", scenario.id, name=scenario.name)
    delete_scenario(db, scenario, data)
    return Response(status_code=204)


@router.post("/scenarios/{scenario_id}/duplicate", response_model=ScenarioOut, status_code=201)
def duplicate(scenario_id: str, principal: Member, db: DB, data: DataDir) -> ScenarioOut:
    source = visible_scenario(db, scenario_id, principal)
    return scenario_out(db, duplicate_scenario(db, source, principal.user_id, data))


@router.get("/scenarios/{scenario_id}/validate", response_model=Validation)
def validate(scenario_id: str, principal: Reader, db: DB) -> Validation:
    missing = missing_setup(visible_scenario(db, scenario_id, principal))
    return Validation(valid=not missing, missing=[MissingOut(field=m.field, message=m.message) for m in missing])


@router.post(
    "/scenarios/{scenario_id}/test-session",
    response_model=SessionOut,
    status_code=201,
    responses={422: {"model": InvalidScenario, "description": TEST_SESSION_INVALID}},
)
def test_session(scenario_id: str, principal: Member, db: DB) -> SessionOut | JSONResponse:
    scenario = visible_scenario(db, scenario_id, principal)
    missing = missing_setup(scenario)
    if missing:
        return invalid_response(TEST_SESSION_INVALID, missing)
    session = create_session(
        db,
        scenario,
        owner_id=principal.user_id,
        created_by=principal.user_id,
        name=f"Test: {scenario.name}"[:200],
        kind="test",
    )
    return session_out(db, session)


@router.get("/scenarios/{scenario_id}/tags", response_model=TagsOut)
def get_tags(scenario_id: str, principal: Reader, db: DB) -> TagsOut:
    return TagsOut(tags=[str(t) for t in visible_scenario(db, scenario_id, principal).tags])


@router.put("/scenarios/{scenario_id}/tags", response_model=TagsOut)
def set_tags(scenario_id: str, body: TagsIn, principal: Member, db: DB) -> TagsOut:
    scenario = managed_scenario(db, scenario_id, principal)
    scenario.tags = list(body.tags)
    return TagsOut(tags=body.tags)


@router.get("/tags", response_model=list[TagCount])
def list_tags(principal: Reader, db: DB) -> list[TagCount]:
    """Every tag in the workspace's scenario library, for the tags editor's picker."""
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    rows = db.scalars(
        select(Scenario.tags).where(Scenario.workspace_id == principal.workspace_id, Scenario.hidden.is_(False))
    )
    for tags in rows:
        for tag in tags or []:
            key = str(tag).lower()
            spelling.setdefault(key, str(tag))
            counts[key] += 1
    return [TagCount(tag=spelling[k], scenarios=n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
