"""Links changed while a lab runs: down and up (the peer sees its carrier go), shaping set
or cleared, flaps, a switch port moved to another VLAN.

    link = lab.link("r1:eth1")
    link.down(); link.up()
    link.set(rate="1mbit", loss="5%")     # the egress of r1:eth1; netem keys need netem
    link.clear()                          # back to the device's default qdisc
    link.flap(down=2, up=3, count=5)      # ends up
    link.vlan(20)                         # its switch port: an access port of VLAN 20

Every change is an op (SetLinkDown, SetLinkUp, SetQdisc, DeleteQdisc, SetPortVlans)
journaled after those of `up`, under the lab's lock, so that `down` still undoes the lab
exactly (the changes go with their namespaces). A change the kernel refuses leaves nothing
and is marked undone; values are checked as the topology's are, before anything is sent.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netlab.errors import InputError, LabStateConflict
from netlab.kernel.base import OpFailed
from netlab.lab.preflight import refuse_values
from netlab.plan import shaping
from netlab.plan.ops import (
    AddAddress,
    AddRoute,
    DeleteQdisc,
    Op,
    SetLinkDown,
    SetLinkUp,
    SetPortVlans,
    SetQdisc,
)
from netlab.spec import tc_check
from netlab.spec.endpoints import parse_endpoint
from netlab.spec.model import TC_FIELDS
from netlab.spec.validate import end_mtu
from netlab.values import tc
from netlab.values.names import DEFAULT_VLAN, MAX_VLAN, SWITCH_BRIDGE

if TYPE_CHECKING:
    from netlab.api import Lab
    from netlab.kernel.link_state_decode import LinkState

MAX_FLAPS = 100_000
FlapProgress = Callable[[int, str], None]  # (flap number, "down" or "up")


@dataclass(frozen=True)
class VlanMove:
    """A switch port moved to another VLAN: its VLANs before and after, as the kernel
    reads them back ({"pvid", "untagged", "tagged"})."""

    port: str  # switch:port
    before: dict[str, Any]
    after: dict[str, Any]


def _vlan_id(vid: object, key: str) -> int:
    if isinstance(vid, bool) or not isinstance(vid, int) or not 1 <= vid <= MAX_VLAN:
        raise InputError(f"{key} {vid!r}: give a VLAN id from 1 to {MAX_VLAN}")
    return vid


@dataclass(frozen=True)
class FlapReport:
    flaps: int  # completed down-up cycles
    seconds: float


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    """['rate=1mbit', 'loss=5%'] -> {'rate': '1mbit', 'loss': '5%'}; InputError otherwise."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not value.strip():
            raise InputError(f"'{pair}': write KEY=VALUE, such as rate=1mbit")
        if key not in TC_FIELDS:
            raise InputError(f"'{key}' is not a shaping key (keys: {', '.join(TC_FIELDS)})")
        if key in values:
            raise InputError(f"'{key}' is given twice")
        values[key] = value.strip()
    return values


