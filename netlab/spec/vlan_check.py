"""What is wrong, in words, with a link's `vlan:` (an access port) or `vlans:` (a trunk) on
a switch. Pure; spec/validate.py reports what this finds.

The rules (docs/links.md "VLANs on switches"): the keys are for links with a switch at one
end at least, and apply to every switch end (between two switches, both ends are trunks,
or both access ports); VLAN 1 is the switch's default VLAN, untagged on every port that
says nothing and on every trunk whose link names no other native VLAN (`native:`, with
`vlans:` only), and a trunk does not list its native VLAN; a node's VLAN sub-interface
over a link to a switch sends tagged frames, which the switch's port must carry (and not
as its native VLAN, which comes back untagged).
"""

from __future__ import annotations

from netlab.spec.model import Link, Topology
from netlab.values.names import DEFAULT_VLAN


def link_problems(topo: Topology, path: str, link: Link,
                  ends: list[tuple[str, str | None] | None]) -> list[tuple[str, str]]:
    """(path, message) of each problem with the link's VLAN keys; `ends` as validate
    parsed them (None: an end already reported)."""
    if link.vlan is None and link.vlans is None and link.native is None:
        return []
    key = "vlans" if link.vlans is not None else "vlan"
    if link.vlan is not None and link.vlans is not None:
        return [(f"{path}.vlans", "give 'vlan' (an access port, untagged) or 'vlans' (a "
                                  "trunk, tagged), not both")]
    if link.native is not None and link.vlans is None:
        return [(f"{path}.native", "'native' is a trunk's untagged VLAN: it goes with "
                                   "'vlans' (an access port's VLAN is 'vlan')")]
    known = [e for e in ends if e is not None]
    if len(known) < 2:
        return []
    if not any(topo.nodes[node].kind == "switch" for node, _ in known):
        names = " nor ".join(node for node, _ in known)
        return [(f"{path}.{key}", f"'{key}' sets the port of a switch, and neither {names} is "
                                  "a switch; a node's own VLAN is an interface such as "
                                  "eth0.10: {vlan: {parent: eth0, id: 10}}")]
    problems: list[tuple[str, str]] = []
    trunk = list(link.vlans or ())
    native = DEFAULT_VLAN if link.native is None else link.native
    for k, vid in enumerate(trunk):
        if vid == native == DEFAULT_VLAN:
            problems.append((f"{path}.vlans[{k}]",
                             "VLAN 1 is the switch's default VLAN, carried untagged on every "
                             "trunk (its native VLAN unless 'native' names another); leave it "
                             "out of 'vlans'"))
        elif vid == native:
            problems.append((f"{path}.vlans[{k}]",
                             f"VLAN {vid} is the trunk's native VLAN ('native'), carried "
                             "untagged; leave it out of 'vlans'"))
        elif vid in trunk[:k]:
            problems.append((f"{path}.vlans[{k}]", f"VLAN {vid} is listed twice"))
    problems += _tagged_over(topo, path, key, link, known)
    return problems


def _tagged_over(topo: Topology, path: str, key: str, link: Link,
                 known: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """A node's VLAN sub-interfaces over this link: each VLAN must be on the trunk."""
    carried = set(link.vlans or ())
    problems = []
    for node, iface in known:
        if iface is None or topo.nodes[node].kind == "switch":
            continue
        for sub, spec in topo.nodes[node].interfaces.items():
            if spec.vlan is None or spec.vlan.parent != iface:
                continue
            if link.vlans is not None and spec.vlan.id == link.native:
                problems.append((f"{path}.native",
                                 f"{node}:{sub} sends VLAN {spec.vlan.id} tagged, but it is "
                                 f"the trunk's native VLAN, which the switch sends untagged: "
                                 f"replies arrive on {node}:{iface} (give VLAN "
                                 f"{spec.vlan.id} to {iface} itself, or make another native)"))
                continue
            if spec.vlan.id in carried:
                continue
            if link.vlans is None:
                port, fix = f"an access port of VLAN {link.vlan}", f"vlans: [{spec.vlan.id}]"
            else:
                port = f"a trunk of VLANs {', '.join(map(str, sorted(carried)))}"
                fix = f"add {spec.vlan.id} to its vlans"
            problems.append((f"{path}.{key}",
                             f"{node}:{sub} sends VLAN {spec.vlan.id} tagged over {node}:"
                             f"{iface}, whose switch port is {port}: the switch drops those "
                             f"frames ({fix})"))
    return problems
