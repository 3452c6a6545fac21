"""Conversation analytics computed exactly from transcript turns and their timings (no model involved).

They are facts: shown beside the scores, given to the grader, and used by rubric signals, so they
stay right however small the grader model is. Word-level rules are deliberately conservative
(an ambiguous filler such as "like" only counts when set off by a comma) so a count is never
inflated by ordinary use of the word.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.records import TranscriptTurn

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")

# Always fillers, whatever surrounds them.
_PURE_FILLERS = {"um", "umm", "uh", "uhh", "uhm", "erm", "er", "ah", "hmm", "mm", "mhm"}
# Fillers only when set off by a comma or ending a sentence: "it was, like, huge" but not "I like it".
_COMMA_FILLERS = ("you know", "i mean", "like", "basically", "literally", "sort of", "kind of")

_OPEN_STARTERS = {"what", "how", "why", "describe", "explain", "tell", "walk", "talk", "help", "share"}
_QUESTION_STARTERS = _OPEN_STARTERS | {
    "who", "when", "where", "which", "whose", "is", "are", "am", "was", "were", "do", "does", "did", "can",
    "could", "would", "will", "should", "shall", "may", "might", "have", "has", "had", "isn't", "aren't",
    "don't", "doesn't", "didn't", "won't", "wouldn't", "can't", "couldn't",
}  # fmt: skip
# Politeness wrappers that make a request for description open: "could you walk me through ...".
_OPEN_WRAPPER = re.compile(
    r"^(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:tell|walk|talk|describe|explain|share|help|say\s+more)\b"
)
# "Who else is involved, and what would the approval look like?" ends by inviting description.
_OPEN_TAIL = re.compile(r",\s*(?:and|or)\s+(?:what|how|why)\b")
_LEADING_DISCOURSE = re.compile(
    r"^(?:(?:so|and|but|okay|ok|well|right|now|then|also|just|great|sure|sorry|um+|uh+|erm|er|ah|i mean|you know)"
    r"\b[,\s]*)+"
)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def sentences(text: str) -> list[str]:
    """Sentences with their end punctuation, stripped; text without punctuation is one sentence."""
    return [text[start:end] for start, end in sentence_spans(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in `text`, surrounding whitespace excluded."""
    spans = []
    for match in _SENTENCE.finditer(text):
        chunk = match.group()
        if chunk.strip():
            start = match.start() + len(chunk) - len(chunk.lstrip())
            spans.append((start, match.end() - (len(chunk) - len(chunk.rstrip()))))
    return spans


