"""IP texts parsed once per process: a lab repeats its addresses, gateways and destinations
from the model's checks to the cross-checks to the planner (a 1000-router chain: 28,000
parses of 9,000 texts). ipaddress objects are immutable, so sharing them is safe; a text
that does not parse raises ValueError each time, as ipaddress does."""

from __future__ import annotations

import functools
import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_SIZE = 1 << 15


@functools.lru_cache(maxsize=_SIZE)
def parse_address(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


@functools.lru_cache(maxsize=_SIZE)
def parse_interface(text: str) -> IPInterface:
    return ipaddress.ip_interface(text)


@functools.lru_cache(maxsize=_SIZE)
def parse_network(text: str, strict: bool = True) -> IPNetwork:
    return ipaddress.ip_network(text, strict=strict)
