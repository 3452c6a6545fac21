"""An attempt's evaluation as the learner and coaches see it: the AI view, coach overrides and comments,
the reviewed mark, and a retry when grading failed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.deps import DB, Admin, Member, Principal, Reader
from server.store.tables import Attempt, Evaluation, PracticeSession, Scenario, User
from server.workspace.audit import record

router = APIRouter(prefix="/api/v1", tags=["evaluation"])


class EvaluationView(BaseModel):
    attempt_id: str
    status: Literal["pending", "evaluating", "completed", "error"]
    error: str | None = None
    overall: float | None = None
    ai_overall: float | None = None
    criteria: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    coach: dict[str, Any] = {}
    can_coach: bool = False


class Override(BaseModel):
    criterion: str = Field(min_length=1, max_length=120)
    score: float = Field(ge=0, le=5)
    reason: str = Field(min_length=1, max_length=2000)


class Comment(BaseModel):
    turn: int = Field(ge=1)
    text: str = Field(min_length=1, max_length=4000)


class Coaches(BaseModel):
    user_ids: list[str] = Field(max_length=100)


def _attempt(db: Session, principal: Principal, attempt_id: str) -> tuple[Attempt, PracticeSession, Scenario]:
    attempt = db.get(Attempt, attempt_id)
    if attempt is None or attempt.workspace_id != principal.workspace_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such attempt")
    session = attempt.session
    scenario = session.scenario
    allowed = principal.at_least("admin") or principal.user_id in (session.owner_id, scenario.created_by)
    if not allowed and not is_coach(principal, scenario):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such attempt")
    return attempt, session, scenario


def is_coach(principal: Principal, scenario: Scenario) -> bool:
    if not principal.at_least("member"):
        return False
    coaches = (scenario.extra or {}).get("coaches", [])
    return principal.at_least("admin") or principal.user_id == scenario.created_by or principal.user_id in coaches


def view(db: Session, principal: Principal, attempt: Attempt, scenario: Scenario) -> EvaluationView:
    evaluation = db.scalar(select(Evaluation).where(Evaluation.attempt_id == attempt.id))
    can_coach = is_coach(principal, scenario)
    if evaluation is None:
        state = {"evaluating": "evaluating", "ended": "evaluating", "error": "error"}.get(attempt.state, "pending")
        return EvaluationView(attempt_id=attempt.id, status=state, error=attempt.error, can_coach=can_coach)
    overrides = (evaluation.coach or {}).get("overrides", {})
    criteria = []
    weighted = total = 0.0
    for item in evaluation.result.get("criteria", []):
        override = overrides.get(item.get("name"))
        shown = float(override["score"]) if override else float(item.get("score") or 0)
        top = 5.0 if item.get("kind", "scale") == "scale" else 1.0
        floor = 1.0 if top == 5.0 else 0.0
        weight = float(item.get("weight") or 1.0)
        weighted += weight * max(0.0, (shown - floor) / (top - floor))
        total += weight
        criteria.append({**item, "ai_score": item.get("score"), "score": shown, "override": override})
    overall = round(100 * weighted / total, 1) if total and overrides else evaluation.overall
    return EvaluationView(
        attempt_id=attempt.id, status="completed", overall=overall, ai_overall=evaluation.overall, criteria=criteria,
        result=evaluation.result, coach=evaluation.coach or {}, can_coach=can_coach,
    )  # fmt: skip


def _evaluation(db: Session, attempt: Attempt) -> Evaluation:
    evaluation = db.scalar(select(Evaluation).where(Evaluation.attempt_id == attempt.id))
    if evaluation is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "this attempt has no evaluation yet")
    return evaluation


def _coach(principal: Principal, scenario: Scenario) -> None:
    if not is_coach(principal, scenario):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a coach of this scenario can review its attempts")


def _name(db: Session, principal: Principal) -> str:
    user = db.get(User, principal.user_id)
    return (user.name or user.email) if user else principal.email


@router.get("/attempts/{attempt_id}/evaluation", response_model=EvaluationView)
def get_evaluation(attempt_id: str, principal: Reader, db: DB) -> EvaluationView:
    attempt, _, scenario = _attempt(db, principal, attempt_id)
    return view(db, principal, attempt, scenario)


@router.post("/attempts/{attempt_id}/evaluation/overrides", response_model=EvaluationView)
def override_score(attempt_id: str, body: Override, principal: Member, db: DB) -> EvaluationView:
    """A coach replaces one criterion's score, with a reason; the AI score stays in the record."""
    attempt, _, scenario = _attempt(db, principal, attempt_id)
    _coach(principal, scenario)
    evaluation = _evaluation(db, attempt)
    criteria = {c.get("name"): c for c in evaluation.result.get("criteria", [])}
    if body.criterion not in criteria:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"no criterion {body.criterion!r} in this evaluation")
    if criteria[body.criterion].get("kind") == "check" and body.score not in (0, 1):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "a yes/no criterion takes a score of 0 or 1")
    if criteria[body.criterion].get("kind", "scale") == "scale" and not 1 <= body.score <= 5:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "a scale criterion takes a score from 1 to 5")
    coach = dict(evaluation.coach or {})
    overrides = dict(coach.get("overrides", {}))
    previous = overrides.get(body.criterion)
    by, at = _name(db, principal), datetime.now(UTC).isoformat()
    before = previous["score"] if previous else criteria[body.criterion].get("score")
    change = {"criterion": body.criterion, "from": before, "to": body.score, "reason": body.reason, "by": by, "at": at}
    history = [*coach.get("history", []), change]
    overrides[body.criterion] = {"score": body.score, "reason": body.reason, "by": by, "at": at}
    evaluation.coach = {**coach, "overrides": overrides, "history": history}
    db.flush()
    return view(db, principal, attempt, scenario)


