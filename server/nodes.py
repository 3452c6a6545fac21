"""Pipeline nodes sharing one Redis: each publishes its live-call load; a full node hands a new call to
a node with room by forwarding the call's signalling there.

WebRTC media flows to whichever node answered the offer (its ICE candidates are in the answer), so a
forwarded call is sticky to that node for its whole duration without any proxying; the data channel
carries its controls. The forwarding request is authenticated with a token derived from the shared
secret key, and a node that receives a forwarded call never forwards it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from server.live import CallManager

log = logging.getLogger(__name__)

NODES_KEY = "sparring:nodes"  # hash: node name -> JSON load
TOKEN_HEADER = "X-Sparring-Node-Token"


def node_token(secret_key: str) -> str:
    """What one node shows another to have a call forwarded (never the secret itself)."""
    return hmac.new(secret_key.encode(), b"sparring-node-forwarding", hashlib.sha256).hexdigest()


def valid_node_token(secret_key: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(node_token(secret_key), presented)


@dataclass(frozen=True)
class NodeLoad:
    name: str
    url: str
    live: int
    max_live: int
    draining: bool
    at: float  # wall-clock time of the report

    @property
    def room(self) -> int:
        return 0 if self.draining else max(0, self.max_live - self.live)


class NodeDirectory:
    """This node's entry in the shared directory, and the other nodes' loads."""

    def __init__(
        self,
        redis_url: str,
        name: str,
        url: str,
        calls: CallManager,
        *,
        secret_key: str,
        beat_s: float = 2.0,
        stale_s: float = 6.0,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.calls = calls
        self.beat_s = beat_s
        self.stale_s = stale_s
        self._token = node_token(secret_key)
        self._redis = aioredis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=3.0))

    def load(self) -> NodeLoad:
        calls = self.calls
        return NodeLoad(self.name, self.url, calls.live_count, calls.max_live, calls.draining, time.time())

    async def publish(self) -> None:
        load = self.load()
        await self._redis.hset(NODES_KEY, self.name, json.dumps(load.__dict__))

    async def run(self, stop: asyncio.Event) -> None:
        """Report this node's load every `beat_s` until `stop`, then leave the directory."""
        while not stop.is_set():
            try:
                await self.publish()
            except RedisError as error:  # the next beat tries again; calls on this node go on regardless
                log.warning("could not publish this node's load: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.beat_s)
        with contextlib.suppress(RedisError):
            await self._redis.hdel(NODES_KEY, self.name)

    async def nodes(self) -> list[NodeLoad]:
        """Every node that reported within `stale_s`."""
        raw = await self._redis.hgetall(NODES_KEY)
        now = time.time()
        loads = []
        for value in raw.values():
            with contextlib.suppress(ValueError, TypeError, KeyError):
                load = NodeLoad(**json.loads(value))
                if now - load.at <= self.stale_s:
                    loads.append(load)
        return loads

    async def node_with_room(self) -> NodeLoad | None:
        """Another node that can take a call now, the one with the most room first."""
        try:
            others = [n for n in await self.nodes() if n.name != self.name and n.room > 0]
        except RedisError as error:
            log.warning("node directory unreachable: %s", error)
            return None
        return max(others, key=lambda n: (n.room, n.name), default=None)

    async def forward(self, node: NodeLoad, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST a call's signalling to `node`'s internal endpoint."""
        return await self._http.post(node.url + path, json=body, headers={TOKEN_HEADER: self._token})

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._redis.aclose()
