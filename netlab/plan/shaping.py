"""Shaping on links, planned: one root qdisc per shaped end (its egress). Pure.

A link's own tc values shape both directions; an endpoint written long shapes what leaves
through it, over the link's values. Values were checked when the topology was loaded, so
building them here cannot fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netlab.plan.ops import SetQdisc
from netlab.spec.model import Endpoint, Link, Topology
from netlab.spec.validate import end_mtu
from netlab.values import tc


@dataclass(frozen=True)
class QdiscUse:
    """Where a topology asks for a qdisc kind: the data path of the key that decides it."""

    path: str
    link: str  # "r1:eth1 -- h3:eth0"
    kind: str  # tbf or netem
    keys: tuple[str, ...]  # what needs that kind: the netem keys given, or rate


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


def qdisc_uses(topo: Topology) -> list[QdiscUse]:
    """Every place the topology asks for a qdisc, once per place written (a link's values
    shape both of its ends, but were written once)."""
    uses: list[QdiscUse] = []
    seen: set[str] = set()
    for i, link in enumerate(topo.links):
        for k, end in enumerate(link.endpoints):
            values = link.end_shaping(k)
            keys = tuple(tc.needs_netem(values)) or (("rate",) if "rate" in values else ())
            if not keys:
                continue
            own = end.shaping() if isinstance(end, Endpoint) else {}
            path = f"links[{i}].endpoints[{k}].{keys[0]}" if keys[0] in own else (
                f"links[{i}].{keys[0]}")
            if path not in seen:
                seen.add(path)
                kind = "netem" if keys[0] != "rate" else "tbf"
                uses.append(QdiscUse(path, " -- ".join(link.ends()), kind, keys))
    return uses
