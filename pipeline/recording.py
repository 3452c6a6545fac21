"""A stereo WAV of the call (learner left, persona right) written as it happens, never held whole."""

from __future__ import annotations

import contextlib
import logging
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soxr

from models.base import Audio

log = logging.getLogger(__name__)

RATE = 16_000


class WavWriter:
    """16-bit stereo WAV whose header is kept valid on disk, so a crash leaves a readable file."""

    def __init__(self, path: Path, rate: int = RATE, channels: int = 2) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: BinaryIO | None = path.open("wb")
        self._rate, self._channels, self._data_bytes = rate, channels, 0
        self._since_header = 0
        self._write_header()

    def _write_header(self) -> None:
        assert self._file is not None
        block = self._channels * 2
        header = struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF", 36 + self._data_bytes, b"WAVE", b"fmt ", 16, 1, self._channels,
            self._rate, self._rate * block, block, 16, b"data", self._data_bytes,
        )  # fmt: skip
        position = self._file.tell()
        self._file.seek(0)
        self._file.write(header)
        self._file.seek(max(position, 44))

    def write(self, interleaved: bytes) -> None:
        if self._file is None:
            return
        self._file.write(interleaved)
        self._data_bytes += len(interleaved)
        self._since_header += len(interleaved)
        if self._since_header >= self._rate * self._channels * 2:  # refresh the sizes every second
            self._write_header()
            self._file.flush()
            self._since_header = 0

    def close(self) -> None:
        if self._file is not None:
            self._write_header()
            self._file.close()
            self._file = None


class Recorder:
    """Aligns the two sides on the playout clock: each output frame writes one stereo frame."""

    def __init__(self, path: Path, persona_rate: int) -> None:
        self.path = path
        self.failed: str | None = None
        self._writer: WavWriter | None = None
        self._learner = np.zeros(0, dtype=np.float32)
        self._resampler = soxr.ResampleStream(persona_rate, RATE, 1, dtype="float32") if persona_rate != RATE else None
        try:
            self._writer = WavWriter(path)
        except OSError as error:
            self._fail(error)

    def _fail(self, error: OSError) -> None:
        self.failed = f"recording stopped: {error.strerror or error}"
        log.warning("%s (%s)", self.failed, self.path)
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._writer.close()
        self._writer = None

    def learner(self, audio: Audio) -> None:
        if self._writer is not None:
            self._learner = np.concatenate([self._learner, audio])

    def frame(self, persona: Audio) -> None:
        """Called once per output frame with the persona audio that left (silence included)."""
        if self._writer is None:
            return
        right = self._resampler.resample_chunk(persona) if self._resampler else persona
        # Learner audio arrives in bursts; write what is buffered, so neither side drifts.
        n = max(len(right), min(len(self._learner), len(right) * 10))
        left = self._learner[:n]
        self._learner = self._learner[n:]
        stereo = np.zeros((n, 2), dtype=np.float32)
        stereo[: len(left), 0] = left
        stereo[: len(right), 1] = right
        try:
            self._writer.write((np.clip(stereo, -1, 1) * 32767).astype("<i2").tobytes())
        except OSError as error:
            self._fail(error)

    def close(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError as error:
                self._fail(error)
