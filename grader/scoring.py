"""Scores from checklist coverage (hybrid mode), the evidence rule for model scores, and the overall score."""

from __future__ import annotations

from collections.abc import Sequence

from grader.analytics import ConversationAnalytics
from grader.matching import GoalMatch
from grader.records import ChecklistHit, CriterionResult, GoalResult, Quote
from grader.rubric import Criterion

# A model score above this needs at least one quote that survived the evidence check.
UNSUPPORTED_SCORE_CAP = 3


def signal_hits(criterion: Criterion, analytics: ConversationAnalytics) -> list[ChecklistHit]:
    hits = []
    for signal in criterion.signals:
        met, fact = signal.evaluate(analytics)
        hits.append(ChecklistHit(item=signal.text, met=met, fact=fact))
    return hits


def coverage_result(criterion: Criterion, hits: Sequence[ChecklistHit]) -> CriterionResult:
    """Hybrid: the score is the share of checklist items and signals met, mapped onto 1..5.

    A check passes when any of its phrase items is evidenced (the items are alternatives), or, with
    no phrase items, when all its signals hold.
    """
    phrase_hits = [h for h in hits if h.fact is None]
    met = [h for h in hits if h.met]
    if criterion.kind == "check":
        passed = any(h.met for h in phrase_hits) if phrase_hits else all(h.met for h in hits)
        score = 1.0 if passed else 0.0
    else:
        score = round(1.0 + 4.0 * len(met) / len(hits), 2) if hits else 1.0
    found = "; ".join(f"{h.item} (turn {h.turn})" if h.turn and h.quote else f"{h.item} ({h.fact})" for h in met)
    missing = "; ".join(h.item + (f" ({h.fact})" if h.fact else "") for h in hits if not h.met)
    rationale = f"{len(met)} of {len(hits)} checklist items evidenced."
    if found:
        rationale += f" Found: {found}."
    if missing:
        rationale += f" Not found: {missing}."
    evidence = [Quote(h.turn, h.quote) for h in phrase_hits if h.met and h.turn is not None and h.quote]
    return CriterionResult(
        name=criterion.name,
        title=criterion.title,
        kind=criterion.kind,
        weight=criterion.weight,
        score=score,
        rationale=rationale,
        evidence=evidence,
        flags=[] if met else ["no_evidence"],
        checklist=list(hits),
        source="checklist",
    )


def model_result(
    criterion: Criterion,
    verdict: float,
    rationale: str,
    evidence: list[Quote],
    flags: list[str],
    hits: Sequence[ChecklistHit],
) -> CriterionResult:
    """llm mode: the model's verdict, held to the evidence rule (a high score needs a surviving quote)."""
    score = float(verdict)
    if not evidence:
        if criterion.kind == "check" and score >= 1:
            score, flags = 0.0, [*flags, "pass_without_evidence"]
        elif criterion.kind == "scale" and score > UNSUPPORTED_SCORE_CAP:
            score, flags = float(UNSUPPORTED_SCORE_CAP), [*flags, "score_capped_no_evidence"]
    return CriterionResult(
        name=criterion.name,
        title=criterion.title,
        kind=criterion.kind,
        weight=criterion.weight,
        score=score,
        rationale=rationale.strip(),
        evidence=evidence,
        flags=flags,
        checklist=list(hits),
        source="llm",
    )


def overall_score(results: Sequence[CriterionResult]) -> float:
    """0-100: each criterion's 0..1 share, weighted."""
    total = sum(r.weight for r in results)
    if total <= 0:
        return 0.0
    return round(100.0 * sum(r.weight * r.normalised for r in results) / total, 1)


def goal_from_match(match: GoalMatch) -> GoalResult:
    unit = match.unit
    evidence = [Quote(unit.turn, unit.text)] if match.met and unit else []
    return GoalResult(
        name=match.goal.name,
        description=match.goal.description,
        achieved=match.met,
        evidence=evidence,
        flags=[] if match.met else ["no_evidence"],
        similarity=match.similarity,
    )
