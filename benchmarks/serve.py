"""`sparring serve` as its own process on 127.0.0.1, with an admin API key: what load and soak runs target."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from benchmarks.local_server import free_port
from server.store.db import Database


@dataclass
class Served:
    base_url: str
    headers: dict[str, str]
    process: psutil.Process
    db: Database
    data_dir: Path


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


@asynccontextmanager
async def served(**settings: str) -> AsyncIterator[Served]:
    """A fresh data dir and database, an admin with an API key, and the server until the block ends."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        db_url = f"sqlite:///{Path(tmp) / 'sparring.db'}"
        env = {**os.environ, "SPARRING_DATA_DIR": tmp, "DATABASE_URL": db_url, "SPARRING_PURGE_INTERVAL_S": "0",
               "SPARRING_WEBRTC__HOST_ADDRESSES": '["127.0.0.1"]', **settings}  # fmt: skip
        _cli(env, "admin", "create", "--email", "bench@bench.local", "--password", "bench-password-long")
        key = _cli(env, "apikey", "create", "--email", "bench@bench.local")
        log = Path(tmp) / "server.log"
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
        server = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(480):
                    try:
                        if (await http.get(f"{base}/healthz", timeout=1)).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if server.poll() is not None:
                        raise RuntimeError(log.read_text(errors="replace")[-3000:])
                    await asyncio.sleep(0.5)
            yield Served(
                base, {"Authorization": f"Bearer {key}"}, psutil.Process(server.pid), Database(db_url), Path(tmp)
            )
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
