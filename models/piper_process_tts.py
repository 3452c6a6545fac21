"""Piper in a child process (see `models.piper_worker`): same Protocol, no GPL code in our process."""

from __future__ import annotations

import asyncio
import json
import struct
import sys
from collections.abc import AsyncIterator

import numpy as np

from models.base import Audio, BackendInfo
from models.config import TTSConfig
from models.errors import ModelError
from models.locator import resolve
from models.piper_worker import ERROR_MARK


class PiperProcessTTS:
    def __init__(self, config: TTSConfig, *, threads: int) -> None:
        self._path = resolve(config.model, what="Piper voice")
        self._threads = config.threads or threads
        self._length_scale = config.length_scale
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._draining: asyncio.Future[None] | None = None
        self.sample_rate = 0
        self.info = BackendInfo("tts", "piper-process", str(self._path), {"threads": self._threads})

    async def start(self) -> None:
        """Spawn the worker and read its sample rate; called by the registry before first use."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "models.piper_worker", "--model", str(self._path),
            "--threads", str(self._threads), "--length-scale", str(self._length_scale),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self._process.stdout is not None
        header = await self._process.stdout.readline()
        if not header:
            raise ModelError(f"piper worker exited at start (code {await self._process.wait()})")
        self.sample_rate = int(json.loads(header)["sample_rate"])
        self.info = BackendInfo(
            "tts", "piper-process", str(self._path), {"sample_rate": self.sample_rate, "pid": self._process.pid}
        )

    async def aclose(self) -> None:
        if self._process and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()

    async def _read_frame(self) -> bytes | None:
        """One sentence of PCM; None at the end of a request."""
        assert self._process and self._process.stdout
        stdout = self._process.stdout
        (size,) = struct.unpack("<I", await stdout.readexactly(4))
        if size == ERROR_MARK:
            raise ModelError(f"piper worker failed: {json.loads(await stdout.readline())['error']}")
        return await stdout.readexactly(size) if size else None

    async def _drain(self) -> None:
        try:
            while await self._read_frame() is not None:
                pass
        finally:
            self._lock.release()

    async def synthesize(self, text: str) -> AsyncIterator[Audio]:
        if not text.strip():
            return
        if self._process is None or self._process.returncode is not None:
            raise ModelError("piper worker is not running", retryable=True)
        await self._lock.acquire()
        finished = False
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps({"text": text}).encode() + b"\n")
            await self._process.stdin.drain()
            while (frame := await self._read_frame()) is not None:
                yield np.frombuffer(frame, dtype="<f4").astype(np.float32)
            finished = True
        except asyncio.IncompleteReadError as error:
            finished = True
            raise ModelError("piper worker died mid-request", retryable=True) from error
        except ModelError:
            finished = True
            raise
        finally:
            if finished:
                self._lock.release()
            else:
                # Abandoned mid-request: read the rest of its answer in the background before reuse.
                self._draining = asyncio.ensure_future(self._drain())
