"""Per-workspace retention settings (stored in Workspace.settings["retention"]); the purge job reads them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from server.store.tables import Workspace

Days = Annotated[int | None, Field(ge=1, le=36_500, description="days to keep; null: keep indefinitely")]


class Retention(BaseModel):
    audio_days: Days = 90
    event_log_days: Days = 90
    video_days: Days = 90
    transcript_days: Days = None
    evaluation_days: Days = Field(None, description="scores and coach feedback; null: keep indefinitely")


def retention_of(workspace: Workspace) -> Retention:
    stored = (workspace.settings or {}).get("retention") or {}
    return Retention.model_validate({k: v for k, v in stored.items() if k in Retention.model_fields})
