"""Long transcripts in llm mode: read per segment, then score from the segment notes.

A 30-minute call is ~25,000 characters, far beyond a 2,048-token context. The transcript is cut at
turn boundaries into segments that fit beside the rules and the request; for each segment the
model notes the best learner line per criterion (schema-forced, quote checked against the full
transcript, unsupported notes dropped). The scoring calls then see those notes instead of the
transcript, thinned evenly across criteria until every call fits. The result says it was chunked.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from grader import prompts
from grader.debrief import fluent
from grader.errors import GraderError
from grader.evidence import EvidenceChecker, normalise
from grader.records import EvaluationMeta, Quote, TranscriptTurn
from grader.rubric import Criterion
from grader.schema import JSON, max_output_tokens, segment_notes_schema
from models.base import ChatMessage

if TYPE_CHECKING:
    from grader.grader import ModelCalls

log = logging.getLogger(__name__)

MIN_SEGMENT_TOKENS = 150  # below this a segment holds too little conversation to judge anything


class LongTranscriptReader:
    def __init__(self, calls: ModelCalls, n_ctx: int, checker: EvidenceChecker, meta: EvaluationMeta) -> None:
        self._calls = calls
        self._n_ctx = n_ctx
        self._checker = checker
        self._meta = meta

    async def notes(self, head: str, turns: Sequence[TranscriptTurn], criteria: Sequence[Criterion]) -> list[str]:
        names = [c.name for c in criteria]
        probe = segment_notes_schema(names, [max(t.number for t in turns)])
        shell = [ChatMessage("system", f"{head}\n\nTranscript:\n"), prompts.segment_request(criteria, 99, 99)]
        budget = self._n_ctx - prompts.prompt_tokens(shell) - max_output_tokens(probe) - 16
        if budget < MIN_SEGMENT_TOKENS:
            raise GraderError(f"n_ctx {self._n_ctx} is too small to read this rubric's transcript in segments")
        parts = prompts.segments(turns, budget)
        max_turn_chars = prompts.turn_char_limit(budget)
        self._meta.chunked = True
        self._meta.segments = len(parts)
        log.info("transcript read in segments", extra={"segments": len(parts), "budget_tokens": budget})
        notes: list[str] = []
        for index, part in enumerate(parts, start=1):
            system = ChatMessage(
                "system", f"{head}\n\nTranscript:\n{prompts.render_transcript(part, max_turn_chars=max_turn_chars)}"
            )
            schema = segment_notes_schema(names, [t.number for t in part])
            data = await self._calls.json([system, prompts.segment_request(criteria, index, len(parts))], schema)
            if data is not None:
                notes += self._checked_notes(data, names, index)
        return notes

    def _checked_notes(self, data: JSON, names: Sequence[str], segment: int) -> list[str]:
        notes = []
        for name in names:
            entry = data[name]
            if not entry["found"] or not normalise(entry["quote"]):
                continue
            quote = Quote(entry["turn"], entry["quote"])
            self._meta.quotes_proposed += 1
            if not self._checker.check(quote).valid:
                self._meta.quotes_dropped += 1
                continue
            note = entry["note"].strip()
            suffix = f" ({note})" if fluent(note) else ""
            notes.append(f'- {name}: turn {quote.turn}: "{quote.text}"{suffix} [segment {segment}]')
        return notes

    def reduced_system(
        self, head: str, notes: Sequence[str], requests: Sequence[ChatMessage], schemas: Sequence[JSON]
    ) -> ChatMessage:
        """The scoring calls' system message: notes instead of the transcript, thinned until all calls fit."""
        keep = list(notes)
        while True:
            system = prompts.system_with_notes(head, keep, self._meta.segments)
            pairs = zip(requests, schemas, strict=True)
            biggest = max(prompts.prompt_tokens([system, r]) + max_output_tokens(s) for r, s in pairs)
            if biggest <= self._n_ctx:
                return system
            if not keep:
                raise GraderError(f"n_ctx {self._n_ctx} is too small for this rubric's scoring prompt")
            keep = _thinned(keep)

    @staticmethod
    def criterion_of(note: str) -> str:
        return note[2:].split(":", 1)[0]


def _thinned(notes: list[str]) -> list[str]:
    """Drop the latest note of the criterion with the most notes, so every criterion keeps some."""
    counts = Counter(LongTranscriptReader.criterion_of(n) for n in notes)
    crowded = counts.most_common(1)[0][0]
    index = max(i for i, n in enumerate(notes) if LongTranscriptReader.criterion_of(n) == crowded)
    return notes[:index] + notes[index + 1 :]
