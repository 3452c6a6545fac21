"""The engine on the real bundled models, with espeak-ng speech as the learner."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from benchmarks.learner import Line, ScriptedLearner
from models.registry import Backends
from pipeline.config import ConversationConfig
from pipeline.conversation import Conversation

pytestmark = pytest.mark.models

PROMPT = (
    "You are Emma Clarke, procurement director at Northwind Foods. A supplier is calling you. "
    "Answer in one or two short spoken sentences. Stay in character."
)
LONG_OPENING = (
    "Thanks for calling. Before we start, let me explain how our supplier reviews work this year. "
    "Every vendor goes through a three stage assessment, starting with a security review, "
    "then a pricing benchmark against our two incumbents, and finally a pilot with one plant."
)


async def run_call(backends: Backends, config: ConversationConfig, lines: list[Line], tmp_path: Path):
    vad, asr, llm, tts = backends.require()
    conversation = Conversation(config, llm=llm, vad=vad, asr=asr, tts=tts, recording_path=tmp_path / "call.wav")
    learner = ScriptedLearner(lines, conversation.push_audio, reply_timeout_s=25)
    await conversation.start()

    async def listen() -> None:
        while True:
            learner.hear(await conversation.output.get())

    listener = asyncio.ensure_future(listen())
    report = await learner.run()
    await conversation.end()
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    return conversation, report


async def test_spoken_turn_gets_transcribed_and_answered(real_backends: Backends, tmp_path: Path) -> None:
    config = ConversationConfig(system_prompt=PROMPT, opening_line="Hello, Emma speaking.", conversation_id="t1")
    line = Line("Tell me about your current packaging supplier.")
    conversation, report = await run_call(real_backends, config, [line], tmp_path)
    learner_turns = [t for t in conversation.transcript.turns if t.speaker == "learner"]
    assert learner_turns, conversation.events.events
    words = learner_turns[0].text.lower()
    assert "packaging" in words and "supplier" in words
    persona = [t for t in conversation.transcript.turns if t.speaker == "persona"]
    assert len(persona) >= 2 and persona[-1].text  # the opening line, then a reply
    (turn,) = report.turns
    assert turn.voice_to_voice_s is not None and 0 < turn.voice_to_voice_s < 5
    metrics = conversation.metrics[-1].summary()
    assert metrics["voice_to_voice_s"] is not None
    # The stereo recording holds both sides, time-aligned and readable.
    with wave.open(str(tmp_path / "call.wav")) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 16_000
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert np.abs(audio[:, 0]).max() > 1000 and np.abs(audio[:, 1]).max() > 1000
    assert abs(len(audio) / 16_000 - conversation.now()) < 2.0


async def test_real_barge_in_truncates_the_persona_turn(real_backends: Backends, tmp_path: Path) -> None:
    config = ConversationConfig(system_prompt=PROMPT, opening_line=LONG_OPENING, conversation_id="t2")
    lines = [Line("Sorry to interrupt, can we talk about pricing first?", mode="interrupt", delay_s=1.0)]
    conversation, report = await run_call(real_backends, config, lines, tmp_path)
    interruptions = conversation.events.of_type("interruption")
    assert interruptions, [e.type for e in conversation.events.events]
    opening = conversation.transcript.turns[0]
    assert opening.speaker == "persona" and opening.interrupted
    assert 0 < len(opening.text.split()) < len(LONG_OPENING.split()) / 2
    assert LONG_OPENING.startswith(opening.text)
    # Playout stopped at once: no audible opening audio 100 ms after the interruption was confirmed.
    (turn,) = report.turns
    assert turn.barge_in_stop_s is not None and turn.barge_in_stop_s < 1.0
