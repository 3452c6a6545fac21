"""Personas: the built-in library (shared, read-only) and each workspace's own."""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, or_, select

from server.api.common import conflict, forbidden, in_workspace, like_pattern, require_manage
from server.api.deps import DB, Member, Reader
from server.api.schemas.personas import PersonaCreate, PersonaOut, PersonaUpdate
from server.store.tables import Persona, Scenario
from server.workspace.audit import record

router = APIRouter(prefix="/api/v1/personas", tags=["personas"])


def slugify(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "persona"
    return f"{base}-{secrets.token_hex(2)}"


def _visible(db: DB, persona_id: str, principal: Reader) -> Persona:
    persona = db.get(Persona, persona_id)
    if persona is not None and persona.builtin:
        return persona
    return in_workspace(db, Persona, persona_id, principal, "persona")


def _editable(db: DB, persona_id: str, principal: Reader) -> Persona:
    persona = _visible(db, persona_id, principal)
    if persona.builtin:
        forbidden("built-in personas are read-only: duplicate one into your workspace to change it")
    require_manage(principal, persona.created_by, "persona")
    return persona


@router.get("", response_model=list[PersonaOut])
def list_personas(
    principal: Reader,
    db: DB,
    q: Annotated[str | None, Query(max_length=200, description="search name, title, company")] = None,
    ecosystem: Annotated[str | None, Query(max_length=120)] = None,
    vertical: Annotated[str | None, Query(max_length=120)] = None,
    builtin: bool | None = None,
) -> list[PersonaOut]:
    query = select(Persona).where(
        or_(Persona.workspace_id.is_(None), Persona.workspace_id == principal.workspace_id), Persona.hidden.is_(False)
    )
    if q:
        pattern = like_pattern(q.strip())
        query = query.where(
            or_(*(column.ilike(pattern, escape="\\") for column in (Persona.name, Persona.job_title, Persona.company)))
        )
    if ecosystem:
        query = query.where(func.lower(Persona.ecosystem) == ecosystem.strip().lower())
    if vertical:
        query = query.where(func.lower(Persona.vertical) == vertical.strip().lower())
    if builtin is not None:
        query = query.where(Persona.builtin.is_(builtin))
    rows = db.scalars(query.order_by(Persona.builtin.desc(), Persona.name))
    return [PersonaOut.model_validate(row) for row in rows]


@router.post("", response_model=PersonaOut, status_code=201)
def create_persona(body: PersonaCreate, principal: Member, db: DB) -> PersonaOut:
    persona = Persona(
        workspace_id=principal.workspace_id,
        slug=slugify(body.name),
        builtin=False,
        created_by=principal.user_id,
        **body.model_dump(),
    )
    db.add(persona)
    db.flush()
    return PersonaOut.model_validate(persona)


@router.get("/{persona_id}", response_model=PersonaOut)
def get_persona(persona_id: str, principal: Reader, db: DB) -> PersonaOut:
    return PersonaOut.model_validate(_visible(db, persona_id, principal))


@router.patch("/{persona_id}", response_model=PersonaOut)
def update_persona(persona_id: str, body: PersonaUpdate, principal: Member, db: DB) -> PersonaOut:
    persona = _editable(db, persona_id, principal)
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(persona, field, value)
    db.flush()
    return PersonaOut.model_validate(persona)


@router.delete("/{persona_id}", status_code=204)
def delete_persona(persona_id: str, principal: Member, db: DB) -> Response:
    persona = _editable(db, persona_id, principal)
    used = db.scalar(select(func.count(Scenario.id)).where(Scenario.persona_id == persona.id)) or 0
    if used:
        conflict(f"this persona is used by {used} scenario(s): change their persona first")
    record(db, principal.workspace_id, principal.user_id, "persona.delete", persona.id, name=persona.name)
    db.delete(persona)
    return Response(status_code=204)
