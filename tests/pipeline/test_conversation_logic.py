"""Turn-taking, barge-in and call flow with fake backends on a virtual clock."""

from __future__ import annotations

import asyncio

import pytest

from tests.pipeline.fakes import FakeASR, FakeLLM, FakeTTS
from tests.pipeline.harness import drive, make, timeline
from tests.support.virtual_clock import run_virtual

LONG_REPLY = (
    "Well, we have used the same supplier for six years and they know our plants very well. "
    "Switching would mean retraining every shift lead. I would need a very strong reason."
)


def test_learner_turn_then_persona_reply() -> None:
    async def scenario():
        conversation = make(["Tell me more"], ["Sure. We run three plants in Ohio."])
        run = await drive(conversation, timeline(6.0, [(0.5, 2.5, 0)]), end_at=6.0)
        return run

    run = run_virtual(scenario())
    turns = run.conversation.transcript.turns
    assert [(t.speaker, t.text) for t in turns] == [
        ("learner", "Tell me more"),
        ("persona", "Sure. We run three plants in Ohio."),
    ]
    learner = turns[0]
    assert abs(learner.start - 0.5) <= 0.04 and abs(learner.end - 2.5) <= 0.04
    assert not turns[1].interrupted
    (metrics,) = run.conversation.metrics
    summary = metrics.summary()
    # Endpointing waits the configured silence (0.45 s) after the last speech frame.
    assert summary["endpointing_s"] == pytest.approx(0.45, abs=0.04)
    # Speculation: ASR (0.3) + first token (0.1) + first clause + TTS (0.1) overlap the silence wait.
    assert metrics.speculative
    assert summary["voice_to_voice_s"] is not None and summary["voice_to_voice_s"] < 0.75
    assert not run.audible_between(0.0, 2.5)
    assert run.audible_between(2.9, 3.5)


def test_silence_only_produces_no_turn() -> None:
    run = run_virtual(drive(make(["x"], ["y"]), timeline(4.0, []), end_at=4.0))
    assert run.conversation.transcript.turns == []
    assert run.conversation.metrics == []


def test_short_noise_without_words_is_dropped() -> None:
    asr = FakeASR([""])  # the ASR hears no words in a cough
    run = run_virtual(drive(make([""], ["y"], asr=asr), timeline(3.0, [(0.5, 0.7, 0)]), end_at=3.0))
    assert run.conversation.transcript.turns == []
    assert run.events("turn_dropped")


def test_backchannel_does_not_interrupt() -> None:
    async def scenario():
        conversation = make(["uh-huh"], ["unused"], config={"persona_speaks_first": True, "opening_line": LONG_REPLY})
        return await drive(conversation, timeline(12.0, [(3.0, 3.15, 0)]), end_at=12.0)

    run = run_virtual(scenario())
    assert not run.events("interruption")
    assert run.events("backchannel_ignored")
    turns = run.conversation.transcript.turns
    assert [(t.speaker, t.interrupted) for t in turns] == [("persona", False)]
    assert turns[0].text == LONG_REPLY


def test_barge_in_keeps_only_what_was_heard() -> None:
    async def scenario():
        conversation = make(
            ["Hold on", "What about price"],
            [LONG_REPLY, "Price is secondary for us."],
            turn_taking={"barge_in_min_s": 0.25},
        )
        # Learner asks, persona answers at length, learner cuts in at 5.0 s.
        learner = timeline(12.0, [(0.5, 1.5, 0), (5.0, 6.0, 1)])
        return await drive(conversation, learner, end_at=12.0)

    run = run_virtual(scenario())
    (interruption,) = run.events("interruption")
    confirmed = interruption.t
    assert 5.2 <= confirmed <= 5.4  # 250 ms of speech after 5.0 s (plus one VAD frame)
    # Playout stops within 100 ms of the interruption being confirmed.
    assert not run.audible_between(confirmed + 0.1, 6.0)
    turns = run.conversation.transcript.turns
    assert [t.speaker for t in turns] == ["learner", "persona", "learner", "persona"]
    cut = turns[1]
    assert cut.interrupted
    assert 0 < len(cut.text.split()) < len(LONG_REPLY.split())
    assert LONG_REPLY.startswith(cut.text)
    # Heard words track played time: 0.25 s per word, played from ~2.1 s to ~5.3 s.
    played_s = confirmed - cut.start
    assert abs(len(cut.text.split()) - played_s / 0.25) <= 2
    assert turns[2].text == "What about price" and not turns[3].interrupted
    # The model's next prompt holds the truncated text, never the unheard words.
    history = run.conversation.llm.requests[-1]  # type: ignore[attr-defined]
    assert any(m.role == "assistant" and m.content == cut.text for m in history)


