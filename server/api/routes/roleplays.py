"""The roleplay service API for programs (LMS, coach agents, HR systems): configure, approve, review,
leaderboard, assignments and bulk results. The contract is fixed: existing clients depend on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.access import can_follow_session
from server.api.deps import DB, Member, Principal, Reader
from server.store.tables import Evaluation, Participant, Persona, PracticeSession, Scenario, User
from server.workspace.briefs import ShapedScenario, shape
from server.workspace.participants import assign, unassign
from server.workspace.sessions import create_session

router = APIRouter(prefix="/api/v1/roleplays", tags=["roleplays"])

PERSONA_IDS = ("payal", "emma", "john", "kapil")
DURATIONS = (5, 15, 30)
RoleplayType = Literal["sales", "customer_success", "support", "custom"]
PRACTICE_MODES = ("voice", "text", "hybrid")  # metadata.practice_mode: how the learner may answer


class ConfigureRequest(BaseModel):
    user_id: str = Field(min_length=1, max_length=200, description="the learner's id in the calling program")
    org_id: str = Field(default="growqr", max_length=200)
    persona_id: str = Field(default="emma", description="one of payal, emma, john, kapil")
    duration_minutes: int = Field(description="5, 15 or 30")
    roleplay_type: RoleplayType = "sales"
    brief: dict[str, Any] = Field(default_factory=dict, description="goal, counterpart, stakes, likely_objections, ...")
    metadata: dict[str, Any] = Field(default_factory=dict)
    qscore: dict[str, Any] | None = None

    @field_validator("persona_id")
    @classmethod
    def _persona(cls, value: str) -> str:
        if value not in PERSONA_IDS:
            raise ValueError(f"unknown persona_id {value!r}; allowed: {', '.join(PERSONA_IDS)}")
        return value

    @field_validator("duration_minutes")
    @classmethod
    def _duration(cls, value: int) -> int:
        if value not in DURATIONS:
            raise ValueError(f"duration_minutes must be one of {', '.join(map(str, DURATIONS))} (got {value})")
        return value

    @field_validator("qscore")
    @classmethod
    def _qscore(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        score = value.get("q_score")
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise ValueError("qscore must contain a numeric q_score")
        return value

    @field_validator("metadata")
    @classmethod
    def _practice_mode(cls, value: dict[str, Any]) -> dict[str, Any]:
        mode = value.get("practice_mode", "voice")
        if mode not in PRACTICE_MODES:
            raise ValueError(f"metadata.practice_mode must be one of {', '.join(PRACTICE_MODES)} (got {mode!r})")
        return value


class ConfiguredSession(BaseModel):
    session_id: str
    scenario_id: str
    status: Literal["draft", "active"]
    needs_approval: bool
    opening_prompt: str
    prompt_outline: list[str]
    scenario: dict[str, Any]
    candidate_brief: str
    qscore_context: dict[str, Any] | None = None
    session_url: str | None = None
    websocket_url: str | None = None
    webrtc_offer_url: str | None = None


class QuestionsRequest(BaseModel):
    session_id: str
    prompt_outline: list[Annotated[str, Field(min_length=1, max_length=500)]] | None = Field(None, max_length=12)
    opening_prompt: str | None = Field(None, min_length=1, max_length=1000)


class ApproveRequest(BaseModel):
    session_id: str


def _learner(db: Session, principal: Principal, external_id: str, email: str | None = None) -> User:
    """The workspace user a program's user_id stands for, created on first use (no password)."""
    query = select(User).where(User.workspace_id == principal.workspace_id, User.external_id == external_id)
    user = db.scalar(query)
    if user is None and email:
        found = db.scalar(select(User).where(User.workspace_id == principal.workspace_id, User.email == email.lower()))
        # Link only a learner's own account: a program's user id must never take over an admin.
        if found is not None and found.role != "admin" and found.external_id in (None, external_id):
            user = found
    if user is None:
        address = (email or f"{external_id}@program.local").lower()[:254]
        if db.scalar(select(User.id).where(User.workspace_id == principal.workspace_id, User.email == address)):
            address = f"{external_id}@program.local".lower()[:254]
        user = User(workspace_id=principal.workspace_id, email=address, name=external_id[:200], role="member")
        db.add(user)
    user.external_id = user.external_id or external_id
    db.flush()
    return user


