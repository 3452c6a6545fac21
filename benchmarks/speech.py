"""Synthetic learner speech from espeak-ng (apt package), for tests and benchmarks."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from functools import lru_cache

import numpy as np
import soxr

from models.base import Audio

SAMPLE_RATE = 16_000


class EspeakMissingError(RuntimeError):
    pass


def read_wav(data: bytes) -> tuple[Audio, int]:
    with wave.open(io.BytesIO(data)) as wav:
        rate = wav.getframerate()
        channels = wav.getnchannels()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    audio = pcm.reshape(-1, channels).mean(axis=1).astype(np.float32) / 32768.0
    return audio, rate


@lru_cache(maxsize=256)
def _espeak(text: str, voice: str, words_per_minute: int) -> bytes:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise EspeakMissingError("espeak-ng is not installed (apt-get install espeak-ng; `make test` does it)")
    result = subprocess.run(
        [binary, "-v", voice, "-s", str(words_per_minute), "--stdout", text], capture_output=True, check=True
    )
    return result.stdout


def espeak(text: str, *, voice: str = "en-us", words_per_minute: int = 160, rate: int = SAMPLE_RATE) -> Audio:
    """`text` spoken by espeak-ng, trimmed to the speech itself, mono float32 at `rate`."""
    audio, source_rate = read_wav(_espeak(text, voice, words_per_minute))
    audio = trim_silence(audio, source_rate)
    if source_rate != rate:
        audio = soxr.resample(audio, source_rate, rate).astype(np.float32)
    return audio


def trim_silence(audio: Audio, rate: int, threshold: float = 0.01) -> Audio:
    """Cut leading and trailing near-silence (clean synthetic speech only)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    return audio[loud[0] : loud[-1] + 1]


def silence(seconds: float, rate: int = SAMPLE_RATE) -> Audio:
    return np.zeros(round(seconds * rate), dtype=np.float32)


def to_int16(audio: Audio) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def write_wav(path: str, audio: Audio, rate: int = SAMPLE_RATE, channels: int = 1) -> None:
    with wave.open(path, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(to_int16(audio))