def test_learner_resuming_discards_the_speculative_reply() -> None:
    async def scenario():
        llm = FakeLLM(["First answer.", "Second answer."])
        conversation = make(["I think that", "I think that"], [], llm=llm)
        # A 0.3 s pause mid-sentence: longer than speculate_after (0.16), shorter than end_silence (0.45).
        learner = timeline(6.0, [(0.5, 1.5, 0), (1.8, 2.6, 0)])
        return await drive(conversation, learner, end_at=6.0)

    run = run_virtual(scenario())
    assert run.events("speculation_discarded")
    turns = run.conversation.transcript.turns
    assert [t.speaker for t in turns] == ["learner", "persona"]
    assert turns[0].end == pytest.approx(2.6, abs=0.04)
    assert not run.audible_between(0.0, 2.6)


def test_pause_stops_the_clock_and_playout() -> None:
    async def scenario():
        conversation = make(["Hello"], ["Hi."], config={"persona_speaks_first": True, "opening_line": LONG_REPLY})
        run = await drive(
            conversation,
            timeline(8.0, []),
            actions=[(2.0, conversation.pause), (5.0, conversation.resume)],
            end_at=8.0,
        )
        return run

    run = run_virtual(scenario())
    assert run.conversation.elapsed == pytest.approx(5.0, abs=0.15)
    assert not run.audible_between(2.05, 5.0)
    assert run.audible_between(5.0, 5.5)


def test_time_limit_ends_with_a_polite_close() -> None:
    async def scenario():
        conversation = make(
            ["Hi"], ["Hello there."], config={"time_limit_s": 3.0, "closing_line": "We are out of time."}
        )
        return await drive(conversation, timeline(20.0, [(0.5, 1.0, 0)]))

    run = run_virtual(scenario())
    assert run.conversation.state == "ended" and run.conversation.end_reason == "time_limit"
    assert run.conversation.transcript.turns[-1].text == "We are out of time."
    assert run.conversation.elapsed < 6.0


def test_exit_condition_marker_ends_the_call_and_is_not_spoken() -> None:
    async def scenario():
        tts = FakeTTS()
        conversation = make(["Deal"], ["Then we have a deal. Goodbye. [END] extra words"], tts=tts)
        run = await drive(conversation, timeline(20.0, [(0.5, 1.5, 0)]))
        return run, tts

    run, tts = run_virtual(scenario())
    assert run.conversation.end_reason == "exit_condition"
    assert run.conversation.transcript.turns[-1].text == "Then we have a deal. Goodbye."
    assert all("END" not in t and "extra" not in t for t in tts.texts)


def test_end_leaves_no_running_task() -> None:
    async def scenario():
        llm = FakeLLM([LONG_REPLY], token_s=0.2)
        conversation = make(["Tell me"], [], llm=llm)
        await drive(conversation, timeline(3.0, [(0.5, 1.5, 0)]), end_at=3.0)
        await asyncio.sleep(0)
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        return conversation, llm, leftover

    conversation, llm, leftover = run_virtual(scenario())
    assert leftover == []
    assert llm.active == 0 and llm.cancelled >= 1
    assert conversation.state == "ended"


def test_long_monologue_is_transcribed_in_segments() -> None:
    async def scenario():
        asr = FakeASR(["part"], delay_s=0.2)
        conversation = make(["part"], ["I see."], asr=asr, turn_taking={"max_segment_s": 3.0, "partial_interval_s": 0})
        learner = timeline(9.0, [(0.5, 3.6, 0), (3.85, 6.0, 0)])  # one turn, short pause inside
        return await drive(conversation, learner, end_at=9.0), asr

    run, asr = run_virtual(scenario())
    learner_turns = [t for t in run.conversation.transcript.turns if t.speaker == "learner"]
    assert len(learner_turns) == 1
    assert learner_turns[0].text.split() == ["part", "part"]
    assert max(asr.calls) < 4.0  # no call saw the whole 5.5 s monologue


