"""Who may see and change scenarios, practice sessions and attempts (beyond the role checks of deps.py).

Another workspace's ids are 404. Inside the workspace: the library of scenarios is readable by everyone;
a practice session by its owner, the creator of its scenario and admins; changes need the creator or an admin.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.api.common import forbidden, in_workspace, require_manage
from server.api.deps import Principal
from server.store.tables import Attempt, PracticeSession, Scenario


def visible_scenario(db: Session, scenario_id: str, principal: Principal) -> Scenario:
    scenario = in_workspace(db, Scenario, scenario_id, principal, "scenario")
    if scenario.hidden and principal.role != "admin" and scenario.created_by != principal.user_id:
        forbidden("this scenario belongs to someone else's practice session")
    return scenario


def managed_scenario(db: Session, scenario_id: str, principal: Principal) -> Scenario:
    scenario = visible_scenario(db, scenario_id, principal)
    require_manage(principal, scenario.created_by, "scenario")
    return scenario


def can_view_session(session: PracticeSession, principal: Principal) -> bool:
    coaches = (session.scenario.extra or {}).get("coaches", [])
    named_coach = principal.role != "read_only" and principal.user_id in coaches
    return (
        principal.role == "admin" or principal.user_id in (session.owner_id, session.scenario.created_by) or named_coach
    )


def can_follow_session(session: PracticeSession, principal: Principal) -> bool:
    """Who may read a session's results and artifacts: its viewers, and the program (API key) that set it up."""
    return can_view_session(session, principal) or session.created_by == principal.user_id


def visible_session(db: Session, session_id: str, principal: Principal) -> PracticeSession:
    session = in_workspace(db, PracticeSession, session_id, principal, "practice session")
    if not can_view_session(session, principal):
        forbidden("this practice session belongs to someone else")
    return session


def owned_session(db: Session, session_id: str, principal: Principal) -> PracticeSession:
    """A session the caller practises in: their own (members and admins; read-only users only read)."""
    session = visible_session(db, session_id, principal)
    if session.owner_id != principal.user_id or not principal.at_least("member"):
        forbidden("only the session's owner can practise in it")
    return session


def managed_session(db: Session, session_id: str, principal: Principal) -> PracticeSession:
    session = visible_session(db, session_id, principal)
    require_manage(principal, session.owner_id, "practice session", "owner")
    return session


def visible_attempt(db: Session, attempt_id: str, principal: Principal) -> Attempt:
    attempt = in_workspace(db, Attempt, attempt_id, principal, "attempt")
    if not can_view_session(attempt.session, principal):
        forbidden("this attempt belongs to someone else")
    return attempt
