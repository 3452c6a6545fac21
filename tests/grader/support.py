"""Transcripts and a small rubric for grader tests."""

from __future__ import annotations

import itertools

from benchmarks.grader import CALIBRATION_DIR, load_case
from grader.records import TranscriptTurn
from grader.rubric import Rubric, rubric_from_dict

SMALL_RUBRIC: Rubric = rubric_from_dict(
    {
        "name": "mini_discovery",
        "title": "Mini discovery",
        "learner_role": "a salesperson",
        "criteria": [
            {
                "name": "discovery",
                "title": "Discovery",
                "description": "Asks about the prospect's situation and problems.",
                "weight": 2,
                "anchors": {
                    1: "No questions.",
                    2: "One closed question.",
                    3: "Some questions.",
                    4: "Good questions.",
                    5: "Thorough discovery.",
                },
                "checklist": [
                    {"item": "asked about the current process", "examples": ["How do you handle packaging today?"]},
                    {"item": "asked about problems", "examples": ["What is not working with your supplier?"]},
                ],
            },
            {
                "name": "next_step",
                "title": "Next step",
                "description": "Proposes a concrete next step.",
                "kind": "check",
                "anchors": {"fail": "No next step.", "pass": "A concrete next step."},
                "checklist": [{"item": "proposed a next step", "examples": ["Could we meet next Tuesday at two?"]}],
            },
        ],
        "goals": [
            {
                "name": "book_meeting",
                "description": "Book a meeting.",
                "examples": ["Could we meet next Tuesday at two?"],
            }
        ],
    }
)

SHORT = [
    TranscriptTurn(1, "persona", "Emma Clarke speaking.", 0.0, 1.2),
    TranscriptTurn(
        2, "learner", "Hi Emma, this is Jordan from Greenpack. How do you handle packaging today?", 2.0, 6.5
    ),
    TranscriptTurn(3, "persona", "One supplier for all twelve plants. Deliveries are often late.", 7.0, 10.5),
    TranscriptTurn(4, "learner", "What is not working with your supplier, apart from the late deliveries?", 11.2, 15.0),
    TranscriptTurn(5, "persona", "Prices went up eight percent and nobody answers the phone.", 15.6, 19.0),
    TranscriptTurn(6, "learner", "Could we meet next Tuesday at two to look at your northern plants?", 19.8, 23.5),
    TranscriptTurn(7, "persona", "Tuesday works.", 24.0, 25.0),
]


def calibration(name: str) -> list[TranscriptTurn]:
    return list(load_case(CALIBRATION_DIR / f"{name}.yaml").turns)


def long_transcript(minutes: float = 30.0) -> list[TranscriptTurn]:
    """A call of `minutes`, built by cycling a realistic transcript and shifting its timings."""
    source = calibration("sales_discovery_strong")
    span = source[-1].end + 1.0
    turns: list[TranscriptTurn] = []
    for cycle in itertools.count():
        for turn in source:
            offset = cycle * span
            if turn.end + offset > minutes * 60:
                return turns
            number = len(turns) + 1
            turns.append(
                TranscriptTurn(
                    number, turn.speaker, turn.text, turn.start + offset, turn.end + offset, turn.interrupted
                )
            )
    raise AssertionError("unreachable")