def test_partials_while_speaking() -> None:
    # Three phrases with short gaps between them (shorter than the speculation threshold).
    learner = timeline(8.0, [(0.5, 2.0, 0), (2.1, 3.6, 0), (3.7, 5.0, 0)])
    run = run_virtual(drive(make(["Tell me more"], ["Sure."]), learner, end_at=8.0))
    partials = run.events("partial_transcript")
    # At phrase gaps, 2 s apart at least; the last one, at the end of speech, doubles as the final.
    assert len(partials) == 2 and partials[0].t < 2.5 and 5.0 < partials[1].t < 5.5
    assert not run.events("speculation_discarded")


def test_text_mode_three_turns() -> None:
    async def scenario():
        llm = FakeLLM(["Hello, I am Emma.", "Our budget is fixed.", "Maybe next quarter."])
        from pipeline.config import ConversationConfig
        from pipeline.conversation import Conversation

        conversation = Conversation(ConversationConfig(system_prompt="You are Emma.", mode="text"), llm=llm)
        await conversation.start()
        for line in ["Hi Emma", "What is your budget?", "Can we start now?"]:
            await conversation.send_text(line)
            while conversation._reply is not None:
                await asyncio.sleep(0.05)
        await conversation.end()
        return conversation

    conversation = run_virtual(scenario())
    texts = [(t.speaker, t.text) for t in conversation.transcript.turns]
    assert texts == [
        ("learner", "Hi Emma"),
        ("persona", "Hello, I am Emma."),
        ("learner", "What is your budget?"),
        ("persona", "Our budget is fixed."),
        ("learner", "Can we start now?"),
        ("persona", "Maybe next quarter."),
    ]


def test_llm_failure_gives_a_holding_line_then_an_error() -> None:
    async def scenario():
        llm = FakeLLM(["This will break mid way"], fail_at_token=2)
        conversation = make(["Hi", "Hello?"], [], llm=llm, config={"holding_line": "Sorry, one moment."})
        return await drive(conversation, timeline(14.0, [(0.5, 1.0, 0), (5.0, 5.6, 1)]))

    run = run_virtual(scenario())
    conversation = run.conversation
    errors = run.events("error")
    assert len(errors) == 2 and errors[0].data["stage"] == "llm"
    assert any(t.text == "Sorry, one moment." for t in conversation.transcript.turns)
    assert conversation.state == "error" and conversation.error == "There was an issue with the roleplay."
    assert [t.text for t in conversation.transcript.turns if t.speaker == "learner"] == ["Hi", "Hello?"]


def test_tts_failure_ends_cleanly_with_error() -> None:
    async def scenario():
        tts = FakeTTS(fail=True)
        conversation = make(["Hi"], ["Hello."], tts=tts)
        return await drive(conversation, timeline(10.0, [(0.5, 1.0, 0)]))

    run = run_virtual(scenario())
    assert run.conversation.state == "error"
    assert run.events("ended")[0].data["error"] == "There was an issue with the roleplay."


class FakeTurnModel:
    """Says 'done' for turns longer than `done_after_s` of audio, 'not done' otherwise."""

    threshold = 0.5
    info = None

    def __init__(self, done_after_s: float) -> None:
        self.done_after_s = done_after_s
        self.calls = 0

    async def completion_probability(self, audio) -> float:  # type: ignore[no-untyped-def]
        self.calls += 1
        await asyncio.sleep(0.05)
        return 0.9 if len(audio) / 16_000 >= self.done_after_s else 0.1


def test_end_of_turn_model_ends_early_when_done_and_waits_when_not() -> None:
    async def scenario(done_after_s: float):
        model = FakeTurnModel(done_after_s)
        conversation = make(["Tell me more"], ["Sure."], turn_model=model)
        return await drive(conversation, timeline(6.0, [(0.5, 2.5, 0)]), end_at=6.0), model

    done, model = run_virtual(scenario(done_after_s=1.0))
    (metrics,) = done.conversation.metrics
    assert model.calls == 1
    assert metrics.summary()["endpointing_s"] == pytest.approx(0.2 + 0.05, abs=0.05)  # check at 0.2 s + inference
    waited, _ = run_virtual(scenario(done_after_s=99.0))
    (metrics,) = waited.conversation.metrics
    assert metrics.summary()["endpointing_s"] == pytest.approx(1.0, abs=0.05)  # the model said "not done"
