"""A lab across hosts: which nodes each host builds, and the cables between hosts. Pure.

Each host builds its own part knowing nothing of the others but the topology, so whatever
both ends of a cable between hosts must agree on (its VNI, its MTU) is derived here from the
topology and the lab's name alone (docs/multi-host.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from netlab.errors import InputError
from netlab.spec.model import Topology

VXLAN_MTU = 1450  # a 1500-byte underlay less VXLAN's 50 bytes (IPv4 + UDP + VXLAN + Ethernet)
VXLAN_PORT = 4789  # IANA's VXLAN port, on the host's own (root) namespace
VNI_SPACE = (1 << 24) - 1  # VNIs 1 .. 16777215 (0 is left alone)


@dataclass(frozen=True)
class CrossLink:
    """A cable whose ends are on two hosts: a VXLAN device at each end."""

    index: int  # in topology.links
    a: tuple[str, str]  # (node, interface)
    b: tuple[str, str]
    host_a: str
    host_b: str
    vni: int

    def end_here(self, host: str) -> tuple[tuple[str, str], str]:
        """This host's end of the cable, and the host at the other end."""
        return (self.a, self.host_b) if self.host_a == host else (self.b, self.host_a)


def host_of(topo: Topology, node: str) -> str | None:
    """The host a node is built on: its `host:`, else the first host (None: no hosts)."""
    return topo.nodes[node].host or next(iter(topo.hosts), None)


def vni_base(lab: str) -> int:
    """Where the lab's block of VNIs starts: a hash of its name, so that two labs on the
    same hosts get blocks far apart (a block overlap is refused by the kernel, see vni)."""
    digest = hashlib.sha256(f"netlab-vni:{lab}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % VNI_SPACE + 1


def vni(lab: str, k: int) -> int:
    """The VNI of the lab's k-th cable between hosts (k from 0, in the topology's order):
    consecutive from the lab's base, so a lab's own VNIs never collide. Two labs collide
    only if their blocks overlap (for blocks of n1 and n2 VNIs, a chance of about
    (n1 + n2) / 16.7 million); the kernel then refuses the second vxlan with that VNI on
    the host, and `up` says so (kernel/reasons.py) and rolls back."""
    return (vni_base(lab) - 1 + k) % VNI_SPACE + 1


def cross_links(
    topo: Topology, lab: str, ends: Sequence[tuple[tuple[str, str], tuple[str, str]]],
) -> list[CrossLink]:
    """The cables between hosts; `ends` are the links with their ends named, in order."""
    if not topo.hosts:
        return []
    found: list[CrossLink] = []
    for i, (a, b) in enumerate(ends):
        ha, hb = host_of(topo, a[0]), host_of(topo, b[0])
        assert ha is not None and hb is not None
        if ha != hb:
            found.append(CrossLink(i, a, b, ha, hb, vni(lab, len(found))))
    return found


def check_host(topo: Topology, lab: str, host: str | None) -> None:
    """A lab across hosts is built one host at a time: refuse a missing or unknown host."""
    names = ", ".join(topo.hosts)
    if host is None:
        if len(topo.hosts) > 1:
            raise InputError(
                f"lab '{lab}' spans hosts {names}: each host builds its own part",
                hint="--host NAME for this host's part, or --all-hosts for all of them "
                "(docs/multi-host.md)",
            )
        return
    if host not in topo.hosts:
        where = f"(hosts: {names})" if topo.hosts else "(the topology has no 'hosts:')"
        raise InputError(f"lab '{lab}' has no host '{host}' {where}")


def is_here(topo: Topology, node: str, host: str | None) -> bool:
    """Whether this host (None: the only one) builds node."""
    return host is None or host_of(topo, node) == host
