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


class BagOfWordsEmbedder:
    """A deterministic stand-in for sentence embeddings: hashed word counts, L2-normalised.

    Sentences sharing most words are similar, unrelated ones are not: enough to test the grader's logic
    without loading a model.
    """

    name = "bag-of-words"

    def encode(self, texts: Sequence[str]) -> Any:
        import re
        import zlib

        import numpy as np

        vectors = np.zeros((len(texts), 512), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9']+", text.lower()):
                vectors[row, zlib.crc32(word.encode()) % 512] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-9)
