"""The live events a client sees (data channel, WebSocket, SSE): engine events as JSON."""

from __future__ import annotations

from typing import Any

from pipeline.events import Event

STATUS_LABELS = {
    "initializing": "Initializing...",
    "connecting": "Connecting...",
    "in_session": "In session",
    "paused": "Paused",
    "ended": "Ended",
    "error": "Error",
}
# Engine-internal events a client has no use for.
_HIDDEN = {"llm_first_token", "first_chunk", "tts_first_audio", "speculation_discarded", "playout_start"}


def client_message(event: Event) -> dict[str, Any] | None:
    if event.type in _HIDDEN:
        return None
    message = event.to_json()
    if event.type == "state":
        message["status"] = STATUS_LABELS.get(str(event.data.get("state")), str(event.data.get("state")))
    return message


def status_message(state: str) -> dict[str, Any]:
    return {"type": "state", "state": state, "status": STATUS_LABELS.get(state, state)}
