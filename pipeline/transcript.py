"""The transcript: numbered turns as the learner said them (ASR) and as the learner heard the persona."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from models.base import ChatMessage, Role

Speaker = Literal["learner", "persona"]


@dataclass
class Turn:
    number: int
    speaker: Speaker
    text: str
    start: float
    end: float
    interrupted: bool = False
    generated_text: str | None = None  # persona: everything the model produced, heard or not
    source: Literal["voice", "text"] = "voice"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Transcript:
    turns: list[Turn] = field(default_factory=list)

    def add(self, speaker: Speaker, text: str, start: float, end: float, **extra: Any) -> Turn:
        turn = Turn(len(self.turns) + 1, speaker, text, start, end, **extra)
        self.turns.append(turn)
        return turn

    def chat_history(self) -> list[ChatMessage]:
        """The conversation as the model should remember it: the persona said what was heard."""
        messages: list[ChatMessage] = []
        for turn in self.turns:
            role: Role = "assistant" if turn.speaker == "persona" else "user"
            if not turn.text:
                continue
            if messages and messages[-1].role == role:  # merge consecutive turns of one side
                messages[-1] = ChatMessage(role, f"{messages[-1].content} {turn.text}")
            else:
                messages.append(ChatMessage(role, turn.text))
        return messages

    def as_list(self) -> list[dict[str, Any]]:
        return [t.as_dict() for t in self.turns]