def _scenario_view(scenario: Scenario, persona: Persona) -> dict[str, Any]:
    return {
        "id": scenario.id,
        "name": scenario.name,
        "type": scenario.type,
        "persona": {
            "id": persona.slug,
            "name": persona.name,
            "job_title": persona.job_title,
            "company": persona.company,
        },
        "personality": scenario.personality,
        "goals": scenario.goals,
        "objections": scenario.objections,
        "time_limit_minutes": scenario.time_limit_minutes,
        "evaluation_template": scenario.evaluation_template,
        "brief": scenario.brief,
        "metadata": scenario.extra.get("metadata", {}),
        "org_id": scenario.extra.get("org_id"),
        "conversation_kind": scenario.extra.get("kind"),
    }


def _create(
    db: Session, principal: Principal, body: ConfigureRequest, *, active: bool
) -> tuple[PracticeSession, ShapedScenario]:
    library = db.scalar(select(Persona).where(Persona.slug == body.persona_id, Persona.builtin.is_(True)))
    if library is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"persona {body.persona_id!r} is not installed")
    shaped = shape(
        roleplay_type=body.roleplay_type, brief=body.brief, metadata=body.metadata, qscore=body.qscore,
        persona_name=library.name, duration_minutes=body.duration_minutes,
    )  # fmt: skip
    # The library persona keeps its name, voice and temperament; the brief gives its role here.
    persona = Persona(
        workspace_id=principal.workspace_id, slug=library.slug, builtin=False, hidden=True, name=library.name,
        job_title=shaped.counterpart_title, company=shaped.company or library.company, voice=library.voice,
        ecosystem=library.ecosystem, vertical=library.vertical,
        background=shaped.counterpart if shaped.counterpart else library.background,
        motivations=library.motivations if shaped.kind == "discovery" else "",
        concerns="; ".join(shaped.objections) or library.concerns, levers=library.levers, missteps=library.missteps,
        created_by=principal.user_id,
    )  # fmt: skip
    db.add(persona)
    db.flush()
    scenario = Scenario(
        workspace_id=principal.workspace_id, name=shaped.name, type=shaped.scenario_type,
        status="active" if active else "draft", tuning=shaped.tuning, persona_id=persona.id,
        personality=shaped.personality, goals=shaped.goals, opening_line=shaped.opening_prompt,
        objections=shaped.objections, exit_conditions=shaped.exit_conditions, prompt_outline=shaped.outline,
        candidate_brief=shaped.candidate_brief, brief=body.brief, time_limit_minutes=body.duration_minutes,
        evaluation_template=shaped.evaluation_template, created_by=principal.user_id, hidden=True,
        mode=body.metadata.get("practice_mode", "voice"),
        extra={"metadata": body.metadata, "org_id": body.org_id, "kind": shaped.kind, "source": "roleplay_api",
               "learner_role": shaped.learner_role, "qscore": body.qscore, "qscore_context": shaped.qscore_context},
    )  # fmt: skip
    db.add(scenario)
    db.flush()
    learner = _learner(db, principal, body.user_id, body.metadata.get("email"))
    session = create_session(db, scenario, owner_id=learner.id, created_by=principal.user_id, name=shaped.name)
    session.active = active
    return session, shaped


def _configured(request: Request, session: PracticeSession) -> ConfiguredSession:
    scenario = session.scenario
    assert scenario.persona is not None
    active = session.active
    base = str(request.base_url).rstrip("/")
    live = f"/api/v1/roleplays/session/{session.id}"
    return ConfiguredSession(
        session_id=session.id,
        scenario_id=scenario.id,
        status="active" if active else "draft",
        needs_approval=not active,
        opening_prompt=scenario.opening_line,
        prompt_outline=[str(b) for b in scenario.prompt_outline],
        scenario=_scenario_view(scenario, scenario.persona),
        candidate_brief=scenario.candidate_brief,
        qscore_context=scenario.extra.get("qscore_context"),
        session_url=f"{base}/call/{session.id}" if active else None,
        websocket_url=base.replace("http", "ws", 1) + live if active else None,
        webrtc_offer_url=f"{base}{live}/offer" if active else None,
    )


