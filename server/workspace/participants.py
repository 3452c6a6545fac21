"""Scenario participants: assigning a scenario to people (each gets an assigned practice session) and
removing them softly (their sessions, attempts and history stay)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.store.tables import Participant, Scenario, User
from server.workspace.sessions import create_session


class UnknownUsers(ValueError):
    """Some of the people named are not active users of the workspace (nothing was assigned)."""

    def __init__(self, refs: list[str]) -> None:
        super().__init__(f"no active user in this workspace for: {', '.join(refs)}")
        self.refs = refs


def find_users(
    db: Session, workspace_id: str, *, user_ids: Iterable[str] = (), emails: Iterable[str] = ()
) -> list[User]:
    """The active users named by id or email (case-insensitive), each once; UnknownUsers if any is missing."""
    found: dict[str, User] = {}
    unknown: list[str] = []
    for user_id in user_ids:
        user = db.get(User, user_id)
        if user is None or user.workspace_id != workspace_id or not user.active:
            unknown.append(user_id)
        else:
            found[user.id] = user
    for email in emails:
        query = select(User).where(User.workspace_id == workspace_id, User.email == email.strip().lower(), User.active)
        user = db.scalar(query)
        if user is None:
            unknown.append(email)
        else:
            found[user.id] = user
    if unknown:
        raise UnknownUsers(unknown)
    return list(found.values())


def assign(
    db: Session,
    scenario: Scenario,
    users: Iterable[User],
    *,
    assigned_by: str,
    deadline: datetime | None = None,
    frequency: int | None = None,
) -> list[Participant]:
    """An active participation per user: the existing one, or a new one with its assigned practice session."""
    result: list[Participant] = []
    for user in users:
        current = db.scalar(
            select(Participant).where(
                Participant.scenario_id == scenario.id, Participant.user_id == user.id, Participant.removed_at.is_(None)
            )
        )
        if current is None:
            session = create_session(
                db,
                scenario,
                owner_id=user.id,
                created_by=assigned_by,
                name=scenario.name,
                deadline=deadline,
                kind="assignment",
            )
            current = Participant(
                workspace_id=scenario.workspace_id,
                scenario_id=scenario.id,
                user_id=user.id,
                session_id=session.id,
                email=user.email,
                deadline=deadline,
                frequency=scenario.sessions_per_week if frequency is None else frequency,
            )
            db.add(current)
            db.flush()
        result.append(current)
    return result


def unassign(participant: Participant, now: datetime | None = None) -> None:
    """Soft removal: the participation ends; its session, attempts and evaluations are kept."""
    participant.removed_at = participant.removed_at or now or datetime.now(UTC)
