"""The server process killed during a live call: after a restart the attempt is an error (not stuck in
session), its transcript up to the last finished turn and its partial recording are readable, the
database is intact, and the learner can restart the roleplay."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import wave
from pathlib import Path

import httpx
import pytest

from benchmarks.clients import websocket_call
from benchmarks.learner import Line
from tests.support.processes import free_port

pytestmark = pytest.mark.models


def cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


async def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    async with httpx.AsyncClient() as http:
        for _ in range(240):
            try:
                if (await http.get(f"http://127.0.0.1:{port}/healthz", timeout=1)).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                break
            await asyncio.sleep(0.5)
    raise RuntimeError(log.read_text(errors="replace")[-3000:])


def attempt_row(db: Path, attempt_id: str) -> sqlite3.Row:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("select * from attempts where id = ?", (attempt_id,)).fetchone()
        assert row is not None
        return row


async def test_killed_server_leaves_a_readable_errored_attempt(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "sparring.db"
    env = {**os.environ, "SPARRING_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{db}",
           "SPARRING_GRADER_WORKERS": "0", "SPARRING_PURGE_INTERVAL_S": "0"}  # fmt: skip
    cli(env, "admin", "create", "--email", "ops@acme.com", "--password", "a-long-password")
    headers = {"Authorization": f"Bearer {cli(env, 'apikey', 'create', '--email', 'ops@acme.com')}"}
    base = f"http://127.0.0.1:{port}"
    server = await start_server(env, port, tmp_path / "server.log")
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers) as http:
            scenario = await http.post(
                "/api/v1/scenarios",
                json={"name": "Discovery", "type": "sales", "persona_id": "emma", "goals": ["Learn their process"],
                      "evaluation_template": "sales_discovery", "time_limit_minutes": 5},
            )  # fmt: skip
            assert scenario.status_code == 201, scenario.text
            session = await http.post("/api/v1/sessions", json={"name": "Mine", "scenario_id": scenario.json()["id"]})
            assert session.status_code == 201, session.text
            session_id = session.json()["id"]
        lines = [Line("Tell me about your current packaging supplier."), Line("What would make you switch?")]
        call = asyncio.ensure_future(websocket_call(base, session_id, lines, headers=headers))
        attempt_id = None
        for _ in range(600):  # until the first exchange is stored, then a little more audio
            await asyncio.sleep(0.1)
            with sqlite3.connect(db) as connection:
                row = connection.execute(
                    "select id, transcript from attempts where session_id = ?", (session_id,)
                ).fetchone()
            if row and row[1].count('"speaker"') >= 3:
                attempt_id = row[0]
                break
        assert attempt_id is not None, "the call never got going"
        await asyncio.sleep(1.5)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        stuck = attempt_row(db, attempt_id)
        assert stuck["state"] in ("in_session", "paused")  # what a crash leaves behind
        with sqlite3.connect(db) as connection:
            assert connection.execute("pragma integrity_check").fetchone()[0] == "ok"
        server = await start_server(env, port, tmp_path / "server.log")
        row = attempt_row(db, attempt_id)
        assert row["state"] == "error" and row["end_reason"] == "server_restarted"
        assert row["error"] == "There was an issue with the roleplay."
        import json

        transcript = json.loads(row["transcript"])
        assert [t["speaker"] for t in transcript[:3]] == ["persona", "learner", "persona"]
        assert "supplier" in transcript[1]["text"].lower()
        with wave.open(row["recording_path"]) as recording:  # the partial recording is a valid WAV
            assert recording.getnchannels() == 2 and recording.getnframes() > 16_000
        async with httpx.AsyncClient(base_url=base, headers=headers) as http:
            restarted = await http.post(f"/api/v1/attempts/{attempt_id}/restart")
            assert restarted.status_code in (200, 201), restarted.text
            assert restarted.json()["number"] == 2
    finally:
        server.terminate()
        server.wait(30)
