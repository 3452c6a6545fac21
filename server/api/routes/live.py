"""Live practice: WebRTC offer/answer, WHIP, the WebSocket fallback, live events (SSE) and controls."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import httpx
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, WebSocket, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.requests import HTTPConnection

from pipeline.events import Event
from server.api.access import can_view_session
from server.api.deps import CurrentPrincipal, Principal, principal_from_connection
from server.live import CallManager, CallRefused, LiveCall
from server.nodes import TOKEN_HEADER, NodeDirectory, valid_node_token
from server.store.tables import Attempt, PracticeSession
from server.workspace.attempts import LIVE_STATES
from webrtc.events import client_message
from webrtc.peer import SignallingError, handle_control
from webrtc.ws import serve_websocket

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/roleplays/session", tags=["live"])
ice_router = APIRouter(prefix="/api/v1/roleplays", tags=["live"])
# Node to node: a full node forwards a new call's signalling to one with room (server/nodes.py).
internal_router = APIRouter(prefix="/internal/v1/calls", include_in_schema=False)
PracticeMode = Literal["voice", "text", "hybrid"]


def get_calls(connection: HTTPConnection) -> CallManager:
    calls: CallManager = connection.app.state.calls
    return calls


Calls = Annotated[CallManager, Depends(get_calls)]


class Offer(BaseModel):
    sdp: str = Field(max_length=64 * 1024)
    type: str = "offer"
    mode: PracticeMode | None = None


class Answer(BaseModel):
    sdp: str
    type: str = "answer"
    attempt_id: str
    call_id: str


class Control(BaseModel):
    type: Literal["pause", "resume", "end", "text"]
    text: str | None = Field(default=None, max_length=2000)


async def _may_watch(call: LiveCall, principal: Principal, calls: CallManager) -> None:
    """Only the people who may open the session may steer or follow its live call: the learner, the
    scenario's creator, its coaches and admins. Anyone else of the workspace gets 403, others 404."""
    if call.workspace_id != principal.workspace_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this session has no live call")

    def allowed() -> bool:
        with calls.db.session() as db:
            session = db.get(PracticeSession, call.session_id)
            return session is not None and can_view_session(session, principal)

    if not await asyncio.to_thread(allowed):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this live call belongs to someone else")


def _refusal(error: CallRefused) -> HTTPException:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return HTTPException(error.status, str(error), headers=headers)


READ_ONLY = "read-only users can open sessions but not practise: ask an admin for the member role"


async def _open(
    calls: CallManager, session_id: str, principal: Principal, transport: str, mode: str | None
) -> LiveCall:
    if not principal.at_least("member"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, READ_ONLY)
    try:
        return await calls.open(
            session_id,
            user_id=principal.user_id,
            workspace_id=principal.workspace_id,
            is_admin=principal.at_least("admin"),
            transport=transport,
            mode=mode,
        )
    except CallRefused as error:
        raise _refusal(error) from error


async def _answer(calls: CallManager, call: LiveCall, sdp: str, kind: str) -> str:
    try:
        return await calls.connect_webrtc(call, sdp, kind)
    except SignallingError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error


async def _forwarded(
    request: Request, session_id: str, principal: Principal, sdp: str, kind: str, mode: str | None
) -> Answer | None:
    """This node is full: the answer of another node with room (its media then flows there), or None."""
    directory: NodeDirectory | None = request.app.state.nodes
    if directory is None:
        return None
    node = await directory.node_with_room()
    if node is None:
        return None
    body = {"sdp": sdp, "type": kind, "mode": mode, "user_id": principal.user_id,
            "workspace_id": principal.workspace_id, "is_admin": principal.at_least("admin")}  # fmt: skip
    try:
        response = await directory.forward(node, f"/internal/v1/calls/{session_id}/offer", body)
    except httpx.HTTPError as error:
        log.warning("could not hand call %s to node %s: %s", session_id, node.name, error)
        return None
    if response.status_code == 503:
        return None  # it filled up meanwhile: the caller gets this node's own refusal
    if response.status_code != 200:
        raise HTTPException(response.status_code, response.json().get("detail", "the call was refused"))
    log.info("call for session %s handed to node %s", session_id, node.name)
    return Answer(**response.json())


