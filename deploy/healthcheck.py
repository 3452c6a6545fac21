#!/usr/bin/env python3
"""Container health checks for the Sparring image (installed as `sparring-healthcheck`).

    sparring-healthcheck http URL              exit 0 when URL answers 2xx (the server's /healthz)
    sparring-healthcheck worker [options]      exit 0 when this container's grader worker is alive

The slim image has no curl, hence a script. A grader worker serves no HTTP: it is alive when its
Redis Streams consumer (named `<hostname>-<pid>` by server.grading) has talked to Redis recently. The
worker blocks on XREADGROUP for 2 s at a time and, while it grades, keeps its lease with XCLAIM every
10 s; both reset the consumer's idle time, so a stale consumer means a hung event loop.
With --redis-down-ok (liveness) an unreachable Redis passes: restarting workers would not bring Redis
back. Without it (readiness, compose) it fails.
Stdlib only, except the `redis` client the image already has for the worker check.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import urllib.error
import urllib.request
from typing import Any, Protocol

STREAM = "sparring:jobs:grading:stream"  # server.jobs.redis_streams.RedisJobQueue defaults
GROUP = "workers"


class StreamsClient(Protocol):
    def ping(self) -> Any: ...

    def xinfo_consumers(self, name: str, groupname: str) -> Any: ...


def check_http(url: str, timeout_s: float = 5.0) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        return False, f"{url}: HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"{url}: {error}"
    return 200 <= status < 300, f"{url}: HTTP {status}"


def check_worker(
    client: StreamsClient,
    prefix: str,
    *,
    stream: str = STREAM,
    group: str = GROUP,
    max_idle_s: float = 120.0,
    redis_down_ok: bool = False,
) -> tuple[bool, str]:
    """Alive when a consumer named `<prefix>...` exists in the group and was idle at most `max_idle_s`."""
    try:
        client.ping()
    except Exception as error:  # any client error means "Redis did not answer"
        return redis_down_ok, f"redis unreachable: {error}"
    try:
        consumers = client.xinfo_consumers(stream, group)
    except Exception as error:  # no stream or group yet: the worker has not consumed once
        return False, f"no consumer group {group!r} on {stream!r} yet: {error}"
    idle = [int(c["idle"]) for c in consumers if str(c.get("name", "")).startswith(prefix)]
    if not idle:
        return False, f"no consumer named {prefix}* in group {group!r}"
    freshest = min(idle)
    return freshest <= max_idle_s * 1000, f"consumer {prefix}* idle {freshest} ms (limit {max_idle_s:.0f} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sparring-healthcheck", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    http = sub.add_parser("http", help="GET a URL, expect 2xx")
    http.add_argument("url")
    http.add_argument("--timeout", type=float, default=5.0)
    worker = sub.add_parser("worker", help="this container's grader worker consumes from Redis")
    worker.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    worker.add_argument("--stream", default=STREAM)
    worker.add_argument("--group", default=GROUP)
    worker.add_argument("--consumer-prefix", default=f"{socket.gethostname()}-")
    worker.add_argument("--max-idle", type=float, default=120.0, help="seconds")
    worker.add_argument("--redis-down-ok", action="store_true", help="pass while Redis is unreachable (liveness)")
    args = parser.parse_args(argv)

    if args.mode == "http":
        ok, detail = check_http(args.url, args.timeout)
    elif not args.redis_url:
        ok, detail = False, "REDIS_URL is not set: `sparring worker` needs Redis"
    else:
        import redis

        client = redis.Redis.from_url(args.redis_url, socket_connect_timeout=3, socket_timeout=3)
        ok, detail = check_worker(
            client,
            args.consumer_prefix,
            stream=args.stream,
            group=args.group,
            max_idle_s=args.max_idle,
            redis_down_ok=args.redis_down_ok,
        )
    print(("ok: " if ok else "unhealthy: ") + detail, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
