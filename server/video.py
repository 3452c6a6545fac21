"""Analysis of an uploaded session video: duration, its audio transcribed, aligned with the transcript."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import statistics
from pathlib import Path
from typing import Any

import av
import numpy as np

from models.registry import Backends
from server.store.db import Database
from server.store.tables import Attempt

log = logging.getLogger(__name__)
RATE = 16_000


def decode_audio(path: Path) -> tuple[float, np.ndarray | None]:
    """(duration in seconds, 16 kHz mono audio or None when the video has no audio track)."""
    with av.open(str(path)) as container:
        duration = float(container.duration / av.time_base) if container.duration else 0.0
        if not container.streams.audio:
            return duration, None
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        parts: list[np.ndarray] = []
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
        audio = np.concatenate(parts).astype(np.float32) / 32768.0 if parts else np.zeros(0, np.float32)
        return duration or len(audio) / RATE, audio


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def align(turns: list[dict[str, Any]], words: list[tuple[str, float]]) -> tuple[float | None, int]:
    """The video's time offset against the call clock, from learner turns found in the video's words:
    (median offset in seconds, or None; how many turns were found)."""
    offsets = []
    spoken = [w for w, _ in words]
    for turn in turns:
        if turn.get("speaker") != "learner":
            continue
        probe = _words(str(turn.get("text", "")))[:3]
        if len(probe) < 2:
            continue
        for i in range(len(spoken) - len(probe) + 1):
            if spoken[i : i + len(probe)] == probe:
                offsets.append(words[i][1] - float(turn.get("start", 0.0)))
                break
    return (round(statistics.median(offsets), 3) if offsets else None), len(offsets)


async def analyse_video(db: Database, backends: Backends, attempt_id: str, video: Path, out: Path) -> None:
    try:
        duration, audio = await asyncio.to_thread(decode_audio, video)
        result: dict[str, Any] = {
            "status": "analysed",
            "duration_s": round(duration, 3),
            "has_audio": audio is not None,
        }
        with db.session() as s:
            attempt = s.get(Attempt, attempt_id)
            turns = list(attempt.transcript) if attempt else []
        if audio is not None and len(audio) and backends.asr is not None:
            transcription = await backends.asr.transcribe(audio)
            words = [(w, word.start) for word in transcription.words for w in _words(word.text)]
            offset, found = align(turns, words)
            learner_turns = sum(1 for t in turns if t.get("speaker") == "learner")
            result.update(text=transcription.text, words=len(words), offset_s=offset, aligned_turns=found,
                          learner_turns=learner_turns)  # fmt: skip
        elif audio is not None:
            result["note"] = "no ASR model is loaded on this node: the audio was not transcribed"
        await asyncio.to_thread(out.write_text, json.dumps(result))
    except Exception as error:  # a broken upload must not take anything else down
        log.warning("video analysis of %s failed: %s", attempt_id, error)
        await asyncio.to_thread(out.write_text, json.dumps({"status": "error", "message": str(error)}))
