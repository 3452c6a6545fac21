"""One WebRTC peer for one conversation: SDP answer, audio both ways, the `events` data channel."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from pipeline.conversation import Conversation
from webrtc.events import client_message
from webrtc.ice import IceConfig, rtc_configuration
from webrtc.tracks import EngineAudioTrack, pump_inbound, set_inbound_jitter_buffer

log = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
MAX_CONTROL_BYTES = 4096


class SignallingError(ValueError):
    """A bad offer (HTTP 400)."""


def validate_offer(sdp: str, kind: str = "offer") -> None:
    if kind != "offer":
        raise SignallingError(f"expected an SDP offer, got type {kind!r}")
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise SignallingError(f"SDP offer larger than {MAX_SDP_BYTES} bytes")
    if not sdp.lstrip().startswith("v=0"):
        raise SignallingError("not an SDP document (it must start with v=0)")
    if "m=audio" not in sdp:
        raise SignallingError("the offer has no audio section (m=audio)")


def handle_control(conversation: Conversation, raw: str | bytes) -> asyncio.Future[Any] | None:
    """Apply a client control message: pause, resume, end, or a typed learner line."""
    if len(raw) > MAX_CONTROL_BYTES:
        return None
    try:
        message = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(message, dict):
        return None
    kind = message.get("type")
    if kind == "pause":
        conversation.pause()
    elif kind == "resume":
        conversation.resume()
    elif kind == "end":
        return asyncio.ensure_future(conversation.end("learner_ended"))
    elif kind == "text" and isinstance(message.get("text"), str) and conversation.config.mode != "voice":
        return asyncio.ensure_future(conversation.send_text(message["text"][:2000]))
    return None


class PeerSession:
    """Owns the RTCPeerConnection of a live call. `on_connected` starts the conversation once media can
    flow; `on_closed(reason)` ends it when the peer fails or closes."""

    def __init__(
        self,
        conversation: Conversation,
        ice: IceConfig,
        *,
        on_connected: Callable[[], Awaitable[None]],
        on_closed: Callable[[str], Awaitable[None]],
    ) -> None:
        self.conversation = conversation
        self.pc = RTCPeerConnection(rtc_configuration(ice))
        self._on_connected = on_connected
        self._on_closed = on_closed
        self._channel: RTCDataChannel | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._connected = False
        self.outbound = EngineAudioTrack(conversation.output, conversation.config.output_sample_rate)
        self.pc.addTrack(self.outbound)
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("connectionstatechange", self._on_state)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            # The learner's audio feeds VAD and ASR, not a loudspeaker: it needs no playout margin.
            set_inbound_jitter_buffer(self.pc, track, 0)
            self._spawn(pump_inbound(track, self.conversation.push_audio))

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label != "events":
            return
        self._channel = channel
        channel.on("message", lambda raw: handle_control(self.conversation, raw))
        self._spawn(self._forward_events(channel))

    async def _forward_events(self, channel: RTCDataChannel) -> None:
        queue = self.conversation.events.subscribe()
        try:
            for past in list(self.conversation.events.events):  # what happened before the channel opened
                self._send(channel, client_message(past))
            while (event := await queue.get()) is not None:
                self._send(channel, client_message(event))
        finally:
            self.conversation.events.unsubscribe(queue)

    @staticmethod
    def _send(channel: RTCDataChannel, message: dict[str, Any] | None) -> None:
        if message is not None and channel.readyState == "open":
            channel.send(json.dumps(message, default=str))

    async def _on_state(self) -> None:
        state = self.pc.connectionState
        log.info("peer connection %s", state)
        if state == "connected" and not self._connected:
            self._connected = True
            await self._on_connected()
        elif state in ("failed", "closed") and not self._closed:
            await self._on_closed("connection_failed" if state == "failed" else "peer_closed")

    async def answer(self, sdp: str, kind: str = "offer") -> str:
        validate_offer(sdp, kind)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        except (ValueError, TypeError) as error:
            raise SignallingError(f"malformed SDP offer: {error}") from error
        if not any(t.receiver.track and t.receiver.track.kind == "audio" for t in self.pc.getTransceivers()):
            raise SignallingError("the offer sends no audio")
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)  # aiortc gathers all candidates here
        return str(self.pc.localDescription.sdp)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.outbound.stop()
        with contextlib.suppress(Exception):
            await self.pc.close()