def seconds(value: float | str, what: str) -> float:
    """2, 2.5, '2s', '500ms' -> seconds; InputError when it is not a time from 1 ms to 1 h."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                number = tc.parse_time(text) / 1e6
            except ValueError:
                raise InputError(f"{what} '{value}' is not a time such as 2s or 500ms") from None
    else:
        number = float(value)
    if not 0.001 <= number <= 3600:
        raise InputError(f"{what} {value}: give a time from 1ms to 1h")
    return number


class LinkControl:
    """One end of a cable in a lab that is up: node:interface."""

    def __init__(self, lab: Lab, endpoint: str) -> None:
        try:
            node, ifname = parse_endpoint(endpoint)
        except ValueError as err:
            raise InputError(str(err)) from None
        self.lab = lab
        self.endpoint = endpoint
        self.ns = lab.namespace(node)  # InputError for a node the lab does not have
        planned = {i.name: i for i in lab.plan.interfaces[node]}
        if ifname is None:
            raise InputError(f"'{endpoint}': name the interface too, such as {node}:eth0")
        if ifname not in planned:
            names = ", ".join(planned) or "none"
            raise InputError(f"{endpoint}: node '{node}' has no interface '{ifname}' "
                             f"(its interfaces: {names})")
        self.node, self.ifname = node, ifname
        self.peer = planned[ifname].peer
        self.mtu = self._mtu()

    # --- changes ----------------------------------------------------------------------
    def down(self) -> None:
        """Administratively down: a veth's peer loses its carrier. Returns once the kernel
        says so of both ends (status read right after shows it)."""
        from netlab.kernel.lab_kernel import wait_until_stopped

        self._apply([SetLinkDown(self.ns, self.ifname)])
        wait_until_stopped([(self.ns, self.ifname), *self._peer_end()])

    def up(self) -> None:
        """Administratively up, with what the kernel dropped when it went down put back:
        its IPv6 addresses and the node's routes through it (an admin down flushes both).
        Returns once both ends pass packets."""
        from netlab.kernel.lab_kernel import wait_until_passing

        ops = [SetLinkUp(self.ns, self.ifname), *self._dropped()]
        self._apply(ops)
        wait_until_passing(ops, also=self._peer_end())

    def _peer_end(self) -> list[tuple[str, str]]:
        if self.peer is None:
            return []
        return [(self.lab.namespace(self.peer[0]), self.peer[1])]

    def set(self, values: Mapping[str, str | None] | None = None,
            **keys: str | None) -> tc.Qdisc:
        """Shape what leaves through this end from now on, with exactly these values (tc's
        words: rate="1mbit", loss="5%"); whatever shaped it before is replaced."""
        given = {k: v for k, v in {**(values or {}), **keys}.items() if v is not None}
        unknown = [k for k in given if k not in TC_FIELDS]
        if unknown:
            raise InputError(f"'{unknown[0]}' is not a shaping key "
                             f"(keys: {', '.join(TC_FIELDS)})")
        if not given:
            raise InputError(f"{self.endpoint}: give values to set, such as rate=1mbit "
                             "(or clear the shaping)")
        problems = tc_check.check(given, self.mtu)
        if problems:
            raise InputError("\n".join(f"{self.endpoint}: {message}" for _, message in problems))
        qdisc = shaping.build(given, self.mtu)
        assert qdisc is not None
        from netlab.kernel.privileges import require_privileges

        require_privileges()  # before the kernel is asked what it has
        refuse_values(self.endpoint, tc.needs_netem(given) or ["rate"], qdisc.kind)
        self._apply([SetQdisc(self.ns, self.ifname, qdisc)])
        return qdisc

    def clear(self) -> bool:
        """Back to the device's default qdisc; False when nothing shaped it."""
        now = self.state()
        if now.qdisc_default:
            return False
        self._apply([DeleteQdisc(self.ns, self.ifname)])
        return True

    def flap(self, down: float | str = 1.0, up: float | str = 1.0, count: int = 1,
             progress: FlapProgress | None = None) -> FlapReport:
        """`count` times: down, wait `down` seconds, up, wait `up` seconds (not after the
        last). Interrupted or refused half way, the link is brought up again."""
        down_s, up_s = seconds(down, "--down"), seconds(up, "--up")
        if not 1 <= count <= MAX_FLAPS:
            raise InputError(f"--count {count}: give a count from 1 to {MAX_FLAPS}")
        started = time.monotonic()
        for n in range(1, count + 1):
            self.down()
            try:
                if progress:
                    progress(n, "down")
                time.sleep(down_s)
            finally:
                self.up()  # also when interrupted: a flap never leaves the link down
            if progress:
                progress(n, "up")
            if n < count:
                time.sleep(up_s)
        return FlapReport(count, time.monotonic() - started)

    def vlan(self, vid: int) -> VlanMove:
        """Make the switch port of this cable (this end, or its peer) an access port of
        VLAN `vid` from now on: untagged, its PVID; any other VLAN it carried is taken off
        (a trunk becomes an access port). Only on a switch whose topology uses VLANs: its
        bridge filters by VLAN (a switch without them forwards every frame as one LAN)."""
        return self._set_vlans(_vlan_id(vid, "vlan"), ())

    def trunk(self, tagged: Sequence[int], native: int = DEFAULT_VLAN) -> VlanMove:
        """Make the switch port of this cable a trunk from now on, as a link's `vlans:`
        (and `vlan:`, its native VLAN) make one: `tagged` VLANs tagged, `native` untagged
        and its PVID; any other VLAN it carried is taken off. As vlan(), only on a switch
        whose topology uses VLANs."""
        ids = sorted({_vlan_id(v, "vlans") for v in tagged})
        if not ids:
            raise InputError("vlans: give the VLANs the trunk carries tagged, such as 10,20")
        native = _vlan_id(native, "native")
        if native in ids:
            raise InputError(f"VLAN {native} is the native (untagged) VLAN: it cannot also "
                             "be tagged on the same port")
        return self._set_vlans(native, tuple(ids))

    def _set_vlans(self, pvid: int, tagged: tuple[int, ...]) -> VlanMove:
        from netlab.kernel.dumps import read_port_vlans
        from netlab.kernel.privileges import require_privileges

        node, port = self._switch_port()
        if not self._uses_vlans(node):
            raise InputError(
                f"switch '{node}' has no VLANs in the topology: it forwards every frame as "
                "one LAN", hint="give its links a vlan: (or vlans:) in the topology "
                "(docs/links.md), then 'netlab link ... vlan N' moves a port")
        ns = self.lab.namespace(node)
        require_privileges()  # before the kernel is asked what it has
        before = read_port_vlans(ns).get(port)
        if before is None:
            raise LabStateConflict(f"{node}:{port}: the kernel has no such port in {ns}")
        had = [*before["untagged"], *before["tagged"]]
        self._apply([SetPortVlans(ns, port, pvid=pvid, tagged=tagged,
                                  drop=tuple(v for v in had if v != pvid and v not in tagged))])
        return VlanMove(f"{node}:{port}", before, read_port_vlans(ns).get(port) or {})

    def _switch_port(self) -> tuple[str, str]:
        """This end if it is a switch's port, else its peer if that is: (switch, port)."""
        nodes = self.lab.topology.nodes
        for node, ifname in [(self.node, self.ifname), *([self.peer] if self.peer else [])]:
            if nodes[node].kind != "switch" or ifname == SWITCH_BRIDGE:
                continue
            if node not in self.lab.plan.interfaces:
                raise InputError(f"switch '{node}' is on another host: move its port there")
            planned = {i.name: i for i in self.lab.plan.interfaces[node]}[ifname]
            if planned.trunk or planned.master != SWITCH_BRIDGE:
                raise InputError(f"{node}:{ifname} joins the bridges of a switch of more "
                                 "than 1023 ports, not a cable: netlab does not move it")
            return node, ifname
        raise InputError(f"{self.endpoint} is not on a switch: a VLAN is a switch port's")

    def _uses_vlans(self, switch: str) -> bool:
        """Whether the topology gives VLANs to a port of this switch (its bridge filters)."""
        from netlab.plan import switch_vlans

        return any(switch_vlans.has_vlans(i) for i in self.lab.plan.interfaces[switch])

    # --- reading ----------------------------------------------------------------------
    def state(self) -> LinkState:
        """The link as the kernel has it now."""
        from netlab.kernel import nsfs
        from netlab.kernel.dumps import read_link_states

        if not nsfs.exists(self.ns):
            raise LabStateConflict(f"lab '{self.lab.name}' has no namespace {self.ns}; "
                                   "is it up?")
        found = read_link_states(self.ns).get(self.ifname)
        if found is None:
            raise LabStateConflict(f"{self.endpoint}: the kernel has no interface "
                                   f"{self.ifname} in {self.ns}")
        return found

    def planned(self) -> tc.Qdisc | None:
        """The shaping the topology gives this end (None: none)."""
        for op in self.lab.plan.ops:
            if isinstance(op, SetQdisc) and (op.ns, op.ifname) == (self.ns, self.ifname):
                return op.qdisc
        return None

    def describe(self) -> dict[str, Any]:
        now = self.state()
        planned = self.planned()
        return {
            "endpoint": self.endpoint,
            "peer": f"{self.peer[0]}:{self.peer[1]}" if self.peer else None,
            "admin": "up" if now.up else "down",
            "oper": now.operstate,
            "carrier_changes": now.carrier_changes,
            "shaping": now.qdisc.describe() if now.qdisc else None,
            "planned": planned.describe() if planned else None,
            "vlans": self._vlans(),
        }

    def _vlans(self) -> dict[str, Any] | None:
        """The VLANs of this cable's switch port, now and planned, on a switch whose
        topology uses VLANs (None elsewhere)."""
        from netlab.kernel.dumps import read_port_vlans
        from netlab.plan import switch_vlans

        try:
            node, port = self._switch_port()
        except InputError:
            return None
        if not self._uses_vlans(node):
            return None
        planned = next(i for i in self.lab.plan.interfaces[node] if i.name == port)
        return {"port": f"{node}:{port}",
                "now": read_port_vlans(self.lab.namespace(node)).get(port),
                "planned": switch_vlans.planned_port(planned)}

    def _dropped(self) -> list[Op]:
        """The planned addresses of this interface and the node's planned routes through
        it that the kernel does not have now (an admin down flushes IPv6 addresses and
        every route through the interface, in Linux; a cable pull would not)."""
        from netlab.kernel.dumps import read_node

        links, routes, _states = read_node(self.ns)
        live = next((link for link in links if link["ifname"] == self.ifname), None)
        if live is None:
            return []  # SetLinkUp will say that it is missing
        have = {ipaddress.ip_interface(a) for a in live["addresses"]}
        mine = [op for op in self.lab.plan.ops if isinstance(op, AddAddress)
                and (op.ns, op.ifname) == (self.ns, self.ifname)]
        subnets = [ipaddress.ip_interface(op.address).network for op in mine]
        lost: list[Op] = [op for op in mine if ipaddress.ip_interface(op.address) not in have]
        present = {_route_key(r["family"], r["to"], r["via"]) for r in routes}
        for op in self.lab.plan.ops:
            if not isinstance(op, AddRoute) or op.ns != self.ns:
                continue
            via = ipaddress.ip_address(op.via) if op.via else None
            through = op.dev == self.ifname or (op.dev is None and via is not None and any(
                via in net for net in subnets))
            if through and _route_key(op.family, op.to, op.via) not in present:
                lost.append(op)
        return lost

    # --- the journal ------------------------------------------------------------------
    def _apply(self, ops: Sequence[Op]) -> None:
        from netlab.kernel.netlink import NetlinkKernel
        from netlab.kernel.privileges import require_privileges

        require_privileges()
        state = self.lab.state
        with state.locked(what="link"):
            if not state.exists():
                raise LabStateConflict(f"lab '{self.lab.name}' is not up",
                                       hint="start it with 'netlab up FILE'")
            base = state.next_index()
            kernel = NetlinkKernel()
            try:
                kernel.execute(ops, lambda first, last: state.begin(base + first,
                                                                     ops[first:last]),
                               lambda i: state.done(base + i))
            except OpFailed as failure:
                state.undone(base + failure.index)  # refused: the kernel did nothing of it
                raise
            finally:
                kernel.close()
                state.close()

    def _mtu(self) -> int:
        for rl in self.lab.plan.links:
            for end in (rl.a, rl.b):
                if end == (self.node, self.ifname):
                    return end_mtu(self.lab.topology, rl.spec, end)
        spec = self.lab.topology.nodes[self.node].interfaces.get(self.ifname)
        return spec.mtu if spec is not None and spec.mtu else tc.DEFAULT_MTU


def _route_key(family: int, to: str, via: str | None) -> tuple[object, object]:
    """A route as (destination network, gateway), whichever way its text was written."""
    dest = ipaddress.ip_network("0.0.0.0/0" if family == 4 else "::/0") if to == "default" \
        else ipaddress.ip_network(to, strict=False)
    return dest, ipaddress.ip_address(via) if via else None
