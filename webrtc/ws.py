"""The WebSocket fallback: 16 kHz mono PCM (int16 LE) both ways as binary frames, events as JSON text."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from pipeline.conversation import Conversation
from webrtc.events import client_message
from webrtc.peer import handle_control

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024  # 2 s of audio: larger frames are refused, not buffered
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008


async def serve_websocket(websocket: WebSocket, conversation: Conversation) -> str:
    """Pump audio and events until the conversation ends or the client leaves; returns why it stopped."""
    reason = "ended"

    async def send_audio() -> None:
        while True:
            frame = await conversation.output.get()
            await websocket.send_bytes((np.clip(frame, -1, 1) * 32767).astype("<i2").tobytes())

    async def send_events() -> None:
        queue = conversation.events.subscribe()
        try:
            for past in list(conversation.events.events):
                await _send_json(websocket, client_message(past))
            while (event := await queue.get()) is not None:
                await _send_json(websocket, client_message(event))
        finally:
            conversation.events.unsubscribe(queue)

    async def receive() -> str:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return "client_disconnected"
            data = message.get("bytes")
            if data is not None:
                if len(data) > MAX_FRAME_BYTES:
                    await websocket.close(CLOSE_TOO_BIG, f"audio frames are limited to {MAX_FRAME_BYTES} bytes")
                    return "frame_too_large"
                if len(data) % 2:
                    await websocket.close(CLOSE_POLICY, "audio must be 16-bit PCM (an even number of bytes)")
                    return "bad_audio"
                conversation.push_audio(np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0)
            elif (text := message.get("text")) is not None:
                handle_control(conversation, text)

    receiver = asyncio.ensure_future(receive())
    tasks: list[asyncio.Future[Any]] = [
        asyncio.ensure_future(send_audio()),
        asyncio.ensure_future(send_events()),
        receiver,
    ]
    ended = asyncio.ensure_future(conversation.wait_ended())
    try:
        done, _ = await asyncio.wait([*tasks, ended], return_when=asyncio.FIRST_COMPLETED)
        if receiver in done and not receiver.cancelled() and receiver.exception() is None:
            reason = receiver.result()
        if ended in done:
            await asyncio.sleep(0.2)  # let the final events reach the client
    except WebSocketDisconnect:
        reason = "client_disconnected"
    finally:
        for task in [*tasks, ended]:
            task.cancel()
        await asyncio.gather(*tasks, ended, return_exceptions=True)
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close()
    return reason


async def _send_json(websocket: WebSocket, message: dict[str, Any] | None) -> None:
    if message is not None:
        await websocket.send_text(json.dumps(message, default=str))
