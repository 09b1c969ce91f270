"""Where addresses can meet: a lab's L2 segments and its routing domains. Pure.

A *segment* is one broadcast domain: both ends of a cable; a bridge with its ports; a
switch node with all its ports; a bond with its ports; a macvlan with its parent. A vlan
sub-interface is on the segment of its parent's tagged frames with its id (`eth0.10` on
two cabled `eth0`s meet; `eth0.10` and `eth0.20` do not). Every vxlan of a VNI (and port)
is one segment: the underlay may join any two of them. Every tun and tap of a lab is one
segment too: the programs behind them may join any two (netlab-tapswitch does). A dummy,
vrf or loopback is a segment of its own.

A *routing domain* is what packets can cross: segments joined by the nodes on them, each
VRF of a node apart (its routes are its own). Nodes are taken to forward: a host with
`ip_forward` set at run time does.

Two interfaces with the same address on one segment answer the same ARP/ND question; twice
in one VRF of a node, the kernel has one local route for both: both refused by
spec/validate.py. The same address in two segments is allowed (two customer sites, NAT
behind two routers): a target named by node (`to: NODE`) is refused only when its address
is on more than one interface of the routing domain the check runs from.

VLANs on switch ports (branch `swvlan`): a switch is one segment today (`_switch_key`);
an access port of VLAN v joins the key (switch, v) instead, and a trunk joins its tagged
frames of each v to (switch, v), which is all this module needs to split a switch.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from netlab.spec import kinds
from netlab.spec.endpoints import split_endpoint
from netlab.spec.ip import IPAddress, parse_interface
from netlab.spec.model import Topology, Vrf
from netlab.values.names import LOOPBACK, SWITCH_BRIDGE

Key = Hashable  # a (node, interface) pair, or a shared place: ("vxlan", id, port), ...
Place = tuple[str, str]  # (node, interface)


class _Union:
    def __init__(self) -> None:
        self.parent: dict[Key, Key] = {}

    def find(self, key: Key) -> Key:
        root = self.parent.setdefault(key, key)
        while root != self.parent[root]:
            root = self.parent[root]
        while key != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def join(self, a: Key, b: Key) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True


def _switch_key(switch: str) -> Key:
    """The segment of a switch's port (every port today; per VLAN with VLAN filtering)."""
    return (switch, SWITCH_BRIDGE)


class Places:
    """The segments and routing domains of a topology's interfaces."""

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self._segments = _Union()
        self._join_segments()
        self._domains = _Union()
        for node, iface in self._interfaces():
            self._domains.join(("node", node, self.vrf_of(node, iface)),
                               ("segment", self.segment(node, iface)))
        self._holders: dict[IPAddress, list[Place]] = {}  # address -> where it is given
        for name, spec in topo.nodes.items():
            for iname, settings in spec.interfaces.items():
                for text in settings.addresses:
                    self._holders.setdefault(parse_interface(text).ip, []).append((name, iname))

    def _interfaces(self) -> Iterator[Place]:
        for name, node in self.topo.nodes.items():
            for iname in node.interfaces:
                yield name, iname
        for link in self.topo.links:
            for end in link.ends():
                end_node, end_iface = split_endpoint(end)
                if end_iface is not None:
                    yield end_node, end_iface

    def _join_segments(self) -> None:
        seg = self._segments
        for link in self.topo.links:
            a, b = (split_endpoint(e) for e in link.ends())
            keys = [(n, i) if i is not None else _switch_key(n) for n, i in (a, b)]
            for (n, i), key in zip((a, b), keys, strict=True):
                if i is not None and self.topo.nodes.get(n) is not None \
                        and self.topo.nodes[n].kind == "switch":
                    seg.join(key, _switch_key(n))
            seg.join(keys[0], keys[1])
        vlans: list[tuple[Place, Place, int]] = []
        for name, node in self.topo.nodes.items():
            for iname, iface in node.interfaces.items():
                kind = kinds.infer(node.kind, iname, iface)
                for port in iface.port_names if kind in ("bridge", "bond") else ():
                    seg.join((name, port), (name, iname))
                if kind == "macvlan" and iface.macvlan is not None:
                    seg.join((name, iname), (name, iface.macvlan.parent))
                if kind in ("tun", "tap"):
                    seg.join((name, iname), ("programs",))
                if kind == "vxlan" and iface.vxlan is not None:
                    seg.join((name, iname), ("vxlan", iface.vxlan.id, iface.vxlan.port))
                if kind == "vlan" and iface.vlan is not None:
                    vlans.append(((name, iname), (name, iface.vlan.parent), iface.vlan.id))
            if node.kind == "switch":
                seg.join((name, SWITCH_BRIDGE), _switch_key(name))
        # Tagged frames meet where their parents' frames do: joined until nothing changes
        # (a vlan may itself be a bridge port, which joins its parents' segments).
        while any([seg.join(me, ("tagged", seg.find(parent), vid))
                   for me, parent, vid in vlans]):
            pass

    def segment(self, node: str, iface: str) -> Key:
        """The segment an interface is on."""
        if iface == LOOPBACK:
            return (node, LOOPBACK)
        return self._segments.find((node, iface))

    def vrf_of(self, node: str, iface: str) -> str | None:
        """The VRF an interface routes in (a VRF device in its own), None: the main table."""
        spec = self.topo.nodes[node].interfaces.get(iface) if node in self.topo.nodes else None
        if spec is None:
            return None
        return iface if isinstance(spec.vrf, Vrf) else spec.vrf_name

    def domain(self, node: str, vrf: str | None = None) -> Key:
        """The routing domain of a node's main table (or of one of its VRFs)."""
        return self._domains.find(("node", node, vrf))

    def answering(self, source: str, ip: IPAddress) -> tuple[bool, list[Place]]:
        """Who may answer `ip` probed from `source` (its main table): (True, [its own
        interface]) when the source has it itself; (False, places) when several
        interfaces reachable from it have it and none is on a segment the source is on
        (whose connected route would win); (False, []) when that is not in doubt."""
        holders = self._holders.get(ip, [])
        mine = [p for p in holders if p[0] == source and self.vrf_of(*p) is None]
        if mine:
            return True, mine[:1]
        domain = self.domain(source)
        near = [p for p in holders if self.domain(p[0], self.vrf_of(*p)) == domain]
        if len(near) < 2:
            return False, []
        spec = self.topo.nodes[source]
        here = {self.segment(source, i) for i, s in spec.interfaces.items()
                if s.addresses and self.vrf_of(source, i) is None}
        on_mine = [p for p in near if self.segment(*p) in here]
        return False, ([] if len(on_mine) == 1 else near)
