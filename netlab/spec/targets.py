"""What a check's or a ping's target means in a topology (pure): `h2` is h2's first
address, `h2:eth1` that interface's, `10.0.0.9` itself; a node whose topology gives it no
address may make one at run time (its commands, DHCP): then there is none here, and the
caller asks the kernel (Lab.address)."""

from __future__ import annotations

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


def no_address(target: str, family: int | None = None, live: bool = False) -> str:
    """Why a node (or node:interface) target has no address to probe, in words."""
    name, _, iface = target.partition(":")
    which = f"{name}:{iface}" if iface else f"node '{name}'"
    kind = f"IPv{family} " if family else ""
    if live:
        return f"{which} has no {kind}address (none in the topology, none in the kernel now)"
    return f"{which} has no {kind}address"
