"""Errors the grader raises on purpose. `retryable` tells the job worker whether a retry may help."""

from __future__ import annotations


class GraderError(Exception):
    """Base of the grader's errors."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class RubricError(GraderError):
    """A rubric or template file is malformed, or names something that does not exist."""


class TranscriptError(GraderError):
    """The transcript cannot be graded (no learner turns, bad numbering, bad timings)."""
