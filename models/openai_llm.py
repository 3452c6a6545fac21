"""Any OpenAI-compatible chat server (vLLM, llama.cpp server, Ollama, SGLang, TGI) by base URL.

Streams `/v1/chat/completions` as server-sent events. Leaving the iterator early closes the HTTP
response, so the server sees the disconnect and aborts the request (vLLM frees the sequence).
Only connection failures before the first byte are retried; HTTP errors become clear exceptions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from models.base import BackendInfo, ChatMessage, GenerationOptions
from models.config import LLMConfig
from models.errors import BackendConfigError, BackendResponseError, BackendUnavailableError

log = logging.getLogger(__name__)


def _api_root(base_url: str) -> str:
    root = base_url.rstrip("/")
    return root if root.endswith("/v1") else f"{root}/v1"


class OpenAILLM:
    def __init__(self, config: LLMConfig, *, role: str = "llm") -> None:
        if not config.base_url:
            raise BackendConfigError(f"the {role} 'openai' backend needs a base_url (e.g. http://127.0.0.1:8001/v1)")
        self._config = config
        self._root = _api_root(config.base_url)
        self._model = config.model if not config.model.startswith(("pkg:", "/")) else ""
        self._headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._timeout = httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s)
        self._client: httpx.AsyncClient | None = None
        self.info = BackendInfo(role, "openai", self._model or "(served model)", {"base_url": self._root})

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, headers=self._headers)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def served_model(self) -> str:
        """The model name to send: configured, or the first one the server lists."""
        if self._model:
            return self._model
        try:
            response = await self._http().get(f"{self._root}/models")
        except httpx.TransportError as error:
            raise BackendUnavailableError(f"cannot reach {self._root}: {error!r}") from error
        if response.status_code != 200:
            raise BackendResponseError(
                f"{self._root}/models answered {response.status_code}", status=response.status_code
            )
        models = response.json().get("data") or []
        if not models:
            raise BackendResponseError(f"{self._root} serves no model")
        self._model = str(models[0]["id"])
        self.info = BackendInfo(self.info.role, "openai", self._model, {"base_url": self._root})
        return self._model

    def _body(self, model: str, messages: Sequence[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
        }
        if options.repeat_penalty != 1.0:
            body["repetition_penalty"] = options.repeat_penalty  # vLLM, SGLang
            body["repeat_penalty"] = options.repeat_penalty  # llama.cpp server
        if options.stop:
            body["stop"] = list(options.stop)
        if options.seed is not None:
            body["seed"] = options.seed
        if options.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": options.json_schema, "strict": True},
            }
            if self._config.compact_json:
                # vLLM checks this block on its own before merging response_format in, so it names the schema too.
                body["structured_outputs"] = {"json": options.json_schema, "disable_any_whitespace": True}
        return body

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        *,
        context_id: str | None = None,
    ) -> AsyncIterator[str]:
        model = await self.served_model()
        body = self._body(model, messages, options)
        url = f"{self._root}/chat/completions"
        attempt = 0
        while True:
            try:
                async with self._http().stream("POST", url, json=body) as response:
                    if response.status_code != 200:
                        detail = (await response.aread()).decode("utf-8", "replace")[:500]
                        raise BackendResponseError(
                            f"{url} answered HTTP {response.status_code}: {detail}",
                            status=response.status_code,
                            retryable=response.status_code in (429, 502, 503, 504),
                        )
                    async for delta in _sse_deltas(response):
                        yield delta
                    return
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                attempt += 1
                if attempt > self._config.max_retries:
                    raise BackendUnavailableError(f"cannot reach {url}: {error!r}") from error
                await asyncio.sleep(0.2 * 2 ** (attempt - 1))
            except httpx.ReadTimeout as error:
                raise BackendUnavailableError(
                    f"{url} sent nothing for {self._config.read_timeout_s:.0f} s", retryable=True
                ) from error
            except httpx.TransportError as error:
                raise BackendUnavailableError(f"stream from {url} broke: {error!r}") from error


async def _sse_deltas(response: httpx.Response) -> AsyncIterator[str]:
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError as error:
            raise BackendResponseError(f"malformed stream event: {data[:200]}") from error
        if "error" in event:
            raise BackendResponseError(f"server error mid-stream: {event['error']}")
        choices = event.get("choices") or []
        if choices:
            delta = (choices[0].get("delta") or {}).get("content")
            if delta:
                yield delta