def _draft(db: Session, principal: Principal, session_id: str) -> PracticeSession:
    """A session this caller configured (or any, for an admin)."""
    session = db.get(PracticeSession, session_id)
    if session is None or session.workspace_id != principal.workspace_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such roleplay session")
    if session.created_by != principal.user_id and not principal.at_least("admin"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such roleplay session")
    return session


@router.post("/configure/preview", response_model=ConfiguredSession, status_code=201)
def configure_preview(body: ConfigureRequest, principal: Member, db: DB, request: Request) -> ConfiguredSession:
    """A draft scenario and session for review; not startable until approved."""
    session, _ = _create(db, principal, body, active=False)
    return _configured(request, session)


@router.post("/configure/questions", response_model=ConfiguredSession)
def configure_questions(body: QuestionsRequest, principal: Member, db: DB, request: Request) -> ConfiguredSession:
    """Edit a draft's outline or opening before approval."""
    session = _draft(db, principal, body.session_id)
    if session.active:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "this session is already approved; its questions can no longer change"
        )
    if body.prompt_outline is None and body.opening_prompt is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "give prompt_outline, opening_prompt or both")
    if body.prompt_outline is not None:
        session.scenario.prompt_outline = list(body.prompt_outline)
    if body.opening_prompt is not None:
        session.scenario.opening_line = body.opening_prompt
    db.flush()
    return _configured(request, session)


@router.post("/configure/approve", response_model=ConfiguredSession)
def configure_approve(body: ApproveRequest, principal: Member, db: DB, request: Request) -> ConfiguredSession:
    """Approve a draft: its session becomes ready for a live call."""
    session = _draft(db, principal, body.session_id)
    if session.active:
        raise HTTPException(status.HTTP_409_CONFLICT, "this session is already approved")
    session.active = True
    session.scenario.status = "active"
    db.flush()
    return _configured(request, session)


@router.post("/configure", response_model=ConfiguredSession, status_code=201)
def configure(body: ConfigureRequest, principal: Member, db: DB, request: Request) -> ConfiguredSession:
    """Create and activate a session at once."""
    session, _ = _create(db, principal, body, active=True)
    return _configured(request, session)


# ------------------------------------------------------------------ reviews and leaderboard


class CriterionScore(BaseModel):
    name: str
    title: str = ""
    score: float | None
    ai_score: float | None = None
    max_score: float = 5
    rationale: str = ""
    evidence: list[dict[str, Any]] = []
    overridden: bool = False


class Review(BaseModel):
    session_id: str
    attempt_id: str | None
    status: Literal["pending", "evaluating", "completed", "error"]
    overall_score: float | None = None
    scores: list[CriterionScore] = []
    feedback: dict[str, Any] = {}
    recommendations: list[str] = []
    analytics: dict[str, Any] = {}
    error: str | None = None


def review_of(db: Session, session: PracticeSession) -> Review:
    attempts = [a for a in session.attempts if a.started_at is not None or a.state != "initializing"]
    if not attempts:
        return Review(session_id=session.id, attempt_id=None, status="pending")
    attempt = attempts[-1]
    if attempt.state == "error":
        return Review(session_id=session.id, attempt_id=attempt.id, status="error", error=attempt.error)
    evaluation = db.scalar(select(Evaluation).where(Evaluation.attempt_id == attempt.id))
    if evaluation is None or attempt.state != "completed":
        state = "evaluating" if attempt.state in ("ended", "evaluating") else "pending"
        return Review(session_id=session.id, attempt_id=attempt.id, status=state)
    result = evaluation.result or {}
    overrides = (evaluation.coach or {}).get("overrides", {})
    scores = []
    for criterion in result.get("criteria", []):
        override = overrides.get(criterion.get("name"), {})
        scores.append(
            CriterionScore(
                name=criterion.get("name", ""), title=criterion.get("title", ""),
                score=override.get("score", criterion.get("score")), ai_score=criterion.get("score"),
                max_score=5 if criterion.get("kind", "scale") == "scale" else 1,
                rationale=criterion.get("rationale", ""), evidence=criterion.get("evidence", []),
                overridden="score" in override,
            )
        )  # fmt: skip
    debrief = result.get("debrief", {})
    recommendations = [s.get("text", "") for s in debrief.get("suggestions", []) if s.get("text")]
    return Review(
        session_id=session.id, attempt_id=attempt.id, status="completed", overall_score=evaluation.overall,
        scores=scores, feedback={k: debrief.get(k, []) for k in ("what_worked", "what_was_missing", "key_moments")},
        recommendations=recommendations, analytics=result.get("analytics", {}),
    )  # fmt: skip