async def _open_or_forward(
    request: Request, calls: CallManager, session_id: str, principal: Principal, sdp: str, kind: str, mode: str | None
) -> Answer:
    try:
        call = await _open(calls, session_id, principal, "webrtc", mode)
    except HTTPException as refusal:
        if refusal.status_code != status.HTTP_503_SERVICE_UNAVAILABLE:
            raise
        answer = await _forwarded(request, session_id, principal, sdp, kind, mode)
        if answer is None:
            raise
        return answer
    sdp = await _answer(calls, call, sdp, kind)
    return Answer(sdp=sdp, attempt_id=call.attempt_id, call_id=call.call_id)


@router.post("/{session_id}/offer", response_model=Answer)
async def webrtc_offer(
    session_id: str, offer: Offer, principal: CurrentPrincipal, calls: Calls, request: Request
) -> Answer:
    """Start a live voice call: post the browser's SDP offer, get the answer (JSON)."""
    return await _open_or_forward(request, calls, session_id, principal, offer.sdp, offer.type, offer.mode)


@router.post("/{session_id}/whip", status_code=201, response_class=Response)
async def whip_offer(session_id: str, request: Request, principal: CurrentPrincipal, calls: Calls) -> Response:
    """WHIP (RFC 9725): the body is an SDP offer (application/sdp); the answer comes back with 201."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/sdp":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "WHIP offers must be sent as application/sdp")
    body = await request.body()
    if len(body) > 64 * 1024:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "SDP offer larger than 64 KiB")
    answer = await _open_or_forward(
        request, calls, session_id, principal, body.decode("utf-8", "replace"), "offer", None
    )
    location = f"/api/v1/roleplays/session/{session_id}/whip/{answer.call_id}"
    return Response(answer.sdp, status_code=201, media_type="application/sdp", headers={"Location": location})


async def _control_elsewhere(request: Request, session_id: str, principal: Principal, body: Control) -> dict[str, str]:
    """The session's live call runs on another node (handed there when this one was full): steer it there."""
    directory: NodeDirectory | None = request.app.state.nodes
    calls: CallManager = request.app.state.calls

    def holder() -> str | None:
        with calls.db.session() as db:
            session = db.get(PracticeSession, session_id)
            if session is None or session.workspace_id != principal.workspace_id:
                return None
            if not can_view_session(session, principal):
                raise HTTPException(status.HTTP_403_FORBIDDEN, "this live call belongs to someone else")
            return db.scalar(
                select(Attempt.node).where(Attempt.session_id == session_id, Attempt.state.in_(LIVE_STATES))
            )

    node_name = await asyncio.to_thread(holder) if directory is not None else None
    node = next((n for n in await directory.nodes() if n.name == node_name), None) if directory and node_name else None
    if directory is None or node is None or node.name == directory.name:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this session has no live call")
    try:
        response = await directory.forward(node, f"/internal/v1/calls/{session_id}/control", body.model_dump())
    except httpx.HTTPError as error:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, f"the node holding this call did not answer: {error}"
        ) from error
    if response.status_code != 202:
        raise HTTPException(response.status_code, response.json().get("detail", "the control was refused"))
    return dict(response.json())


@router.delete("/{session_id}/whip/{call_id}", status_code=200, response_class=Response)
async def whip_delete(
    session_id: str, call_id: str, principal: CurrentPrincipal, calls: Calls, request: Request
) -> Response:
    """End a WHIP call."""
    call = calls.find(call_id=call_id)
    if call is None:
        await _control_elsewhere(request, session_id, principal, Control(type="end"))
        return Response(status_code=200)
    if call.session_id != session_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such live call")
    await _may_watch(call, principal, calls)
    await calls.finish(call, "learner_ended")
    return Response(status_code=200)


@router.post("/{session_id}/control", status_code=202)
async def control(
    session_id: str, body: Control, principal: CurrentPrincipal, calls: Calls, request: Request
) -> dict[str, str]:
    """Pause, resume or end the live call (the same controls as the data channel)."""
    call = calls.find(session_id=session_id)
    if call is None:
        return await _control_elsewhere(request, session_id, principal, body)
    await _may_watch(call, principal, calls)
    pending = handle_control(call.conversation, body.model_dump_json())
    if pending is not None:
        await pending
    return {"state": call.conversation.state}


