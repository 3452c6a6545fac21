"""Silero VAD driven directly through onnxruntime: one shared session, recurrent state per stream."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from models.base import Audio, BackendInfo
from models.config import VADConfig
from models.locator import resolve

_SAMPLE_RATE = 16_000
_FRAME = 512
_CONTEXT = 64  # samples of the previous frame the model expects in front of each frame


class SileroStream:
    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._sr = np.array(_SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT), dtype=np.float32)

    def probability(self, frame: Audio) -> float:
        if frame.shape != (_FRAME,):
            raise ValueError(f"silero VAD takes frames of {_FRAME} samples at 16 kHz, got {frame.shape}")
        x = np.concatenate([self._context, frame.reshape(1, -1).astype(np.float32, copy=False)], axis=1)
        out, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._sr})
        self._context = x[:, -_CONTEXT:]
        return float(out[0][0])


class SileroVAD:
    sample_rate = _SAMPLE_RATE
    frame_samples = _FRAME

    def __init__(self, config: VADConfig) -> None:
        path = resolve(config.model, what="Silero VAD model")
        options = ort.SessionOptions()
        # ~0.1 ms per frame: more threads only add wake-up cost and steal cores from ASR/LLM/TTS.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self.info = BackendInfo("vad", "silero", str(path), {"frame_samples": _FRAME, "sample_rate": _SAMPLE_RATE})
        # Warm the graph once so the first live frame does not pay for allocation.
        self.new_stream().probability(np.zeros(_FRAME, dtype=np.float32))

    def new_stream(self) -> SileroStream:
        return SileroStream(self._session)
