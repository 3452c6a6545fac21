"""Cut a streamed reply into speakable chunks: the first at the first clause, later ones at sentences."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)")
_CLAUSE_END = re.compile(r"[,;:—–]+(?=\s)|\s-\s")


class Chunker:
    """Feed text deltas with `push`, take ready chunks; `flush` returns the remainder at the end.

    The first chunk is cut at the first sentence end, or at the first clause boundary once it has
    `min_first_words` words, or after `max_first_words` words when neither came, so speech can start
    early (each word waits for the model and lengthens the synthesis before the first sound); later
    chunks are whole sentences (better prosody), at most `max_chunk_chars` long.
    """

    def __init__(self, *, min_first_words: int = 3, max_first_words: int = 7, max_chunk_chars: int = 220) -> None:
        self._buffer = ""
        self._emitted = 0
        self._min_first_words = min_first_words
        self._max_first_words = max_first_words
        self._max_chunk_chars = max_chunk_chars

    def push(self, delta: str) -> list[str]:
        self._buffer += delta
        chunks: list[str] = []
        while (cut := self._next_cut()) is not None:
            chunk, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if chunk:
                chunks.append(chunk)
                self._emitted += 1
        return chunks

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        if rest:
            self._emitted += 1
            return [rest]
        return []

    def _next_cut(self) -> int | None:
        text = self._buffer
        patterns = [_SENTENCE_END, _CLAUSE_END] if self._emitted == 0 else [_SENTENCE_END]
        best: int | None = None
        for pattern in patterns:
            for match in pattern.finditer(text):
                clause = pattern is _CLAUSE_END
                if clause and len(text[: match.end()].split()) < self._min_first_words:
                    continue
                if best is None or match.end() < best:
                    best = match.end()
                break
        if best is None and self._emitted == 0 and self._max_first_words:
            # Words followed by a space are complete; the last one may still be growing.
            words = list(re.finditer(r"\S+(?=\s)", text))
            if len(words) > self._max_first_words:
                best = words[self._max_first_words - 1].end()
        if best is None and len(text) > self._max_chunk_chars:
            space = text.rfind(" ", 0, self._max_chunk_chars)
            best = space if space > 0 else self._max_chunk_chars
        return best
