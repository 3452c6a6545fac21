"""Scenario, briefing document, tag and validation schemas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from server.api.common import Line, ListItem, Name, Text, UtcDatetime
from server.workspace.personality import validate_personality
from server.workspace.scenarios import Missing, normalise_tags

ScenarioType = Literal["sales", "customer_success", "support", "custom"]
TimeLimit = Literal[5, 10, 15, 30]
Mode = Literal["voice", "text", "hybrid"]
Template = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
PersonaRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Items = Annotated[list[ListItem], Field(max_length=20)]

PERSONA_HELP = "a persona id, or a built-in persona's slug: emma, john, payal, kapil"
TIME_HELP = "minutes: 5, 10, 15 or 30"


PersonalityIn = Annotated[
    dict[str, str], AfterValidator(validate_personality), Field(description="see GET /api/v1/personalities")
]
Tags = Annotated[list[str], Field(max_length=100), AfterValidator(normalise_tags)]


class ScenarioCreate(BaseModel):
    name: Name
    type: ScenarioType = "sales"
    tuning: Text = Field("", description="tone, questions to raise, product knowledge")
    persona_id: PersonaRef | None = Field(None, description=PERSONA_HELP)
    personality: PersonalityIn = Field(default_factory=dict)
    goals: Items = Field(default_factory=list, description="visible to the learner")
    opening_line: Line = ""
    persona_speaks_first: bool = True
    objections: Items = Field(default_factory=list)
    exit_conditions: Items = Field(default_factory=list)
    time_limit_minutes: TimeLimit = Field(10, description=TIME_HELP)
    mode: Mode = "voice"
    evaluation_template: Template = ""
    evaluation_instructions: Text = ""
    participant_instructions: Text = ""
    sessions_per_week: int = Field(0, ge=0, le=50, description="expected practice sessions per week")
    tags: Tags = Field(default_factory=list)


class ScenarioUpdate(BaseModel):
    """Only the fields sent are changed; nothing is changed when any of them is invalid."""

    name: Name | None = None
    type: ScenarioType | None = None
    tuning: Text | None = None
    persona_id: PersonaRef | None = Field(None, description=PERSONA_HELP)
    personality: PersonalityIn | None = None
    goals: Items | None = None
    opening_line: Line | None = None
    persona_speaks_first: bool | None = None
    objections: Items | None = None
    exit_conditions: Items | None = None
    time_limit_minutes: TimeLimit | None = Field(None, description=TIME_HELP)
    mode: Mode | None = None
    evaluation_template: Template | None = None
    evaluation_instructions: Text | None = None
    participant_instructions: Text | None = None
    sessions_per_week: int | None = Field(None, ge=0, le=50)
    tags: Tags | None = None


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    content_type: str
    size: int
    created_at: UtcDatetime


class DocumentDetail(DocumentOut):
    text: str


class MissingOut(BaseModel):
    field: str
    message: str


class ScenarioOut(BaseModel):
    id: str
    name: str
    type: str
    status: str
    hidden: bool
    tuning: str
    persona_id: str | None
    persona_name: str | None
    personality: dict[str, Any]
    goals: list[Any]
    opening_line: str
    persona_speaks_first: bool
    objections: list[Any]
    exit_conditions: list[Any]
    time_limit_minutes: int
    mode: str
    evaluation_template: str
    evaluation_instructions: str
    participant_instructions: str
    sessions_per_week: int
    tags: list[Any]
    documents: list[DocumentOut]
    participant_count: int
    created_by: str | None
    created_by_name: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    valid: bool
    missing: list[MissingOut]


class ScenarioPage(BaseModel):
    items: list[ScenarioOut]
    total: int
    page: int
    page_size: int


class Validation(BaseModel):
    valid: bool
    missing: list[MissingOut]


class InvalidScenario(BaseModel):
    """The 422 body when a scenario cannot be used yet."""

    detail: str = Field(examples=["Scenario is not valid for test session"])
    missing: list[MissingOut]


def invalid_response(message: str, missing: Sequence[Missing]) -> JSONResponse:
    """422 with a readable `detail` and the list of what the scenario still needs."""
    body = InvalidScenario(detail=message, missing=[MissingOut(field=m.field, message=m.message) for m in missing])
    return JSONResponse(status_code=422, content=body.model_dump())


class TagsIn(BaseModel):
    tags: Tags


class TagsOut(BaseModel):
    tags: list[str]


class TagCount(BaseModel):
    tag: str
    scenarios: int
