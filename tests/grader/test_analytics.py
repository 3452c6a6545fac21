"""Conversation analytics are exact: each figure is checked against a hand count."""

from __future__ import annotations

import pytest

from grader.analytics import classify_question, compute_analytics, count_fillers
from grader.records import TranscriptTurn

# persona 0-4 s; learner 5-11 s (14 words); persona 11.5-14, cut off; learner barges in at 13.8 until 19.8;
# learner again 20-23 (consecutive learner turns form one monologue); persona starts at 22.5, over the learner.
TURNS = [
    TranscriptTurn(1, "persona", "Hello, thanks for calling Northwind, how can I help?", 0.0, 4.0),
    TranscriptTurn(2, "learner", "Um, hi. What does your process look like today? Do you have a budget?", 5.0, 11.0),
    TranscriptTurn(3, "persona", "Well, we mostly buy from", 11.5, 14.0, interrupted=True),
    TranscriptTurn(4, "learner", "Sorry, uh, I mean, could you walk me through the approval steps", 13.8, 19.8),
    TranscriptTurn(5, "learner", "It was, like, a question. I like it, you know.", 20.0, 23.0),
    TranscriptTurn(6, "persona", "Sure.", 22.5, 23.5),
    TranscriptTurn(7, "learner", "Great, why is that?", 25.5, 27.0),
]


def test_analytics_match_a_hand_count() -> None:
    a = compute_analytics(TURNS)
    assert a.learner_turns == 4 and a.persona_turns == 3
    assert a.learner_words == 14 + 12 + 10 + 4
    assert a.learner_talk_s == pytest.approx(6 + 6 + 3 + 1.5)
    assert a.persona_talk_s == pytest.approx(4 + 2.5 + 1)
    assert a.learner_talk_ratio == pytest.approx(16.5 / 24.0, abs=1e-4)
    assert a.words_per_minute == pytest.approx(40 / (16.5 / 60), abs=0.01)
    # um, uh, "I mean," and ", like," count; "I like it" does not; ", you know." at the end counts
    assert a.filler_counts == {"i mean": 1, "like": 1, "uh": 1, "um": 1, "you know": 1}
    assert a.fillers_per_minute == pytest.approx(5 / (16.5 / 60), abs=0.01)
    # open: "What does...", "could you walk me through..." (no '?', ASR dropped it), "why is that?"; closed: budget
    assert (a.questions, a.open_questions, a.closed_questions) == (4, 3, 1)
    assert a.question_turns == {"open": [2, 4, 7], "closed": [2]}
    assert a.longest_monologue_turns == [4, 5]
    assert a.longest_monologue_s == pytest.approx(23.0 - 13.8)
    assert a.longest_monologue_words == 22
    assert a.learner_interruptions == 1 and a.interruption_turns == [4]
    assert a.persona_interruptions == 1
    # delays: turn 2 starts 1.0 s after turn 1; turn 7 starts 2.0 s after turn 6 (turn 4 was a barge-in)
    assert a.response_delay_mean_s == pytest.approx(1.5)
    assert a.response_delay_median_s == pytest.approx(1.5)
    assert a.response_delay_max_s == pytest.approx(2.0)
    assert a.duration_s == pytest.approx(27.0)
    assert len(a.facts()) == 7


def test_untimed_turns_use_the_share_of_words() -> None:
    turns = [
        TranscriptTurn(1, "learner", "one two three", 0.0, 0.0),
        TranscriptTurn(2, "persona", "one", 0.0, 0.0),
    ]
    a = compute_analytics(turns)
    assert a.learner_talk_ratio == pytest.approx(0.75)
    assert a.words_per_minute == 0.0 and a.response_delay_median_s is None


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("What's not working for you?", "open"),
        ("How often does that happen?", "open"),
        ("So, tell me about your team.", None),  # an imperative without a question mark is not a question
        ("Can you walk me through it?", "open"),
        ("Who else is involved, and what would approval look like?", "open"),
        ("Is price important?", "closed"),
        ("Okay, do you have a budget?", "closed"),
        ("Do you have a budget", "closed"),  # ASR dropped the question mark
        ("We deliver in two days.", None),
        ("I like it", None),
    ],
)
def test_question_classification(sentence: str, kind: str | None) -> None:
    assert classify_question(sentence) == kind


def test_fillers_are_conservative() -> None:
    assert count_fillers("I like the plan and I mean it.") == {}
    assert count_fillers("It's, like, basically fine, you know?") == {"like": 1, "basically": 1, "you know": 1}


def test_strip_fillers_keeps_the_words_that_matter() -> None:
    from grader.analytics import strip_fillers

    assert (
        strip_fillers("Well, um, I was kind of, like, hoping for a bit more.")
        == "Well, I was kind of hoping for a bit more."
    )
    assert strip_fillers("It was, uh, like, huge, you know.") == "It was huge."
    assert strip_fillers("I like it.") == "I like it."
