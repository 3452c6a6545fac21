"""What the containers run besides the app: the health-check script, the entrypoint's placeholder guard,
and the Redis command line of compose.yaml and the Kubernetes StatefulSet, each run for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import importlib.util
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import redis
import yaml

from server.jobs import Job, RedisJobQueue, run_worker
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sparring_healthcheck", DEPLOY / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = load_healthcheck()


# --- sparring-healthcheck http ---------------------------------------------------------------------


@contextlib.contextmanager
def http_server(status: int) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz"
    finally:
        server.shutdown()
        server.server_close()


def test_http_check_passes_on_2xx_only() -> None:
    with http_server(200) as url:
        assert healthcheck.check_http(url)[0] is True
        assert healthcheck.main(["http", url]) == 0
    with http_server(503) as url:
        ok, detail = healthcheck.check_http(url)
        assert ok is False and "503" in detail
        assert healthcheck.main(["http", url]) == 1
    assert healthcheck.check_http(f"http://127.0.0.1:{free_port()}/healthz", timeout_s=2)[0] is False


# --- sparring-healthcheck worker, logic ------------------------------------------------------------


class FakeRedis:
    """CLIENT INFO / CLIENT LIST as Redis answers them: this check's connection, then everyone's."""

    def __init__(self, others: list[tuple[str, int]] | None = None, *, down: bool = False) -> None:
        self.me = {"id": "9", "addr": "10.1.0.5:50000", "idle": "0"}
        self.others = [{"id": str(i), "addr": addr, "idle": str(idle)} for i, (addr, idle) in enumerate(others or [])]
        self.down = down

    def client_info(self) -> dict[str, str]:
        if self.down:
            raise ConnectionError("connection refused")
        return self.me

    def client_list(self) -> list[dict[str, str]]:
        return [*self.others, self.me]


def test_worker_check_needs_a_recent_command_from_this_containers_address() -> None:
    check = healthcheck.check_worker
    assert check(FakeRedis([("10.1.0.5:41000", 1)]), max_idle_s=120)[0] is True
    # Pool connections sit idle; the one the worker polls on is fresh: the freshest counts.
    assert check(FakeRedis([("10.1.0.5:41000", 900), ("10.1.0.5:41002", 2)]), max_idle_s=120)[0] is True
    assert check(FakeRedis([("10.1.0.5:41000", 900)]), max_idle_s=120)[0] is False  # hung for 15 min
    assert check(FakeRedis([("10.1.0.6:41000", 0)]), max_idle_s=120)[0] is False  # another pod's worker
    assert check(FakeRedis([("10.1.0.50:41000", 0)]), max_idle_s=120)[0] is False  # not a prefix match
    assert check(FakeRedis([]), max_idle_s=120)[0] is False  # only the check itself: no worker


def test_worker_check_on_a_redis_outage_fails_readiness_but_not_liveness() -> None:
    down = FakeRedis(down=True)
    assert healthcheck.check_worker(down)[0] is False
    assert healthcheck.check_worker(down, redis_down_ok=True)[0] is True


def test_worker_check_without_redis_url_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert healthcheck.main(["worker"]) == 1


# --- sparring-healthcheck worker, against a real worker on a real Redis -----------------------------


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        wait_for_redis(client)
        client.close()  # the worker check counts open connections from this address
        yield url
    finally:
        process.terminate()
        process.wait(15)


def wait_for_redis(client: redis.Redis, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            client.ping()
            return
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def healthcheck_cli(*args: str) -> int:
    """The script as the container runs it, in a subprocess so this event loop keeps the worker going."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(DEPLOY / "healthcheck.py"), *args, stdout=asyncio.subprocess.DEVNULL, stderr=None
    )
    return await process.wait()


@contextlib.asynccontextmanager
async def worker(queue: RedisJobQueue, consumer: str, job_seconds: float) -> AsyncIterator[list[str]]:
    done: list[str] = []
    stop = asyncio.Event()

    async def handler(job: Job) -> None:
        await asyncio.sleep(job_seconds)
        done.append(job.id)

    task = asyncio.create_task(run_worker(queue, handler, consumer=consumer, stop=stop, heartbeat_s=0.3, block_s=0.3))
    try:
        yield done
    finally:
        stop.set()
        await task


