"""Where a webhook may go (SSRF): the addresses refused unless the agency allows their network."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

# Addresses a webhook never reaches unless CARELOG_WEBHOOK_ALLOWED_NETWORKS names them: the
# agency's own machines and networks, cloud metadata services, broadcast. The first kind that
# applies is the reason given (IANA special-purpose registries, RFC 6890).
REFUSED_ADDRESS_KINDS: tuple[tuple[str, Callable[[Address], bool]], ...] = (
    ("unspecified", lambda a: a.is_unspecified),
    ("loopback", lambda a: a.is_loopback),
    ("link-local", lambda a: a.is_link_local),
    ("multicast", lambda a: a.is_multicast),
    ("reserved", lambda a: a.is_reserved),
    ("private", lambda a: a.is_private),
    ("not publicly routable", lambda a: not a.is_global),
)
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052).
NAT64_PREFIX = IPv6Network("64:ff9b::/96")


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ip_network(v, strict=False) for v in values)


def reached_addresses(address: Address) -> tuple[Address, ...]:
    """The address and any IPv4 address it leads to: an IPv4-mapped address *is* that IPv4
    address; a 6to4 or NAT64 address is routed on to the one it embeds."""
    if isinstance(address, IPv4Address):
        return (address,)
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    embedded = address.sixtofour
    if embedded is None and address in NAT64_PREFIX:
        embedded = IPv4Address(int(address) & 0xFFFFFFFF)
    return (address,) if embedded is None else (address, embedded)


def refused_address(address: Address, allowed: Sequence[Network]) -> str | None:
    """Why a webhook may not be sent to `address` (a kind of address, e.g. "loopback"); None if it may."""
    for reached in reached_addresses(address):
        if any(reached.version == n.version and reached in n for n in allowed):
            continue
        for kind, applies in REFUSED_ADDRESS_KINDS:
            if applies(reached):
                return kind
    return None
