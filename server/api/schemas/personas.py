"""Persona and personality schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from server.api.common import Name, Url, UtcDatetime

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Prose = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Profile = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]


class PersonaCreate(BaseModel):
    name: Name
    job_title: Short = ""
    company: Short = ""
    ecosystem: Label = ""
    vertical: Label = ""
    background: Prose = ""
    motivations: Prose = ""
    concerns: Prose = ""
    levers: Prose = Field("", description="what moves them")
    missteps: Prose = Field("", description="what shuts them down")
    voice: Label = ""
    profile_text: Profile = Field("", description="pasted profile text that grounds the persona in a real person")
    linkedin_url: Url = Field("", description="stored as a reference only: nothing is ever fetched")


class PersonaUpdate(BaseModel):
    name: Name | None = None
    job_title: Short | None = None
    company: Short | None = None
    ecosystem: Label | None = None
    vertical: Label | None = None
    background: Prose | None = None
    motivations: Prose | None = None
    concerns: Prose | None = None
    levers: Prose | None = None
    missteps: Prose | None = None
    voice: Label | None = None
    profile_text: Profile | None = None
    linkedin_url: Url | None = None


class PersonaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    slug: str
    builtin: bool
    name: str
    job_title: str
    company: str
    ecosystem: str
    vertical: str
    background: str
    motivations: str
    concerns: str
    levers: str
    missteps: str
    voice: str
    profile_text: str
    linkedin_url: str
    created_by: str | None
    created_at: UtcDatetime


class PersonalityOption(BaseModel):
    value: str
    description: str


class Personalities(BaseModel):
    settings: dict[str, list[PersonalityOption]] = Field(
        description="trait, emotional_state, communication_style, decision_making, voice_character: the options"
    )
    defaults: dict[str, str]
