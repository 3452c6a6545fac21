"""The receiver jitter buffer can be set on the installed aiortc (its attribute is private)."""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.rtp import RtpPacket

from webrtc.tracks import ArrivalOrderAudioBuffer, set_inbound_jitter_buffer, set_jitter_buffer


def packet(sequence: int) -> RtpPacket:
    p = RtpPacket(sequence_number=sequence, timestamp=sequence * 960)
    p._data = bytes([sequence % 256])  # type: ignore[attr-defined]
    return p


async def test_receiver_jitter_buffer_is_replaced() -> None:
    pc = RTCPeerConnection()
    try:
        receiver = pc.addTransceiver("audio").receiver
        assert set_jitter_buffer(receiver, 0)
        assert isinstance(receiver._RTCRtpReceiver__jitter_buffer, ArrivalOrderAudioBuffer)  # type: ignore[attr-defined]
        assert set_jitter_buffer(receiver, 2)
        assert receiver._RTCRtpReceiver__jitter_buffer._prefetch == 2  # type: ignore[attr-defined]
        set_inbound_jitter_buffer(pc, receiver.track, 0)  # found by its track, as the peer's "track" event gives it
        assert isinstance(receiver._RTCRtpReceiver__jitter_buffer, ArrivalOrderAudioBuffer)  # type: ignore[attr-defined]
    finally:
        await pc.close()


def test_arrival_order_buffer_releases_each_frame_and_drops_late_ones() -> None:
    buffer = ArrivalOrderAudioBuffer()
    released = [buffer.add(packet(n))[1] for n in (65534, 65535, 0, 0, 65535, 2, 1, 3)]
    assert [f.timestamp // 960 if f else None for f in released] == [65534, 65535, 0, None, None, 2, None, 3]
    assert released[0] is not None and released[0].data == bytes([254])
