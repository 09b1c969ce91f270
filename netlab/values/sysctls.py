"""Sysctl keys netlab may set, and what a key names. Pure.

The model checks a key's shape with NET_KEY, validation and the planner ask which interface
a key belongs to (device_of), and the kernel writes only a key that path_of accepts.
"""

from __future__ import annotations

import re

NET_KEY = re.compile(r"^net\.[A-Za-z0-9_.-]+\Z")  # only the network's sysctls, in a node
PER_DEVICE = ("conf", "neigh")  # net.ipv4.conf.<dev>.x, net.ipv6.neigh.<dev>.x
ALL_DEVICES = ("all", "default")  # conf.all, conf.default: not one device


def device_of(key: str) -> str | None:
    """The interface a per-interface key names (net.ipv6.conf.eth0.x -> eth0), or None
    (a key of the whole node, conf.all and conf.default included)."""
    parts = key.split(".")
    if len(parts) >= 4 and parts[2] in PER_DEVICE and parts[3] not in ALL_DEVICES:
        return parts[3]
    return None


def path_of(key: str) -> str | None:
    """net.ipv4.ip_forward -> /proc/sys/net/ipv4/ip_forward; None unless a net.* key that
    stays under /proc/sys/net."""
    parts = key.split(".")
    if (parts[0] != "net" or len(parts) < 2 or any(not p for p in parts) or "/" in key
            or ".." in key or any(c.isspace() or c == "\0" for c in key)):
        return None
    return "/proc/sys/" + "/".join(parts)
