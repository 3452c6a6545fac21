"""Smart Turn v3 (BSD-2): a learned end-of-turn model over the last 8 s of the learner's audio.

The ONNX file ships inside the `pipecat-ai` wheel (installed with --no-deps: only the file is
used). Features are Whisper log-mels, computed with faster-whisper's extractor.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort

from models.base import Audio, BackendInfo
from models.config import TurnConfig
from models.locator import resolve

_RATE = 16_000
_WINDOW = 8 * _RATE


class SmartTurn:
    def __init__(self, config: TurnConfig) -> None:
        from faster_whisper.feature_extractor import FeatureExtractor

        path = resolve(config.model, what="Smart Turn model")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self._features = FeatureExtractor(feature_size=80, chunk_length=8)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="turn")
        self.threshold = config.threshold
        self.info = BackendInfo("turn", "smart-turn", str(path), {"threshold": config.threshold})
        self._probability(np.zeros(_RATE, dtype=np.float32))

    def _probability(self, audio: Audio) -> float:
        window = np.zeros(_WINDOW, dtype=np.float32)
        tail = audio[-_WINDOW:]
        window[_WINDOW - len(tail) :] = tail
        normalised = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
        features = self._features(normalised, padding=0)[:, :800][None].astype(np.float32)
        logits = self._session.run(None, {"input_features": features})[0]
        return float(np.asarray(logits).reshape(-1)[0])

    async def completion_probability(self, audio: Audio) -> float:
        """How likely the learner has finished their turn, from the audio so far (16 kHz mono)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._probability, audio)
