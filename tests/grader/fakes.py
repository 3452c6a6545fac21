"""Scripted LLMs for grader tests: they answer with schema-valid JSON built from the request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.base import BackendInfo, ChatMessage, GenerationOptions


def minimal(schema: dict[str, Any], choose: Callable[[str, dict[str, Any]], Any] | None = None, path: str = "") -> Any:
    """The smallest instance of `schema`; `choose(path, schema)` may supply a value (None: default)."""
    if choose is not None:
        picked = choose(path, schema)
        if picked is not None:
            return picked
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: minimal(v, choose, f"{path}.{k}") for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind == "string":
        return ""
    if kind == "boolean":
        return False
    return 0


@dataclass
class SchemaLLM:
    """Answers every schema-forced request with `minimal(schema, choose)`; records what it was sent."""

    choose: Callable[[str, dict[str, Any]], Any] | None = None
    reply: Callable[[Sequence[ChatMessage], GenerationOptions], str] | None = None
    info: BackendInfo = field(default_factory=lambda: BackendInfo("grader_llm", "fake", "schema-llm"))
    requests: list[tuple[list[ChatMessage], GenerationOptions]] = field(default_factory=list)

    async def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions, *, context_id: str | None = None
    ) -> AsyncIterator[str]:
        self.requests.append((list(messages), options))
        if self.reply is not None:
            text = self.reply(messages, options)
        else:
            assert options.json_schema is not None, "the grader always forces a schema"
            text = json.dumps(minimal(options.json_schema, self.choose))
        for start in range(0, len(text), 16):
            yield text[start : start + 16]
