"""Read-only views of a namespace: links, addresses, routes, sysctls.

One route socket per call, opened by the current thread from inside the namespace (a
setns there and back, no fork); replies decoded by pyroute2's message classes, which know
every attribute (speed matters less here than when building).
"""

from __future__ import annotations

import socket
from typing import Any

from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from netlab.kernel import nlsock, nsfs, rtnl

ARPHRD_LOOPBACK = 772
_STATS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets")
_PROTOCOLS = {2: "kernel", 3: "boot", 4: "static", 16: "dhcp", 186: "bgp", 188: "ospf"}


def _decode(cls: Any, reply: rtnl.Reply) -> Any:
    msg = cls(reply.data)
    msg.decode()
    return msg


def _dump_links(sock: socket.socket) -> list[Any]:
    return [_decode(ifinfmsg, r) for r in nlsock.dump(sock, rtnl.get_links(1))]


def _link(msg: Any, names: dict[int, str]) -> dict[str, Any]:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info else None
    data = info.get_attr("IFLA_INFO_DATA") if info else None
    owner = group = None
    if kind == "tun" and data is not None:
        # The kernel calls both "tun"; IFLA_TUN_TYPE tells them apart (1 tun, 2 tap).
        kind = "tap" if data.get_attr("IFLA_TUN_TYPE") == 2 else "tun"
        owner, group = data.get_attr("IFLA_TUN_OWNER"), data.get_attr("IFLA_TUN_GROUP")
    if kind is None:
        kind = "loopback" if msg["ifi_type"] == ARPHRD_LOOPBACK else "device"
    stats = msg.get_attr("IFLA_STATS64") or {}
    master = msg.get_attr("IFLA_MASTER")
    entry: dict[str, Any] = {
        "ifname": msg.get_attr("IFLA_IFNAME"),
        "index": msg["index"],
        "kind": kind,
        "alias": msg.get_attr("IFLA_IFALIAS") or "",
        "mac": msg.get_attr("IFLA_ADDRESS"),
        "mtu": msg.get_attr("IFLA_MTU"),
        "operstate": str(msg.get_attr("IFLA_OPERSTATE") or "unknown").lower(),
        "up": bool(msg["flags"] & rtnl.IFF_UP),
        "master": names.get(master) if master else None,
        "addresses": [],
        "owner": owner,
        "group": group,
        **{key: int(stats.get(key, 0)) for key in _STATS},
    }
    if kind == "veth":
        # The peer's index in its own namespace; that namespace by its id as seen from here.
        entry["peer_index"] = msg.get_attr("IFLA_LINK")
        entry["peer_netnsid"] = msg.get_attr("IFLA_LINK_NETNSID")
    return entry


def read_namespace(ns: str) -> list[dict[str, Any]]:
    """Every link of namespace `ns` with its addresses (CIDR strings, link-local included)
    and counters, ordered by ifindex."""
    with nlsock.open_in(ns) as sock:
        links = _dump_links(sock)
        addrs = [_decode(ifaddrmsg, r) for r in nlsock.dump(sock, rtnl.get_addresses(2))]
    names = {m["index"]: m.get_attr("IFLA_IFNAME") for m in links}
    out = {m["index"]: _link(m, names) for m in links}
    for a in addrs:
        entry = out.get(a["index"])
        # IFA_LOCAL is our own address (IFA_ADDRESS is the far end on point-to-point).
        ip = a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS")
        if entry is not None and ip:
            entry["addresses"].append(f"{ip}/{a['prefixlen']}")
    return [out[i] for i in sorted(out)]


def read_routes(ns: str) -> list[dict[str, Any]]:
    """The main routing table of `ns`, IPv4 then IPv6 (kernel routes included)."""
    with nlsock.open_in(ns) as sock:
        names = {m["index"]: m.get_attr("IFLA_IFNAME") for m in _dump_links(sock)}
        routes = [_decode(rtmsg, r) for r in nlsock.dump(sock, rtnl.get_routes(2, 0))]
    out: list[dict[str, Any]] = []
    for r in routes:
        table = r.get_attr("RTA_TABLE") or r["table"]
        if table != rtnl.RT_TABLE_MAIN or r["type"] != rtnl.RTN_UNICAST:
            continue
        family = 4 if r["family"] == socket.AF_INET else 6
        dst = r.get_attr("RTA_DST")
        oif = r.get_attr("RTA_OIF")
        out.append({
            "family": family,
            "to": f"{dst}/{r['dst_len']}" if dst else "default",
            "via": r.get_attr("RTA_GATEWAY"),
            "dev": names.get(oif) if oif else None,
            "metric": r.get_attr("RTA_PRIORITY"),
            "protocol": _PROTOCOLS.get(r["proto"], str(r["proto"])),
        })
    out.sort(key=lambda route: route["family"])
    return out


def read_sysctl(ns: str, key: str) -> str:
    """The value of a net.* sysctl as seen inside `ns`."""
    parts = key.split(".")
    if parts[0] != "net" or any(not p for p in parts) or "/" in key or ".." in key:
        raise ValueError(f"not a net.* sysctl key: {key!r}")
    with nsfs.entered(ns), open("/proc/sys/" + "/".join(parts)) as f:
        return f.read().strip()


def list_marked_links_in_host(mark_prefix: str = "netlab:") -> list[dict[str, Any]]:
    """Links of the caller's own (host) namespace whose alias starts with the mark."""
    with nlsock.open_here() as sock:
        links = _dump_links(sock)
    names = {m["index"]: m.get_attr("IFLA_IFNAME") for m in links}
    return [
        _link(m, names) for m in links
        if (m.get_attr("IFLA_IFALIAS") or "").startswith(mark_prefix)
    ]
