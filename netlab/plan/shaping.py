"""Shaping on links, planned: one root qdisc per shaped end (its egress). Pure.

A link's own tc values shape both directions; an endpoint written long shapes what leaves
through it, over the link's values. Values were checked when the topology was loaded, so
building them here cannot fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netlab.plan.ops import SetQdisc
from netlab.spec import tc
from netlab.spec.model import Endpoint, Link, Topology
from netlab.spec.validate import end_mtu


@dataclass(frozen=True)
class NetemUse:
    """Where a topology asks for netem: the data path of the first key that needs it."""

    path: str
    link: str  # "r1:eth1 -- h3:eth0"
    keys: tuple[str, ...]


def qdisc_ops(
    topo: Topology, ends: list[tuple[tuple[str, str], tuple[str, str], Link]],
    namespaces: Mapping[str, str],
) -> list[SetQdisc]:
    """SetQdisc for every shaped end; `ends` are the links with their ends named."""
    ops: list[SetQdisc] = []
    for a, b, link in ends:
        for k, (node, ifname) in enumerate((a, b)):
            qdisc = tc.build(link.end_shaping(k), end_mtu(topo, link, (node, ifname)))
            if qdisc is not None:
                ops.append(SetQdisc(namespaces[node], ifname, qdisc))
    return ops


def netem_uses(topo: Topology) -> list[NetemUse]:
    """Every place the topology asks for what only netem carries, once per place written."""
    uses: list[NetemUse] = []
    seen: set[str] = set()
    for i, link in enumerate(topo.links):
        for k, end in enumerate(link.endpoints):
            keys = tc.needs_netem(link.end_shaping(k))
            if not keys:
                continue
            own = end.shaping() if isinstance(end, Endpoint) else {}
            first = keys[0]
            path = f"links[{i}].endpoints[{k}].{first}" if first in own else f"links[{i}].{first}"
            if path not in seen:
                seen.add(path)
                uses.append(NetemUse(path, " -- ".join(link.ends()), tuple(keys)))
    return uses
