"""The conversation engine: learner audio or text in, persona audio frames and typed events out.

Transport-free: a WebRTC track, a WebSocket or a benchmark pushes 16 kHz mono float32 audio with
`push_audio` (or text with `send_text`) and reads paced output frames from `output`. One persona
reply is one cancellable task (`PersonaReply`); barge-in cancels it and keeps only what was heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from models.base import ASR, LLM, TTS, VAD, Audio, ChatMessage, TurnModel
from pipeline.chunker import Chunker
from pipeline.config import ConversationConfig
from pipeline.events import Event, EventLog, TurnMetrics
from pipeline.persona_guard import STOP_SEQUENCES, clean_reply, is_speakable
from pipeline.playout import Chunk, FrameQueue, PlayoutBuffer, Segment, heard_text
from pipeline.recording import Recorder
from pipeline.transcript import Transcript
from pipeline.turn_detector import Signal, TurnDetector

log = logging.getLogger(__name__)

INPUT_RATE = 16_000
ERROR_MESSAGE = "There was an issue with the roleplay."
_AUDIBLE = 0.01  # peak amplitude that counts as non-silent persona audio


@dataclass(eq=False)
class PersonaReply:
    """One persona turn in flight: from the learner's words to the last played sample."""

    metrics: TurnMetrics
    learner_text: str | None = None
    audio: Audio | None = None  # learner audio still to transcribe (voice turns)
    learner_start: float = 0.0
    learner_end: float = 0.0
    source: str = "voice"
    scripted: str | None = None  # a fixed line (opening, holding, closing): no LLM
    kind: str = "reply"
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    raw: str = ""
    spoken: list[str] = field(default_factory=list)
    started: float | None = None
    audio_done: bool = False
    exit_requested: bool = False
    finished: bool = False
    stage: str = "asr"
    first_audio: asyncio.Event = field(default_factory=asyncio.Event)
    chunks_queued: int = 0
    learner_committed: bool = False


class ConversationError(Exception):
    pass


