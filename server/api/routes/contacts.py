"""Contacts: CRUD, CSV import, and roleplays with a contact (the contact grounds the persona)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.api.common import DataDir, Paging, forbidden, in_workspace, like_pattern, require_manage, unprocessable
from server.api.deps import DB, Member, Principal, Reader
from server.api.limits import upload_limit
from server.api.schemas.contacts import (
    ContactCreate,
    ContactImport,
    ContactOut,
    ContactPage,
    ContactRoleplay,
    ContactRoleplayCreate,
    ContactUpdate,
    RowError,
)
from server.api.schemas.scenarios import InvalidScenario, invalid_response
from server.api.schemas.sessions import SessionOut
from server.api.session_views import attempt_out, evaluations_for, from_row, session_out
from server.store.tables import Contact, PracticeSession
from server.workspace.audit import record
from server.workspace.contacts_csv import MAX_CSV_BYTES, CsvError, parse_contacts
from server.workspace.scenarios import missing_setup
from server.workspace.session_query import SessionFilter, list_sessions
from server.workspace.sessions import create_session, delete_session, inline_scenario

router = APIRouter(
    prefix="/api/v1/contacts",
    tags=["contacts"],
    route_class=upload_limit(MAX_CSV_BYTES, f"the file is larger than the {MAX_CSV_BYTES >> 10} KB limit"),
)
ROLEPLAY_INVALID = "Scenario is not valid for practice session"


def contact_out(db: Session, contact: Contact) -> ContactOut:
    roleplays = db.scalar(select(func.count(PracticeSession.id)).where(PracticeSession.contact_id == contact.id)) or 0
    return ContactOut(
        id=contact.id,
        name=contact.name,
        title=contact.title,
        company=contact.company,
        profile_url=contact.profile_url,
        notes=contact.notes,
        owner_id=contact.owner_id,
        roleplays=int(roleplays),
        created_at=contact.created_at,
    )


def visible_contact(db: Session, contact_id: str, principal: Principal) -> Contact:
    contact = in_workspace(db, Contact, contact_id, principal, "contact")
    if principal.role != "admin" and contact.owner_id != principal.user_id:
        forbidden("this contact belongs to someone else")
    return contact


@router.get("", response_model=ContactPage)
def list_contacts(
    principal: Reader,
    db: DB,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=200, description="search name, title and company")] = None,
    owner_id: Annotated[str | None, Query(max_length=32, description="admins: someone's user id, or 'all'")] = None,
) -> ContactPage:
    query = select(Contact).where(Contact.workspace_id == principal.workspace_id)
    if owner_id not in (None, principal.user_id) and principal.role != "admin":
        forbidden("only admins can list other people's contacts")
    if owner_id != "all":
        query = query.where(Contact.owner_id == (owner_id or principal.user_id))
    if q:
        pattern = like_pattern(q.strip())
        query = query.where(
            Contact.name.ilike(pattern, escape="\\")
            | Contact.title.ilike(pattern, escape="\\")
            | Contact.company.ilike(pattern, escape="\\")
        )
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    ordered = query.order_by(func.lower(Contact.name), Contact.id).offset(paging.offset).limit(paging.page_size)
    items = [contact_out(db, c) for c in db.scalars(ordered)]
    return ContactPage(items=items, total=int(total), page=paging.page, page_size=paging.page_size)


@router.post("", response_model=ContactOut, status_code=201)
def create_contact(body: ContactCreate, principal: Member, db: DB) -> ContactOut:
    contact = Contact(workspace_id=principal.workspace_id, owner_id=principal.user_id, **body.model_dump())
    db.add(contact)
    db.flush()
    return contact_out(db, contact)


@router.post("/import", response_model=ContactImport)
def import_contacts(
    principal: Member,
    db: DB,
    file: Annotated[UploadFile, File(description="CSV: name,title,company,profile_url,notes (header optional)")],
) -> ContactImport:
    try:
        rows = parse_contacts(file.file.read(MAX_CSV_BYTES + 1))
    except CsvError as error:
        unprocessable(str(error))
    created: list[Contact] = []
    errors: list[RowError] = []
    for row in rows:
        extra = row.values.pop("__extra__", 0)
        if extra:
            errors.append(RowError(row=row.line, error=f"{extra} more cell(s) than columns (quote text with commas)"))
            continue
        try:
            body = ContactCreate.model_validate(row.values)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in error.errors())
            errors.append(RowError(row=row.line, error=problems))
            continue
        contact = Contact(workspace_id=principal.workspace_id, owner_id=principal.user_id, **body.model_dump())
        db.add(contact)
        created.append(contact)
    db.flush()
    return ContactImport(created=len(created), contacts=[contact_out(db, c) for c in created], errors=errors)


@router.get("/{contact_id}", response_model=ContactOut)
def get_contact(contact_id: str, principal: Reader, db: DB) -> ContactOut:
    return contact_out(db, visible_contact(db, contact_id, principal))


@router.patch("/{contact_id}", response_model=ContactOut)
def update_contact(contact_id: str, body: ContactUpdate, principal: Member, db: DB) -> ContactOut:
    contact = visible_contact(db, contact_id, principal)
    require_manage(principal, contact.owner_id, "contact", "owner")
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(contact, field, value)
    db.flush()
    return contact_out(db, contact)


@router.delete("/{contact_id}", status_code=204)
def delete_contact(contact_id: str, principal: Member, db: DB, data: DataDir) -> Response:
    """Deletes the contact and its roleplays (their attempts and files too)."""
    contact = visible_contact(db, contact_id, principal)
    require_manage(principal, contact.owner_id, "contact", "owner")
    record(db, principal.workspace_id, principal.user_id, "contact.delete", contact.id, name=contact.name)
    for session in db.scalars(select(PracticeSession).where(PracticeSession.contact_id == contact.id)).all():
        delete_session(db, session, data)
    db.delete(contact)
    return Response(status_code=204)


@router.post(
    "/{contact_id}/roleplays",
    response_model=SessionOut,
    status_code=201,
    responses={422: {"model": InvalidScenario, "description": ROLEPLAY_INVALID}},
)
def create_roleplay(
    contact_id: str, body: ContactRoleplayCreate, principal: Member, db: DB
) -> SessionOut | JSONResponse:
    contact = visible_contact(db, contact_id, principal)
    name = body.name or f"Roleplay with {contact.name}"[:200]
    scenario = inline_scenario(
        db,
        workspace_id=principal.workspace_id,
        actor_id=principal.user_id,
        name=name,
        details=body.details.model_dump(),
        personality=body.personality,
        evaluation=body.evaluation.model_dump(),
        contact=contact,
    )
    missing = missing_setup(scenario)
    if missing:
        db.rollback()
        return invalid_response(ROLEPLAY_INVALID, missing)
    session = create_session(
        db,
        scenario,
        owner_id=principal.user_id,
        created_by=principal.user_id,
        name=name,
        deadline=body.deadline,
        contact_id=contact.id,
    )
    return session_out(db, session)


@router.get("/{contact_id}/roleplays", response_model=list[ContactRoleplay])
def list_roleplays(contact_id: str, principal: Reader, db: DB) -> list[ContactRoleplay]:
    contact = visible_contact(db, contact_id, principal)
    owner = None if principal.role == "admin" else principal.user_id
    _, rows = list_sessions(
        db, SessionFilter(workspace_id=principal.workspace_id, owner_id=owner, contact_id=contact.id), limit=1000
    )
    evaluations = evaluations_for(db, [a for r in rows for a in r.session.attempts])
    return [
        ContactRoleplay(
            **from_row(r).model_dump(), attempt_list=[attempt_out(a, evaluations.get(a.id)) for a in r.session.attempts]
        )
        for r in rows
    ]