@pytest.mark.services
async def test_worker_check_follows_a_real_worker(redis_url: str) -> None:
    queue = RedisJobQueue(redis_url, claim_timeout_s=5.0, poll_s=0.1)
    args = ("worker", "--redis-url", redis_url, "--max-idle", "1")
    try:
        assert await healthcheck_cli(*args) == 1  # no worker connected yet
        async with worker(queue, "pod-a-4242", job_seconds=3.5) as done:
            await asyncio.sleep(0.5)
            assert await healthcheck_cli(*args) == 0  # polling the stream
            await queue.enqueue("grade", {"attempt_id": "a1"})
            await asyncio.sleep(2.5)  # inside a 3.5 s job: only the lease renewals keep it talking
            assert not done
            assert await healthcheck_cli(*args) == 0
            while not done:
                await asyncio.sleep(0.1)
        # The loop stopped but its connections stay open, as in a hung worker: they go quiet.
        await asyncio.sleep(2.5)
        assert await healthcheck_cli(*args) == 1
        assert await healthcheck_cli(*args[:-2], "--max-idle", "60") == 0
    finally:
        await queue.close()


@pytest.mark.services
async def test_worker_liveness_passes_while_redis_is_down() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    assert await healthcheck_cli("worker", "--redis-url", url) == 1
    assert await healthcheck_cli("worker", "--redis-url", url, "--redis-down-ok") == 0


# --- the entrypoint's placeholder guard ---------------------------------------------------------------


def entrypoint(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), *command],
        check=False,
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **env},
        timeout=30,
    )


def test_entrypoint_refuses_placeholders_in_production_and_names_them() -> None:
    env = {
        "SPARRING_ENVIRONMENT": "production",
        "SPARRING_SECRET_KEY": "CHANGE-ME",
        "DATABASE_URL": "postgresql://sparring:CHANGE-ME@postgres:5432/sparring",
        "SPARRING_MODELS__PERSONA_LLM__API_KEY": "0123456789abcdef",
    }
    result = entrypoint(env, "sh", "-c", "echo started")
    assert result.returncode == 78
    assert "started" not in result.stdout
    assert "SPARRING_SECRET_KEY" in result.stderr and "DATABASE_URL" in result.stderr
    assert "SPARRING_MODELS__PERSONA_LLM__API_KEY" not in result.stderr
    assert "postgres:5432" not in result.stderr  # names only, never values


def test_entrypoint_runs_the_command_when_configured() -> None:
    real = {"SPARRING_ENVIRONMENT": "production", "SPARRING_SECRET_KEY": "0123456789abcdef"}
    result = entrypoint(real, "sh", "-c", 'echo "started $0 $1"', "a", "b c")
    assert result.returncode == 0 and result.stdout.strip() == "started a b c"
    development = {"SPARRING_ENVIRONMENT": "development", "SPARRING_SECRET_KEY": "CHANGE-ME"}
    assert entrypoint(development, "true").returncode == 0
    assert entrypoint(real, "sh", "-c", "exit 3").returncode == 3  # the command's own status comes back


# --- the Redis command lines: password on stdin, append-only, no eviction ----------------------------


def redis_shell_commands() -> dict[str, str]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    (statefulset,) = [
        d for d in yaml.safe_load_all((DEPLOY / "k8s/base/redis.yaml").read_text()) if d["kind"] == "StatefulSet"
    ]
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    return {
        "compose": compose["services"]["redis"]["command"][2].replace("$$", "$"),  # compose's escaped $
        "kubernetes": container["args"][0],
    }


@pytest.mark.services
@pytest.mark.parametrize("where", ["compose", "kubernetes"])
def test_redis_command_line_sets_password_and_durability(where: str, tmp_path: Path) -> None:
    script = redis_shell_commands()[where]
    assert "--dir /data" in script
    port = free_port()
    script = script.replace("--dir /data", f"--dir {tmp_path} --port {port} --bind 127.0.0.1")
    password = "s3cret-hex-0123"
    process = subprocess.Popen(
        ["sh", "-c", script],
        env={"PATH": os.environ["PATH"], "REDIS_PASSWORD": password},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, password=password, decode_responses=True)
        wait_for_redis(client)
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port).ping()
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("save") == {"save": ""}
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):  # the password is in no process list
            with contextlib.suppress(OSError):
                assert password.encode() not in cmdline.read_bytes()
    finally:
        process.terminate()
        process.wait(15)
