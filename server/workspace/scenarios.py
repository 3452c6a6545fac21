"""Scenario rules shared by the API: persona lookup, what a usable scenario needs, tags, duplication, deletion."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.store.tables import Attempt, Persona, PracticeSession, Scenario, ScenarioDocument, new_id
from server.workspace.files import attempt_files, document_files, remove_files, resolve_in
from server.workspace.personality import validate_personality

SCENARIO_TYPES = ("sales", "customer_success", "support", "custom")
TIME_LIMITS = (5, 10, 15, 30)
MODES = ("voice", "text", "hybrid")
MAX_TAGS = 20
MAX_TAG_LENGTH = 40


@dataclass(frozen=True)
class Missing:
    field: str
    message: str


def resolve_persona(db: Session, workspace_id: str, ref: str) -> Persona | None:
    """A persona the workspace may use, by id or by slug (built-ins first): emma, john, payal, kapil..."""
    ref = ref.strip()
    row = db.get(Persona, ref)
    if row is not None and row.workspace_id in (None, workspace_id):
        return row
    candidates = db.scalars(
        select(Persona).where(
            Persona.slug == ref.lower(),
            or_(Persona.workspace_id.is_(None), Persona.workspace_id == workspace_id),
            Persona.hidden.is_(False),
        )
    ).all()
    return min(candidates, key=lambda p: (not p.builtin, p.created_at), default=None)


def missing_setup(scenario: Scenario) -> list[Missing]:
    """What the scenario still needs before anyone can practise it (empty when it is valid)."""
    missing: list[Missing] = []
    if not scenario.name.strip():
        missing.append(Missing("name", "give the scenario a name"))
    if scenario.type not in SCENARIO_TYPES:
        missing.append(Missing("type", f"choose a scenario type: {', '.join(SCENARIO_TYPES)}"))
    contact_grounded = bool((scenario.extra or {}).get("contact_id"))
    if scenario.persona_id is None and not contact_grounded:
        missing.append(Missing("persona_id", "choose a persona"))
    try:
        validate_personality(scenario.personality or {})
    except ValueError as error:
        missing.append(Missing("personality", str(error)))
    if not any(str(g).strip() for g in scenario.goals) and not scenario.tuning.strip():
        missing.append(Missing("goals", "add at least one goal or describe the situation in the scenario tuning"))
    if scenario.time_limit_minutes not in TIME_LIMITS:
        missing.append(Missing("time_limit_minutes", "the time limit must be 5, 10, 15 or 30 minutes"))
    if scenario.mode not in MODES:
        missing.append(Missing("mode", f"choose a mode: {', '.join(MODES)}"))
    if not scenario.evaluation_template.strip() and not scenario.evaluation_instructions.strip():
        missing.append(Missing("evaluation", "pick an evaluation template or write evaluation instructions"))
    return missing


def normalise_tags(tags: list[str]) -> list[str]:
    """Trimmed, whitespace collapsed, de-duplicated without regard to case (first spelling kept)."""
    result: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        clean = " ".join(str(tag).split())
        if not clean:
            continue
        if len(clean) > MAX_TAG_LENGTH:
            raise ValueError(f"tag {clean[:20]!r}... is longer than {MAX_TAG_LENGTH} characters")
        if clean.lower() not in seen:
            seen.add(clean.lower())
            result.append(clean)
    if len(result) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags per scenario")
    return result


COPIED_FIELDS = (
    "type",
    "status",
    "tuning",
    "persona_id",
    "personality",
    "goals",
    "opening_line",
    "persona_speaks_first",
    "objections",
    "exit_conditions",
    "prompt_outline",
    "candidate_brief",
    "brief",
    "extra",
    "time_limit_minutes",
    "mode",
    "evaluation_template",
    "evaluation_instructions",
    "participant_instructions",
    "sessions_per_week",
    "tags",
    "hidden",
)


def duplicate_scenario(db: Session, source: Scenario, actor_id: str, data_dir: Path) -> Scenario:
    """A new scenario pre-filled from `source` ("Copy of ..."), owned by the actor, with copies of its documents."""
    copy = Scenario(id=new_id(), workspace_id=source.workspace_id, name=f"Copy of {source.name}"[:200])
    for field in COPIED_FIELDS:
        value = getattr(source, field)
        setattr(
            copy, field, list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
        )
    copy.created_by = actor_id
    db.add(copy)
    db.flush()
    for document in source.documents:
        clone = ScenarioDocument(
            id=new_id(),
            scenario_id=copy.id,
            name=document.name,
            content_type=document.content_type,
            text=document.text,
            size=document.size,
        )
        if document.path:
            original = resolve_in(data_dir, document.path)
            if original is not None and original.exists():
                relative = Path("documents") / copy.workspace_id / copy.id / f"{clone.id}{original.suffix}"
                (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(original, data_dir / relative)
                clone.path = str(relative)
        copy.documents.append(clone)
    db.flush()
    return copy


def scenario_files(db: Session, scenario: Scenario) -> list[str]:
    """Every file that goes when the scenario goes: its documents and its sessions' attempt artifacts."""
    attempts = db.scalars(
        select(Attempt)
        .join(PracticeSession, Attempt.session_id == PracticeSession.id)
        .where(PracticeSession.scenario_id == scenario.id)
    )
    return document_files(scenario.documents) + [p for a in attempts for p in attempt_files(a)]


def delete_scenario(db: Session, scenario: Scenario, data_dir: Path) -> int:
    """Delete the scenario, its documents, sessions, attempts and their files (and a private persona made for
    it); committed at once so that the files go only with the rows. Returns how many files were removed."""
    files = scenario_files(db, scenario)
    for session in db.scalars(select(PracticeSession).where(PracticeSession.scenario_id == scenario.id)):
        db.delete(session)
    persona = scenario.persona
    db.delete(scenario)
    db.flush()
    if persona is not None and persona.hidden:
        still_used = db.scalar(select(Scenario.id).where(Scenario.persona_id == persona.id).limit(1))
        if still_used is None:
            db.delete(persona)
    db.commit()
    return remove_files(data_dir, files)
