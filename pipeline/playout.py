"""The persona's audio on its way out: a buffer of spoken chunks that knows what was played."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

import numpy as np

from models.base import Audio


@dataclass(eq=False)
class Chunk:
    """One chunk of persona text; TTS may voice it as several segments (one per sentence)."""

    text: str
    complete: bool = False


@dataclass(eq=False)
class Segment:
    """A piece of a chunk's audio and how much of it has left the server."""

    turn: int
    chunk: Chunk
    audio: Audio
    played: int = 0

    @property
    def done(self) -> bool:
        return self.played >= len(self.audio)


class PlayoutBuffer:
    """Segments queued for playout; `read` takes the next frame and records what was played."""

    def __init__(self, frame_samples: int) -> None:
        self.frame_samples = frame_samples
        self._queue: deque[Segment] = deque()
        self.history: list[Segment] = []  # every segment of the current turn, played or not

    def append(self, segment: Segment) -> None:
        self._queue.append(segment)
        self.history.append(segment)

    @property
    def pending_samples(self) -> int:
        return sum(len(s.audio) - s.played for s in self._queue)

    def read(self) -> Audio | None:
        """The next frame, zero-padded at the end of the queue; None when nothing is queued."""
        if not self._queue:
            return None
        frame = np.zeros(self.frame_samples, dtype=np.float32)
        filled = 0
        while filled < self.frame_samples and self._queue:
            segment = self._queue[0]
            take = min(self.frame_samples - filled, len(segment.audio) - segment.played)
            frame[filled : filled + take] = segment.audio[segment.played : segment.played + take]
            segment.played += take
            filled += take
            if segment.done:
                self._queue.popleft()
        return frame

    def clear(self) -> list[Segment]:
        """Drop everything not yet played; return the turn's segments with their played counts."""
        self._queue.clear()
        history, self.history = self.history, []
        return history

    def start_turn(self) -> None:
        self.history = []


def heard_text(segments: list[Segment]) -> str:
    """The text the listener heard: whole played chunks plus the played share of a cut one,
    estimated from the played duration (words spread evenly over the chunk's audio)."""
    played: dict[Chunk, list[int]] = {}
    for segment in segments:
        totals = played.setdefault(segment.chunk, [0, 0])
        totals[0] += segment.played
        totals[1] += len(segment.audio)
    words: list[str] = []
    for chunk, (done, total) in played.items():
        chunk_words = chunk.text.split()
        if total and done >= total and chunk.complete:
            words.extend(chunk_words)
        elif total and done > 0:
            words.extend(chunk_words[: int(len(chunk_words) * done / total)])
    return " ".join(words)


class FrameQueue:
    """Paced output frames for one consumer. Bounded: a stalled consumer loses the oldest frames."""

    def __init__(self, max_frames: int = 50) -> None:
        self._frames: deque[Audio] = deque(maxlen=max_frames)
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, frame: Audio) -> None:
        if len(self._frames) == self._frames.maxlen:
            self.dropped += 1
        self._frames.append(frame)
        self._ready.set()

    async def get(self) -> Audio:
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    def clear(self) -> int:
        count = len(self._frames)
        self._frames.clear()
        return count
