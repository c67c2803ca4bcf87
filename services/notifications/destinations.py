"""notifications: where a webhook receiver's URL leads, checked when it is registered and again
at every delivery (`rules.refused_address` says which addresses are refused).

At delivery the host name is resolved once, off the event loop, every address it resolves to is
checked, and the request is sent to the address that was checked (with the original Host header
and TLS server name), so a name that resolves elsewhere a moment later (DNS rebinding) changes
nothing. Credentials in a URL are refused at registration and never sent, stored or shown.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from services.notifications import rules


class DestinationRefused(Exception):
    """The receiver's URL may not be used; `code` names the rule and `reason` says why, in words safe
    to record."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Destination:
    """Where to send one delivery: the checked address, and what tells the receiver who it is."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any] = field(default_factory=dict)


def has_credentials(url: str) -> bool:
    parts = urlsplit(url)
    return parts.username is not None or parts.password is not None


def without_credentials(url: str) -> str:
    """The URL as it may be shown or recorded: never a `user:password@`."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def resolve(host: str, port: int) -> list[rules.Address]:
    """Every address `host` resolves to (an address literal is itself), resolved off the event loop."""
    try:
        return [ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DestinationRefused("host_unresolved", "the receiver's host name does not resolve") from exc
    addresses: list[rules.Address] = []
    for *_, sockaddr in found:
        address = ip_address(str(sockaddr[0]).split("%")[0])  # no IPv6 zone: link-local is refused anyway
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DestinationRefused("host_unresolved", "the receiver's host name does not resolve")
    return addresses


def _checked(addresses: list[rules.Address], allowed: tuple[rules.Network, ...]) -> rules.Address:
    """The first address, once every one of them is allowed (any refused one refuses the name)."""
    for address in addresses:
        kind = rules.refused_address(address, allowed)
        if kind is not None:
            raise DestinationRefused("address_refused", f"the receiver's address is {kind}")
    return addresses[0]


def _parts(url: str) -> tuple[httpx.URL, str, int]:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise DestinationRefused("url_invalid", "the receiver's URL is not valid") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise DestinationRefused("url_scheme", "the receiver's URL must be http or https with a host")
    if has_credentials(url):
        raise DestinationRefused("url_credentials", "the receiver's URL carries credentials, which carelog never sends")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed, parsed.host, port


async def check(url: str, allowed: tuple[rules.Network, ...]) -> None:
    """Refuse a receiver URL whose host is, or resolves to, an address a webhook may not reach."""
    _, host, port = _parts(url)
    _checked(await resolve(host, port), allowed)


async def destination(url: str, allowed: tuple[rules.Network, ...]) -> Destination:
    """Resolve and check the receiver now, and address the request to the address checked."""
    parsed, host, port = _parts(url)
    address = _checked(await resolve(host, port), allowed)
    extensions: dict[str, Any] = {}
    if parsed.scheme == "https":
        extensions["sni_hostname"] = host  # the certificate is checked against the name, not the address
    return Destination(
        url=parsed.copy_with(host=str(address)),
        headers={"host": parsed.netloc.decode("ascii")},
        extensions=extensions,
    )
