"""A switch's VLANs planned: VLAN filtering on its bridges, and each port's VLANs (an
access port's PVID, a trunk's tagged VLANs). Pure.

A port whose link says nothing stays in the default VLAN 1, untagged (the bridge's
vlan_default_pvid), and so does every trunk: VLAN 1 is the native VLAN. The veths joining
the bridges of a big switch (plan/bridgetree.py) are trunks of every VLAN the switch uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netlab.plan.ops import Op, SetPortVlans, SetVlanFiltering

if TYPE_CHECKING:
    from netlab.plan.planner import ResolvedInterface

DEFAULT_VLAN = 1  # the kernel's vlan_default_pvid: what a port is in until told otherwise


def used(ifaces: list[ResolvedInterface]) -> tuple[int, ...]:
    """Every VLAN other than the default that a port of these interfaces is in."""
    vids = {i.pvid for i in ifaces if i.pvid is not None}
    vids.update(v for i in ifaces for v in i.tagged)
    vids.discard(DEFAULT_VLAN)
    return tuple(sorted(vids))


def has_vlans(ifc: ResolvedInterface) -> bool:
    return ifc.pvid is not None or bool(ifc.tagged)


def vlan_ops(ns: str, ifaces: list[ResolvedInterface]) -> list[Op]:
    """Filtering on each bridge of a node whose ports have VLANs, then each port's VLANs
    (after the ports have joined their bridge)."""
    if not any(has_vlans(i) for i in ifaces):
        return []
    ops: list[Op] = [SetVlanFiltering(ns, i.name) for i in ifaces if i.kind == "bridge"]
    for ifc in ifaces:
        if ifc.tagged:
            ops.append(SetPortVlans(ns, ifc.name, tagged=ifc.tagged))
        elif ifc.pvid is not None and ifc.pvid != DEFAULT_VLAN:
            ops.append(SetPortVlans(ns, ifc.name, pvid=ifc.pvid))
    return ops
