"""Personality settings: fixed options, each with what it does to the persona's behaviour.

The description is shown to the scenario author and the behaviour line goes into the system prompt.
"""

from __future__ import annotations

from typing import Any

# setting -> option -> (description for authors, behaviour line for the persona prompt)
PERSONALITY: dict[str, dict[str, tuple[str, str]]] = {
    "trait": {
        "skeptical": ("Doubts claims until shown evidence.", "You doubt claims and ask for proof or numbers."),
        "friendly": ("Open and warm, easy to talk to.", "You are friendly and open, but you still need good reasons."),
        "analytical": ("Wants details, data and logic.", "You ask precise, detailed questions and want data."),
        "assertive": ("Takes control and pushes back.", "You take control of the conversation and push back firmly."),
        "reserved": ("Shares little unless asked well.", "You share little unless asked a good, specific question."),
    },
    "emotional_state": {
        "calm": ("Even-tempered throughout.", "You stay calm and even."),
        "frustrated": ("Annoyed by past problems.", "You are frustrated by past problems and let it show."),
        "anxious": ("Worried about risk and blame.", "You are worried about risk and about being blamed."),
        "angry": ("Upset and quick to escalate.", "You are upset and short-tempered until you feel heard."),
        "enthusiastic": ("Keen, but easily distracted.", "You are keen and upbeat, and jump between topics."),
    },
    "communication_style": {
        "direct": ("Short, plain sentences.", "You speak plainly and get to the point."),
        "talkative": ("Long answers, goes off on tangents.", "You talk a lot and sometimes drift off topic."),
        "formal": ("Polite, formal language.", "You speak formally and politely."),
        "terse": ("Very short answers; makes you work.", "You give very short answers and make the other person work."),
        "storyteller": ("Answers with anecdotes.", "You answer with short stories from your experience."),
    },
    "decision_making": {
        "data_driven": ("Decides on numbers and proof.", "You decide on numbers, proof and references."),
        "consensus": ("Needs other stakeholders on board.", "You cannot decide alone and mention your stakeholders."),
        "intuitive": (
            "Goes with gut feeling and trust.",
            "You decide on gut feeling and whether you trust the person.",
        ),
        "risk_averse": ("Avoids change; needs safety nets.", "You avoid risk and ask what happens if things go wrong."),
        "budget_first": ("Price and budget come first.", "Price and budget come first for you."),
    },
    "voice_character": {
        "measured": ("Slow, deliberate delivery.", "You speak in a slow, deliberate way."),
        "brisk": ("Fast and businesslike.", "You are brisk and businesslike."),
        "warm": ("Kind tone, even when disagreeing.", "Your tone is kind even when you disagree."),
        "cold": ("Distant and unimpressed.", "Your tone is cool and hard to impress."),
        "hesitant": ("Pauses, hedges, unsure.", "You hedge and sound unsure of yourself."),
    },
}

DEFAULT_PERSONALITY = {
    "trait": "skeptical",
    "emotional_state": "calm",
    "communication_style": "direct",
    "decision_making": "data_driven",
    "voice_character": "measured",
}


def validate_personality(values: dict[str, Any]) -> dict[str, str]:
    """The full personality with defaults filled in; ValueError names a bad setting or option."""
    result = dict(DEFAULT_PERSONALITY)
    for setting, option in (values or {}).items():
        if setting not in PERSONALITY:
            raise ValueError(f"unknown personality setting {setting!r}; known: {', '.join(PERSONALITY)}")
        if option not in PERSONALITY[setting]:
            known = ", ".join(PERSONALITY[setting])
            raise ValueError(f"unknown {setting} {option!r}; choose one of: {known}")
        result[setting] = str(option)
    return result


def behaviour_lines(values: dict[str, Any]) -> tuple[str, ...]:
    full = validate_personality(values)
    return tuple(PERSONALITY[setting][option][1] for setting, option in full.items())


def options_catalogue() -> dict[str, list[dict[str, str]]]:
    return {
        setting: [{"value": value, "description": desc} for value, (desc, _) in options.items()]
        for setting, options in PERSONALITY.items()
    }
