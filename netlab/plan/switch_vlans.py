"""A switch's VLANs planned: VLAN filtering on its bridges, and each port's VLANs (an
access port's PVID, a trunk's tagged VLANs). Pure.

A port whose link says nothing stays in the default VLAN 1, untagged (the bridge's
vlan_default_pvid), and so does every trunk unless its link names another native VLAN
(`native:`: that one untagged instead, the port's PVID). The veths joining the bridges of a
big switch (plan/bridgetree.py) are trunks of every VLAN the switch uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netlab.plan.ops import Op, SetPortVlans, SetVlanFiltering
from netlab.values.names import DEFAULT_VLAN

if TYPE_CHECKING:
    from netlab.plan.planner import ResolvedInterface

__all__ = ["has_vlans", "planned_port", "used", "vlan_ops", "words"]


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
        if ifc.tagged:  # a trunk; pvid: its native VLAN, if not the default
            pvid = ifc.pvid if ifc.pvid != DEFAULT_VLAN else None
            ops.append(SetPortVlans(ns, ifc.name, pvid=pvid, tagged=ifc.tagged))
        elif ifc.pvid is not None and ifc.pvid != DEFAULT_VLAN:
            ops.append(SetPortVlans(ns, ifc.name, pvid=ifc.pvid))
    return ops


def planned_port(ifc: ResolvedInterface) -> dict[str, object]:
    """A port's VLANs as the kernel reads them back (kernel/dumps.read_port_vlans) once
    the plan is carried out: an access port, a trunk, or a port in the default VLAN."""
    if ifc.tagged:
        native = ifc.pvid if ifc.pvid is not None else DEFAULT_VLAN
        return {"pvid": native, "untagged": [native], "tagged": list(ifc.tagged)}
    vid = ifc.pvid if ifc.pvid is not None else DEFAULT_VLAN
    return {"pvid": vid, "untagged": [vid], "tagged": []}


def words(vlans: dict[str, object]) -> str:
    """A port's VLANs said, as in drift: 'untagged in VLAN 1; tagged in VLAN 10, 20;
    PVID 1' (a trunk)."""
    tagged = vlans.get("tagged") or []
    untagged = vlans.get("untagged") or []
    assert isinstance(tagged, list) and isinstance(untagged, list)
    parts = []
    if untagged:
        parts.append(f"untagged in VLAN {', '.join(map(str, untagged))}")
    if tagged:
        parts.append(f"tagged in VLAN {', '.join(map(str, tagged))}")
    pvid = vlans.get("pvid")
    parts.append(f"PVID {pvid}" if pvid is not None else "no PVID")
    return "; ".join(parts)
