"""Plain records the grader takes and returns. `Evaluation.to_dict()` is what the server stores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from grader.analytics import ConversationAnalytics

Speaker = Literal["learner", "persona"]
Mode = Literal["hybrid", "llm"]


@dataclass(frozen=True)
class TranscriptTurn:
    """One turn as the learner said it (ASR text) or heard it (persona text, truncated when interrupted).

    Same field names as `pipeline.transcript.Turn`, so the server converts with `from_dict(turn.as_dict())`.
    """

    number: int
    speaker: Speaker
    text: str
    start: float
    end: float
    interrupted: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranscriptTurn:
        speaker = data["speaker"]
        if speaker not in ("learner", "persona"):
            raise ValueError(f"turn {data.get('number')}: speaker must be learner or persona, not {speaker!r}")
        return cls(
            number=int(data["number"]),
            speaker=speaker,
            text=str(data.get("text") or ""),
            start=float(data.get("start") or 0.0),
            end=float(data.get("end") or 0.0),
            interrupted=bool(data.get("interrupted", False)),
        )

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Quote:
    """Evidence: words that appear (after normalisation) in the cited transcript turn."""

    turn: int
    text: str


@dataclass
class ChecklistHit:
    """How one checklist item (or analytics signal) fared: the best-matching learner sentence, if any."""

    item: str
    met: bool
    similarity: float | None = None  # None for analytics signals
    turn: int | None = None
    quote: str | None = None
    fact: str | None = None  # analytics signals: the measured value that decided it


@dataclass
class CriterionResult:
    name: str
    title: str
    kind: Literal["scale", "check"]
    weight: float
    score: float  # scale: 1-5; check: 1 passed, 0 not
    rationale: str
    evidence: list[Quote] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    checklist: list[ChecklistHit] = field(default_factory=list)
    source: Literal["checklist", "llm"] = "checklist"

    @property
    def normalised(self) -> float:
        """0..1, the share this criterion contributes to the overall score."""
        if self.kind == "check":
            return 1.0 if self.score >= 1 else 0.0
        return min(1.0, max(0.0, (self.score - 1.0) / 4.0))


@dataclass
class GoalResult:
    name: str
    description: str
    achieved: bool
    evidence: list[Quote] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    similarity: float | None = None


@dataclass
class Point:
    """A debrief line, tied to the fact it was worded from."""

    text: str
    criterion: str | None = None
    turn: int | None = None
    quote: str | None = None


@dataclass
class KeyMoment:
    turn: int
    note: str


@dataclass
class Suggestion:
    """Advice for the next attempt; `original` is the learner's own line (verbatim) when it rephrases one."""

    text: str
    turn: int | None = None
    original: str | None = None
    better: str | None = None


@dataclass
class Debrief:
    what_worked: list[Point] = field(default_factory=list)
    what_was_missing: list[Point] = field(default_factory=list)
    key_moments: list[KeyMoment] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    worded_by: Literal["llm", "facts", "mixed"] = "facts"


@dataclass
class EvaluationMeta:
    mode: Mode
    model: str
    rubric: str
    rubric_version: int
    n_ctx: int
    chunked: bool = False
    segments: int = 1
    llm_calls: int = 0
    llm_valid_outputs: int = 0
    quotes_proposed: int = 0
    quotes_dropped: int = 0
    debrief_fallbacks: int = 0
    injection_turns: list[int] = field(default_factory=list)
    max_prompt_tokens: int = 0  # the largest prompt sent, estimated conservatively
    threshold: float = 0.0
    elapsed_s: float = 0.0
    grader_version: str = "1"


@dataclass
class Evaluation:
    overall: float  # 0-100, weighted over all rubric criteria
    criteria: list[CriterionResult]
    goals: list[GoalResult]
    debrief: Debrief
    analytics: ConversationAnalytics
    meta: EvaluationMeta

    def criterion(self, name: str) -> CriterionResult:
        for result in self.criteria:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable (plain dicts, lists, numbers, strings)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        """The inverse of `to_dict`, for an evaluation read back from storage."""

        def quotes(items: list[dict[str, Any]]) -> list[Quote]:
            return [Quote(**q) for q in items]

        criteria = [
            CriterionResult(
                **{**c, "evidence": quotes(c["evidence"]), "checklist": [ChecklistHit(**h) for h in c["checklist"]]}
            )
            for c in data["criteria"]
        ]
        goals = [GoalResult(**{**g, "evidence": quotes(g["evidence"])}) for g in data["goals"]]
        d = data["debrief"]
        debrief = Debrief(
            what_worked=[Point(**p) for p in d["what_worked"]],
            what_was_missing=[Point(**p) for p in d["what_was_missing"]],
            key_moments=[KeyMoment(**m) for m in d["key_moments"]],
            suggestions=[Suggestion(**x) for x in d["suggestions"]],
            worded_by=d["worded_by"],
        )
        analytics = ConversationAnalytics(**data["analytics"])
        return cls(float(data["overall"]), criteria, goals, debrief, analytics, EvaluationMeta(**data["meta"]))
