"""What the engine needs to run one conversation: plain data, built by the server from its records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from models.base import GenerationOptions

Mode = Literal["voice", "text", "hybrid"]


@dataclass(frozen=True)
class TurnTakingConfig:
    """Turn-taking parameters. Defaults chosen by `benchmarks/turn_taking.py` on the bundled models."""

    speech_threshold: float = 0.5  # VAD probability that counts as speech
    min_speech_s: float = 0.096  # speech needed before a learner turn starts (3 VAD frames)
    end_silence_s: float = 0.45  # silence that ends a learner turn
    speculate_after_s: float = 0.1  # silence after which the reply is prepared speculatively
    preroll_s: float = 0.3  # audio kept before the detected speech start
    barge_in_min_s: float = 0.25  # learner speech over the persona that interrupts it
    partial_interval_s: float = 2.0  # least time between partial transcripts, taken at phrase gaps (0: never)
    max_segment_s: float = 20.0  # long monologues are transcribed in segments of at most this
    min_turn_words: int = 1
    # With a learned end-of-turn model: ask it after this much silence, and end the turn when it
    # judges the learner done; otherwise wait up to `model_max_silence_s` before ending anyway.
    model_check_s: float = 0.2
    model_max_silence_s: float = 1.0  # a turn whose transcript has fewer words is dropped (coughs, noise)


@dataclass(frozen=True)
class ConversationConfig:
    system_prompt: str
    opening_line: str = ""
    persona_speaks_first: bool = True
    opening_delay_s: float = 0.6  # the beat before the opening line
    time_limit_s: float = 600.0
    closing_line: str = "I'm afraid we're out of time. Thanks for the conversation."
    holding_line: str = "Sorry, give me a second. Could you say that again?"
    exit_marker: str = "[END]"
    # Few-shot (learner line, persona line) pairs in the persona's voice, placed before the history.
    example_exchanges: tuple[tuple[str, str], ...] = ()
    mode: Mode = "voice"
    turn_taking: TurnTakingConfig = field(default_factory=TurnTakingConfig)
    generation: GenerationOptions = field(
        default_factory=lambda: GenerationOptions(max_tokens=50, temperature=0.3, top_p=0.9, repeat_penalty=1.3)
    )
    max_reply_sentences: int = 2
    max_consecutive_failures: int = 2
    # The naive chain, for comparison only: whole transcript, whole reply, whole audio, then play.
    naive: bool = False
    output_sample_rate: int = 16_000
    frame_ms: int = 20
    conversation_id: str = "conversation"
