"""Practice session and attempt schemas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from server.api.common import Line, Name, Text, UtcDatetime
from server.api.schemas.scenarios import (
    TIME_HELP,
    DocumentOut,
    Items,
    PersonalityIn,
    PersonaRef,
    ScenarioType,
    Template,
    TimeLimit,
)
from server.api.schemas.scenarios import Mode as ScenarioMode

SessionStatus = Literal["to_do", "completed", "overdue"]
AttemptMode = Literal["voice", "text"]


class InlineDetails(BaseModel):
    """Step 1, details: what the call is about."""

    scenario_type: ScenarioType = "sales"
    tuning: Text = Field("", description="tone, questions to raise, product knowledge")
    goals: Items = Field(default_factory=list)
    opening_line: Line = ""
    objections: Items = Field(default_factory=list)
    exit_conditions: Items = Field(default_factory=list)
    time_limit_minutes: TimeLimit = Field(10, description=TIME_HELP)
    mode: ScenarioMode = "voice"


class InlinePersona(BaseModel):
    """Step 2, persona mapping: which persona (picked by ecosystem and vertical in the UI), grounded by
    optional pasted profile text."""

    persona_id: PersonaRef
    profile_text: Text = ""


class InlineEvaluation(BaseModel):
    """Step 4, evaluation instructions (the rubric)."""

    template: Template = ""
    instructions: Text = ""


class InlineConfig(BaseModel):
    details: InlineDetails = Field(default_factory=InlineDetails)
    persona: InlinePersona
    personality: PersonalityIn = Field(default_factory=dict)
    evaluation: InlineEvaluation = Field(default_factory=InlineEvaluation)


class SessionCreate(BaseModel):
    """From a scenario (`scenario_id`) or configured inline (`config`: the four steps); exactly one of them."""

    name: Name
    scenario_id: str | None = Field(None, max_length=32)
    config: InlineConfig | None = None
    deadline: UtcDatetime | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SessionCreate:
        if (self.scenario_id is None) == (self.config is None):
            raise ValueError("give either scenario_id or an inline config, not both or neither")
        return self


class SessionUpdate(BaseModel):
    name: Name | None = None
    deadline: UtcDatetime | None = None


class SessionOut(BaseModel):
    id: str
    name: str
    kind: str
    active: bool
    status: SessionStatus
    attempts: int
    deadline: UtcDatetime | None
    scenario_id: str
    scenario_name: str
    scenario_type: str
    persona_id: str | None
    persona_name: str
    contact_id: str | None
    owner_id: str
    owner_name: str
    created_by: str | None
    created_by_name: str
    created_at: UtcDatetime
    time_limit_minutes: int
    mode: str


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int
    page: int
    page_size: int


class BriefingPersona(BaseModel):
    name: str
    job_title: str
    company: str


class Briefing(BaseModel):
    """What the learner reads before and beside the call (never the rubric)."""

    goals: list[Any]
    participant_instructions: str
    time_limit_minutes: int
    mode: str
    persona: BriefingPersona | None
    documents: list[DocumentOut]


class EvaluationOut(BaseModel):
    overall: float | None
    result: dict[str, Any]
    coach: dict[str, Any]
    created_at: UtcDatetime


class AttemptOut(BaseModel):
    id: str
    session_id: str
    number: int
    state: str
    mode: str
    started_at: UtcDatetime | None
    ended_at: UtcDatetime | None
    end_reason: str | None
    error: str | None
    interactions: int
    overall: float | None
    has_recording: bool
    created_at: UtcDatetime


class AttemptDetail(AttemptOut):
    transcript: list[Any]
    evaluation: EvaluationOut | None


class SessionDetail(SessionOut):
    attempt_list: list[AttemptOut]
    briefing: Briefing


class AttemptStart(BaseModel):
    mode: AttemptMode | None = Field(None, description="for hybrid scenarios: voice or text for this attempt")
