"""The workspace report: counts per scenario, person and week, completion and overdue rates, average scores
per criterion with coach overrides winning, learner progress and trends; test sessions left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.store.tables import Attempt, Evaluation
from server.workspace.report import criterion_scores
from tests.server.conftest import Actor, World, scenario_body


def graded(
    world: World, actor: Actor, session_id: str, overall: float, criteria: dict[str, float], **coach: Any
) -> str:
    attempt = actor.ok("POST", f"/api/v1/sessions/{session_id}/attempts")
    world.h.set(Attempt, attempt["id"], state="completed", started_at=datetime.now(UTC))
    kind = {"Booked": "check"}  # a yes/no criterion: score 1 passed, 0 not
    result = {"criteria": [{"name": n, "score": v, "kind": kind.get(n, "scale")} for n, v in criteria.items()]}
    world.h.add(Evaluation(attempt_id=attempt["id"], workspace_id=actor.workspace_id, overall=overall, result=result,
                           coach=coach))  # fmt: skip
    return str(attempt["id"])


def test_report_counts_rates_and_scores(world: World) -> None:
    renewal = world.author.ok("POST", "/api/v1/scenarios", json=scenario_body(name="Renewal"))
    pricing = world.author.ok("POST", "/api/v1/scenarios", json=scenario_body(name="Pricing"))
    past = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    invited = world.author.ok(
        "POST", f"/api/v1/scenarios/{renewal['id']}/participants",
        json={"emails": ["mo@acme.com", "rita@acme.com"], "deadline": past},
    )  # fmt: skip
    mo_session = next(p["session_id"] for p in invited if p["email"] == "mo@acme.com")
    graded(world, world.member, mo_session, 60, {"Empathy": 2, "Plan": 3, "Booked": 1})
    graded(
        world, world.member, mo_session, 80, {"Empathy": 4, "Plan": 4, "Booked": 0}, overrides={"Plan": {"score": 5}}
    )
    own = world.author.ok("POST", "/api/v1/sessions", json={"name": "Own", "scenario_id": pricing["id"]})
    graded(world, world.author, own["id"], 90, {"Empathy": 3})
    world.author.ok("POST", f"/api/v1/scenarios/{pricing['id']}/test-session")  # not counted

    report = world.member.ok("GET", "/api/v1/report")
    totals = report["totals"]
    assert (totals["sessions"], totals["attempts"], totals["evaluated_attempts"]) == (3, 3, 3)
    assert totals["completed_sessions"] == 2 and totals["overdue_sessions"] == 1  # rita never started
    assert totals["completion_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert totals["overdue_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert totals["average_score"] == pytest.approx(230 / 3, abs=1e-3)
    scenarios = {s["name"]: s for s in report["by_scenario"]}
    assert scenarios["Renewal"]["sessions"] == 2 and scenarios["Renewal"]["attempts"] == 2
    assert scenarios["Renewal"]["average_score"] == 70 and scenarios["Renewal"]["overdue_rate"] == 0.5
    assert scenarios["Pricing"]["sessions"] == 1 and scenarios["Pricing"]["completion_rate"] == 1
    people = {p["email"]: p for p in report["by_person"]}
    assert people["mo@acme.com"]["attempts"] == 2 and people["rita@acme.com"]["overdue_sessions"] == 1
    assert people["alex@acme.com"]["average_score"] == 90
    criteria = {c["name"]: (c["average"], c["count"], c["kind"], c["max_score"]) for c in report["criteria"]}
    # the coach's 5 replaced the grader's 4; a check averages to its pass rate, out of 1
    assert criteria == {"Empathy": (3.0, 3, "scale", 5), "Plan": (4.0, 2, "scale", 5), "Booked": (0.5, 2, "check", 1)}
    this_week = report["by_week"][-1]
    assert len(report["by_week"]) == 12 and this_week["attempts"] == 3 and this_week["sessions"] == 3
    mo = next(p for p in report["progress"] if p["user_id"] == world.member.user_id)
    assert [s["overall"] for s in mo["scores"]] == [60, 80] and mo["change"] == 20
    assert report["trends"]["attempts_change"] == 3
    only = world.admin.ok("GET", f"/api/v1/report?scenario_id={pricing['id']}&weeks=1")
    assert only["totals"]["sessions"] == 1 and len(only["by_week"]) == 1
    assert world.reader.get("/api/v1/report").status_code == 403
    assert world.admin.get("/api/v1/report?weeks=0").status_code == 422


def test_criterion_scores_prefer_the_coach_and_skip_junk() -> None:
    evaluation = Evaluation(
        result={"criteria": [{"name": "A", "score": 2}, {"name": "B", "score": "high"}, {"score": 3}, "junk",
                             {"name": "C", "score": True}]},
        coach={"overrides": {"A": {"score": 4.5}, "D": {"score": 1}, "E": {"note": "no score"}, "F": 3}},
    )  # fmt: skip
    assert criterion_scores(evaluation) == {"A": 4.5, "D": 1.0}
    assert criterion_scores(Evaluation(result={}, coach={})) == {}
