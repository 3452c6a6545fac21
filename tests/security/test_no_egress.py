"""No egress: a whole voice call and its grading on the embedded profile, with every outbound connection,
datagram and name lookup to anything but loopback blocked and recorded by a socket guard (tests/security/
egress.py); none may be attempted. Also: the server configures no STUN/TURN server by default (aiortc would
otherwise fall back to a public STUN server), so gathering ICE candidates sends nothing off the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import httpx
import pytest
from aiortc import RTCPeerConnection

from benchmarks.clients import websocket_call
from benchmarks.learner import Line
from server.settings import Settings
from server.store.tables import Evaluation
from tests.security.egress import no_egress
from tests.support.live import LiveServer
from webrtc.ice import IceConfig, rtc_configuration

LINES = [
    Line("Hi Emma, thanks for your time. What does your packaging process look like today?"),
    Line("What would make a pilot at one plant worth it for you?"),
]


def test_the_guard_blocks_and_records_what_leaves_the_machine() -> None:
    """The guard itself: a test that relies on it must be able to fail."""
    with no_egress() as guard:
        with socket.socket() as tcp, pytest.raises(OSError):
            tcp.connect(("192.0.2.1", 80))  # TEST-NET-1: never routable
        with pytest.raises(OSError), socket.create_connection(("192.0.2.1", 80), timeout=1):
            pass
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.com", 443)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(OSError):
            udp.sendto(b"stun?", ("198.51.100.7", 3478))
        with socket.socket() as server:  # loopback keeps working
            server.bind(("127.0.0.1", 0))
            server.listen()
            with socket.create_connection(server.getsockname(), timeout=1):
                pass
            socket.getaddrinfo("localhost", 80)
    assert [a.split(" ", 1)[0] for a in guard.attempts] == [
        "socket.connect", "socket.getaddrinfo", "socket.getaddrinfo", "socket.sendto",
    ]  # fmt: skip
    assert socket.socket.connect.__name__ == "connect"  # restored


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_no_stun_or_turn_server_by_default(monkeypatch: pytest.MonkeyPatch, profile: str) -> None:
    monkeypatch.setenv("SPARRING_PROFILE", profile)
    assert Settings().webrtc.ice_servers == []
    assert rtc_configuration(IceConfig()).iceServers == []  # empty, not None: None means Google's STUN server


async def gather(pc: RTCPeerConnection) -> str:
    pc.addTransceiver("audio")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def test_ice_gathering_with_the_server_configuration_sends_nothing_out() -> None:
    with no_egress() as guard:
        sdp = await gather(RTCPeerConnection(rtc_configuration(IceConfig())))
    assert "a=candidate" in sdp and "typ srflx" not in sdp
    assert guard.attempts == []
    # The control: aiortc's own default (no configuration) asks a public STUN server, and the guard sees it.
    with no_egress() as guard, contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(gather(RTCPeerConnection()), 20)
    assert any("stun.l.google.com" in a for a in guard.attempts), guard.attempts


@pytest.mark.models
@pytest.mark.usefixtures("grading_worker")
async def test_a_voice_call_and_its_grading_stay_on_the_machine(live_server: LiveServer) -> None:
    session_id = live_server.new_session(
        opening_line="Emma here. Go ahead.", evaluation_template="sales_discovery", created_by=live_server.admin_id
    )
    with no_egress() as guard:
        result = await websocket_call(live_server.base_url, session_id, LINES, headers=live_server.learner_headers)
        assert result.attempt_id and result.of_type("ended")
        attempt = await live_server.wait_attempt(result.attempt_id, states=("completed", "error"), limit_s=300)
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=live_server.admin_headers) as http:
            review = (await http.get(f"/api/v1/roleplays/review/{session_id}")).json()
    assert attempt.state == "completed", (attempt.state, attempt.error, guard.attempts)
    assert sum(1 for t in attempt.transcript if t["speaker"] == "learner") >= 1
    with live_server.db.session() as db:
        assert db.query(Evaluation).filter_by(attempt_id=attempt.id).count() == 1
    assert review["status"] == "completed" and review["scores"]
    assert guard.attempts == [], f"outbound network use during the call or its grading: {guard.attempts}"
