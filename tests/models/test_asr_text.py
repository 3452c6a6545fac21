"""Whisper's looped output is collapsed; ordinary repetition is left alone."""

from __future__ import annotations

from models.faster_whisper_asr import collapse_loops


def test_a_looped_phrase_is_kept_once() -> None:
    assert collapse_loops("I am it, I am it, I am it, I am it") == "I am it,"
    looped = "What not your current? What not your current? What not your current? What not"
    assert collapse_loops(looped) == "What not your current? What not"
    assert collapse_loops("Hello there. We can talk, we can talk, we can talk about it.") == (
        "Hello there. We can talk, about it."
    )


def test_ordinary_speech_is_unchanged() -> None:
    for text in ("No, no, no, that is not what I said.", "We need it, we need it now.", "", "Thanks."):
        assert collapse_loops(text) == text