class Conversation:
    def __init__(
        self,
        config: ConversationConfig,
        *,
        llm: LLM,
        vad: VAD | None = None,
        asr: ASR | None = None,
        tts: TTS | None = None,
        event_log: EventLog | None = None,
        recording_path: Path | None = None,
        turn_model: TurnModel | None = None,
    ) -> None:
        self.config = config
        self.voice_in = config.mode in ("voice", "hybrid")
        self.voice_out = config.mode in ("voice", "hybrid")
        if self.voice_in and (vad is None or asr is None):
            raise ConversationError("voice input needs a VAD and an ASR backend")
        if self.voice_out and tts is None:
            raise ConversationError("voice output needs a TTS backend")
        self.llm, self.vad, self.asr, self.tts = llm, vad, asr, tts
        self.events = event_log or EventLog()
        self.transcript = Transcript()
        self.metrics: list[TurnMetrics] = []
        self.state = "initializing"
        self.end_reason: str | None = None
        self.error: str | None = None
        self.frame_samples = config.output_sample_rate * config.frame_ms // 1000
        self.output = FrameQueue()
        self.underruns = 0
        self.late_frames = 0
        self._playout = PlayoutBuffer(self.frame_samples)
        self._recorder = Recorder(recording_path, config.output_sample_rate) if recording_path else None
        self._recording_reported = False
        self._vad_stream = vad.new_stream() if vad else None
        self.turn_model = turn_model
        turn_taking = config.turn_taking
        if turn_model is not None:  # the model decides; silence alone ends the turn only after a longer wait
            turn_taking = replace(turn_taking, end_silence_s=turn_taking.model_max_silence_s)
        self._detector = TurnDetector(
            turn_taking,
            frame_samples=vad.frame_samples if vad else 512,
            check_after_s=turn_taking.model_check_s if turn_model is not None else None,
        )
        self._pending_input = np.zeros(0, dtype=np.float32)
        self._reply: PersonaReply | None = None
        self._learner_over_persona = False
        self._segments: list[asyncio.Task[str]] = []
        self._partial_task: asyncio.Task[str | None] | None = None
        self._partial_until = 0.0  # end time of the audio the partial transcribes
        self._last_partial = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failures = 0
        self._turn_counter = 0
        self._closing = False
        self._t0 = 0.0
        self._elapsed = 0.0
        self._drained = asyncio.Event()
        self._ended = asyncio.Event()

    # ------------------------------------------------------------------ public API

    @property
    def elapsed(self) -> float:
        """Session clock in seconds: stops while paused."""
        return self._elapsed

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self._t0

    async def start(self) -> None:
        self._t0 = asyncio.get_running_loop().time()
        self._set_state("in_session")
        if self.voice_out:
            self._spawn(self._playout_loop(), "playout")
        self._spawn(self._clock_loop(), "clock")
        self._spawn(self._prefill(), "prefill")
        if self.config.persona_speaks_first:
            self._spawn(self._opening(), "opening")

    def push_audio(self, samples: Audio) -> None:
        """Learner audio, 16 kHz mono float32 in [-1, 1], in real time (any chunk size)."""
        if not self.voice_in or self.state != "in_session" or self._closing:
            return
        clean = np.clip(
            np.nan_to_num(np.asarray(samples, dtype=np.float32).ravel(), nan=0.0, posinf=0.0, neginf=0.0), -1.0, 1.0
        )
        if self._recorder:
            self._recorder.learner(clean)
        arrival = self.now()
        assert self.vad is not None and self._vad_stream is not None
        n = self.vad.frame_samples
        self._pending_input = np.concatenate([self._pending_input, clean])
        usable = len(self._pending_input) // n * n
        for start in range(0, usable, n):
            frame = self._pending_input[start : start + n]
            t_end = arrival - (len(self._pending_input) - start - n) / INPUT_RATE
            probability = self._vad_stream.probability(frame)
            for signal in self._detector.feed(frame, probability, t_end):
                self._on_signal(signal)
        self._pending_input = self._pending_input[usable:]

    async def send_text(self, text: str) -> None:
        """A typed learner turn (text and hybrid modes)."""
        text = " ".join(text.split())
        if self.config.mode == "voice":
            raise ConversationError("this conversation takes voice only")
        if self.state != "in_session" or self._closing or not text:
            return
        if self._reply is not None:
            self._interrupt(self.now())
        t = self.now()
        self._start_reply(PersonaReply(self._new_metrics(t, t), learner_text=text, source="text",
                                       learner_start=t, learner_end=t), confirmed=True)  # fmt: skip

    def pause(self) -> None:
        if self.state == "in_session":
            self._set_state("paused")
            self.events.emit(Event("pause", self.now()))

    def resume(self) -> None:
        if self.state == "paused":
            self._set_state("in_session")
            self.events.emit(Event("resume", self.now()))

    async def end(self, reason: str = "learner_ended", error: str | None = None) -> None:
        if self.state in ("ended", "error"):
            return
        if self._reply is not None:
            self._interrupt(self.now(), emit=False)
        self.end_reason, self.error = reason, error
        self._set_state("error" if error else "ended")
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current and not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._recorder:
            self._recorder.close()
        self.events.emit(Event("ended", self.now(), {"reason": reason, "error": error, "elapsed": self.elapsed}))
        self.events.close()
        self._ended.set()

    async def wait_ended(self) -> None:
        await self._ended.wait()

    @property
    def persona_speaking(self) -> bool:
        return self._reply is not None and self._reply.confirmed.is_set()

    # ------------------------------------------------------------------ learner turns

    def _on_signal(self, signal: Signal) -> None:
        cfg = self.config.turn_taking
        if signal.kind == "start":
            self._partial_task = None
            self._learner_over_persona = self.persona_speaking
            self.events.emit(Event("speech_started", signal.speech_start, {"over_persona": self._learner_over_persona}))
        if signal.kind in ("start", "speech"):
            if self._learner_over_persona and self.persona_speaking and signal.speech_s >= cfg.barge_in_min_s:
                self._interrupt(signal.t)
            elif cfg.partial_interval_s and signal.t - self._last_partial >= 3 * cfg.partial_interval_s:
                self._maybe_partial(signal.t)  # a long stretch of speech without a gap
        elif signal.kind == "gap":
            # Partials run at the gaps between phrases: if the learner has in fact finished, the
            # partial already covers their last word and becomes the final at no extra cost.
            if cfg.partial_interval_s and signal.t - self._last_partial >= cfg.partial_interval_s:
                self._maybe_partial(signal.t)
        elif signal.kind == "pause":
            self.events.emit(Event("speech_stopped", signal.speech_end, {"speech_s": round(signal.speech_s, 3)}))
            # Over the persona, only speech long enough to have interrupted it is a turn worth answering.
            heard_out = not self._learner_over_persona or signal.speech_s >= cfg.barge_in_min_s
            if self._reply is None and signal.audio is not None and heard_out:
                metrics = self._new_metrics(signal.speech_end, None, speculative=True)
                reply = PersonaReply(metrics, audio=signal.audio, learner_start=signal.speech_start,
                                     learner_end=signal.speech_end)  # fmt: skip
                self._start_reply(reply, confirmed=False)
        elif signal.kind == "resume":
            if self._reply is not None and not self._reply.confirmed.is_set():
                self.events.emit(Event("speculation_discarded", signal.t, {"turn": self._reply.metrics.turn}))
                self._cancel_reply(self._reply)
        elif signal.kind == "check" and self.turn_model is not None:
            self._spawn(self._check_end_of_turn(self._detector.pause_id), "turn-check")
        elif signal.kind == "segment" and signal.audio is not None:
            self._segments.append(asyncio.ensure_future(self._transcribe(signal.audio)))
        elif signal.kind == "end":
            self._end_of_learner_turn(signal)

    def _end_of_learner_turn(self, signal: Signal) -> None:
        over_persona, self._learner_over_persona = self._learner_over_persona, False
        if over_persona and signal.speech_s < self.config.turn_taking.barge_in_min_s:
            self.events.emit(Event("backchannel_ignored", signal.t, {"speech_s": round(signal.speech_s, 3)}))
            self._segments.clear()
            return
        reply = self._reply
        if reply is not None and not reply.confirmed.is_set():
            reply.metrics.endpoint = signal.t
            reply.confirmed.set()
            return
        if reply is not None:
            return  # the persona is already answering (a very short turn during its reply)
        metrics = self._new_metrics(signal.speech_end, signal.t)
        self._start_reply(PersonaReply(metrics, audio=signal.audio, learner_start=signal.speech_start,
                                       learner_end=signal.speech_end), confirmed=True)  # fmt: skip

    async def _check_end_of_turn(self, pause_id: int) -> None:
        assert self.turn_model is not None
        probability = await self.turn_model.completion_probability(self._detector.full_audio())
        t = self.now()
        self.events.emit(Event("turn_check", t, {"probability": round(probability, 3)}))
        # The answer counts only if the learner is still silent in the same pause.
        if probability >= self.turn_model.threshold and self._detector.active and self._detector.pause_id == pause_id:
            self._end_of_learner_turn(self._detector.force_end(t))

    def _maybe_partial(self, t: float) -> None:
        if self._partial_task is not None and not self._partial_task.done():
            return
        if self._reply is not None and not self._reply.confirmed.is_set():
            return  # the speculative final transcription has the ASR
        audio = self._detector.current_audio()
        if len(audio) < INPUT_RATE // 2:
            return
        self._last_partial = t
        self._partial_until = t
        self._partial_task = self._spawn(self._partial(audio), "partial")

    async def _partial(self, audio: Audio) -> str | None:
        try:
            text = await self._transcribe(audio)
        except Exception as error:  # a live-transcript nicety: the final transcription reports real trouble
            log.info("partial transcription failed: %s", error)
            return None
        if text and self._detector.active:
            self.events.emit(Event("partial_transcript", self.now(), {"text": text}))
        return text

    async def _final_transcript(self, reply: PersonaReply) -> str:
        """The learner's words: earlier segments, then the last one. A partial that already covers the
        last speech frame is the final: it is reused rather than queued behind on the ASR."""
        assert reply.audio is not None
        # Shielded: cancelling a speculative reply must not cancel the segments' transcription.
        earlier = [await asyncio.shield(segment) for segment in self._segments]
        partial = self._partial_task
        last: str | None = None
        if partial is not None and not partial.cancelled() and self._partial_until >= reply.learner_end - 1e-6:
            last = await asyncio.shield(partial)
        if last is None:
            last = await self._transcribe(reply.audio)
        return " ".join([*earlier, last]).strip()

    async def _transcribe(self, audio: Audio) -> str:
        assert self.asr is not None
        result = await self.asr.transcribe(audio)
        return result.text.strip()

    # ------------------------------------------------------------------ persona replies

    def _new_metrics(self, speech_end: float | None, endpoint: float | None, speculative: bool = False) -> TurnMetrics:
        self._turn_counter += 1
        return TurnMetrics(self._turn_counter, speech_end=speech_end, endpoint=endpoint, speculative=speculative)

    def _start_reply(self, reply: PersonaReply, *, confirmed: bool) -> None:
        if confirmed:
            reply.confirmed.set()
        self._reply = reply
        reply.task = self._spawn(self._guarded(reply), f"reply-{reply.metrics.turn}")

    def _cancel_reply(self, reply: PersonaReply) -> None:
        if reply.task is not None:
            reply.task.cancel()
        if self._reply is reply:
            self._reply = None

    def _interrupt(self, t: float, *, emit: bool = True) -> None:
        """Barge-in: stop playout at once, cancel the reply, keep only what the learner heard."""
        reply = self._reply
        if reply is None:
            return
        self._cancel_reply(reply)
        if not reply.confirmed.is_set():
            return
        segments = self._playout.clear()
        self.output.clear()
        if self.voice_out:
            heard = heard_text([s for s in segments if s.turn == reply.metrics.turn])
        else:
            heard = " ".join(reply.spoken)
        if emit:
            self.events.emit(Event("interruption", t, {"turn": reply.metrics.turn, "heard": heard,
                                                       "generated": " ".join(reply.spoken)}))  # fmt: skip
        if heard:
            self._commit_persona(reply, heard, interrupted=True, t=t)

    def _commit_learner(self, reply: PersonaReply, text: str) -> None:
        reply.learner_committed = True
        turn = self.transcript.add("learner", text, reply.learner_start, reply.learner_end, source=reply.source)
        self.events.emit(Event("transcript", self.now(), turn.as_dict()))

    def _commit_persona(self, reply: PersonaReply, text: str, *, interrupted: bool, t: float) -> None:
        if reply.finished:
            return
        reply.finished = True
        start = reply.started if reply.started is not None else t
        turn = self.transcript.add("persona", text, start, t, interrupted=interrupted,
                                   generated_text=clean_reply(reply.raw) if reply.raw else None)  # fmt: skip
        self.events.emit(Event("transcript", t, turn.as_dict()))
        if reply.scripted is None:
            self.metrics.append(reply.metrics)
            self.events.emit(Event("turn_metrics", t, reply.metrics.summary()))

    async def _guarded(self, reply: PersonaReply) -> None:
        try:
            await self._run_reply(reply)
            if reply.kind == "reply":
                self._failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a backend failed: recover in character, or end with an error
            cause = error.exceptions[0] if isinstance(error, ExceptionGroup) else error
            log.warning("persona turn failed in %s: %s", reply.stage, cause)
            if self._reply is reply:
                self._reply = None
            if not reply.confirmed.is_set():
                # Only a speculation: the learner may not be done. The end of their turn starts a
                # fresh reply, which will meet the failure again if it persists.
                self.events.emit(Event("speculation_failed", self.now(), {"stage": reply.stage, "message": str(cause)}))
                return
            self.events.emit(Event("error", self.now(), {"stage": reply.stage, "message": str(cause)}))
            if reply.learner_text and not reply.learner_committed:
                self._commit_learner(reply, reply.learner_text)  # what the learner said is kept
            self._playout.clear()
            self._failures += 1
            if reply.kind != "reply" or self._failures >= self.config.max_consecutive_failures:
                self._spawn(self.end("error", ERROR_MESSAGE), "end")
            else:
                self._say(self.config.holding_line, kind="holding")
            return
        if self._reply is reply:
            self._reply = None
        if reply.exit_requested or reply.kind == "closing":
            self._spawn(self.end("exit_condition" if reply.exit_requested else "time_limit"), "end")

    def _say(self, line: str, *, kind: str) -> PersonaReply:
        reply = PersonaReply(TurnMetrics(0), scripted=line, kind=kind, source="text" if not self.voice_out else "voice")
        self._start_reply(reply, confirmed=True)
        return reply

    async def _run_reply(self, reply: PersonaReply) -> None:
        m = reply.metrics
        if reply.scripted is None:
            text = reply.learner_text
            if text is None:
                assert reply.audio is not None
                reply.stage = "asr"
                m.asr_start = self.now()
                text = await self._final_transcript(reply)
                m.asr_final = self.now()
                reply.learner_text = text
            if len(text.split()) < self.config.turn_taking.min_turn_words:
                await reply.confirmed.wait()
                self._segments.clear()
                self.events.emit(Event("turn_dropped", self.now(), {"reason": "no words recognised"}))
                return
            messages = self._messages(text)
        else:
            messages = []
        chunks: asyncio.Queue[str | None] = asyncio.Queue()
        async with asyncio.TaskGroup() as group:
            if reply.scripted is None and text is not None:
                group.create_task(self._learner_line_when_confirmed(reply, text))
                group.create_task(self._generate(reply, messages, chunks))
            else:
                chunks.put_nowait(reply.scripted)
                chunks.put_nowait(None)
            group.create_task(self._speak(reply, chunks))
        reply.audio_done = True
        if self.voice_out:
            while self._playout.pending_samples > 0:
                self._drained.clear()
                await self._drained.wait()
        self._commit_persona(reply, " ".join(reply.spoken), interrupted=False, t=self.now())
        self.events.emit(Event("playout_end", self.now(), {"turn": m.turn}))

    async def _learner_line_when_confirmed(self, reply: PersonaReply, text: str) -> None:
        await reply.confirmed.wait()
        self._segments.clear()
        if not reply.learner_committed:
            self._commit_learner(reply, text)

    def _messages(self, learner_text: str) -> list[ChatMessage]:
        messages = [ChatMessage("system", self.config.system_prompt)]
        for learner, persona in self.config.example_exchanges:
            messages += [ChatMessage("user", learner), ChatMessage("assistant", persona)]
        history = self.transcript.chat_history()
        if history and history[0].role == "assistant":
            # Chat templates expect a user turn first: the call's start stands in for it.
            history.insert(0, ChatMessage("user", "(The call connects.)"))
        if history and history[-1].role == "user":
            history[-1] = ChatMessage("user", f"{history[-1].content} {learner_text}")
        else:
            history.append(ChatMessage("user", learner_text))
        return messages + history

    async def _generate(
        self, reply: PersonaReply, messages: list[ChatMessage], chunks: asyncio.Queue[str | None]
    ) -> None:
        m = reply.metrics
        reply.stage = "llm"
        m.llm_start = self.now()
        chunker = Chunker()
        options = self.config.generation
        stops = tuple(dict.fromkeys((*options.stop, *STOP_SEQUENCES)))
        options = replace(options, stop=stops)
        sentences = 0
        marker = self.config.exit_marker
        stream = self.llm.stream(messages, options, context_id=self.config.conversation_id)
        async for delta in _closing(stream):
            if m.llm_first_token is None:
                m.llm_first_token = self.now()
                self.events.emit(Event("llm_first_token", m.llm_first_token, {"turn": m.turn}))
            before = len(reply.raw)
            reply.raw += delta
            done = False
            if marker and marker in reply.raw:
                reply.exit_requested = True
                reply.raw = reply.raw[: reply.raw.index(marker)]
                done = True
            if self.config.naive:
                sentences = reply.raw.count(". ") + reply.raw.count("? ") + reply.raw.count("! ")
            else:
                for chunk in chunker.push(reply.raw[before:]):
                    sentences += 1
                    self._queue_chunk(reply, chunk, chunks)
                if reply.chunks_queued and self.voice_out and not reply.first_audio.is_set():
                    # Two cores: let speech synthesis of the first chunk have them. The model's thread
                    # blocks a couple of tokens ahead until the first audio exists.
                    await reply.first_audio.wait()
            if done or sentences >= self.config.max_reply_sentences:
                break
        else:
            for chunk in chunker.flush():  # the model finished: speak its last words too
                self._queue_chunk(reply, chunk, chunks)
        if self.config.naive:
            self._queue_chunk(reply, reply.raw, chunks)
        chunks.put_nowait(None)

    def _queue_chunk(self, reply: PersonaReply, chunk: str, chunks: asyncio.Queue[str | None]) -> None:
        text = clean_reply(chunk, self.config.exit_marker)
        if not is_speakable(text):
            return
        reply.chunks_queued += 1
        if reply.metrics.first_chunk is None:
            reply.metrics.first_chunk = self.now()
            self.events.emit(
                Event("first_chunk", reply.metrics.first_chunk, {"turn": reply.metrics.turn, "text": text})
            )
        chunks.put_nowait(text)

    async def _speak(self, reply: PersonaReply, chunks: asyncio.Queue[str | None]) -> None:
        m = reply.metrics
        while (text := await chunks.get()) is not None:
            if not self.voice_out:
                await reply.confirmed.wait()
                reply.spoken.append(text)
                self.events.emit(Event("persona_text", self.now(), {"turn": m.turn, "text": text}))
                continue
            assert self.tts is not None
            reply.stage = "tts"
            chunk: Chunk | None = None
            pieces = _closing(self.tts.synthesize(text))
            if self.config.naive:
                pieces = _whole(pieces)
            async for audio in pieces:
                reply.first_audio.set()
                if m.tts_first_audio is None:
                    m.tts_first_audio = self.now()
                    self.events.emit(Event("tts_first_audio", m.tts_first_audio, {"turn": m.turn}))
                pcm = audio
                if not reply.spoken and chunk is None:
                    pcm = _trim_leading_silence(pcm, self.tts.sample_rate)  # TTS pads its start
                if self.tts.sample_rate != self.config.output_sample_rate:
                    pcm = soxr.resample(pcm, self.tts.sample_rate, self.config.output_sample_rate).astype(np.float32)
                await reply.confirmed.wait()
                if self._reply is not reply:
                    return
                if chunk is None:
                    chunk = Chunk(text)
                    reply.spoken.append(text)
                    self.events.emit(Event("persona_text", self.now(), {"turn": m.turn, "text": text}))
                self._playout.append(Segment(m.turn, chunk, pcm))
                self._drained.clear()
            if chunk is not None:
                chunk.complete = True

    # ------------------------------------------------------------------ scripted lines and clocks

    async def _prefill(self) -> None:
        """Evaluate the system prompt once at the start, so the first reply finds it in the KV cache."""
        options = replace(self.config.generation, max_tokens=1)
        try:
            async for _ in _closing(
                self.llm.stream(self._messages("Hello."), options, context_id=self.config.conversation_id)
            ):
                pass
        except Exception as error:  # the first real reply will report a broken LLM
            log.info("prompt prefill failed: %s", error)

    async def _opening(self) -> None:
        await asyncio.sleep(self.config.opening_delay_s)
        if self.transcript.turns or self._reply is not None or self.state not in ("in_session", "paused"):
            return
        if self.config.opening_line:
            self._say(self.config.opening_line, kind="opening")

    async def _close_for_time(self) -> None:
        self._closing = True
        if self._reply is not None:
            self._interrupt(self.now())
        self._say(self.config.closing_line, kind="closing")

    async def _clock_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        announced = -1
        while True:
            await asyncio.sleep(0.1)
            now = loop.time()
            if self.state == "in_session":
                self._elapsed += now - last
            last = now
            if int(self._elapsed) != announced:
                announced = int(self._elapsed)
                remaining = max(0.0, self.config.time_limit_s - self._elapsed)
                self.events.emit(Event("timer", self.now(), {"elapsed": announced, "remaining": round(remaining)}))
            if self._elapsed >= self.config.time_limit_s and not self._closing:
                await self._close_for_time()

    async def _playout_loop(self) -> None:
        loop = asyncio.get_running_loop()
        frame_s = self.config.frame_ms / 1000
        silence = np.zeros(self.frame_samples, dtype=np.float32)
        next_t = loop.time()
        playing: int | None = None
        while True:
            frame: Audio | None = None
            if self.state == "in_session":
                frame = self._playout.read()
            reply = self._reply
            if frame is None:
                if playing is not None and reply is not None and not reply.audio_done and self.state == "in_session":
                    self.underruns += 1
                if self._playout.pending_samples == 0:
                    self._drained.set()
                frame = silence
            elif reply is not None and reply.confirmed.is_set():
                if playing != reply.metrics.turn:
                    playing = reply.metrics.turn
                    reply.started = self.now()
                if reply.metrics.playout_start is None and float(np.max(np.abs(frame))) >= _AUDIBLE:
                    reply.metrics.playout_start = self.now()
                    self.events.emit(Event("playout_start", reply.metrics.playout_start, {"turn": reply.metrics.turn}))
            if reply is None:
                playing = None
            self.output.put(frame)
            if self._recorder:
                self._recorder.frame(frame)
                if self._recorder.failed and not self._recording_reported:
                    self._recording_reported = True
                    self.events.emit(Event("recording_failed", self.now(), {"message": self._recorder.failed}))
            next_t += frame_s
            delay = next_t - loop.time()
            if delay < -0.1:  # the loop was starved: skip ahead rather than burst frames out
                self.late_frames += 1
                next_t = loop.time()
                delay = 0.0
            await asyncio.sleep(max(0.0, delay))

    # ------------------------------------------------------------------ plumbing

    def _set_state(self, state: str) -> None:
        self.state = state
        self.events.emit(Event("state", self.now() if self._t0 else 0.0, {"state": state}))

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("conversation task %s failed", task.get_name(), exc_info=task.exception())
            if self.state not in ("ended", "error"):
                self._spawn(self.end("error", ERROR_MESSAGE), "end")

    def summary(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "end_reason": self.end_reason,
            "error": self.error,
            "elapsed": round(self.elapsed, 3),
            "turns": self.transcript.as_list(),
            "metrics": [m.summary() for m in self.metrics],
            "underruns": self.underruns,
            "late_frames": self.late_frames,
            "dropped_frames": self.output.dropped,
        }


async def _closing(stream: Any) -> Any:
    """Iterate an async generator and close it however the loop ends (break, error, cancel), so a
    model stops generating at once instead of when the generator is garbage collected."""
    async with contextlib.aclosing(stream) as items:
        async for item in items:
            yield item


async def _whole(pieces: Any) -> Any:
    """All of a synthesis at once (the naive baseline)."""
    audio = [piece async for piece in pieces]
    if audio:
        yield np.concatenate(audio)


def _trim_leading_silence(audio: Audio, rate: int, keep_s: float = 0.02) -> Audio:
    loud = np.flatnonzero(np.abs(audio) >= _AUDIBLE)
    if loud.size == 0:
        return audio
    return audio[max(0, int(loud[0]) - int(keep_s * rate)) :]
