"""The four default backends on the bundled models, checked against ground truth."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import soxr

from benchmarks.speech import espeak, silence
from benchmarks.wer import wer
from models.base import ChatMessage, GenerationOptions
from models.registry import Backends

pytestmark = pytest.mark.models

SENTENCES = [
    "Our budget for this project is fifty thousand dollars.",
    "Can you tell me more about the delivery timeline?",
    "I am worried that the price is too high for our team.",
]


@pytest.mark.parametrize("sentence", SENTENCES)
async def test_asr_transcribes_espeak_sentences(real_backends: Backends, sentence: str) -> None:
    assert real_backends.asr is not None
    audio = np.concatenate([silence(0.3), espeak(sentence), silence(0.3)])
    result = await real_backends.asr.transcribe(audio)
    error = wer(sentence, result.text)
    assert error <= 0.25, (sentence, result.text, error)
    assert result.words, "word timings expected"
    assert all(0 <= w.start <= w.end <= result.duration + 0.1 for w in result.words)


async def test_vad_finds_speech_boundaries(real_backends: Backends) -> None:
    assert real_backends.vad is not None
    vad = real_backends.vad
    speech = espeak("Thanks for taking the time to meet with me today.")
    audio = np.concatenate([silence(1.0), speech, silence(1.0)])
    stream = vad.new_stream()
    n = vad.frame_samples
    probabilities = [stream.probability(audio[i : i + n]) for i in range(0, len(audio) - n + 1, n)]
    speaking = np.flatnonzero(np.array(probabilities) > 0.5)
    assert speaking.size > 0
    frame_s = n / vad.sample_rate
    start, end = speaking[0] * frame_s, (speaking[-1] + 1) * frame_s
    true_start, true_end = 1.0, 1.0 + len(speech) / vad.sample_rate
    assert abs(start - true_start) <= 0.15, (start, true_start)
    assert abs(end - true_end) <= 0.15, (end, true_end)


async def test_vad_streams_keep_separate_state(real_backends: Backends) -> None:
    assert real_backends.vad is not None
    vad = real_backends.vad
    speech = espeak("Hello there, how are you doing?")
    a, b = vad.new_stream(), vad.new_stream()
    n = vad.frame_samples
    for i in range(0, len(speech) - n, n):
        a.probability(speech[i : i + n])
    # b saw only silence: its first frame of silence must not inherit a's speech state.
    assert b.probability(np.zeros(n, dtype=np.float32)) < 0.2


async def test_tts_round_trip_through_asr(real_backends: Backends) -> None:
    assert real_backends.tts is not None and real_backends.asr is not None
    text = "We can deliver the first order next Tuesday morning."
    chunks = [chunk async for chunk in real_backends.tts.synthesize(text)]
    audio = np.concatenate(chunks)
    rate = real_backends.tts.sample_rate
    assert 16_000 <= rate <= 48_000
    seconds = len(audio) / rate
    assert 1.5 <= seconds <= 8.0, seconds
    assert float(np.sqrt(np.mean(audio**2))) > 0.01, "speech expected, got near silence"
    heard = await real_backends.asr.transcribe(soxr.resample(audio, rate, 16_000).astype(np.float32))
    assert wer(text, heard.text) <= 0.2, heard.text


async def test_tts_yields_each_sentence_as_soon_as_ready(real_backends: Backends) -> None:
    assert real_backends.tts is not None
    chunks = [c async for c in real_backends.tts.synthesize("First sentence here. And a second one. A third.")]
    assert len(chunks) == 3


async def test_llm_streams_tokens(real_backends: Backends) -> None:
    assert real_backends.persona_llm is not None
    messages = [
        ChatMessage("system", "You are a helpful assistant."),
        ChatMessage("user", "Write three sentences about the sea."),
    ]
    deltas = [d async for d in real_backends.persona_llm.stream(messages, GenerationOptions(max_tokens=60))]
    assert len(deltas) >= 10
    assert len("".join(deltas).split()) >= 5


async def test_llm_cancel_stops_generation(real_backends: Backends) -> None:
    llm = real_backends.persona_llm
    assert llm is not None
    received: list[str] = []
    got_three = asyncio.Event()

    async def consume() -> None:
        opts = GenerationOptions(max_tokens=400, temperature=0.7)
        async for delta in llm.stream([ChatMessage("user", "Tell me a very long story about a dragon.")], opts):
            received.append(delta)
            if len(received) == 3:
                got_three.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_three.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    count = len(received)
    await asyncio.sleep(0.5)
    assert len(received) == count, "tokens arrived after cancel"
    assert count < 20
    # The context is usable again right after a cancel.
    reply = [d async for d in llm.stream([ChatMessage("user", "Say hello.")], GenerationOptions(max_tokens=8))]
    assert reply


async def test_llm_json_schema_output(real_backends: Backends) -> None:
    import json

    llm = real_backends.persona_llm
    assert llm is not None
    schema = {
        "type": "object",
        "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}, "reason": {"type": "string"}},
        "required": ["score", "reason"],
    }
    opts = GenerationOptions(max_tokens=80, temperature=0.0, repeat_penalty=1.0, json_schema=schema)
    text = "".join([d async for d in llm.stream([ChatMessage("user", "Rate the weather 1-5 as JSON.")], opts)])
    data = json.loads(text)
    assert isinstance(data["score"], int) and isinstance(data["reason"], str)
