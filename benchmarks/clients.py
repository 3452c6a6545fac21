"""Learner clients over the real transports (WebRTC, WHIP, WebSocket), for tests and benchmarks.

Each runs a ScriptedLearner against a running server, records what it heard and the events it
received, and ends the call the way a user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
import numpy as np
import soxr
import websockets
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from benchmarks.learner import LearnerReport, Line, ScriptedLearner
from models.base import Audio
from webrtc.tracks import set_inbound_jitter_buffer

RATE = 16_000


@dataclass
class CallResult:
    report: LearnerReport
    heard: Audio  # what came back, 16 kHz mono
    events: list[dict[str, Any]] = field(default_factory=list)
    attempt_id: str | None = None
    answer_sdp: str = ""

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]


class LearnerMicTrack(MediaStreamTrack):
    """A microphone fed by `push` (16 kHz float32), sent as 20 ms 48 kHz frames in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._buffer = np.zeros(0, dtype=np.float32)
        self._resampler = soxr.ResampleStream(RATE, 48_000, 1, dtype="float32")
        self._pts = 0
        self._start: float | None = None

    def push(self, samples: Audio) -> None:
        self._buffer = np.concatenate([self._buffer, self._resampler.resample_chunk(samples.astype(np.float32))])

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / 48_000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        take, self._buffer = self._buffer[:960], self._buffer[960:]
        pcm = np.zeros(960, dtype=np.int16)
        pcm[: len(take)] = (np.clip(take, -1, 1) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48_000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48_000)
        self._pts += 960
        return frame


def _mono16k(frame: av.AudioFrame, resampler: av.AudioResampler) -> Audio:
    parts = [out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0 for out in resampler.resample(frame)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


async def webrtc_call(
    base_url: str,
    session_id: str,
    lines: list[Line],
    *,
    headers: dict[str, str],
    whip: bool = False,
    mode: str | None = None,
    jitter_frames: int | None = None,
) -> CallResult:
    """`jitter_frames`: how many frames the client's receiver holds before releasing one (None: aiortc's
    default of 4, i.e. 80 ms; 0: each on arrival; a browser adapts its own to the network)."""
    pc = RTCPeerConnection()
    mic = LearnerMicTrack()
    pc.addTrack(mic)
    events: list[dict[str, Any]] = []
    ended = asyncio.Event()
    channel = None if whip else pc.createDataChannel("events")
    if channel is not None:

        @channel.on("message")
        def on_message(raw: str) -> None:
            event = json.loads(raw)
            events.append(event)
            if event.get("type") == "ended":
                ended.set()

    learner = ScriptedLearner(lines, mic.push)
    heard: list[Audio] = []
    consumers: list[asyncio.Task[None]] = []

    async def consume(track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.AudioFrame):
                    mono = _mono16k(frame, resampler)
                    heard.append(mono)
                    learner.hear(mono)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if jitter_frames is not None:
            set_inbound_jitter_buffer(pc, track, jitter_frames)
        consumers.append(asyncio.ensure_future(consume(track)))

    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        root = f"/api/v1/roleplays/session/{session_id}"
        if whip:
            response = await http.post(
                f"{root}/whip", content=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"}
            )
            response.raise_for_status()
            answer, location, attempt_id = response.text, response.headers["location"], None
        else:
            body: dict[str, Any] = {"sdp": pc.localDescription.sdp, "type": "offer"}
            if mode:
                body["mode"] = mode
            response = await http.post(f"{root}/offer", json=body)
            response.raise_for_status()
            data = response.json()
            answer, location, attempt_id = data["sdp"], "", data["attempt_id"]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        report = await learner.run()
        if whip:
            (await http.delete(location)).raise_for_status()
        elif channel is not None and channel.readyState == "open":
            channel.send(json.dumps({"type": "end"}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), 10)
    await pc.close()
    for task in consumers:
        task.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    audio = np.concatenate(heard) if heard else np.zeros(0, dtype=np.float32)
    return CallResult(report, audio, events, attempt_id, answer)


async def websocket_call(
    base_url: str,
    session_id: str,
    lines: list[Line],
    *,
    headers: dict[str, str],
    mode: str | None = None,
) -> CallResult:
    url = base_url.replace("http", "ws", 1) + f"/api/v1/roleplays/session/{session_id}"
    if mode:
        url += f"?mode={mode}"
    events: list[dict[str, Any]] = []
    heard: list[Audio] = []
    async with websockets.connect(url, additional_headers=headers, max_size=2**20) as ws:
        loop = asyncio.get_running_loop()
        outgoing: asyncio.Queue[bytes] = asyncio.Queue()

        def send(samples: Audio) -> None:
            outgoing.put_nowait((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())

        learner = ScriptedLearner(lines, send)

        async def pump_out() -> None:
            while True:
                await ws.send(await outgoing.get())

        async def pump_in() -> None:
            async for message in ws:
                if isinstance(message, bytes):
                    audio = np.frombuffer(message, dtype="<i2").astype(np.float32) / 32768.0
                    heard.append(audio)
                    learner.hear(audio)
                else:
                    events.append(json.loads(message))

        tasks = [loop.create_task(pump_out()), loop.create_task(pump_in())]
        report = await learner.run()
        await ws.send(json.dumps({"type": "end"}))
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
            await asyncio.wait_for(tasks[1], 10)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    attempt_id = next((e.get("attempt_id") for e in events if e.get("attempt_id")), None)
    audio = np.concatenate(heard) if heard else np.zeros(0, dtype=np.float32)
    return CallResult(report, audio, events, attempt_id)
