"""Scenario participants and their participation history."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, EmailStr, Field, model_validator

from server.api.common import UtcDatetime
from server.api.schemas.sessions import AttemptOut, SessionStatus

UserId = Annotated[str, Field(min_length=1, max_length=32)]


class ParticipantInvite(BaseModel):
    """Invite workspace users (by id or email); each gets an assigned practice session."""

    user_ids: list[UserId] = Field(default_factory=list, max_length=200)
    emails: list[EmailStr] = Field(default_factory=list, max_length=200)
    deadline: UtcDatetime | None = None
    frequency: int | None = Field(None, ge=0, le=50, description="sessions per week; default: the scenario's")

    @model_validator(mode="after")
    def _someone(self) -> ParticipantInvite:
        if not self.user_ids and not self.emails:
            raise ValueError("invite at least one person (user_ids or emails)")
        return self


class ParticipantOut(BaseModel):
    id: str
    user_id: str
    name: str
    email: str
    session_id: str | None
    session_status: SessionStatus | None
    attempts: int
    deadline: UtcDatetime | None
    frequency: int
    invited_at: UtcDatetime
    removed_at: UtcDatetime | None
    active: bool


class ParticipationSession(BaseModel):
    id: str
    name: str
    kind: str
    status: SessionStatus
    deadline: UtcDatetime | None
    created_at: UtcDatetime
    attempts: list[AttemptOut]


class ParticipationOut(BaseModel):
    user_id: str
    name: str
    email: str
    active: bool
    invited_at: UtcDatetime
    removed_at: UtcDatetime | None
    deadline: UtcDatetime | None
    sessions: list[ParticipationSession]
