"""Names netlab derives: namespaces, switch ports, the ownership mark. Pure."""

from __future__ import annotations

from netlab.values.names import IFNAMSIZ, MARK_PREFIX, NS_PREFIX, SWITCH_BRIDGE

DEFAULT_STATE_ROOT = "/run/netlab"  # NETLAB_STATE_DIR moves it (see state/store.py)


def namespace(lab: str, node: str) -> str:
    return f"{NS_PREFIX}{lab}-{node}"


def mark(lab: str) -> str:
    """The interface alias that says 'this object belongs to lab <lab>'."""
    return f"{MARK_PREFIX}{lab}"


def lab_of_mark(alias: str) -> str | None:
    return alias[len(MARK_PREFIX) :] if alias.startswith(MARK_PREFIX) else None


# Names a port cannot take: the node's own loopback and bridge, and the kernel's
# /proc/sys/net/*/conf/ entries that are not devices.
_NOT_A_PORT = frozenset({SWITCH_BRIDGE, "lo", "all", "default"})


def switch_port(peer_node: str, peer_ifname: str | None, taken: set[str]) -> str:
    """A readable port name on a switch for the cable coming from peer_node:peer_ifname
    ("h1-eth0"), or from switch peer_node's port not yet named ("sw2": the peer, not
    "sw2-sw2"), falling back to "p<n>" when that is too long or already used."""
    name = f"{peer_node}-{peer_ifname}" if peer_ifname else peer_node
    if len(name.encode()) <= IFNAMSIZ and name not in taken and name not in _NOT_A_PORT:
        return name
    n = 1
    while f"p{n}" in taken:
        n += 1
    return f"p{n}"


HOSTS_FILE = "hosts"  # the lab's /etc/hosts text, in its state folder
PRIVATE_DIR = "private"  # in a node's folder: its `private:` folders, by their path


def lab_dir(state_root: str, lab: str) -> str:
    return f"{state_root}/{lab}"


def node_dir(state_root: str, lab: str, node: str) -> str:
    """The node's folder: its `files:`, the folders and logs of its services."""
    return f"{state_root}/{lab}/nodes/{node}"