@router.get("/review/{session_id}", response_model=Review)
def review(session_id: str, principal: Reader, db: DB) -> Review:
    """Scores per criterion, overall score, feedback and recommendations of the session's latest attempt."""
    session = db.get(PracticeSession, session_id)
    if session is None or session.workspace_id != principal.workspace_id or not can_follow_session(session, principal):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such roleplay session")
    return review_of(db, session)


class LeaderboardEntry(BaseModel):
    rank: int
    session_id: str
    attempt_id: str
    user_id: str
    user: str
    scenario_id: str
    scenario: str
    roleplay_type: str
    overall_score: float
    completed_at: datetime


PERIODS = {"week": 7, "month": 30, "quarter": 91, "year": 365}


@router.get("/leaderboard", response_model=list[LeaderboardEntry])
def leaderboard(
    principal: Reader,
    db: DB,
    scenario_id: str | None = None,
    roleplay_type: RoleplayType | None = None,
    period: Literal["week", "month", "quarter", "year", "all"] = "all",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[LeaderboardEntry]:
    """Top completed reviews, best first."""
    from server.store.tables import Attempt

    query = (
        select(Evaluation, Attempt, PracticeSession, Scenario, User)
        .join(Attempt, Attempt.id == Evaluation.attempt_id)
        .join(PracticeSession, PracticeSession.id == Attempt.session_id)
        .join(Scenario, Scenario.id == PracticeSession.scenario_id)
        .join(User, User.id == PracticeSession.owner_id)
        .where(
            Evaluation.workspace_id == principal.workspace_id,
            Attempt.state == "completed",
            Evaluation.overall.is_not(None),
        )
    )
    if scenario_id:
        query = query.where(Scenario.id == scenario_id)
    if roleplay_type:
        query = query.where(Scenario.type == roleplay_type)
    if period != "all":
        query = query.where(Evaluation.created_at >= datetime.now(UTC) - timedelta(days=PERIODS[period]))
    rows = db.execute(query.order_by(Evaluation.overall.desc(), Evaluation.created_at).limit(limit)).all()
    return [
        LeaderboardEntry(
            rank=i + 1, session_id=s.id, attempt_id=a.id, user_id=u.external_id or u.id, user=u.name or u.email,
            scenario_id=sc.id, scenario=sc.name, roleplay_type=sc.type, overall_score=float(e.overall or 0),
            completed_at=e.created_at if e.created_at.tzinfo else e.created_at.replace(tzinfo=UTC),
        )
        for i, (e, a, s, sc, u) in enumerate(rows)
    ]  # fmt: skip


# ------------------------------------------------------------------ assignments


class AssignRequest(BaseModel):
    emails: list[Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(
        min_length=1, max_length=500
    )
    scenario_id: str | None = None
    configure: ConfigureRequest | None = Field(None, description="instead of scenario_id: a configure payload")
    deadline: datetime | None = None
    expected_frequency: int | None = Field(None, ge=0, le=50, description="sessions per week")


class Assignment(BaseModel):
    assignment_id: str
    email: str
    user_id: str
    scenario_id: str
    session_id: str | None
    status: Literal["to_do", "completed", "overdue", "unassigned"]
    deadline: datetime | None
    expected_frequency: int
    attempts: int
    assigned_at: datetime
    unassigned_at: datetime | None


class UnassignRequest(BaseModel):
    assignment_ids: list[str] = Field(min_length=1, max_length=500)


class BulkResultsRequest(BaseModel):
    assignment_ids: list[str] = Field(min_length=1, max_length=500)


class AssignmentResult(BaseModel):
    assignment: Assignment
    review: Review | None


def _assignment(db: Session, participant: Participant) -> Assignment:
    from server.workspace.attempts import session_status

    session = db.get(PracticeSession, participant.session_id) if participant.session_id else None
    state = "unassigned" if participant.removed_at else session_status(session) if session else "to_do"
    user = db.get(User, participant.user_id)
    started = [a for a in session.attempts if a.started_at] if session else []
    return Assignment(
        assignment_id=participant.id, email=participant.email or (user.email if user else ""),
        user_id=(user.external_id or user.id) if user else participant.user_id, scenario_id=participant.scenario_id,
        session_id=participant.session_id, status=state, deadline=participant.deadline,
        expected_frequency=participant.frequency, attempts=len(started), assigned_at=participant.invited_at,
        unassigned_at=participant.removed_at,
    )  # fmt: skip


@router.post("/assignments", response_model=list[Assignment], status_code=201)
def create_assignments(body: AssignRequest, principal: Member, db: DB) -> list[Assignment]:
    """Assign a scenario (or a configure payload) to people by email, with an optional deadline."""
    if (body.scenario_id is None) == (body.configure is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "give exactly one of scenario_id or configure")
    if body.scenario_id is not None:
        scenario = db.get(Scenario, body.scenario_id)
        if scenario is None or scenario.workspace_id != principal.workspace_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such scenario")
    else:
        assert body.configure is not None
        session, _ = _create(db, principal, body.configure, active=True)
        scenario = session.scenario
        db.delete(session)  # the template run itself is not anyone's assignment
        db.flush()
    users = []
    for email in dict.fromkeys(e.strip().lower() for e in body.emails):
        user = db.scalar(select(User).where(User.workspace_id == principal.workspace_id, User.email == email))
        if user is None:
            user = User(workspace_id=principal.workspace_id, email=email, name=email.split("@", 1)[0], role="member")
            db.add(user)
            db.flush()
        users.append(user)
    deadline = body.deadline.astimezone(UTC) if body.deadline and body.deadline.tzinfo else body.deadline
    participants = assign(
        db, scenario, users, assigned_by=principal.user_id, deadline=deadline, frequency=body.expected_frequency
    )
    return [_assignment(db, p) for p in participants]


@router.get("/assignments", response_model=list[Assignment])
def list_assignments(
    principal: Reader,
    db: DB,
    email: str | None = None,
    status_filter: Annotated[
        Literal["to_do", "completed", "overdue", "unassigned"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[Assignment]:
    query = select(Participant).where(Participant.workspace_id == principal.workspace_id)
    if email:
        query = query.where(Participant.email == email.strip().lower())
    if not principal.at_least("member"):
        query = query.where(Participant.user_id == principal.user_id)
    rows = [_assignment(db, p) for p in db.scalars(query.order_by(Participant.invited_at.desc()))]
    if status_filter:
        rows = [r for r in rows if r.status == status_filter]
    return rows[:limit]


@router.post("/assignments/unassign", response_model=list[Assignment])
def unassign_assignments(body: UnassignRequest, principal: Member, db: DB) -> list[Assignment]:
    """Soft-unassign: the history (session, attempts, reviews) is kept."""
    result = []
    for participant_id in dict.fromkeys(body.assignment_ids):
        participant = db.get(Participant, participant_id)
        if participant is None or participant.workspace_id != principal.workspace_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such assignment: {participant_id}")
        unassign(participant)
        result.append(_assignment(db, participant))
    db.flush()
    return result


@router.post("/results:bulk", response_model=list[AssignmentResult])
def bulk_results(body: BulkResultsRequest, principal: Reader, db: DB) -> list[AssignmentResult]:
    """The results of many assignments in one call (unknown ids: 404 naming them)."""
    participants = []
    missing = []
    for participant_id in dict.fromkeys(body.assignment_ids):
        participant = db.get(Participant, participant_id)
        mine = participant is not None and (principal.at_least("member") or participant.user_id == principal.user_id)
        if participant is None or participant.workspace_id != principal.workspace_id or not mine:
            missing.append(participant_id)
        else:
            participants.append(participant)
    if missing:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such assignments: {', '.join(missing)}")
    results = []
    for participant in participants:
        session = db.get(PracticeSession, participant.session_id) if participant.session_id else None
        results.append(
            AssignmentResult(
                assignment=_assignment(db, participant), review=review_of(db, session) if session else None
            )
        )
    return results
