"""Interface kinds, the plan layer's table: the op that makes each kind. Pure (but for
the user database: a tun/tap owner's name -> uid).

spec/kinds.py has the spec layer's table and names the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netlab.plan import accounts
from netlab.plan.ops import (
    CreateBond,
    CreateBridge,
    CreateDummy,
    CreateMacvlan,
    CreateTunTap,
    CreateVeth,
    CreateVlan,
    CreateVrf,
    CreateVxlan,
    Op,
)

if TYPE_CHECKING:  # the model (pydantic) only for types: `down` and the kernel layer,
    # which read this table, need not load it
    from netlab.spec.model import Interface

# (namespace, interface name, kind, its settings, the lab's mark) -> the ops that make it
Maker = Callable[[str, str, str, "Interface", str], list[Op]]


@dataclass(frozen=True)
class PlannedKind:
    op: type[Op]  # the op that makes a device of this kind (and whose undo removes it)
    make: Maker | None  # None: made by its link (plan() makes one CreateVeth per link)
    mtu_when_made: bool = True  # its own `mtu:` goes in the op (a veth's: a SetLink after)
    late: bool = False  # made after the node's other devices (it may name one: vxlan dev)


def _bridge(ns: str, ifname: str, kind: str, spec: Interface, mark: str) -> list[Op]:
    return [CreateBridge(ns, ifname, spec.stp, spec.mtu, mark)]


def _tuntap(ns: str, ifname: str, kind: str, spec: Interface, mark: str) -> list[Op]:
    uid, gid = accounts.uid(spec.owner), accounts.gid(spec.group)
    return [CreateTunTap(ns, ifname, kind, uid, gid, spec.mtu, mark)]


def _vxlan(ns: str, ifname: str, kind: str, spec: Interface, mark: str) -> list[Op]:
    vx = spec.vxlan
    if vx is None:  # a cable to another host: its vxlan is planned with the cable
        return []
    return [CreateVxlan(ns, ifname, vx.id, vx.remote, vx.local, vx.dev, vx.port, spec.mtu,
                        mark)]


def _dummy(ns: str, ifname: str, kind: str, spec: Interface, mark: str) -> list[Op]:
    return [CreateDummy(ns, ifname, spec.mtu, mark)]


def _bond(ns: str, ifname: str, kind: str, spec: Interface, mark: str) -> list[Op]:
    # Its ports join it later, as a bridge's do (the planner's SetLink master).
    mode = spec.bond.mode if spec.bond is not None else "active-backup"
    return [CreateBond(ns, ifname, mode, spec.mtu, mark)]


def _macvlan(ns: str, ifname: str, kind: str, spec: Interface, mark: str) -> list[Op]:
    mv = spec.macvlan
    return [] if mv is None else [CreateMacvlan(ns, ifname, mv.parent, mv.mode, spec.mtu, mark)]


def _vlan(ns: str, ifname: str, kind: str, spec: Interface, mark: str) -> list[Op]:
    vl = spec.vlan
    return [] if vl is None else [CreateVlan(ns, ifname, vl.parent, vl.id, spec.mtu, mark)]


def _vrf(ns: str, ifname: str, kind: str, spec: Interface, mark: str) -> list[Op]:
    # Its members join it later, as a bridge's ports do (the planner's SetLink master).
    table = 0 if spec.vrf is None or isinstance(spec.vrf, str) else spec.vrf.table
    return [CreateVrf(ns, ifname, table, spec.mtu, mark)]


PLANNED: dict[str, PlannedKind] = {
    "veth": PlannedKind(CreateVeth, None, mtu_when_made=False),
    "tun": PlannedKind(CreateTunTap, _tuntap),
    "tap": PlannedKind(CreateTunTap, _tuntap),
    "bridge": PlannedKind(CreateBridge, _bridge),
    "vxlan": PlannedKind(CreateVxlan, _vxlan, late=True),
    "dummy": PlannedKind(CreateDummy, _dummy),
    "bond": PlannedKind(CreateBond, _bond),
    "vrf": PlannedKind(CreateVrf, _vrf),
    # on a parent: made once the node's other devices are (validation refuses a parent
    # that is itself a macvlan or vlan)
    "macvlan": PlannedKind(CreateMacvlan, _macvlan, late=True),
    "vlan": PlannedKind(CreateVlan, _vlan, late=True),
}

# The ops that make a device: the status compares their MTU with the kernel's.
CREATE_OPS: tuple[type[Op], ...] = tuple(dict.fromkeys(k.op for k in PLANNED.values()))
