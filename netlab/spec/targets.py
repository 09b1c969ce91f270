"""What a check's or a ping's target means in a topology (pure): `h2` is h2's first
address, `h2:eth1` that interface's, `10.0.0.9` itself; a node whose topology gives it no
address may make one at run time (its commands, DHCP): then there is none here, and the
caller asks the kernel (Lab.address)."""

from __future__ import annotations

import ipaddress

from netlab.errors import InputError
from netlab.spec import endpoints
from netlab.spec.model import Topology


def written_address(topology: Topology, target: str, family: int | None = None) -> str | None:
    """The address a target means as the topology writes it: itself, or the first address
    (of `family`, if given) of a node or node:interface; None when the topology gives the
    node none (it may make one at run time). InputError for a target that is no node."""
    try:
        parsed = endpoints.parse_target(target)
    except ValueError as e:
        raise InputError(str(e)) from None
    if not isinstance(parsed, tuple):
        if family is not None and parsed.version != family:
            raise InputError(f"{parsed} is not an IPv{family} address")
        return str(parsed)
    name, iface = parsed
    node = topology.nodes.get(name)
    if node is None:
        raise InputError(f"no node '{name}' (nodes: {', '.join(topology.nodes)})")
    return node.first_address(family, iface)


def refuse_link_local(address: str) -> None:
    """InputError for an IPv6 link-local address (fe80::/10): every interface has one of
    that prefix, so it needs the interface to leave by (fe80::1%eth0), which netlab's
    probes do not take; the kernel would only say "Invalid argument"."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.is_link_local:
        bare, zone, _ = str(ip).partition("%")
        raise InputError(
            f"{address}: netlab does not support an interface (%zone) for a link-local "
            "address" if zone else
            f"{address} is an IPv6 link-local address, which needs an interface to leave by "
            f"({bare}%eth0); netlab does not support that",
            hint=f"give a global address, or a node (or node:interface) by name; 'netlab "
            f"exec NODE -- ping {bare}%IFACE' pings it (ping must be installed)",
        )


def no_interface(node: str, iface: str, interfaces: list[str]) -> str:
    """That a node has no such interface, and which it has."""
    return (f"node '{node}' has no interface '{iface}' (its interfaces: "
            f"{', '.join(interfaces) or 'none'})")


def no_address(target: str, family: int | None = None, live: bool = False) -> str:
    """Why a node (or node:interface) target has no address to probe, in words."""
    name, _, iface = target.partition(":")
    which = f"{name}:{iface}" if iface else f"node '{name}'"
    kind = f"IPv{family} " if family else ""
    if live:
        if iface == "lo":
            return (f"{which} has no {kind}address but loopback's (127.0.0.1, ::1), which "
                    "every node has for itself: give lo an address in the topology")
        return f"{which} has no {kind}address (none in the topology, none in the kernel now)"
    return f"{which} has no {kind}address"
