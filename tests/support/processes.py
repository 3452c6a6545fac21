"""Start real servers (llama.cpp, vLLM, redis, PostgreSQL, sparring) on loopback for tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(
    command: Sequence[str],
    *,
    ready_url: str | None = None,
    ready_port: int | None = None,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` until the block ends; wait until `ready_url` answers 200 or `ready_port` accepts."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:] if log_path else ""
                raise RuntimeError(f"{command[0]} exited with {process.returncode}\n{tail}")
            if _ready(ready_url, ready_port):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{' '.join(command)} not ready after {timeout:.0f} s")
            time.sleep(0.25)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log_path and hasattr(log, "close"):
            log.close()


def _ready(url: str | None, port: int | None) -> bool:
    if url:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False
    if port:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0
    return True
