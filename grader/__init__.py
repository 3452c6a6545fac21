"""The grader: rubric scoring, exact conversation analytics, evidence-checked debriefs.

The server calls:

    grader = Grader(llm, mode="hybrid")            # "llm" on a capable model (vLLM)
    rubric = load_template("sales_discovery")
    evaluation = await grader.grade(turns, rubric, goals=[...], instructions="...")
    store(evaluation.to_dict())

Imports only `models` and third-party packages (see DESIGN.md).
"""

from grader.analytics import ConversationAnalytics, compute_analytics
from grader.errors import GraderError, RubricError, TranscriptError
from grader.evidence import EvidenceChecker, QuoteCheck, normalise
from grader.grader import Grader, prepare_turns
from grader.matching import DEFAULT_THRESHOLD, ChecklistMatcher, Embedder, MiniLMEmbedder, default_embedder
from grader.records import (
    ChecklistHit,
    CriterionResult,
    Debrief,
    Evaluation,
    EvaluationMeta,
    GoalResult,
    KeyMoment,
    Point,
    Quote,
    Suggestion,
    TranscriptTurn,
)
from grader.rubric import Criterion, Goal, Rubric, load_rubric, load_template, rubric_from_dict, template_names

__all__ = [
    "DEFAULT_THRESHOLD",
    "ChecklistHit",
    "ChecklistMatcher",
    "ConversationAnalytics",
    "Criterion",
    "CriterionResult",
    "Debrief",
    "Embedder",
    "Evaluation",
    "EvaluationMeta",
    "EvidenceChecker",
    "Goal",
    "GoalResult",
    "Grader",
    "GraderError",
    "KeyMoment",
    "MiniLMEmbedder",
    "Point",
    "Quote",
    "QuoteCheck",
    "Rubric",
    "RubricError",
    "Suggestion",
    "TranscriptError",
    "TranscriptTurn",
    "compute_analytics",
    "default_embedder",
    "load_rubric",
    "load_template",
    "normalise",
    "prepare_turns",
    "rubric_from_dict",
    "template_names",
]
