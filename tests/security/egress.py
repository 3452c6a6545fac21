"""A socket guard for tests: outbound connections, datagrams and name lookups to anything but loopback are
refused (OSError, as on a host with no route) and recorded. Process-wide while it is active."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def is_local_host(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%", 1)[0].lower()
    if host in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def is_local_address(address: Any) -> bool:
    """A socket address: (host, port, ...) for IP, a path (str or bytes) for AF_UNIX."""
    if isinstance(address, str | bytes):
        return True  # a Unix socket never leaves the machine
    return isinstance(address, tuple) and bool(address) and is_local_host(address[0])


class EgressGuard:
    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._lock = threading.Lock()

    def _refuse(self, what: str) -> OSError:
        with self._lock:
            self.attempts.append(what)
        return PermissionError(f"egress blocked by the test's socket guard: {what}")

    def wrap_address(self, name: str, original: Callable[..., Any], position: int) -> Callable[..., Any]:
        guard = self

        def guarded(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
            address = args[position] if len(args) > position else kwargs.get("address")
            outward = sock.family in (socket.AF_INET, socket.AF_INET6) and not is_local_address(address)
            if address is not None and outward:
                raise guard._refuse(f"{name} {address!r}")
            return original(sock, *args, **kwargs)

        return guarded

    def wrap_lookup(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        guard = self

        def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_local_host(host):
                guard._refuse(f"{name} {host!r}")
                raise socket.gaierror(socket.EAI_NONAME, f"lookup of {host!r} blocked by the test's socket guard")
            return original(host, *args, **kwargs)

        return guarded


@contextmanager
def no_egress() -> Iterator[EgressGuard]:
    """Block and record every non-loopback connect, sendto/sendmsg and DNS lookup in this process."""
    guard = EgressGuard()
    patches: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, replacement: Any) -> None:
        patches.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    for name in ("connect", "connect_ex"):
        patch(socket.socket, name, guard.wrap_address(f"socket.{name}", getattr(socket.socket, name), 0))
    patch(socket.socket, "sendto", guard.wrap_address("socket.sendto", socket.socket.sendto, -1))
    patch(socket.socket, "sendmsg", guard.wrap_address("socket.sendmsg", socket.socket.sendmsg, 3))
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        patch(socket, name, guard.wrap_lookup(f"socket.{name}", getattr(socket, name)))
    try:
        yield guard
    finally:
        for owner, name, original in reversed(patches):
            setattr(owner, name, original)
