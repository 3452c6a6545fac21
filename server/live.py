"""Live calls on this node: one conversation per attempt, its transport, and its persistence.

The engine knows nothing of the database: this module opens the attempt, streams the engine's
events into the attempt row as they happen (so a killed process loses at most the turn in
progress), and closes the attempt when the conversation ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.registry import Backends
from pipeline.conversation import Conversation
from pipeline.events import Event, EventLog
from server.metrics import Metrics
from server.store.db import Database
from server.store.tables import Attempt, Contact, PracticeSession
from server.workspace.attempts import attempt_for_call
from server.workspace.setup import conversation_config
from webrtc.ice import IceConfig
from webrtc.peer import PeerSession

log = logging.getLogger(__name__)


class CallRefused(Exception):
    """A call that cannot start: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(eq=False)
class LiveCall:
    call_id: str
    attempt_id: str
    session_id: str
    workspace_id: str
    owner_id: str
    transport: str
    conversation: Conversation
    artifacts: Path
    peer: PeerSession | None = None
    started: bool = False
    detached: bool = False  # the client's connection dropped; it may come back within the grace period
    paused_by_drop: bool = False
    grace: asyncio.Task[None] | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


class CallManager:
    def __init__(
        self,
        db: Database,
        backends: Backends,
        *,
        data_dir: Path,
        ice: IceConfig,
        max_live: int,
        node: str | None = None,
        on_finished: Callable[[str], Awaitable[None]] | None = None,
        metrics: Metrics | None = None,
        reconnect_grace_s: float = 10.0,
    ) -> None:
        self.db = db
        self.backends = backends
        self.data_dir = data_dir
        self.ice = ice
        self.max_live = max_live
        self.node = node or socket.gethostname()
        self.on_finished = on_finished
        self.reconnect_grace_s = reconnect_grace_s
        self.metrics = metrics or Metrics()
        self.metrics.live_limit.set(max_live)
        self.calls: dict[str, LiveCall] = {}  # by attempt id
        self._opening: set[str] = set()  # session ids between admission and registration
        self.draining = False  # shutting down: no new calls
        self._empty = asyncio.Event()

    @property
    def live_count(self) -> int:
        return len(self.calls) + len(self._opening)

    def find(self, *, session_id: str | None = None, call_id: str | None = None) -> LiveCall | None:
        for call in self.calls.values():
            if (session_id and call.session_id == session_id) or (call_id and call.call_id == call_id):
                return call
        return None

    # ------------------------------------------------------------------ opening

    async def open(
        self, session_id: str, *, user_id: str, workspace_id: str, is_admin: bool, transport: str, mode: str | None
    ) -> LiveCall:
        if self.draining:
            raise CallRefused(503, "this node is shutting down; try again in a moment", retry_after=5)
        existing = self.find(session_id=session_id)
        if existing is not None and existing.detached and existing.workspace_id == workspace_id:
            if existing.owner_id != user_id and not is_admin:
                raise CallRefused(403, "only the session's owner can run it")
            if existing.transport != transport:
                raise CallRefused(409, f"reconnect over {existing.transport}, the transport this call started on")
            self._reattach(existing)
            return existing
        if existing is not None or session_id in self._opening:
            self.metrics.refused.labels("409").inc()
            raise CallRefused(409, "this session already has a live call; end it before starting another")
        if self.live_count >= self.max_live:
            # Admission control: a new call never degrades the calls already running.
            self.metrics.refused.labels("503").inc()
            raise CallRefused(503, f"this node is at its limit of {self.max_live} live calls", retry_after=30)
        self._opening.add(session_id)
        try:
            return await asyncio.to_thread(
                self._open_sync, session_id, user_id, workspace_id, is_admin, transport, mode
            )
        finally:
            self._opening.discard(session_id)

    def _open_sync(
        self, session_id: str, user_id: str, workspace_id: str, is_admin: bool, transport: str, mode: str | None
    ) -> LiveCall:
        with self.db.session() as db:
            session = db.get(PracticeSession, session_id)
            if session is None or session.workspace_id != workspace_id:
                raise CallRefused(404, "no such practice session")
            if session.owner_id != user_id and not is_admin:
                raise CallRefused(403, "only the session's owner can run it")
            if not session.active:
                raise CallRefused(409, "this session is a draft: approve it before starting a call")
            scenario = session.scenario
            allowed = {"voice": {"voice"}, "text": {"text"}, "hybrid": {"voice", "text", "hybrid"}}[scenario.mode]
            chosen = mode or ("hybrid" if scenario.mode == "hybrid" else scenario.mode)
            if chosen not in allowed and not (scenario.mode == "hybrid" and chosen == "hybrid"):
                raise CallRefused(422, f"this scenario allows {', '.join(sorted(allowed))} practice, not {chosen}")
            if transport == "webrtc" and chosen == "text":
                raise CallRefused(422, "text practice runs over the WebSocket, not WebRTC")
            voice = chosen in ("voice", "hybrid")
            if voice and not all((self.backends.vad, self.backends.asr, self.backends.tts)):
                raise CallRefused(503, "voice models are not loaded on this node")
            if self.backends.persona_llm is None:
                raise CallRefused(503, "the persona model is not loaded on this node")
            attempt = attempt_for_call(db, session, mode=chosen)
            contact = db.get(Contact, session.contact_id) if session.contact_id else None
            config = conversation_config(
                scenario,
                scenario.persona,
                contact=contact,
                conversation_id=attempt.id,
                mode=chosen,  # type: ignore[arg-type]
                output_sample_rate=48_000 if transport == "webrtc" else 16_000,
            )
            artifacts = self.data_dir / "artifacts" / session.workspace_id / attempt.id
            artifacts.mkdir(parents=True, exist_ok=True)
            attempt.state = "connecting"
            attempt.node = self.node
            attempt.event_log_path = str(artifacts / "events.jsonl")
            attempt.recording_path = str(artifacts / "recording.wav") if voice else None
            conversation = Conversation(
                config,
                llm=self.backends.persona_llm,
                vad=self.backends.vad if voice else None,
                asr=self.backends.asr if voice else None,
                tts=self.backends.tts if voice else None,
                event_log=EventLog(artifacts / "events.jsonl"),
                recording_path=artifacts / "recording.wav" if voice else None,
                turn_model=self.backends.turn if voice else None,
            )
            call = LiveCall(
                call_id=uuid.uuid4().hex,
                attempt_id=attempt.id,
                session_id=session.id,
                workspace_id=session.workspace_id,
                owner_id=session.owner_id,
                transport=transport,
                conversation=conversation,
                artifacts=artifacts,
            )
        self.calls[call.attempt_id] = call
        self._count_changed()
        return call

    # ------------------------------------------------------------------ running

    async def start(self, call: LiveCall) -> None:
        """Media can flow: start the conversation and record its progress."""
        if call.started:
            return
        call.started = True
        await asyncio.to_thread(self._update, call.attempt_id, state="in_session", started_at=datetime.now(UTC))
        self._spawn(call, self._persist_events(call))
        await call.conversation.start()

    def _spawn(self, call: LiveCall, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        call.tasks.add(task)
        task.add_done_callback(call.tasks.discard)

    async def _persist_events(self, call: LiveCall) -> None:
        queue = call.conversation.events.subscribe()
        try:
            while (event := await queue.get()) is not None:
                if event.type == "transcript":
                    turns = call.conversation.transcript.as_list()
                    learner = sum(1 for t in turns if t["speaker"] == "learner")
                    await asyncio.to_thread(self._update, call.attempt_id, transcript=turns, interactions=learner)
                elif event.type == "turn_metrics":
                    self.metrics.observe_turn(event.data)
                elif event.type == "interruption":
                    self.metrics.interruptions.inc()
                elif event.type == "state" and event.data.get("state") in ("in_session", "paused"):
                    await asyncio.to_thread(self._update, call.attempt_id, state=event.data["state"])
                elif event.type == "ended":
                    break
        finally:
            call.conversation.events.unsubscribe(queue)
        await self.finish(call, "ended")

    def _update(self, attempt_id: str, **values: Any) -> None:
        with self.db.session() as db:
            attempt = db.get(Attempt, attempt_id)
            # A progress update still in flight in its thread when the call ended must not undo the outcome.
            if attempt is not None and (attempt.ended_at is None or "ended_at" in values):
                for key, value in values.items():
                    setattr(attempt, key, value)

    async def finish(self, call: LiveCall, reason: str) -> None:
        """End the call (idempotent): stop the conversation and transport, store the outcome."""
        if call.finished.is_set():
            return
        call.finished.set()
        if call.grace is not None and call.grace is not asyncio.current_task():
            call.grace.cancel()
        conversation = call.conversation
        if conversation.state not in ("ended", "error"):
            await conversation.end(reason if reason != "ended" else "learner_ended")
        if call.peer is not None:
            await asyncio.sleep(0.3)  # the final events still have to cross the data channel
            await call.peer.close()
        current = asyncio.current_task()
        for task in list(call.tasks):
            if task is not current:
                task.cancel()
        summary = conversation.summary()
        turns = summary["turns"]
        learner_turns = sum(1 for t in turns if t["speaker"] == "learner")
        state = "error" if conversation.state == "error" else "ended"
        recording = call.artifacts / "recording.wav"
        await asyncio.to_thread(
            self._update,
            call.attempt_id,
            state=state,
            error=conversation.error,
            end_reason=conversation.end_reason,
            ended_at=datetime.now(UTC),
            transcript=turns,
            metrics=summary["metrics"],
            interactions=learner_turns,
            recording_path=str(recording) if recording.exists() else None,
        )
        self.calls.pop(call.attempt_id, None)
        self._count_changed()
        self.metrics.underruns.inc(conversation.underruns)
        self.metrics.calls.labels(state).inc()
        log.info("call %s ended (%s, %s turns)", call.attempt_id, conversation.end_reason, len(turns))
        if state == "ended" and learner_turns and self.on_finished is not None:
            await self.on_finished(call.attempt_id)

    # ------------------------------------------------------------------ dropped connections

    async def detach(self, call: LiveCall, reason: str) -> None:
        """The client's connection dropped: pause the call and keep it for `reconnect_grace_s`; a new
        connection to the same session resumes it, otherwise it ends cleanly with `reason`."""
        if call.finished.is_set() or call.detached:
            return
        conversation = call.conversation
        if conversation.state in ("ended", "error") or not self.reconnect_grace_s:
            await self.finish(call, reason)
            return
        call.detached = True
        if conversation.state == "in_session":
            conversation.pause()
            call.paused_by_drop = True
        conversation.events.emit(Event("connection_lost", conversation.now(), {"grace_s": self.reconnect_grace_s}))
        log.info(
            "call %s lost its connection; waiting %.0f s for it to come back", call.attempt_id, self.reconnect_grace_s
        )
        call.grace = asyncio.ensure_future(self._expire(call, reason))

    async def _expire(self, call: LiveCall, reason: str) -> None:
        await asyncio.sleep(self.reconnect_grace_s)
        if call.detached:
            await self.finish(call, reason)

    def _reattach(self, call: LiveCall) -> None:
        call.detached = False
        if call.grace is not None:
            call.grace.cancel()
            call.grace = None
        conversation = call.conversation
        conversation.output.clear()  # silence queued while nobody listened
        if call.paused_by_drop:
            call.paused_by_drop = False
            conversation.resume()
        conversation.events.emit(Event("reconnected", conversation.now(), {}))

    async def drain(self, limit_s: float) -> None:
        """Stop admitting calls and give the running ones up to `limit_s` to end by themselves."""
        self.draining = True
        if self.calls and limit_s > 0:
            self._empty.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._empty.wait(), limit_s)

    async def close_all(self) -> None:
        await asyncio.gather(*(self.finish(call, "server_shutdown") for call in list(self.calls.values())))

    # ------------------------------------------------------------------ WebRTC

    async def connect_webrtc(self, call: LiveCall, sdp: str, kind: str) -> str:
        async def connected() -> None:
            await self.start(call)

        async def closed(reason: str) -> None:
            if call.peer is peer:  # not an older peer replaced by a reconnection
                await self.detach(call, "connection_lost")

        if call.peer is not None:  # a reconnection: the old peer is gone
            await call.peer.close()
        peer = PeerSession(call.conversation, self.ice, on_connected=connected, on_closed=closed)
        call.peer = peer
        try:
            return await peer.answer(sdp, kind)
        except BaseException:
            if call.started:
                call.peer = None
                call.detached = False
                await self.detach(call, "connection_lost")
            else:
                await self.abandon(call)
            raise

    async def abandon(self, call: LiveCall) -> None:
        """A call that never connected (bad offer): forget it and put the attempt back to unstarted."""
        call.finished.set()
        if call.peer is not None:
            await call.peer.close()
        await call.conversation.end("not_connected")
        self.calls.pop(call.attempt_id, None)
        self._count_changed()
        await asyncio.to_thread(self._update, call.attempt_id, state="initializing")

    def _count_changed(self) -> None:
        self.metrics.live_sessions.set(len(self.calls))
        if not self.calls:
            self._empty.set()

    def live_attempts(self) -> list[str]:
        return list(self.calls)
