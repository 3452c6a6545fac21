"""Bad audio into the engine on the real models: no crash, sensible turns."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import soxr

from benchmarks.speech import espeak, silence
from benchmarks.wer import wer
from models.registry import Backends
from pipeline.config import ConversationConfig
from pipeline.conversation import Conversation

pytestmark = pytest.mark.models


async def feed(backends: Backends, audio: np.ndarray, *, settle_s: float = 6.0) -> Conversation:
    vad, asr, llm, tts = backends.require()
    config = ConversationConfig(system_prompt="You are Emma.", persona_speaks_first=False, conversation_id="bad-audio")
    conversation = Conversation(config, llm=llm, vad=vad, asr=asr, tts=tts)
    await conversation.start()
    for start in range(0, len(audio), 3200):  # 200 ms pushes, 4x faster than real time
        conversation.push_audio(audio[start : start + 3200])
        await asyncio.sleep(0.05)
    deadline = asyncio.get_running_loop().time() + settle_s
    while asyncio.get_running_loop().time() < deadline and (
        conversation._reply is not None or conversation._detector.active
    ):
        await asyncio.sleep(0.1)
    await conversation.end()
    return conversation


def learner_text(conversation: Conversation) -> list[str]:
    return [t.text for t in conversation.transcript.turns if t.speaker == "learner"]


async def test_silence_and_noise_make_no_turn(real_backends: Backends) -> None:
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(16_000 * 4) * 0.05).astype(np.float32)
    conversation = await feed(real_backends, np.concatenate([silence(3.0), noise, silence(1.0)]))
    assert learner_text(conversation) == []
    assert conversation.state == "ended"


async def test_nan_and_infinite_samples_are_survived(real_backends: Backends) -> None:
    speech = np.concatenate([silence(0.5), espeak("Tell me about your current packaging supplier."), silence(1.5)])
    broken = speech.copy()
    broken[::97] = np.nan
    broken[::101] = np.inf
    broken[::103] = -np.inf
    conversation = await feed(real_backends, broken)
    assert conversation.state == "ended"
    (text,) = learner_text(conversation)
    assert "supplier" in text.lower()


async def test_clipped_speech_is_still_understood(real_backends: Backends) -> None:
    speech = np.clip(espeak("Tell me about your current packaging supplier.") * 25.0, -1.0, 1.0)
    conversation = await feed(real_backends, np.concatenate([silence(0.5), speech, silence(1.5)]))
    (text,) = learner_text(conversation)
    assert wer("Tell me about your current packaging supplier.", text) <= 0.6, text  # heavy clipping costs words


async def test_wrong_sample_rate_does_not_crash(real_backends: Backends) -> None:
    # 48 kHz audio sent as if it were 16 kHz: three times too slow and an octave and a half too low.
    wrong = soxr.resample(espeak("What does your current process look like?"), 16_000, 48_000).astype(np.float32)
    conversation = await feed(real_backends, np.concatenate([silence(0.5), wrong, silence(1.5)]), settle_s=10)
    assert conversation.state == "ended"
    assert len(learner_text(conversation)) <= 2


async def test_very_long_monologue_is_transcribed_in_segments(real_backends: Backends) -> None:
    sentences = [
        "Let me tell you about our company and what we have been working on this year.",
        "We started with three customers in the food industry and now we have more than forty.",
        "Our packaging is made from recycled material and costs about the same as plastic.",
        "Most of our customers switched because their old supplier kept missing deliveries.",
        "We deliver every week and we have never missed a single delivery window.",
        "I would like to understand how your team orders packaging today.",
    ]
    parts = []
    for sentence in sentences * 2:
        parts += [espeak(sentence), silence(0.25)]
    monologue = np.concatenate([silence(0.5), *parts, silence(2.0)])
    assert len(monologue) / 16_000 > 40
    conversation = await feed(real_backends, monologue, settle_s=20)
    text = " ".join(learner_text(conversation)).lower()
    assert "company" in text and "orders packaging" in text.replace(",", "")
    assert conversation.state == "ended"
