"""Interface kinds, the spec layer's table: per kind, its own keys, its checks, and how
a kind left out is inferred. Pure.

Each layer keeps one table keyed by the same kinds (docs/architecture.md "Where a new
interface kind's entries go"): here; plan/kind_ops.py (the op that makes it);
kernel/reasons.py KERNEL_OPTION (what a refusal means); kernel/netlink.py ENCODERS (its
netlink message); lab/status_doc.py (how it reads back). tests/unit/test_kinds.py
fails, naming the table, when a kind is missing from one.
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab.spec.model import Interface, NodeKind
from netlab.values.names import SWITCH_BRIDGE


@dataclass(frozen=True)
class Kind:
    name: str
    keys: frozenset[str]  # the Interface keys that belong to this kind (and no kind else)
    for_words: str  # "'owner' is only for <for_words>": who may have this kind's keys
    by_link: bool = False  # made by a link (a veth): no link, no device
    not_a_port: str | None = None  # why it cannot be a bridge port ({port}: its name)
    has_mac: bool = True  # carries Ethernet frames (a tun carries IP packets)


KINDS: dict[str, Kind] = {
    "veth": Kind("veth", frozenset(), "a veth", by_link=True),
    "tun": Kind("tun", frozenset({"owner", "group"}), "a tun or tap device",
                not_a_port="'{port}' is a tun device (layer 3, no Ethernet)", has_mac=False),
    "tap": Kind("tap", frozenset({"owner", "group"}), "a tun or tap device"),
    "bridge": Kind("bridge", frozenset({"ports", "stp"}), "a bridge (kind: bridge)",
                   not_a_port="'{port}' is a bridge; a bridge cannot be a port of another "
                              "bridge"),
    "vxlan": Kind("vxlan", frozenset({"vxlan"}), "kind: vxlan"),
    "dummy": Kind("dummy", frozenset(), "kind: dummy"),
    "macvlan": Kind("macvlan", frozenset({"macvlan"}), "kind: macvlan"),
    "vlan": Kind("vlan", frozenset({"vlan"}), "kind: vlan"),
    "bond": Kind("bond", frozenset({"bond"}), "kind: bond"),
    "vrf": Kind("vrf", frozenset({"vrf"}), "kind: vrf",
                not_a_port="'{port}' is a vrf; a vrf cannot be a port of a bridge or bond"),
}

KIND_KEYS = frozenset().union(*(k.keys for k in KINDS.values()))  # keys some kind owns


DEFAULT = "veth"  # an interface whose kind is not said: made by its link


def infer(node_kind: NodeKind, ifname: str, iface: Interface) -> str | None:
    """The kind of a declared interface: a switch's bridge, given, or implied by its
    settings (`vxlan:`, `macvlan:`, `vlan:`, `bond:`, `vrf: {table}`); None if not said
    (DEFAULT, when it is linked)."""
    if node_kind == "switch" and ifname == SWITCH_BRIDGE:
        return "bridge"
    if iface.kind is not None:
        return iface.kind
    given = settings_given(iface)
    for kind in KINDS.values():
        # Set and not null: a lab's record (the model's JSON) has `vxlan: null` and the like.
        if kind.name in kind.keys and kind.name in given and getattr(iface, kind.name) is not None:
            return kind.name  # its settings say what it is: vxlan: {...}
    return None


def settings_given(iface: Interface) -> set[str]:
    """The keys of some kind's own that `iface` sets. `vrf: red` is not a VRF's settings
    but the VRF the interface is in (any kind may be in one)."""
    given = iface.model_fields_set & KIND_KEYS
    return given - {"vrf"} if iface.vrf_name is not None else set(given)


def misplaced_key(key: str, kind: str) -> str | None:
    """Why `key` cannot be set on an interface of `kind`, or None if it can."""
    owners = [k for k in KINDS.values() if key in k.keys]
    if not owners or any(k.name == kind for k in owners):
        return None
    if key == owners[0].name:
        return f"'{key}' settings are only for {owners[0].for_words}"
    return f"'{key}' is only for {owners[0].for_words}"


def not_a_port(port: str, kind: str) -> str | None:
    """Why an interface of `kind` cannot be a bridge port, or None if it can."""
    why = KINDS[kind].not_a_port
    if why is None:
        return None
    if KINDS[kind].has_mac:
        return why.format(port=port)
    ports = [k.name for k in KINDS.values() if k.not_a_port is None]
    return (f"{why.format(port=port)}; only {', '.join(ports[:-1])} and {ports[-1]} devices "
            "can be bridge ports")


def standalone() -> list[str]:
    """The kinds a declared interface can have without a link: "give it a kind (...)"."""
    return [k.name for k in KINDS.values() if not k.by_link]
