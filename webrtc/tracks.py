"""Audio across the peer connection: the engine's paced frames out, the learner's microphone in."""

from __future__ import annotations

import fractions
import logging
from collections.abc import Callable

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from models.base import Audio
from pipeline.playout import FrameQueue

log = logging.getLogger(__name__)

WEBRTC_RATE = 48_000
ENGINE_INPUT_RATE = 16_000


class EngineAudioTrack(MediaStreamTrack):
    """Sends the conversation's 20 ms output frames (48 kHz mono). The engine paces them and clears
    this queue on barge-in, so what is buffered here is at most a frame or two."""

    kind = "audio"

    def __init__(self, frames: FrameQueue, rate: int = WEBRTC_RATE) -> None:
        super().__init__()
        self._frames = frames
        self._rate = rate
        self._pts = 0
        self._time_base = fractions.Fraction(1, rate)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        samples = await self._frames.get()
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = self._rate
        frame.pts = self._pts
        frame.time_base = self._time_base
        self._pts += pcm.shape[1]
        return frame


async def pump_inbound(track: MediaStreamTrack, push: Callable[[Audio], None]) -> None:
    """Decode the learner's track (Opus, usually 48 kHz stereo), resample to 16 kHz mono, push it."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=ENGINE_INPUT_RATE)
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if not isinstance(frame, av.AudioFrame):
            continue
        for out in resampler.resample(frame):
            push(out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0)
