"""Rubrics: criteria (1-5 scale with an anchor per level, or a yes/no check), checklist items with
example phrasings, analytics signals, and goals. Templates ship as YAML in `grader/templates/`;
a scenario picks one and adds its own evaluation instructions, goals and weights.

A scenario can add and reweight but never remove: every criterion of the template is always scored.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from grader.analytics import ConversationAnalytics
from grader.errors import RubricError

TEMPLATES_DIR = Path(__file__).parent / "templates"
Kind = Literal["scale", "check"]
GoalSpeaker = Literal["learner", "persona", "any"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
# Analytics a signal may test: the numeric fields of ConversationAnalytics.
SIGNAL_METRICS = frozenset(
    f.name for f in dataclasses.fields(ConversationAnalytics) if f.type in ("int", "float", "float | None")
)


@dataclass(frozen=True)
class ChecklistItem:
    """Something a good learner says, recognised by its example phrasings."""

    text: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Signal:
    """A checklist item decided by an exact analytics measure, e.g. open_questions >= 3."""

    metric: str
    text: str
    min: float | None = None
    max: float | None = None

    def evaluate(self, analytics: ConversationAnalytics) -> tuple[bool, str]:
        value = getattr(analytics, self.metric)
        if value is None:
            return False, f"{self.metric}: not measurable"
        met = (self.min is None or value >= self.min) and (self.max is None or value <= self.max)
        show = (lambda v: f"{v:.0%}") if self.metric.endswith("ratio") else (lambda v: f"{v:g}")
        bounds = [
            f">= {show(self.min)}" if self.min is not None else "",
            f"<= {show(self.max)}" if self.max is not None else "",
        ]
        bound = " and ".join(b for b in bounds if b)
        shown = show(value)
        return met, f"{self.metric} = {shown} (target {bound})"


@dataclass(frozen=True)
class Criterion:
    name: str
    title: str
    description: str
    weight: float
    kind: Kind
    anchors: tuple[str, ...]  # scale: levels 1..5; check: (fail, pass)
    checklist: tuple[ChecklistItem, ...] = ()
    signals: tuple[Signal, ...] = ()

    def anchor_lines(self) -> list[str]:
        if self.kind == "check":
            return [f"no: {self.anchors[0]}", f"yes: {self.anchors[1]}"]
        return [f"{level}: {text}" for level, text in enumerate(self.anchors, start=1)]


@dataclass(frozen=True)
class Goal:
    name: str
    description: str
    examples: tuple[str, ...] = ()
    speaker: GoalSpeaker = "learner"  # whose lines can show the goal was reached

    @property
    def phrasings(self) -> tuple[str, ...]:
        return self.examples or (self.description,)


@dataclass(frozen=True)
class Rubric:
    name: str
    title: str
    criteria: tuple[Criterion, ...]
    goals: tuple[Goal, ...] = ()
    version: int = 1
    description: str = ""
    learner_role: str = "the learner"
    instructions: str = ""
    extras: Mapping[str, Any] = field(default_factory=dict)

    def criterion(self, name: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.name == name:
                return criterion
        raise RubricError(f"rubric {self.name!r} has no criterion {name!r}")

    def with_scenario(
        self,
        *,
        instructions: str = "",
        goals: Sequence[str | Goal | Mapping[str, Any]] = (),
        weights: Mapping[str, float] | None = None,
    ) -> Rubric:
        """This rubric with a scenario's evaluation instructions and goals added and weights changed."""
        criteria = list(self.criteria)
        for name, weight in (weights or {}).items():
            index = criteria.index(self.criterion(name))
            criteria[index] = dataclasses.replace(criteria[index], weight=_weight(weight, name))
        added = [_goal(g, len(self.goals) + i) for i, g in enumerate(goals)]
        names = [g.name for g in (*self.goals, *added)]
        if len(set(names)) != len(names):
            raise RubricError(f"duplicate goal names in {names}")
        merged = "\n\n".join(part for part in (self.instructions.strip(), instructions.strip()) if part)
        return dataclasses.replace(self, criteria=tuple(criteria), goals=(*self.goals, *added), instructions=merged)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _weight(value: Any, where: str) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError) as error:
        raise RubricError(f"{where}: weight must be a number, not {value!r}") from error
    if not weight > 0:  # a zero weight would silently drop the criterion from the overall score
        raise RubricError(f"{where}: weight must be > 0, not {weight}")
    return weight


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RubricError(f"{where}: expected a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "goal"


def _goal(data: str | Goal | Mapping[str, Any], index: int) -> Goal:
    if isinstance(data, Goal):
        return data
    if isinstance(data, str):
        return Goal(name=f"{_slug(data)}", description=data.strip())
    if not isinstance(data, Mapping) or not data.get("description"):
        raise RubricError(f"goal {index + 1}: needs a description")
    speaker = data.get("speaker", "learner")
    if speaker not in ("learner", "persona", "any"):
        raise RubricError(f"goal {index + 1}: speaker must be learner, persona or any")
    description = str(data["description"]).strip()
    return Goal(
        name=str(data.get("name") or _slug(description)),
        description=description,
        examples=_strings(data.get("examples"), f"goal {index + 1} examples"),
        speaker=speaker,
    )


def _anchors(kind: Kind, data: Any, where: str) -> tuple[str, ...]:
    if not isinstance(data, Mapping):
        raise RubricError(f"{where}: anchors must be a mapping")
    keys: tuple[Any, ...] = (1, 2, 3, 4, 5) if kind == "scale" else ("fail", "pass")
    missing = [k for k in keys if not str(data.get(k) or data.get(str(k)) or "").strip()]
    if missing:
        raise RubricError(f"{where}: anchors missing for {missing}")
    return tuple(str(data.get(k) or data.get(str(k))).strip() for k in keys)


def _signal(data: Any, where: str) -> Signal:
    if not isinstance(data, Mapping) or data.get("metric") not in SIGNAL_METRICS or not data.get("item"):
        raise RubricError(f"{where}: a signal needs item and metric (one of {sorted(SIGNAL_METRICS)})")
    if data.get("min") is None and data.get("max") is None:
        raise RubricError(f"{where}: a signal needs min or max")
    low, high = data.get("min"), data.get("max")
    return Signal(
        str(data["metric"]),
        str(data["item"]),
        None if low is None else float(low),
        None if high is None else float(high),
    )


def _criterion(data: Any, index: int) -> Criterion:
    if not isinstance(data, Mapping):
        raise RubricError(f"criterion {index + 1}: expected a mapping")
    name = str(data.get("name", ""))
    where = f"criterion {name or index + 1}"
    if not _NAME.match(name):
        raise RubricError(f"{where}: name must be snake_case (a-z, 0-9, _), at most 48 characters")
    kind = data.get("kind", "scale")
    if kind not in ("scale", "check"):
        raise RubricError(f"{where}: kind must be scale or check")
    checklist = []
    for i, item in enumerate(data.get("checklist") or []):
        if not isinstance(item, Mapping) or not str(item.get("item", "")).strip():
            raise RubricError(f"{where} checklist {i + 1}: needs item")
        examples = _strings(item.get("examples"), f"{where} checklist {i + 1} examples")
        if not examples:
            raise RubricError(f"{where} checklist {i + 1}: needs at least one example phrasing")
        checklist.append(ChecklistItem(str(item["item"]).strip(), examples))
    signals = tuple(_signal(s, f"{where} signal {i + 1}") for i, s in enumerate(data.get("signals") or []))
    if not checklist and not signals:
        raise RubricError(f"{where}: needs checklist items or signals (the CPU grader scores from them)")
    return Criterion(
        name=name,
        title=str(data.get("title") or name.replace("_", " ").capitalize()),
        description=str(data.get("description", "")).strip(),
        weight=_weight(data.get("weight", 1), where),
        kind=kind,
        anchors=_anchors(kind, data.get("anchors"), where),
        checklist=tuple(checklist),
        signals=signals,
    )


def rubric_from_dict(data: Mapping[str, Any]) -> Rubric:
    if not isinstance(data, Mapping) or not data.get("name"):
        raise RubricError("a rubric needs a name")
    criteria = tuple(_criterion(c, i) for i, c in enumerate(data.get("criteria") or []))
    if not criteria:
        raise RubricError(f"rubric {data['name']!r} has no criteria")
    names = [c.name for c in criteria]
    if len(set(names)) != len(names):
        raise RubricError(f"rubric {data['name']!r}: duplicate criterion names")
    goals = tuple(_goal(g, i) for i, g in enumerate(data.get("goals") or []))
    known = {"name", "title", "version", "description", "learner_role", "instructions", "criteria", "goals"}
    return Rubric(
        name=str(data["name"]),
        title=str(data.get("title") or data["name"]),
        criteria=criteria,
        goals=goals,
        version=int(data.get("version", 1)),
        description=str(data.get("description", "")).strip(),
        learner_role=str(data.get("learner_role", "the learner")).strip(),
        instructions=str(data.get("instructions", "")).strip(),
        extras={k: v for k, v in data.items() if k not in known},
    )


def load_rubric(path: str | Path) -> Rubric:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise RubricError(f"cannot read rubric {path}: {error}") from error
    return rubric_from_dict(data)


def template_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml"))


def load_template(name: str) -> Rubric:
    path = TEMPLATES_DIR / f"{name}.yaml"
    if not _NAME.match(name) or not path.exists():
        raise RubricError(f"unknown rubric template {name!r}; known: {', '.join(template_names())}")
    return load_rubric(path)
