"""The practice-session table: filter, search, sort and paginate in SQL (status derived as in attempts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from server.store.tables import Attempt, Contact, Persona, PracticeSession, Scenario, User

SessionSort = Literal[
    "name", "attempts", "status", "deadline", "scenario_type", "persona", "created_by", "created_at", "owner"
]


@dataclass(frozen=True)
class SessionFilter:
    workspace_id: str
    owner_id: str | None = None  # None: every owner (admins only)
    q: str | None = None
    status: str | None = None
    scenario_type: str | None = None
    persona_slug: str | None = None
    scenario_id: str | None = None
    contact_id: str | None = None
    kind: str | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class SessionRow:
    session: PracticeSession
    attempts: int
    status: str
    persona_name: str
    created_by_name: str
    owner_name: str


def _columns(now: datetime) -> dict[str, Any]:
    creator = aliased(User)
    owner = aliased(User)
    attempts = (
        select(func.count(Attempt.id)).where(Attempt.session_id == PracticeSession.id).correlate(PracticeSession)
    ).scalar_subquery()
    started = exists().where(
        Attempt.session_id == PracticeSession.id,
        or_(Attempt.state != "initializing", Attempt.started_at.is_not(None)),
    )
    overdue = and_(PracticeSession.deadline.is_not(None), PracticeSession.deadline < now)
    status = case((started, "completed"), (overdue, "overdue"), else_="to_do")
    return {
        "creator": creator,
        "owner": owner,
        "attempts": attempts,
        "status": status,
        "status_rank": case((started, 2), (overdue, 1), else_=0),
        "persona": func.coalesce(Contact.name, Persona.name, ""),
        "creator_name": func.coalesce(func.nullif(creator.name, ""), creator.email, ""),
        "owner_name": func.coalesce(func.nullif(owner.name, ""), owner.email, ""),
    }


def _joined(query: Select[Any], cols: dict[str, Any]) -> Select[Any]:
    return (
        query.join(Scenario, Scenario.id == PracticeSession.scenario_id)
        .outerjoin(Persona, Persona.id == Scenario.persona_id)
        .outerjoin(Contact, Contact.id == PracticeSession.contact_id)
        .outerjoin(cols["creator"], cols["creator"].id == PracticeSession.created_by)
        .join(cols["owner"], cols["owner"].id == PracticeSession.owner_id)
    )


def _conditions(f: SessionFilter, cols: dict[str, Any]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [PracticeSession.workspace_id == f.workspace_id]
    if f.owner_id is not None:
        conditions.append(PracticeSession.owner_id == f.owner_id)
    if f.q:
        escaped = f.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conditions.append(
            or_(
                PracticeSession.name.ilike(pattern, escape="\\"),
                Scenario.name.ilike(pattern, escape="\\"),
                cols["persona"].ilike(pattern, escape="\\"),
            )
        )
    if f.status:
        conditions.append(cols["status"] == f.status)
    if f.scenario_type:
        conditions.append(Scenario.type == f.scenario_type)
    if f.persona_slug:
        conditions.append(Persona.slug == f.persona_slug)
    if f.scenario_id:
        conditions.append(PracticeSession.scenario_id == f.scenario_id)
    if f.contact_id:
        conditions.append(PracticeSession.contact_id == f.contact_id)
    if f.kind:
        conditions.append(PracticeSession.kind == f.kind)
    if f.created_by:
        conditions.append(PracticeSession.created_by == f.created_by)
    return conditions


def list_sessions(
    db: Session,
    f: SessionFilter,
    *,
    sort: SessionSort = "created_at",
    order: Literal["asc", "desc"] = "desc",
    offset: int = 0,
    limit: int = 25,
    now: datetime | None = None,
) -> tuple[int, list[SessionRow]]:
    """(total matching, the page of rows)."""
    cols = _columns(now or datetime.now(UTC))
    conditions = _conditions(f, cols)
    total = db.scalar(_joined(select(func.count(PracticeSession.id)), cols).where(*conditions)) or 0
    sort_keys: dict[str, Any] = {
        "name": func.lower(PracticeSession.name),
        "attempts": cols["attempts"],
        "status": cols["status_rank"],
        "deadline": PracticeSession.deadline,
        "scenario_type": Scenario.type,
        "persona": func.lower(cols["persona"]),
        "created_by": func.lower(cols["creator_name"]),
        "owner": func.lower(cols["owner_name"]),
        "created_at": PracticeSession.created_at,
    }
    key = sort_keys[sort]
    ordered = key.desc() if order == "desc" else key.asc()
    if sort == "deadline":
        ordered = ordered.nulls_last()
    tie = PracticeSession.id.desc() if order == "desc" else PracticeSession.id.asc()
    query = (
        _joined(
            select(
                PracticeSession,
                cols["attempts"],
                cols["status"],
                cols["persona"],
                cols["creator_name"],
                cols["owner_name"],
            ),
            cols,
        )
        .where(*conditions)
        .order_by(ordered, tie)
        .offset(offset)
        .limit(limit)
    )
    rows = [
        SessionRow(session, int(attempts), str(status), str(persona), str(creator), str(owner))
        for session, attempts, status, persona, creator, owner in db.execute(query).unique()
    ]
    return int(total), rows