@router.post("/attempts/{attempt_id}/evaluation/comments", response_model=EvaluationView)
def comment(attempt_id: str, body: Comment, principal: Member, db: DB) -> EvaluationView:
    attempt, _, scenario = _attempt(db, principal, attempt_id)
    _coach(principal, scenario)
    evaluation = _evaluation(db, attempt)
    if body.turn > len(attempt.transcript):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"the transcript has {len(attempt.transcript)} turns")
    coach = dict(evaluation.coach or {})
    note = {"turn": body.turn, "text": body.text, "by": _name(db, principal), "at": datetime.now(UTC).isoformat()}
    comments = [*coach.get("comments", []), note]
    evaluation.coach = {**coach, "comments": comments}
    db.flush()
    return view(db, principal, attempt, scenario)


@router.post("/attempts/{attempt_id}/evaluation/reviewed", response_model=EvaluationView)
def mark_reviewed(attempt_id: str, principal: Member, db: DB) -> EvaluationView:
    attempt, _, scenario = _attempt(db, principal, attempt_id)
    _coach(principal, scenario)
    evaluation = _evaluation(db, attempt)
    evaluation.coach = {
        **(evaluation.coach or {}),
        "reviewed": {"by": _name(db, principal), "at": datetime.now(UTC).isoformat()},
    }
    db.flush()
    return view(db, principal, attempt, scenario)


@router.post("/attempts/{attempt_id}/evaluation/retry", response_model=EvaluationView, status_code=202)
async def retry_evaluation(attempt_id: str, principal: Member, db: DB, request: Request) -> EvaluationView:
    """Grade again an attempt whose evaluation failed."""
    attempt, session, scenario = _attempt(db, principal, attempt_id)
    if principal.user_id != session.owner_id and not is_coach(principal, scenario):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the learner or a coach can retry the evaluation")
    has_evaluation = db.scalar(select(Evaluation.id).where(Evaluation.attempt_id == attempt.id)) is not None
    if has_evaluation or attempt.state != "error":
        raise HTTPException(status.HTTP_409_CONFLICT, "only an attempt whose evaluation failed can be evaluated again")
    if not (attempt.error or "").startswith("The evaluation failed"):
        raise HTTPException(
            status.HTTP_409_CONFLICT, "this attempt failed during the call: restart the roleplay instead"
        )
    db.commit()
    await request.app.state.grading.retry(attempt.id)
    db.refresh(attempt)
    return view(db, principal, attempt, scenario)


@router.get("/scenarios/{scenario_id}/coaches", response_model=Coaches)
def get_coaches(scenario_id: str, principal: Reader, db: DB) -> Coaches:
    scenario = db.get(Scenario, scenario_id)
    if scenario is None or scenario.workspace_id != principal.workspace_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such scenario")
    return Coaches(user_ids=list((scenario.extra or {}).get("coaches", [])))


class Template(BaseModel):
    name: str
    title: str
    description: str
    criteria: list[dict[str, Any]]


@router.get("/evaluation/templates", response_model=list[Template])
def templates(principal: Reader) -> list[Template]:
    """The rubric templates a scenario can pick (shipped as data files with the grader)."""
    from grader import load_template, template_names

    result = []
    for name in template_names():
        rubric = load_template(name)
        data = rubric.to_dict()
        criteria = [{"name": c.get("name"), "title": c.get("title", c.get("name")), "kind": c.get("kind"),
                     "weight": c.get("weight")} for c in data.get("criteria", [])]  # fmt: skip
        result.append(Template(name=name, title=str(data.get("title") or name.replace("_", " ").capitalize()),
                               description=str(data.get("description", "")), criteria=criteria))  # fmt: skip
    return result


@router.put("/scenarios/{scenario_id}/coaches", response_model=Coaches)
def set_coaches(scenario_id: str, body: Coaches, principal: Admin, db: DB) -> Coaches:
    """Admins name the members who coach a scenario's attempts (override scores, comment, mark reviewed)."""
    scenario = db.get(Scenario, scenario_id)
    if scenario is None or scenario.workspace_id != principal.workspace_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such scenario")
    ids = list(dict.fromkeys(body.user_ids))
    for user_id in ids:
        user = db.get(User, user_id)
        if user is None or user.workspace_id != principal.workspace_id or not user.active or user.role == "read_only":
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY, f"{user_id} is not an active member of this workspace"
            )
    scenario.extra = {**(scenario.extra or {}), "coaches": ids}
    record(db, principal.workspace_id, principal.user_id, "scenario.coaches", scenario.id, coaches=ids)
    return Coaches(user_ids=ids)
