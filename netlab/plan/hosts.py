"""What a node's own /etc files say: /etc/hosts (every node of the lab) and
/etc/resolv.conf. Pure."""

from __future__ import annotations

from netlab.spec.ip import parse_interface
from netlab.spec.model import Node, Topology

LOCALHOST = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def _first_addresses(node: Node) -> list[tuple[str, str]]:
    """(interface, its first address) for each interface of the node that has one."""
    return [(ifname, str(parse_interface(spec.addresses[0]).ip))
            for ifname, spec in node.interfaces.items() if spec.addresses]


def hosts_text(topo: Topology, lab: str) -> str:
    """The lab's /etc/hosts: the usual localhost lines, then each node by its name (its
    first address) and each of its interfaces as node-interface."""
    lines = [LOCALHOST, f"# the nodes of lab {lab} (netlab)\n"]
    owners: dict[str, list[str]] = {}
    for name, node in topo.nodes.items():
        firsts = _first_addresses(node)
        if firsts:
            lines.append(f"{firsts[0][1]}\t{name}\n")
        lines.extend(f"{address}\t{name}-{ifname}\n" for ifname, address in firsts)
        for _ifname, address in firsts:
            owners.setdefault(address, []).append(name)
    # The same address in two VRFs or two separate parts of the lab (docs/links.md "VRFs").
    for address, names in owners.items():
        if len(set(names)) > 1:
            lines.append(f"# {address} is an address of {', '.join(dict.fromkeys(names))}: "
                         "which one it reaches depends on where it is used\n")
    return "".join(lines)


def own_line(name: str, node: Node) -> str:
    """The line a node without any address adds for itself (as Debian names a host)."""
    return "" if _first_addresses(node) else f"127.0.1.1\t{name}\n"


def resolv_text(node: Node) -> str:
    return "".join(f"nameserver {server}\n" for server in node.dns)
