#!/usr/bin/env python3
"""Container health checks for the Sparring image (installed as `sparring-healthcheck`).

    sparring-healthcheck http URL              exit 0 when URL answers 2xx (the server's /healthz)
    sparring-healthcheck worker [options]      exit 0 when this container's grader worker is alive

The slim image has no curl, hence a script. A grader worker serves no HTTP; it is alive when it keeps
talking to Redis: it blocks on XREADGROUP for at most a couple of seconds at a time and, while it
grades, renews its lease every 10 s. So the check asks Redis (CLIENT LIST) how long ago any connection
from this container's address last sent a command; a hung event loop lets that grow. This works on
every Redis version (consumer-group idle times do not: before Redis 7.2 an empty read leaves no trace),
and needs nothing from the worker. It assumes Redis sees each container under its own address (no
source NAT between them), true for in-cluster and compose Redis.
With --redis-down-ok (liveness) an unreachable Redis passes: restarting workers would not bring Redis
back. Without it (readiness, compose) it fails.
Stdlib only, except the `redis` client the image already has for the worker check.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from typing import Any, Protocol


class RedisClient(Protocol):
    def client_info(self) -> Any: ...

    def client_list(self) -> Any: ...


def check_http(url: str, timeout_s: float = 5.0) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        return False, f"{url}: HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"{url}: {error}"
    return 200 <= status < 300, f"{url}: HTTP {status}"


def _host(addr: str) -> str:
    return addr.rsplit(":", 1)[0]


def check_worker(client: RedisClient, *, max_idle_s: float = 120.0, redis_down_ok: bool = False) -> tuple[bool, str]:
    """Alive when another connection from this container's address sent Redis a command within `max_idle_s`."""
    try:
        me = client.client_info()
        clients = client.client_list()
    except Exception as error:  # any client error means "Redis did not answer"
        return redis_down_ok, f"redis unreachable: {error}"
    host = _host(str(me["addr"]))
    idle = [int(c["idle"]) for c in clients if _host(str(c["addr"])) == host and str(c["id"]) != str(me["id"])]
    if not idle:
        return False, f"no connection to Redis from {host} but this check's: the worker is not running"
    freshest = min(idle)
    return freshest <= max_idle_s, f"worker connection from {host} idle {freshest} s (limit {max_idle_s:.0f} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sparring-healthcheck", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    http = sub.add_parser("http", help="GET a URL, expect 2xx")
    http.add_argument("url")
    http.add_argument("--timeout", type=float, default=5.0)
    worker = sub.add_parser("worker", help="this container's grader worker consumes from Redis")
    worker.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
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
        ok, detail = check_worker(client, max_idle_s=args.max_idle, redis_down_ok=args.redis_down_ok)
    print(("ok: " if ok else "unhealthy: ") + detail, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