def count_fillers(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    lowered = text.lower().replace("’", "'")
    for token in _WORD.findall(lowered):
        if token in _PURE_FILLERS:
            counts[token] += 1
    for phrase in _COMMA_FILLERS:
        # Set off by a comma on either side, or closing a sentence ("..., you know.").
        pattern = rf"(?:(?:^|[,;])\s*{phrase}\s*(?=,)|,\s*{phrase}\b|\b{phrase}\s*,|,\s*{phrase}\s*[.!?]?$)"
        hits = len(re.findall(pattern, lowered))
        if hits:
            counts[phrase] += hits
    return counts


def strip_fillers(sentence: str) -> str:
    """The sentence without the fillers `count_fillers` counts: "It was, um, like, huge" -> "It was huge"."""
    text = re.sub(r"\b(?:" + "|".join(_PURE_FILLERS) + r")\b[,.]?\s*", "", sentence, flags=re.IGNORECASE)
    for phrase in _COMMA_FILLERS:
        text = re.sub(rf"(?:^|,)\s*{phrase}\s*,\s*", " ", text, flags=re.IGNORECASE)
        text = re.sub(rf",\s*{phrase}\s*(?=[.!?]?$)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([,.!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip(" ,")
    return text[:1].upper() + text[1:]


def classify_question(sentence: str) -> str | None:
    """'open', 'closed', or None when the sentence is not a question.

    A question ends with '?' or, since ASR sometimes drops the mark, starts like one and has no
    other end punctuation. Open questions invite description (what/how/why/tell me/walk me through).
    """
    text = sentence.strip().lower().replace("’", "'")
    core = _LEADING_DISCOURSE.sub("", text).lstrip(" ,")
    first = (_WORD.findall(core) or [""])[0]
    if first not in _QUESTION_STARTERS:
        first = first.split("'")[0]  # "what's" asks like "what"
    asks = text.endswith("?") or (text[-1:] not in (".", "!") and first in _QUESTION_STARTERS)
    if not asks:
        return None
    if first in _OPEN_STARTERS or _OPEN_WRAPPER.match(core) or _OPEN_TAIL.search(core):
        return "open"
    return "closed"


@dataclass(frozen=True)
class ConversationAnalytics:
    duration_s: float
    learner_turns: int
    persona_turns: int
    learner_words: int
    persona_words: int
    learner_talk_s: float
    persona_talk_s: float
    learner_talk_ratio: float  # learner speaking time / both sides' speaking time (word share when untimed)
    words_per_minute: float  # learner words per minute of learner speech
    filler_words: int
    fillers_per_minute: float
    questions: int
    open_questions: int
    closed_questions: int
    longest_monologue_s: float  # consecutive learner speech with no persona turn between
    longest_monologue_words: int
    learner_interruptions: int  # learner cut the persona off (barge-in or overlap)
    persona_interruptions: int  # persona started before the learner had finished
    response_delay_mean_s: float | None  # learner start minus the end of the persona turn before it
    response_delay_median_s: float | None
    response_delay_max_s: float | None
    filler_counts: dict[str, int] = field(default_factory=dict)
    question_turns: dict[str, list[int]] = field(default_factory=dict)  # {"open": [...], "closed": [...]}
    longest_monologue_turns: list[int] = field(default_factory=list)
    interruption_turns: list[int] = field(default_factory=list)  # learner turns that cut the persona off

    def facts(self) -> list[str]:
        """One line per measure, as the grader prompt states them."""
        delay = f"{self.response_delay_median_s:.1f} s" if self.response_delay_median_s is not None else "n/a"
        return [
            f"learner talk ratio: {self.learner_talk_ratio:.0%} of speaking time",
            f"learner speaking rate: {self.words_per_minute:.0f} words per minute",
            f"filler words: {self.filler_words} ({self.fillers_per_minute:.1f} per minute)",
            f"questions asked by the learner: {self.questions} ({self.open_questions} open, "
            f"{self.closed_questions} closed)",
            f"longest learner monologue: {self.longest_monologue_s:.0f} s ({self.longest_monologue_words} words)",
            f"learner interrupted the persona {self.learner_interruptions} times; "
            f"persona interrupted the learner {self.persona_interruptions} times",
            f"median learner response delay after the persona stopped: {delay}",
        ]


def _per_minute(count: int, seconds: float) -> float:
    return count / (seconds / 60.0) if seconds > 0 else 0.0


def compute_analytics(turns: Sequence[TranscriptTurn]) -> ConversationAnalytics:
    ordered = sorted(turns, key=lambda t: t.number)
    learner = [t for t in ordered if t.speaker == "learner"]
    persona = [t for t in ordered if t.speaker == "persona"]
    learner_words = sum(len(words(t.text)) for t in learner)
    persona_words = sum(len(words(t.text)) for t in persona)
    learner_s = sum(t.duration for t in learner)
    persona_s = sum(t.duration for t in persona)
    if learner_s + persona_s > 0:
        ratio = learner_s / (learner_s + persona_s)
    else:  # typed (text-mode) turns carry no timings: fall back to the share of words
        ratio = learner_words / (learner_words + persona_words) if learner_words + persona_words else 0.0

    fillers: Counter[str] = Counter()
    question_turns: dict[str, list[int]] = {"open": [], "closed": []}
    open_count = closed_count = 0
    for turn in learner:
        fillers.update(count_fillers(turn.text))
        for sentence in sentences(turn.text):
            kind = classify_question(sentence)
            if kind == "open":
                open_count += 1
            elif kind == "closed":
                closed_count += 1
            if kind and turn.number not in question_turns[kind]:
                question_turns[kind].append(turn.number)

    mono_s, mono_words, mono_turns = _longest_monologue(ordered)
    learner_cuts, persona_cuts, cut_turns, delays = _turn_taking(ordered)
    starts = [t.start for t in ordered]
    ends = [t.end for t in ordered]
    filler_total = sum(fillers.values())
    return ConversationAnalytics(
        duration_s=round(max(ends) - min(starts), 3) if ordered else 0.0,
        learner_turns=len(learner),
        persona_turns=len(persona),
        learner_words=learner_words,
        persona_words=persona_words,
        learner_talk_s=round(learner_s, 3),
        persona_talk_s=round(persona_s, 3),
        learner_talk_ratio=round(ratio, 4),
        words_per_minute=round(_per_minute(learner_words, learner_s), 2),
        filler_words=filler_total,
        fillers_per_minute=round(_per_minute(filler_total, learner_s), 2),
        questions=open_count + closed_count,
        open_questions=open_count,
        closed_questions=closed_count,
        longest_monologue_s=round(mono_s, 3),
        longest_monologue_words=mono_words,
        learner_interruptions=learner_cuts,
        persona_interruptions=persona_cuts,
        response_delay_mean_s=round(statistics.fmean(delays), 3) if delays else None,
        response_delay_median_s=round(statistics.median(delays), 3) if delays else None,
        response_delay_max_s=round(max(delays), 3) if delays else None,
        filler_counts=dict(sorted(fillers.items())),
        question_turns=question_turns,
        longest_monologue_turns=mono_turns,
        interruption_turns=cut_turns,
    )


def _longest_monologue(ordered: Sequence[TranscriptTurn]) -> tuple[float, int, list[int]]:
    best: tuple[float, int, list[int]] = (0.0, 0, [])
    run: list[TranscriptTurn] = []
    for turn in [*ordered, None]:
        if turn is not None and turn.speaker == "learner":
            run.append(turn)
            continue
        if run:
            seconds = run[-1].end - run[0].start
            count = sum(len(words(t.text)) for t in run)
            if (seconds, count) > best[:2]:
                best = (seconds, count, [t.number for t in run])
            run = []
    return best


def _turn_taking(ordered: Sequence[TranscriptTurn]) -> tuple[int, int, list[int], list[float]]:
    """Interruptions by each side and the learner's response delays, from adjacent turn pairs."""
    learner_cuts = persona_cuts = 0
    cut_turns: list[int] = []
    delays: list[float] = []
    for previous, turn in itertools.pairwise(ordered):
        if previous.speaker == turn.speaker:
            continue
        overlap = turn.start < previous.end
        if turn.speaker == "learner":
            # The engine marks a persona turn it cut short because the learner barged in.
            if previous.interrupted or overlap:
                learner_cuts += 1
                cut_turns.append(turn.number)
            else:
                delays.append(turn.start - previous.end)
        elif overlap:
            persona_cuts += 1
    return learner_cuts, persona_cuts, cut_turns, delays