@router.get("/{session_id}/events")
async def live_events(session_id: str, principal: CurrentPrincipal, calls: Calls) -> StreamingResponse:
    """The live call's events as server-sent events, for listeners other than the caller."""
    call = calls.find(session_id=session_id)
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this session has no live call")
    await _may_watch(call, principal, calls)
    events = call.conversation.events

    async def stream() -> AsyncIterator[str]:
        queue = events.subscribe()
        try:
            for past in list(events.events):
                if (message := client_message(past)) is not None:
                    yield f"data: {json.dumps(message, default=str)}\n\n"
            while True:
                try:
                    event: Event | None = await asyncio.wait_for(queue.get(), 15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event is None:
                    return
                if (message := client_message(event)) is not None:
                    yield f"data: {json.dumps(message, default=str)}\n\n"
        finally:
            events.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.websocket("/{session_id}")
async def websocket_call(
    websocket: WebSocket, session_id: str, mode: Annotated[PracticeMode | None, Query()] = None
) -> None:
    """The WebSocket fallback: binary 16 kHz PCM both ways, JSON events and controls as text."""
    calls = get_calls(websocket)
    principal = await asyncio.to_thread(principal_from_connection, websocket)
    if principal is None:
        await _deny(websocket, 401, "sign in or send an API key (Authorization: Bearer ...)")
        return
    if not principal.at_least("member"):
        await _deny(websocket, 403, READ_ONLY)
        return
    try:
        call = await calls.open(
            session_id,
            user_id=principal.user_id,
            workspace_id=principal.workspace_id,
            is_admin=principal.at_least("admin"),
            transport="websocket",
            mode=mode,
        )
    except CallRefused as error:
        await _deny(websocket, error.status, str(error), error.retry_after)
        return
    await websocket.accept()
    await websocket.send_text(json.dumps({"type": "call", "attempt_id": call.attempt_id, "session_id": session_id}))
    await calls.start(call)
    reason = await serve_websocket(websocket, call.conversation)
    if reason == "client_disconnected" and call.conversation.state not in ("ended", "error"):
        await calls.detach(call, "connection_lost")  # it may come back within the grace period
    else:
        await calls.finish(call, "learner_ended" if reason == "ended" else reason)


class IceServerOut(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceServersOut(BaseModel):
    ice_servers: list[IceServerOut]


@ice_router.get("/ice-servers", response_model=IceServersOut)
def ice_servers(request: Request, principal: CurrentPrincipal) -> IceServersOut:
    """The STUN/TURN servers browsers should use to reach this deployment."""
    settings = request.app.state.settings
    return IceServersOut(ice_servers=[IceServerOut(**s.model_dump()) for s in settings.webrtc.ice_servers])


async def _deny(websocket: WebSocket, status_code: int, message: str, retry_after: int | None = None) -> None:
    """Refuse the handshake with an HTTP status and a JSON reason (clients see why, not just a close)."""
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    await websocket.send_denial_response(JSONResponse({"detail": message}, status_code=status_code, headers=headers))


# ---------------------------------------------------------------------- node to node


class ForwardedOffer(Offer):
    user_id: str
    workspace_id: str
    is_admin: bool = False


def _node_only(request: Request, token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None) -> None:
    if not valid_node_token(request.app.state.settings.secret_key, token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "node endpoints are for the other nodes of this deployment")


@internal_router.post("/{session_id}/offer", response_model=Answer, dependencies=[Depends(_node_only)])
async def forwarded_offer(session_id: str, offer: ForwardedOffer, calls: Calls) -> Answer:
    """A call another node handed here (the caller was authenticated and authorised there)."""
    try:
        call = await calls.open(
            session_id, user_id=offer.user_id, workspace_id=offer.workspace_id, is_admin=offer.is_admin,
            transport="webrtc", mode=offer.mode,
        )  # fmt: skip
    except CallRefused as error:
        raise _refusal(error) from error
    sdp = await _answer(calls, call, offer.sdp, offer.type)
    return Answer(sdp=sdp, attempt_id=call.attempt_id, call_id=call.call_id)


@internal_router.post("/{session_id}/control", status_code=202, dependencies=[Depends(_node_only)])
async def forwarded_control(session_id: str, body: Control, calls: Calls) -> dict[str, str]:
    call = calls.find(session_id=session_id)
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this session has no live call on this node")
    pending = handle_control(call.conversation, body.model_dump_json())
    if pending is not None:
        await pending
    return {"state": call.conversation.state}
