"""Practice sessions: creating one from a scenario or an inline configuration, and deleting for real."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.store.tables import Attempt, Contact, Persona, PracticeSession, Scenario
from server.workspace.files import attempt_files, document_files, remove_files

SESSION_KINDS = ("practice", "assignment", "test")
PERSONA_COPY_FIELDS = (
    "name",
    "job_title",
    "company",
    "ecosystem",
    "vertical",
    "background",
    "motivations",
    "concerns",
    "levers",
    "missteps",
    "voice",
    "linkedin_url",
)


def create_session(
    db: Session,
    scenario: Scenario,
    *,
    owner_id: str,
    created_by: str,
    name: str,
    deadline: datetime | None = None,
    kind: str = "practice",
    contact_id: str | None = None,
) -> PracticeSession:
    session = PracticeSession(
        workspace_id=scenario.workspace_id,
        scenario_id=scenario.id,
        owner_id=owner_id,
        created_by=created_by,
        name=name,
        deadline=deadline,
        kind=kind,
        contact_id=contact_id,
        active=True,
    )
    session.scenario = scenario
    db.add(session)
    db.flush()
    return session


def grounded_persona(db: Session, persona: Persona, profile_text: str, workspace_id: str, actor_id: str) -> Persona:
    """A private copy of `persona` grounded in pasted profile text (the library persona stays as it is)."""
    copy = Persona(
        workspace_id=workspace_id,
        slug=persona.slug,
        builtin=False,
        hidden=True,
        created_by=actor_id,
        profile_text=profile_text,
    )
    for field in PERSONA_COPY_FIELDS:
        setattr(copy, field, getattr(persona, field))
    db.add(copy)
    return copy


def inline_scenario(
    db: Session,
    *,
    workspace_id: str,
    actor_id: str,
    name: str,
    details: dict[str, Any],
    personality: dict[str, str],
    evaluation: dict[str, Any],
    persona: Persona | None = None,
    profile_text: str = "",
    contact: Contact | None = None,
) -> Scenario:
    """The hidden scenario behind a session configured inline (details, persona mapping, personality, evaluation).

    A contact roleplay has no persona: the contact grounds it (see setup.persona_spec)."""
    if persona is not None and profile_text.strip():
        persona = grounded_persona(db, persona, profile_text.strip(), workspace_id, actor_id)
        db.flush()
    scenario = Scenario(
        workspace_id=workspace_id,
        name=name,
        hidden=True,
        created_by=actor_id,
        type=details.get("scenario_type", "sales"),
        tuning=details.get("tuning", ""),
        goals=list(details.get("goals", [])),
        opening_line=details.get("opening_line", ""),
        objections=list(details.get("objections", [])),
        exit_conditions=list(details.get("exit_conditions", [])),
        time_limit_minutes=details.get("time_limit_minutes", 10),
        mode=details.get("mode", "voice"),
        persona_id=persona.id if persona is not None else None,
        personality=dict(personality),
        evaluation_template=evaluation.get("template", ""),
        evaluation_instructions=evaluation.get("instructions", ""),
        extra={"contact_id": contact.id} if contact is not None else {},
    )
    db.add(scenario)
    db.flush()
    return scenario


def delete_session(db: Session, session: PracticeSession, data_dir: Path) -> int:
    """Delete the session with its attempts, evaluations and files (and its hidden inline scenario);
    committed at once so that files go only with their rows. Returns how many files were removed."""
    files = [p for a in session.attempts for p in attempt_files(a)]
    scenario = session.scenario
    db.delete(session)
    db.flush()
    if scenario.hidden:
        others = db.scalar(select(PracticeSession.id).where(PracticeSession.scenario_id == scenario.id).limit(1))
        if others is None:
            files += document_files(scenario.documents)
            persona = scenario.persona
            db.delete(scenario)
            db.flush()
            if persona is not None and persona.hidden:
                db.delete(persona)
    db.commit()
    return remove_files(data_dir, files)


def delete_attempt(db: Session, attempt: Attempt, data_dir: Path) -> int:
    files = attempt_files(attempt)
    session = attempt.session
    session.attempts.remove(attempt)
    db.delete(attempt)
    db.commit()
    return remove_files(data_dir, files)
