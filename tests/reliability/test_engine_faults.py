"""Faults injected into a running conversation: the persona holds, or the call ends in a clear error,
and what was said is kept. Real VAD, ASR and TTS; the LLM is a real HTTP client against broken servers."""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from models.config import LLMConfig
from models.openai_llm import OpenAILLM
from models.registry import Backends
from pipeline.config import ConversationConfig
from pipeline.conversation import ERROR_MESSAGE, Conversation
from tests.pipeline.fakes import FakeASR, FakeLLM, FakeTTS, FakeVAD
from tests.pipeline.harness import drive, make, timeline
from tests.support.processes import free_port
from tests.support.virtual_clock import run_virtual

HOLDING = "Sorry, give me a second. Could you say that again?"


@asynccontextmanager
async def broken_llm_server(mode: str) -> AsyncIterator[str]:
    """An OpenAI-compatible endpoint that fails: `silent` never answers, `drop` breaks mid-stream."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if mode == "drop":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            for word in ("Well,", " let"):
                event = f"data: {json.dumps({'choices': [{'delta': {'content': word}}]})}\n\n".encode()
                writer.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            await writer.drain()
            writer.transport.abort()  # the connection dies mid-reply
            return
        await asyncio.sleep(3600)  # silent: accepts, never answers

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()


async def text_call(llm: OpenAILLM, lines: list[str]) -> Conversation:
    config = ConversationConfig(system_prompt="You are Emma.", mode="text", holding_line=HOLDING)
    conversation = Conversation(config, llm=llm)
    await conversation.start()
    for line in lines:
        await conversation.send_text(line)
        while conversation._reply is not None and conversation.state == "in_session":
            await asyncio.sleep(0.05)
    await asyncio.wait_for(conversation.wait_ended(), 30) if conversation.state != "in_session" else None
    return conversation


def check_hold_then_error(conversation: Conversation, lines: list[str]) -> None:
    turns = [(t.speaker, t.text) for t in conversation.transcript.turns]
    assert ("persona", HOLDING) in turns, turns
    assert conversation.state == "error" and conversation.error == ERROR_MESSAGE
    assert [text for speaker, text in turns if speaker == "learner"] == lines  # what the learner said is kept
    stages = [e.data["stage"] for e in conversation.events.of_type("error")]
    assert stages == ["llm", "llm"]


@pytest.mark.parametrize("mode", ["unreachable", "silent", "drop"])
async def test_llm_server_faults(mode: str) -> None:
    lines = ["Hello Emma, do you have a minute?", "Shall we talk about pricing?"]
    if mode == "unreachable":
        llm = OpenAILLM(
            LLMConfig(backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=1)
        )
        conversation = await text_call(llm, lines)
    else:
        async with broken_llm_server(mode) as url:
            llm = OpenAILLM(LLMConfig(backend="openai", base_url=url, model="m", read_timeout_s=1.0))
            conversation = await text_call(llm, lines)
    await llm.aclose()
    check_hold_then_error(conversation, lines)


@pytest.mark.models
async def test_unreachable_llm_in_a_voice_call_speaks_a_holding_line(real_backends: Backends, tmp_path: Path) -> None:
    from benchmarks.learner import Line, ScriptedLearner

    vad, asr, _, tts = real_backends.require()
    llm = OpenAILLM(
        LLMConfig(backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=0)
    )
    config = ConversationConfig(system_prompt="You are Emma.", holding_line=HOLDING, opening_line="Emma speaking.")
    conversation = Conversation(config, llm=llm, vad=vad, asr=asr, tts=tts, recording_path=tmp_path / "call.wav")
    learner = ScriptedLearner([Line("Tell me about your current packaging supplier.")], conversation.push_audio)
    await conversation.start()

    async def listen() -> None:
        while True:
            learner.hear(await conversation.output.get())

    listener = asyncio.ensure_future(listen())
    report = await learner.run()
    listener.cancel()
    await conversation.end()
    turns = [(t.speaker, t.text) for t in conversation.transcript.turns]
    assert ("persona", HOLDING) in turns and any(s == "learner" and "supplier" in t for s, t in turns), turns
    (turn,) = report.turns
    assert turn.persona_audio_at is not None  # the holding line was heard: the call never hung silently
    await llm.aclose()


def test_asr_failure_holds_then_errors_and_keeps_what_was_said() -> None:
    async def scenario():
        asr = FakeASR(["x"], fail=True)
        conversation = make(["x"], ["y"], asr=asr, config={"holding_line": HOLDING})
        return await drive(conversation, timeline(14.0, [(0.5, 1.5, 0), (6.0, 7.0, 0)]))

    run = run_virtual(scenario())
    assert [e.data["stage"] for e in run.events("error")] == ["asr", "asr"]
    assert any(t.text == HOLDING for t in run.conversation.transcript.turns)
    assert run.conversation.state == "error"


def test_disk_full_while_recording_keeps_the_call_going(tmp_path: Path) -> None:
    full = tmp_path / "recording.wav"
    full.symlink_to("/dev/full")  # every write fails with ENOSPC, as on a full disk

    async def scenario():
        conversation = Conversation(
            ConversationConfig(system_prompt="You are Emma.", persona_speaks_first=False),
            llm=FakeLLM(["Sure. We run three plants."]),
            vad=FakeVAD(),
            asr=FakeASR(["Tell me more"]),
            tts=FakeTTS(),
            recording_path=full,
        )
        return await drive(conversation, timeline(6.0, [(0.5, 2.0, 0)]), end_at=6.0)

    run = run_virtual(scenario())
    (failed,) = run.events("recording_failed")
    assert "No space left" in failed.data["message"] or str(errno.ENOSPC) in failed.data["message"]
    assert [t.speaker for t in run.conversation.transcript.turns] == ["learner", "persona"]
    assert run.conversation.state == "ended" and run.audible_between(2.0, 5.0)
