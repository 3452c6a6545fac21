"""Audio across the peer connection: the engine's paced frames out, the learner's microphone in."""

from __future__ import annotations

import fractions
import logging
from collections.abc import Callable

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

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


class ArrivalOrderAudioBuffer(JitterBuffer):
    """Releases each audio packet as it arrives: an Opus packet is a whole 20 ms frame, so there is
    nothing to reassemble. Duplicates and packets older than the newest are dropped (a reordered
    packet is lost rather than waited for)."""

    def __init__(self) -> None:
        super().__init__(capacity=16)
        self._newest: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self._newest is not None and not 0 < uint16_add(packet.sequence_number, -self._newest) < 0x8000:
            return False, None
        self._newest = packet.sequence_number
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]


def set_jitter_buffer(receiver: RTCRtpReceiver, hold_frames: int) -> bool:
    """How many audio frames `receiver` holds before releasing one. aiortc holds 4 (80 ms) and has no
    setting for it; 0 releases each frame on arrival. The attribute is private (tests/webrtc/test_tracks.py
    checks it is there), so a changed aiortc costs latency, not calls."""
    attribute = "_RTCRtpReceiver__jitter_buffer"
    if not isinstance(getattr(receiver, attribute, None), JitterBuffer):
        log.warning("aiortc changed: the receiver jitter buffer stays at its default (80 ms)")
        return False
    buffer = ArrivalOrderAudioBuffer() if hold_frames <= 0 else JitterBuffer(capacity=16, prefetch=hold_frames)
    setattr(receiver, attribute, buffer)
    return True


def set_inbound_jitter_buffer(pc: RTCPeerConnection, track: MediaStreamTrack, hold_frames: int) -> None:
    """`set_jitter_buffer` for the receiver of a track the peer just announced."""
    for receiver in pc.getReceivers():
        if receiver.track is track:
            set_jitter_buffer(receiver, hold_frames)


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
