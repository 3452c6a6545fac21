"""Two pipeline nodes sharing a database and a real Redis: a call that finds one full is handed to the
other, whose media then flows straight to the client for the whole call (sticky), and the call's
controls reach it through either node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import pytest_asyncio
import uvicorn

from benchmarks.clients import webrtc_call
from benchmarks.learner import Line
from benchmarks.local_server import LocalServer, free_port, local_server
from models.registry import Backends
from server.app import create_app
from server.nodes import NodeDirectory
from server.settings import Settings, WebRTCSettings
from server.store.tables import Attempt
from tests.server.test_redis_queue import RedisServer

pytestmark = pytest.mark.models


async def _directory_lists(app: object, names: set[str]) -> None:
    directory: NodeDirectory = app.state.nodes  # type: ignore[attr-defined]
    for _ in range(100):
        if names <= {n.name for n in await directory.nodes()}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"nodes {names} never appeared in the directory")


@pytest_asyncio.fixture
async def two_nodes(real_backends: Backends, tmp_path: Path) -> AsyncIterator[tuple[LocalServer, Settings]]:
    redis = RedisServer(free_port(), tmp_path)
    port_a, port_b = free_port(), free_port()
    with redis.run():
        async with local_server(
            real_backends, tmp_path / "a", max_live=0, grader_workers=0, redis_url=redis.url,
            node_name="node-a", node_url=f"http://127.0.0.1:{port_a}", port=port_a,
        ) as a:  # fmt: skip
            settings_b = Settings(
                data_dir=tmp_path / "b", database_url=a.settings.resolved_database_url, redis_url=redis.url,
                node_name="node-b", node_url=f"http://127.0.0.1:{port_b}", max_live_sessions=1, grader_workers=0,
                webrtc=WebRTCSettings(host_addresses=["127.0.0.1"]), secret_key=a.settings.secret_key,
            )  # fmt: skip
            app_b = create_app(settings_b, backends=real_backends)
            server_b = uvicorn.Server(uvicorn.Config(app_b, host="127.0.0.1", port=port_b, log_level="warning"))
            task = asyncio.ensure_future(server_b.serve())
            try:
                while not server_b.started:
                    await asyncio.sleep(0.05)
                await _directory_lists(a.app, {"node-a", "node-b"})
                yield a, settings_b
            finally:
                server_b.should_exit = True
                await task


async def test_a_full_node_hands_the_call_to_a_node_with_room(two_nodes: tuple[LocalServer, Settings]) -> None:
    a, _ = two_nodes
    session_id = a.new_session(opening_line="Hello, this is Emma from Northwind.")
    # Node A takes no calls (limit 0): the offer posted to A is answered by B, and the media flows to B.
    result = await webrtc_call(
        a.base_url, session_id, [Line("Tell me about your current packaging supplier.")], headers=a.learner_headers
    )
    assert result.attempt_id
    for _ in range(100):
        with a.db.session() as db:
            attempt = db.get(Attempt, result.attempt_id)
            assert attempt is not None
            state, node, transcript = attempt.state, attempt.node, attempt.transcript
        if state in ("ended", "evaluating", "completed"):
            break
        await asyncio.sleep(0.1)
    assert node == "node-b" and state in ("ended", "evaluating", "completed"), (node, state)
    assert any(t["speaker"] == "learner" and "packaging" in t["text"].lower() for t in transcript), transcript
    assert float(np.max(np.abs(result.heard))) > 0.05, "the client heard no persona audio from node B"


async def test_controls_reach_the_node_holding_the_call(two_nodes: tuple[LocalServer, Settings]) -> None:
    a, _ = two_nodes
    session_id = a.new_session()
    # WHIP: the call's DELETE goes to node A, which does not hold it, and is passed on to node B.
    result = await webrtc_call(a.base_url, session_id, [Line("Hello Emma.")], headers=a.learner_headers, whip=True)
    for _ in range(100):
        with a.db.session() as db:
            attempt = db.query(Attempt).filter(Attempt.session_id == session_id).one()
            state, node, end_reason = attempt.state, attempt.node, attempt.end_reason
        if state != "in_session":
            break
        await asyncio.sleep(0.1)
    assert node == "node-b" and end_reason == "learner_ended", (node, state, end_reason)
    assert result.heard.size
    # A session with no live call anywhere: 404 from either path, nothing forwarded.
    async with httpx.AsyncClient(base_url=a.base_url, headers=a.learner_headers, timeout=30) as http:
        missing = await http.post(f"/api/v1/roleplays/session/{a.new_session()}/control", json={"type": "end"})
    assert missing.status_code == 404, missing.text
