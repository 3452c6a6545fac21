"""Built-in records every installation has: the personas shipped with the product."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.store.tables import Persona

BUILTIN_FILE = Path(__file__).resolve().parents[1] / "store" / "builtin_personas.yaml"
PERSONA_FIELDS = (
    "name", "job_title", "company", "ecosystem", "vertical", "background",
    "motivations", "concerns", "levers", "missteps", "voice",
)  # fmt: skip


def builtin_personas() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = yaml.safe_load(BUILTIN_FILE.read_text(encoding="utf-8"))
    return data


def seed_builtin_personas(db: Session) -> None:
    """Insert or refresh the built-in personas (workspace_id NULL: shared by all workspaces)."""
    existing = {p.slug: p for p in db.scalars(select(Persona).where(Persona.builtin.is_(True)))}
    for data in builtin_personas():
        row = existing.get(data["slug"]) or Persona(slug=data["slug"], builtin=True, workspace_id=None)
        for key in PERSONA_FIELDS:
            setattr(row, key, " ".join(str(data.get(key, "")).split()))
        db.add(row)
