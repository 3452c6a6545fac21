"""Keep a small model's replies speakable and in character, and count where it breaks the rules.

The engine speaks only what `clean_reply` returns; `violations` names the rules a raw reply broke,
for the persona-quality figures in the latency benchmark.
"""

from __future__ import annotations

import re

# Where a small model starts writing the other side of the dialogue or a new chat turn.
STOP_SEQUENCES = ("\n", "Learner:", "User:", "<|im_end|>", "<|im_start|>")

_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")
_MARKDOWN = re.compile(r"[*_#`>|]+|^\s*[-•]\s+|^\s*\d+\.\s+", re.MULTILINE)
_STAGE = re.compile(r"\([^)]*\)|\[[^\]]*\]|\*[^*]+\*")
_ROLE_PREFIX = re.compile(r"^\s*(?:[A-Z][\w .'-]{0,30}|assistant|persona)\s*:\s*", re.IGNORECASE)
_ASSISTANT = re.compile(
    r"\b(as an ai|language model|i'?m an ai|i am an ai|how (?:can|may) i (?:help|assist)|i'?m here to help|"
    r"assistant|(?:happy|glad) to (?:help|assist|answer|provide)|any (?:other )?questions|feel free to)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def violations(raw: str, marker: str = "[END]") -> list[str]:
    """The persona rules a raw reply breaks (empty list: a clean, spoken, in-character line)."""
    text = raw.replace(marker, "")
    found = []
    if _EMOJI.search(text):
        found.append("emoji")
    if _MARKDOWN.search(text):
        found.append("markdown")
    if _STAGE.search(text):
        found.append("stage_direction")
    if _ROLE_PREFIX.match(text) or re.search(r"\n\s*(learner|user)\s*:", text, re.IGNORECASE):
        found.append("speaks_as_other_role")
    if _ASSISTANT.search(text):
        found.append("assistant_voice")
    if not text.strip():
        found.append("empty")
    elif len(_SENTENCE.split(text.strip())) > 3 or len(text.split()) > 45:
        found.append("too_long")
    return found


def clean_reply(text: str, marker: str = "[END]") -> str:
    """What may be spoken: no emoji, markdown, stage directions, role prefixes or exit marker."""
    text = text.replace(marker, " ")
    text = _EMOJI.sub("", text)
    text = _STAGE.sub("", text)
    text = _MARKDOWN.sub("", text)
    text = _ROLE_PREFIX.sub("", text)
    return " ".join(text.split())


def is_speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)
