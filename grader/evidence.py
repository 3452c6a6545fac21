"""Evidence checking: a quote counts only if it appears, after normalisation, in the turn it cites.

Normalisation forgives what a model changes without changing meaning (case, punctuation, curly
quotes, dashes, spacing, a leading/trailing ellipsis); it does not forgive different words. A quote
with an inner ellipsis must match each part, in order, inside the same turn. Anything else is
dropped and the criterion flagged, so a fabricated or misattributed quote is never shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from grader.records import Quote, TranscriptTurn

Reason = Literal["ok", "empty", "too_short", "no_such_turn", "wrong_turn", "not_found"]

_ELLIPSIS = re.compile(r"\.{3,}|…")
# Models often copy the transcript's line label along with the words: "[4] LEARNER: ...".
_LABEL = re.compile(r"^\s*(?:\[\d+\]\s*)?(?:learner|persona)\s*:\s*", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w']+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
MIN_QUOTE_WORDS = 2  # a one-word "quote" matches almost any turn; a whole one-word turn is still fine


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    words = _NOT_WORD.sub(" ", folded).split()
    return " ".join(w.strip("'") for w in words if w.strip("'"))


def _fragments(quote: str) -> list[str]:
    return [f for f in (normalise(part) for part in _ELLIPSIS.split(_LABEL.sub("", quote))) if f]


def _contains_in_order(haystack: str, fragments: Sequence[str]) -> bool:
    padded = f" {haystack} "
    position = 0
    for fragment in fragments:
        found = padded.find(f" {fragment} ", position)
        if found < 0:
            return False
        position = found + len(fragment) + 1
    return True


@dataclass(frozen=True)
class QuoteCheck:
    quote: Quote
    reason: Reason
    found_in: int | None = None  # for wrong_turn: the turn that really holds the words

    @property
    def valid(self) -> bool:
        return self.reason == "ok"


class EvidenceChecker:
    """Checks quotes against one transcript (normalised once)."""

    def __init__(self, turns: Iterable[TranscriptTurn], *, min_words: int = MIN_QUOTE_WORDS) -> None:
        self.turns = tuple(turns)
        self._turns: Mapping[int, str] = {t.number: normalise(t.text) for t in self.turns}
        self._min_words = min_words

    def check(self, quote: Quote) -> QuoteCheck:
        fragments = _fragments(quote.text)
        if not fragments:
            return QuoteCheck(quote, "empty")
        if quote.turn not in self._turns:
            return QuoteCheck(quote, "no_such_turn", self._find(fragments))
        target = self._turns[quote.turn]
        whole_turn = " ".join(fragments) == target
        if sum(len(f.split()) for f in fragments) < self._min_words and not whole_turn:
            return QuoteCheck(quote, "too_short")
        if _contains_in_order(target, fragments):
            return QuoteCheck(quote, "ok")
        found = self._find(fragments)
        return QuoteCheck(quote, "wrong_turn" if found is not None else "not_found", found)

    def _find(self, fragments: Sequence[str]) -> int | None:
        for number, text in self._turns.items():
            if _contains_in_order(text, fragments):
                return number
        return None

    def filter(self, quotes: Iterable[Quote]) -> tuple[list[Quote], list[QuoteCheck]]:
        """(valid quotes, de-duplicated, in order; checks of the dropped ones)."""
        kept: list[Quote] = []
        dropped: list[QuoteCheck] = []
        seen: set[tuple[int, str]] = set()
        for quote in quotes:
            result = self.check(quote)
            if not result.valid:
                dropped.append(result)
                continue
            key = (quote.turn, normalise(quote.text))
            if key not in seen:
                seen.add(key)
                kept.append(quote)
        return kept, dropped


def drop_flags(dropped: Sequence[QuoteCheck]) -> list[str]:
    """Flags for a criterion whose quotes were dropped, e.g. 'unsupported_quote:wrong_turn'."""
    return sorted({f"unsupported_quote:{d.reason}" for d in dropped})
