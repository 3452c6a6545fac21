"""The workspace report: sessions and attempts per scenario, person and week, completion and overdue rates,
average scores per criterion (a coach's override wins over the grader's score), and trends.

Test sessions (a scenario author's own test runs) are left out. Sessions count in the period they were created
in; attempts and scores in the period they were made in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.store.tables import Attempt, Evaluation, PracticeSession, Scenario, User
from server.workspace.attempts import session_status


class Rates(BaseModel):
    sessions: int = 0
    attempts: int = 0
    completed_sessions: int = 0
    overdue_sessions: int = 0
    completion_rate: float | None = None
    overdue_rate: float | None = None
    evaluated_attempts: int = 0
    average_score: float | None = None


class ScenarioStats(Rates):
    scenario_id: str
    name: str
    type: str


class PersonStats(Rates):
    user_id: str
    name: str
    email: str


class WeekStats(BaseModel):
    week: date  # the Monday
    sessions: int = 0
    attempts: int = 0
    evaluated_attempts: int = 0
    average_score: float | None = None


class CriterionStats(BaseModel):
    name: str
    kind: str = "scale"  # scale: 1-5; check: passed (1) or not (0), so the average is the pass rate
    max_score: float = 5
    average: float
    count: int


class ScorePoint(BaseModel):
    attempt_id: str
    at: datetime
    overall: float


class LearnerProgress(BaseModel):
    user_id: str
    name: str
    scores: list[ScorePoint]
    change: float | None  # last score minus first


class Trends(BaseModel):
    """Second half of the period against the first half."""

    attempts_change: int
    average_score_change: float | None


class Report(BaseModel):
    since: datetime
    until: datetime
    totals: Rates
    by_scenario: list[ScenarioStats]
    by_person: list[PersonStats]
    by_week: list[WeekStats]
    criteria: list[CriterionStats]
    progress: list[LearnerProgress]
    trends: Trends


def criterion_scores(evaluation: Evaluation) -> dict[str, float]:
    """Score per criterion name: the grader's, replaced by the coach's override where there is one."""
    scores: dict[str, float] = {}
    criteria = (evaluation.result or {}).get("criteria") or []
    for item in criteria if isinstance(criteria, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and _number(item.get("score")) is not None:
            scores[item["name"]] = _number(item.get("score"))  # type: ignore[assignment]
    overrides = (evaluation.coach or {}).get("overrides") or {}
    for name, override in overrides.items() if isinstance(overrides, dict) else []:
        value = _number(override.get("score")) if isinstance(override, dict) else None
        if value is not None:
            scores[str(name)] = value
    return scores


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _monday(value: datetime) -> date:
    day = _utc(value).date()
    return day - timedelta(days=day.weekday())


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(fmean(values), 3) if values else None


@dataclass
class _Bucket:
    sessions: list[PracticeSession] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)

    def rates(self, scores: dict[str, float], now: datetime) -> dict[str, Any]:
        statuses = [session_status(s, now) for s in self.sessions]
        completed, overdue, total = statuses.count("completed"), statuses.count("overdue"), len(statuses)
        evaluated = [scores[a.id] for a in self.attempts if a.id in scores]
        return {
            "sessions": total,
            "attempts": len(self.attempts),
            "completed_sessions": completed,
            "overdue_sessions": overdue,
            "completion_rate": round(completed / total, 3) if total else None,
            "overdue_rate": round(overdue / total, 3) if total else None,
            "evaluated_attempts": len(evaluated),
            "average_score": _mean(evaluated),
        }


def build_report(
    db: Session, workspace_id: str, *, weeks: int = 12, scenario_id: str | None = None, now: datetime | None = None
) -> Report:
    now = _utc(now or datetime.now(UTC))
    since = datetime.combine(_monday(now) - timedelta(weeks=weeks - 1), datetime.min.time(), UTC)
    query = select(PracticeSession).where(PracticeSession.workspace_id == workspace_id, PracticeSession.kind != "test")
    if scenario_id:
        query = query.where(PracticeSession.scenario_id == scenario_id)
    all_sessions = db.scalars(query).unique().all()
    sessions = [s for s in all_sessions if _utc(s.created_at) >= since]
    attempts = [a for s in all_sessions for a in s.attempts if _utc(a.created_at) >= since]
    evaluations = (
        {
            e.attempt_id: e
            for e in db.scalars(select(Evaluation).where(Evaluation.attempt_id.in_([a.id for a in attempts])))
        }
        if attempts
        else {}
    )
    overall = {k: float(e.overall) for k, e in evaluations.items() if e.overall is not None}

    total = _Bucket()
    by_scenario: defaultdict[str, _Bucket] = defaultdict(_Bucket)
    by_person: defaultdict[str, _Bucket] = defaultdict(_Bucket)
    owner_of = {s.id: s.owner_id for s in all_sessions}
    scenario_of = {s.id: s.scenario_id for s in all_sessions}
    for s in sessions:
        total.sessions.append(s)
        by_scenario[s.scenario_id].sessions.append(s)
        by_person[s.owner_id].sessions.append(s)
    for a in attempts:
        total.attempts.append(a)
        by_scenario[scenario_of[a.session_id]].attempts.append(a)
        by_person[owner_of[a.session_id]].attempts.append(a)

    scenarios = {s.id: s for s in db.scalars(select(Scenario).where(Scenario.id.in_(list(by_scenario))))}
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(list(by_person))))}
    scenario_stats = [
        ScenarioStats(scenario_id=sid, name=scenarios[sid].name, type=scenarios[sid].type, **b.rates(overall, now))
        for sid, b in by_scenario.items()
        if sid in scenarios
    ]
    person_stats = [
        PersonStats(
            user_id=uid, name=users[uid].name or users[uid].email, email=users[uid].email, **b.rates(overall, now)
        )
        for uid, b in by_person.items()
        if uid in users
    ]
    scenario_stats.sort(key=lambda r: (-r.attempts, r.name.lower()))
    person_stats.sort(key=lambda r: (-r.attempts, r.name.lower()))
    by_week = _weeks(since, now, sessions, attempts, overall)
    return Report(
        since=since,
        until=now,
        totals=Rates(**total.rates(overall, now)),
        by_scenario=scenario_stats,
        by_person=person_stats,
        by_week=by_week,
        criteria=_criteria(evaluations.values()),
        progress=_progress(attempts, overall, owner_of, users),
        trends=_trends(by_week),
    )


def _weeks(
    since: datetime, now: datetime, sessions: list[PracticeSession], attempts: list[Attempt], overall: dict[str, float]
) -> list[WeekStats]:
    weeks: dict[date, WeekStats] = {}
    monday = since.date()
    while monday <= now.date():
        weeks[monday] = WeekStats(week=monday)
        monday += timedelta(weeks=1)
    scores: dict[date, list[float]] = defaultdict(list)
    for s in sessions:
        if _monday(s.created_at) in weeks:
            weeks[_monday(s.created_at)].sessions += 1
    for a in attempts:
        week = weeks.get(_monday(a.created_at))
        if week is None:  # made after `now` (a report for an earlier date)
            continue
        week.attempts += 1
        if a.id in overall:
            week.evaluated_attempts += 1
            scores[week.week].append(overall[a.id])
    for week in weeks.values():
        week.average_score = _mean(scores[week.week])
    return list(weeks.values())


def _criteria(evaluations: Iterable[Evaluation]) -> list[CriterionStats]:
    values: dict[str, list[float]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for evaluation in evaluations:
        for item in (evaluation.result or {}).get("criteria") or []:
            if isinstance(item, dict) and item.get("kind") in ("scale", "check"):
                kinds.setdefault(str(item.get("name")), item["kind"])
        for name, score in criterion_scores(evaluation).items():
            values[name].append(score)
    return [
        CriterionStats(
            name=name,
            kind=kinds.get(name, "scale"),
            max_score=1 if kinds.get(name) == "check" else 5,
            average=round(fmean(scores), 3),
            count=len(scores),
        )
        for name, scores in sorted(values.items())
    ]


def _progress(
    attempts: list[Attempt], overall: dict[str, float], owner_of: dict[str, str], users: dict[str, User]
) -> list[LearnerProgress]:
    points: dict[str, list[ScorePoint]] = defaultdict(list)
    for a in sorted(attempts, key=lambda a: _utc(a.created_at)):
        if a.id in overall:
            points[owner_of[a.session_id]].append(
                ScorePoint(attempt_id=a.id, at=_utc(a.created_at), overall=overall[a.id])
            )
    return [
        LearnerProgress(
            user_id=uid,
            name=users[uid].name or users[uid].email if uid in users else "",
            scores=scores,
            change=round(scores[-1].overall - scores[0].overall, 3) if len(scores) > 1 else None,
        )
        for uid, scores in points.items()
    ]


def _trends(weeks: list[WeekStats]) -> Trends:
    half = len(weeks) // 2
    first, second = weeks[:half], weeks[half:]

    def average(part: list[WeekStats]) -> float | None:
        n = sum(w.evaluated_attempts for w in part)
        return sum((w.average_score or 0) * w.evaluated_attempts for w in part) / n if n else None

    before, after = average(first), average(second)
    return Trends(
        attempts_change=sum(w.attempts for w in second) - sum(w.attempts for w in first),
        average_score_change=round(after - before, 3) if before is not None and after is not None else None,
    )
