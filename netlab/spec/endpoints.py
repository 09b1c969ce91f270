"""Endpoints: "node:interface" (or a node alone) in links, link commands and checks. Pure.

parse_endpoint and parse_target check what a person wrote; split_endpoint splits what
validation has already passed.
"""

from __future__ import annotations

from netlab.spec.ip import IPAddress, parse_address
from netlab.spec.model import NAME_RE, check_ifname


def parse_endpoint(text: str) -> tuple[str, str | None]:
    """'h1:eth0' -> ('h1', 'eth0'); 'sw1' -> ('sw1', None).

    ValueError, with a message for a person, when the text is not of that form.
    """
    node, colon, iface = text.partition(":")
    if not node:
        raise ValueError(f"endpoint '{text}' has no node name before ':'")
    if colon and not iface:
        raise ValueError(f"endpoint '{text}' has no interface name after ':'")
    if not NAME_RE.match(node):
        if any(c.isspace() for c in text):
            raise ValueError(f"endpoint '{text}' is not 'node:interface'; write it without spaces")
        raise ValueError(f"endpoint '{text}': '{node}' is not a node name")
    if colon:
        try:
            check_ifname(iface)
        except ValueError as e:
            raise ValueError(f"endpoint '{text}': {e}") from None
    return node, iface or None


def split_endpoint(endpoint: str) -> tuple[str, str | None]:
    """A validated endpoint: 'h1:eth0' -> ('h1', 'eth0'); 'sw1' -> ('sw1', None)."""
    node, sep, ifname = endpoint.partition(":")
    return node, (ifname if sep else None)


def parse_target(text: str) -> tuple[str, str | None] | IPAddress:
    """The `to` of a check: an IP address, or (node, interface or None).

    ValueError, with a message for a person, when it is neither.
    """
    try:
        return parse_address(text)
    except ValueError:
        pass
    if "%" in text:
        raise ValueError(
            f"'{text}': a zone (%dev) is not supported in checks; use a global address"
        )
    if "/" in text:
        address = text.partition("/")[0]
        try:
            parse_address(address)
        except ValueError:
            pass
        else:
            raise ValueError(f"'{text}': leave out the prefix length ('{address}')")
    if text.count(":") == 1:
        node, iface = text.split(":")
        if NAME_RE.match(node):
            try:
                check_ifname(iface)
            except ValueError as e:
                raise ValueError(f"'{text}': {e}") from None
            return node, iface
    if NAME_RE.match(text):
        return text, None
    raise ValueError(
        f"'{text}' is neither a node name (or node:interface) nor an IP address"
    )
