"""ICE configuration from settings: STUN/TURN servers, which local addresses to offer, relay-only."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class IceConfig:
    servers: tuple[IceServer, ...] = ()
    # Local addresses to gather host candidates on; empty: every non-loopback interface (aioice's
    # default). On-prem servers name their LAN address; loopback tests name 127.0.0.1.
    host_addresses: tuple[str, ...] = ()
    relay_only: bool = False  # only TURN-relayed candidates (strict networks)
    extra: dict[str, str] = field(default_factory=dict)


def apply_host_addresses(addresses: Sequence[str]) -> Callable[[], None]:
    """Make aioice gather host candidates on exactly `addresses`; returns the undo.

    aioice has one address policy per process, so the server applies its own at startup and undoes it
    at shutdown; empty keeps whatever policy is in force (aioice's default: every interface).
    """
    for address in addresses:
        ipaddress.ip_address(address)  # ValueError on a typo, before any call depends on it
    if not addresses:
        return lambda: None
    previous = aioice.ice.get_host_addresses
    chosen = list(addresses)

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = configured
    log.info("WebRTC host candidates limited to %s", ", ".join(chosen))

    def restore() -> None:
        if aioice.ice.get_host_addresses is configured:
            aioice.ice.get_host_addresses = previous

    return restore


def rtc_configuration(config: IceConfig) -> RTCConfiguration:
    servers = [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential) for s in config.servers]
    rtc = RTCConfiguration(iceServers=servers)
    if config.relay_only:
        from aiortc.rtcconfiguration import RTCIceTransportPolicy

        rtc.iceTransportPolicy = RTCIceTransportPolicy.RELAY
    return rtc
