"""The debrief: facts first, wording second.

Facts are built deterministically from the scored criteria, goals and analytics: strengths (S),
gaps (G), the learner's weak lines (W) and candidate key moments. The model only words them: its
schema lets each entry name a fact, turn or line from a closed list, and each wording must read as
text and stay close in meaning to what it words (embedding similarity). Anything that fails falls
back to the fact's own wording, so the debrief is right even when the model is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from grader.analytics import ConversationAnalytics, classify_question, count_fillers, sentences, strip_fillers, words
from grader.evidence import normalise
from grader.records import CriterionResult, Debrief, GoalResult, KeyMoment, Point, Suggestion, TranscriptTurn
from grader.rubric import Rubric

Similarity = Callable[[str, str], float]
MAX_FACTS = 6
MAX_POINTS = 3
MAX_LINES = 3
GROUNDED = 0.45  # below this cosine similarity the wording is about something else
LONG_MONOLOGUE_WORDS = 80


@dataclass(frozen=True)
class Fact:
    id: str
    text: str
    criterion: str | None = None
    turn: int | None = None
    quote: str | None = None
    example: str | None = None  # gaps: an example phrasing from the rubric


@dataclass(frozen=True)
class WeakLine:
    id: str
    turn: int
    original: str  # verbatim sentence of the learner's turn
    reason: str
    better: str | None = None  # a rephrasing that needs no model (fillers removed, a rubric open question)


@dataclass
class DebriefFacts:
    strengths: list[Fact] = field(default_factory=list)
    gaps: list[Fact] = field(default_factory=list)
    lines: list[WeakLine] = field(default_factory=list)
    moments: dict[int, str] = field(default_factory=dict)  # turn -> default note

    def sections(self, analytics: ConversationAnalytics) -> list[tuple[str, list[str]]]:
        strengths = [
            f"{f.id}: {f.text}" + (f' (turn {f.turn}: "{f.quote}")' if f.quote else "") for f in self.strengths
        ]
        gaps = [f"{f.id}: {f.text}" + (f' Example: "{f.example}"' if f.example else "") for f in self.gaps]
        return [
            ("Measured facts", analytics.facts()),
            ("Strengths (S facts)", strengths),
            ("Gaps (G facts)", gaps),
            ("Weak learner lines (W)", [f'{w.id}: turn {w.turn}: "{w.original}" ({w.reason})' for w in self.lines]),
            ("Candidate key moments", [f"turn {t}: {note}" for t, note in self.moments.items()]),
        ]


def build_facts(
    rubric: Rubric,
    criteria: Sequence[CriterionResult],
    goals: Sequence[GoalResult],
    analytics: ConversationAnalytics,
    turns: Sequence[TranscriptTurn],
    similarity: Similarity,
) -> DebriefFacts:
    """Blocking (embeds text for the rephrasings): call it from an executor."""
    facts = DebriefFacts()
    ranked = sorted(criteria, key=lambda r: -r.weight)
    for result in ranked:
        if result.normalised >= 0.5:
            items = {(h.turn, h.quote): h.item for h in result.checklist if h.met and h.quote}
            verdict = "passed" if result.kind == "check" else f"scored {result.score:g} of 5"
            for quote in result.evidence[:2]:
                label = items.get((quote.turn, quote.text)) or verdict
                facts.strengths.append(Fact("", f"{result.title}: {label}", result.name, quote.turn, quote.text))
            for hit in result.checklist:
                if hit.met and hit.fact:
                    facts.strengths.append(Fact("", f"{result.title}: {hit.item} ({hit.fact})", result.name))
    for goal in goals:
        if goal.achieved and goal.evidence:
            first = goal.evidence[0]
            facts.strengths.append(Fact("", f"Goal reached: {goal.description}", None, first.turn, first.text))
    # Round-robin over the weakest criteria, so the gaps shown are not all from one criterion.
    missing: list[list[Fact]] = []
    for result in sorted(ranked, key=lambda r: -r.weight * (1 - r.normalised)):
        if result.normalised >= 1:
            continue
        examples = {item.text: item.examples[0] for item in rubric.criterion(result.name).checklist}
        missing.append(
            [
                Fact(
                    "",
                    f"{result.title}, not met: {hit.item}" + (f" ({hit.fact})" if hit.fact else ""),
                    result.name,
                    example=examples.get(hit.item),
                )
                for hit in result.checklist
                if not hit.met
            ]
        )
    for depth in range(max((len(m) for m in missing), default=0)):
        facts.gaps += [group[depth] for group in missing if depth < len(group)]
    for goal in goals:
        if not goal.achieved:
            facts.gaps.append(Fact("", f"Goal not reached: {goal.description}"))
    facts.strengths = [_numbered(f, "S", i) for i, f in enumerate(facts.strengths[:MAX_FACTS], start=1)]
    facts.gaps = [_numbered(f, "G", i) for i, f in enumerate(facts.gaps[:MAX_FACTS], start=1)]
    open_examples = [
        e for c in rubric.criteria for i in c.checklist for e in i.examples if classify_question(e) == "open"
    ]
    facts.lines = weak_lines(turns, analytics, open_examples, similarity)
    for fact in facts.strengths:
        if fact.turn is not None:
            facts.moments.setdefault(fact.turn, fact.text)
    for line in facts.lines:
        facts.moments.setdefault(line.turn, line.reason)
    for turn in analytics.interruption_turns[:2]:
        facts.moments.setdefault(turn, "you cut the other person off")
    return facts


def _numbered(fact: Fact, prefix: str, index: int) -> Fact:
    return Fact(f"{prefix}{index}", fact.text, fact.criterion, fact.turn, fact.quote, fact.example)


def weak_lines(
    turns: Sequence[TranscriptTurn],
    analytics: ConversationAnalytics,
    open_examples: Sequence[str] = (),
    similarity: Similarity | None = None,
) -> list[WeakLine]:
    """Learner lines worth rephrasing: filler-heavy sentences, the longest monologue, and closed questions
    when the learner asked more closed than open ones (a closed question is often the right one).

    Each gets a rephrasing that needs no model where one exists: the sentence without its fillers, or
    the rubric's open question closest in meaning to the closed one.
    """
    found: list[tuple[int, str, str]] = []
    too_closed = analytics.closed_questions > analytics.open_questions
    for turn in (t for t in turns if t.speaker == "learner"):
        for sentence in sentences(turn.text):
            if too_closed and classify_question(sentence) == "closed" and len(words(sentence)) >= 4:
                found.append((turn.number, sentence, "a closed question; an open one would invite more"))
            elif sum(count_fillers(sentence).values()) >= 2:
                found.append((turn.number, sentence, "filler words weaken it"))
    if analytics.longest_monologue_words >= LONG_MONOLOGUE_WORDS and analytics.longest_monologue_turns:
        number = analytics.longest_monologue_turns[0]
        turn = next(t for t in turns if t.number == number)
        first = (sentences(turn.text) or [turn.text])[0]
        reason = f"part of a {analytics.longest_monologue_words}-word monologue; say less, then ask"
        found.insert(0, (number, first, reason))
    lines: list[WeakLine] = []
    used: set[int] = set()
    for number, sentence, reason in found:
        if number in used or len(sentence) > 200:
            continue
        used.add(number)
        better = None
        if reason.startswith("filler"):
            better = strip_fillers(sentence)
        elif reason.startswith("a closed") and open_examples and similarity is not None:
            scored = [(similarity(sentence, example), example) for example in open_examples]
            best_score, best = max(scored)
            better = best if best_score >= GROUNDED else None
        lines.append(WeakLine(f"W{len(lines) + 1}", number, sentence, reason, better))
        if len(lines) == MAX_LINES:
            break
    return lines


_LABEL = re.compile(r"\b(?:LEARNER|PERSONA|A|Q)\s*:|\[\d+\]|\b[SGW]\d\b|\bturn \d", re.IGNORECASE)


def fluent(text: str, *, question_ok: bool = False) -> bool:
    """Reads as a sentence: enough words, mostly letters, no stuck repetition, no prompt labels, and no
    question unless one is wanted (a small model asks the learner questions instead of commenting)."""
    tokens = text.split()
    if len(tokens) < 3 or _LABEL.search(text) or ("?" in text and not question_ok):
        return False
    letters = sum(c.isalpha() for c in text)
    if letters < 0.6 * sum(not c.isspace() for c in text):
        return False
    lowered = [t.lower().strip(".,!?") for t in tokens]
    return not any(lowered[i] == lowered[i + 1] == lowered[i + 2] for i in range(len(lowered) - 2))


def assemble(
    facts: DebriefFacts, data: Mapping[str, Any] | None, similarity: Similarity, turns: Mapping[int, str]
) -> tuple[Debrief, int]:
    """The debrief from facts and the model's wording (or None); returns it with the number of fallbacks."""
    data = data or {}
    used = fallbacks = 0

    def worded(text: str, reference: str, *, rephrasing: bool = False) -> bool:
        """Fluent and about its fact; a rephrasing may be a question but must not be a copy."""
        nonlocal used, fallbacks
        copy = rephrasing and normalise(text) == normalise(reference)
        ok = not copy and fluent(text, question_ok=rephrasing) and similarity(text, reference) >= GROUNDED
        used, fallbacks = used + ok, fallbacks + (not ok)
        return ok

    def points(entries: Sequence[Mapping[str, Any]], pool: Sequence[Fact]) -> list[Point]:
        by_id = {f.id: f for f in pool}
        chosen: list[Point] = []
        seen: set[str] = set()
        for entry in entries:
            fact = by_id.get(entry.get("fact", ""))
            if fact is None or fact.id in seen:
                continue
            seen.add(fact.id)
            text = str(entry.get("text", "")).strip()
            chosen.append(_point(fact, text if worded(text, fact.text) else None))
        chosen += [_point(f) for f in pool if f.id not in seen][: max(0, MAX_POINTS - len(chosen))]
        return chosen[:MAX_POINTS]

    what_worked = points(data.get("what_worked", []), facts.strengths)
    what_was_missing = points(data.get("what_was_missing", []), facts.gaps)

    moments: list[KeyMoment] = []
    for entry in data.get("key_moments", []):
        turn, note = entry.get("turn"), str(entry.get("note", "")).strip()
        if turn in facts.moments and turn not in {m.turn for m in moments}:
            reference = f"{facts.moments[turn]} {turns.get(turn, '')}"
            moments.append(KeyMoment(turn, note if worded(note, reference) else facts.moments[turn]))
    for turn, note in facts.moments.items():
        if len(moments) >= MAX_POINTS:
            break
        if turn not in {m.turn for m in moments}:
            moments.append(KeyMoment(turn, note))
    moments.sort(key=lambda m: m.turn)

    better = {str(e.get("line")): str(e.get("better", "")).strip() for e in data.get("better_lines", [])}
    suggestions: list[Suggestion] = []
    for line in facts.lines:
        text = better.get(line.id)
        rewrite = text if text is not None and worded(text, line.original, rephrasing=True) else line.better
        suggestions.append(Suggestion(f"Turn {line.turn}: {line.reason}.", line.turn, line.original, rewrite))
    for gap in facts.gaps:
        if gap.example and len(suggestions) < MAX_LINES + MAX_POINTS:
            item = gap.text.split("not met: ", 1)[-1]
            suggestions.append(Suggestion(f'Not heard this time: {item}. Try a line like "{gap.example}"'))

    worded_by: Literal["llm", "facts", "mixed"] = "llm" if used and not fallbacks else "mixed" if used else "facts"
    debrief = Debrief(what_worked, what_was_missing, moments, suggestions, worded_by)
    return debrief, fallbacks


def _point(fact: Fact, text: str | None = None) -> Point:
    return Point(text or fact.text, fact.criterion, fact.turn, fact.quote)
