"""What should reach what, worked out from the plan alone (pure), so that the traffic tests
follow any topology, not a list written by hand for the examples.

Two rules, both conservative: addresses of one subnet on one layer-2 segment (a cable, or a
bridge with its ports) reach each other; and a host reaches an address one router away when
its routes lead to that router, the router is connected to the address, and the far end's
routes lead back through the same router.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netlab.plan.planner import Plan
from netlab.spec.model import Topology

Key = tuple[str, str]  # (node, ifname)
IpIf = ipaddress.IPv4Interface | ipaddress.IPv6Interface


@dataclass(frozen=True)
class Pair:
    source: str  # node
    target: str  # address
    why: str


def segments(plan: Plan) -> dict[Key, Key]:
    parent: dict[Key, Key] = {}

    def find(k: Key) -> Key:
        parent.setdefault(k, k)
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for node, ifaces in plan.interfaces.items():
        for ifc in ifaces:
            find((node, ifc.name))
            if ifc.peer:
                parent[find((node, ifc.name))] = find(ifc.peer)
            if ifc.master:
                parent[find((node, ifc.name))] = find((node, ifc.master))
    return {k: find(k) for k in list(parent)}


def addresses(plan: Plan) -> list[tuple[Key, IpIf]]:
    """Addresses that can carry traffic without a userspace program (not on tun/tap)."""
    found = []
    for node, ifaces in plan.interfaces.items():
        for ifc in ifaces:
            if ifc.kind in ("tun", "tap") or not ifc.spec.up:
                continue
            for cidr in ifc.spec.addresses:
                found.append(((node, ifc.name), ipaddress.ip_interface(cidr)))
    return found


def _gateway(topo: Topology, node: str, dst: ipaddress._BaseAddress) -> str | None:
    best: tuple[int, str] | None = None
    for route in topo.nodes[node].routes:
        if route.via is None or ipaddress.ip_address(route.via).version != dst.version:
            continue
        net = ipaddress.ip_network(
            ("0.0.0.0/0" if dst.version == 4 else "::/0") if route.to == "default" else route.to
        )
        if dst in net and (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, route.via)
    return best[1] if best else None


def reachable_pairs(topo: Topology, plan: Plan) -> list[Pair]:
    seg = segments(plan)
    addrs = addresses(plan)
    pairs: list[Pair] = []
    owner = {str(a.ip): key for key, a in addrs}
    for (src_key, src) in addrs:
        for (dst_key, dst) in addrs:
            if src_key[0] == dst_key[0] or src.version != dst.version:
                continue
            if seg[src_key] == seg[dst_key] and dst.ip in src.network:
                pairs.append(Pair(src_key[0], str(dst.ip), f"same segment {src.network}"))
    seen = {(p.source, p.target) for p in pairs}
    for (src_key, src) in addrs:
        node = src_key[0]
        for (dst_key, dst) in addrs:
            if dst_key[0] == node or src.version != dst.version:
                continue
            if (node, str(dst.ip)) in seen or any(
                dst.ip in a.network for k, a in addrs if k[0] == node
            ):
                continue
            via = _gateway(topo, node, dst.ip)
            if via is None or via not in owner or ipaddress.ip_address(via) not in src.network:
                continue
            router_key = owner[via]
            router = router_key[0]
            if seg[router_key] != seg[src_key] or topo.nodes[router].kind != "router":
                continue
            # The router must be connected to the target's segment (or be the target).
            if dst_key[0] != router and not any(
                k[0] == router and seg[k] == seg[dst_key] and dst.ip in a.network
                for k, a in addrs
            ):
                continue
            # And the way back from the target to src must lead through the same router.
            if dst_key[0] != router:
                back = _gateway(topo, dst_key[0], src.ip)
                if back is None or back not in owner or owner[back][0] != router:
                    continue
            pairs.append(Pair(node, str(dst.ip), f"via router {router}"))
            seen.add((node, str(dst.ip)))
    return pairs
