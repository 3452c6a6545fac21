"""Contacts: the people a learner really talks to."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from server.api.common import Name, Text, Url, UtcDatetime
from server.api.schemas.sessions import AttemptOut, InlineDetails, InlineEvaluation, PersonalityIn, SessionOut

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class ContactCreate(BaseModel):
    name: Name
    title: Short = ""
    company: Short = ""
    profile_url: Url = Field("", description="a reference only: never fetched")
    notes: Text = Field("", description="what you know about them; grounds the persona in a contact roleplay")


class ContactUpdate(BaseModel):
    name: Name | None = None
    title: Short | None = None
    company: Short | None = None
    profile_url: Url | None = None
    notes: Text | None = None


class ContactOut(BaseModel):
    id: str
    name: str
    title: str
    company: str
    profile_url: str
    notes: str
    owner_id: str | None
    roleplays: int
    created_at: UtcDatetime


class ContactPage(BaseModel):
    items: list[ContactOut]
    total: int
    page: int
    page_size: int


class RowError(BaseModel):
    row: int = Field(description="line number in the file (the header is line 1)")
    error: str


class ContactImport(BaseModel):
    created: int
    contacts: list[ContactOut]
    errors: list[RowError]


class ContactRoleplayCreate(BaseModel):
    """A practice session with this contact: details, personality and evaluation (no persona mapping: the
    contact is the persona)."""

    name: Name | None = Field(None, description="default: Roleplay with <contact name>")
    details: InlineDetails = Field(default_factory=InlineDetails)
    personality: PersonalityIn = Field(default_factory=dict)
    evaluation: InlineEvaluation = Field(default_factory=InlineEvaluation)
    deadline: UtcDatetime | None = None


class ContactRoleplay(SessionOut):
    attempt_list: list[AttemptOut]
