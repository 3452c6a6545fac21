"""Evidence checker: a quote counts only where it really is, after forgiving formatting, never words."""

from __future__ import annotations

from grader.evidence import EvidenceChecker, drop_flags, normalise
from grader.records import Quote, TranscriptTurn

TURNS = [
    TranscriptTurn(1, "persona", "We’re not looking to switch — prices went up 8% in January.", 0.0, 3.0),
    TranscriptTurn(2, "learner", "What does that cost you, when a line stops?  How often does it happen?", 3.5, 7.0),
    TranscriptTurn(3, "persona", "Twice a month. It costs us twelve thousand pounds an hour.", 7.5, 10.0),
    TranscriptTurn(4, "learner", "Okay.", 10.5, 11.0),
]
CHECKER = EvidenceChecker(TURNS)


def test_exact_quote_is_valid() -> None:
    assert CHECKER.check(Quote(2, "How often does it happen?")).valid


def test_normalised_quote_is_valid() -> None:
    # case, punctuation, curly apostrophes, dashes, spacing, and a copied line label are forgiven
    assert CHECKER.check(Quote(2, "what does that cost you when a line stops")).valid
    assert CHECKER.check(Quote(1, "We're not looking to switch - prices went up 8%")).valid
    assert CHECKER.check(Quote(2, "[2] LEARNER: What does that cost you,   when a line stops?")).valid
    assert CHECKER.check(Quote(3, "Twice a month ... twelve thousand pounds an hour")).valid
    assert CHECKER.check(Quote(4, "okay")).valid  # a whole one-word turn may be quoted


def test_fabricated_quote_is_dropped() -> None:
    result = CHECKER.check(Quote(2, "What is your budget for this year?"))
    assert not result.valid and result.reason == "not_found" and result.found_in is None
    # one changed word is a different quote
    assert CHECKER.check(Quote(2, "How often does it break?")).reason == "not_found"
    # parts of an ellipsis quote must appear in order
    assert CHECKER.check(Quote(3, "twelve thousand pounds ... Twice a month")).reason == "not_found"


def test_quote_from_another_turn_is_dropped_and_located() -> None:
    result = CHECKER.check(Quote(3, "How often does it happen?"))
    assert not result.valid and result.reason == "wrong_turn" and result.found_in == 2
    missing = CHECKER.check(Quote(9, "How often does it happen?"))
    assert missing.reason == "no_such_turn" and missing.found_in == 2


def test_trivial_quotes_are_rejected() -> None:
    assert CHECKER.check(Quote(2, "  ... ")).reason == "empty"
    assert CHECKER.check(Quote(2, "cost")).reason == "too_short"  # one word of a longer turn proves nothing


def test_filter_keeps_valid_unique_quotes_and_reports_the_rest() -> None:
    kept, dropped = CHECKER.filter(
        [Quote(2, "How often does it happen?"), Quote(2, "how often does it happen"), Quote(1, "We love you")]
    )
    assert kept == [Quote(2, "How often does it happen?")]
    assert [d.reason for d in dropped] == ["not_found"]
    assert drop_flags(dropped) == ["unsupported_quote:not_found"]


def test_normalise() -> None:
    assert normalise("  It’s — FINE,   really…  ") == "it's fine really"
