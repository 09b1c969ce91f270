"""kernel/dumps.py decodes dumps by hand: it must say exactly what pyroute2's message
classes say (what it used before), for every kind of device netlab makes, and more."""

from __future__ import annotations

import secrets
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from netlab.kernel import dumps, nlsock, nsfs, rtnl
from netlab.kernel.netlink import NetlinkKernel
from netlab.kernel.tcmsg import get_qdiscs
from netlab.plan.ops import (
    AddAddress,
    AddRoute,
    CreateBridge,
    CreateNamespace,
    CreateTunTap,
    CreateVeth,
    CreateVxlan,
    Op,
    SetLink,
    SetLinkUp,
)

MARK = "netlab:kt"
_STATS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets")
_PROTOCOLS = {2: "kernel", 3: "boot", 4: "static", 16: "dhcp", 186: "bgp", 188: "ospf"}


# --- the reference: pyroute2 decoding every attribute ----------------------------------
def _decode(cls: Any, reply: rtnl.Reply) -> Any:
    msg = cls(reply.data)
    msg.decode()
    return msg


def _ref_link(msg: Any, names: dict[int, str]) -> dict[str, Any]:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info else None
    data = info.get_attr("IFLA_INFO_DATA") if info else None
    owner = group = None
    if kind == "tun" and data is not None:
        kind = "tap" if data.get_attr("IFLA_TUN_TYPE") == 2 else "tun"
        owner, group = data.get_attr("IFLA_TUN_OWNER"), data.get_attr("IFLA_TUN_GROUP")
    if kind is None:
        kind = "loopback" if msg["ifi_type"] == dumps.ARPHRD_LOOPBACK else "device"
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
        "carrier": bool(msg["flags"] & 0x10000),  # IFF_LOWER_UP
        "master": names.get(master) if master else None,
        "addresses": [],
        "owner": owner,
        "group": group,
        **{key: int(stats.get(key, 0)) for key in _STATS},
    }
    if kind == "veth":
        entry["peer_index"] = msg.get_attr("IFLA_LINK")
        entry["peer_netnsid"] = msg.get_attr("IFLA_LINK_NETNSID")
    return entry


def _state_words(state: Any) -> tuple[Any, ...]:
    return (state.up, state.carrier, state.operstate, state.carrier_changes,
            state.carrier_up_count, state.carrier_down_count, state.qdisc_kind)


def _reference_states(ns: str) -> dict[str, tuple[Any, ...]]:
    """What pyroute2 reads of each link's state and root qdisc, by name."""
    with nlsock.open_in(ns) as sock:
        links = [_decode(ifinfmsg, r) for r in nlsock.dump(sock, rtnl.get_links(1))]
        qdiscs = [_decode(tcmsg, r) for r in nlsock.dump(sock, get_qdiscs(2))]
    roots = {q["index"]: q.get_attr("TCA_KIND") for q in qdiscs if q["parent"] == 0xFFFFFFFF}
    return {
        m.get_attr("IFLA_IFNAME"): (
            bool(m["flags"] & rtnl.IFF_UP), m.get_attr("IFLA_CARRIER") == 1,
            str(m.get_attr("IFLA_OPERSTATE") or "unknown").lower(),
            m.get_attr("IFLA_CARRIER_CHANGES") or 0, m.get_attr("IFLA_CARRIER_UP_COUNT") or 0,
            m.get_attr("IFLA_CARRIER_DOWN_COUNT") or 0, roots.get(m["index"]),
        )
        for m in links
    }


def _reference(ns: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with nlsock.open_in(ns) as sock:
        links = [_decode(ifinfmsg, r) for r in nlsock.dump(sock, rtnl.get_links(1))]
        addrs = [_decode(ifaddrmsg, r) for r in nlsock.dump(sock, rtnl.get_addresses(2))]
        routes = [_decode(rtmsg, r) for r in nlsock.dump(sock, rtnl.get_routes(3, 0))]
    names = {m["index"]: m.get_attr("IFLA_IFNAME") for m in links}
    out = {m["index"]: _ref_link(m, names) for m in links}
    for a in addrs:
        entry = out.get(a["index"])
        ip = a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS")
        if entry is not None and ip:
            entry["addresses"].append(f"{ip}/{a['prefixlen']}")
    table: list[dict[str, Any]] = []
    for r in routes:
        if (r.get_attr("RTA_TABLE") or r["table"]) != rtnl.RT_TABLE_MAIN:
            continue
        if r["type"] != rtnl.RTN_UNICAST:
            continue
        dst = r.get_attr("RTA_DST")
        oif = r.get_attr("RTA_OIF")
        table.append({
            "family": 4 if r["family"] == socket.AF_INET else 6,
            "to": f"{dst}/{r['dst_len']}" if dst else "default",
            "via": r.get_attr("RTA_GATEWAY"),
            "dev": names.get(oif) if oif else None,
            "metric": r.get_attr("RTA_PRIORITY"),
            "protocol": _PROTOCOLS.get(r["proto"], str(r["proto"])),
        })
    table.sort(key=lambda route: route["family"])
    return [out[i] for i in sorted(out)], table


def _without_counters(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Counters move between two reads (IPv6 chatter); everything else must not.
    return [{k: v for k, v in link.items() if k not in _STATS} for link in links]


@pytest.fixture
def names() -> Iterator[list[str]]:
    tag = secrets.token_hex(3)
    made = [f"netlab-kt{tag}-{x}" for x in ("a", "b")]
    yield made
    for n in made:
        if nsfs.exists(n):
            nsfs.remove(n)


def test_hand_decoding_matches_pyroute2(names: list[str]) -> None:
    a, b = names
    ops: list[Op] = [
        CreateNamespace(a, alias=MARK), CreateNamespace(b, alias=MARK),
        CreateVeth(a, "eth0", b, "eth0", mtu=1400, alias=MARK),
        CreateVeth(a, "v1", a, "v2", alias="ünïcode alias"),
        CreateBridge(a, "br0", alias=MARK), SetLink(a, "v2", master="br0"),
        SetLink(a, "eth0", mac="02:00:00:00:00:0a"),
        CreateTunTap(a, "tun0", "tun", uid=1234, gid=4321, alias=MARK),
        CreateTunTap(a, "tap0", "tap", alias=MARK),
        AddAddress(a, "eth0", "10.0.1.1/24"), AddAddress(a, "eth0", "fd00:1::1/64"),
        AddAddress(a, "eth0", "10.9.9.9/32"), AddAddress(a, "lo", "127.0.0.2/8"),
        SetLinkUp(a, "lo"), SetLinkUp(a, "eth0"), SetLinkUp(a, "br0"), SetLinkUp(a, "v1"),
        SetLinkUp(a, "v2"),
        CreateVxlan(a, "vx0", 42, "10.0.1.2", local="10.0.1.1", dev="eth0"),
        AddAddress(b, "eth0", "10.0.1.2/24"), AddAddress(b, "eth0", "fd00:1::2/64"),
        SetLinkUp(b, "eth0"),
        AddRoute(a, "default", via="10.0.1.2"),
        AddRoute(a, "default", via="fd00:1::2", family=6),
        AddRoute(a, "10.7.0.0/16", dev="eth0", metric=7),
        AddRoute(a, "fd00:7::/48", via="fd00:1::2", dev="eth0", metric=70, family=6),
    ]
    kernel = NetlinkKernel()
    try:
        kernel.execute(ops, lambda first, last: None, lambda index: None)
    finally:
        kernel.close()
    # A point-to-point address (IFA_LOCAL differs from IFA_ADDRESS) and a route of
    # another protocol, which netlab never makes itself.
    subprocess.run(["ip", "-n", a, "addr", "add", "10.5.0.1", "peer", "10.5.0.2", "dev",
                    "v1"], check=True)
    subprocess.run(["ip", "-n", a, "route", "add", "10.8.0.0/16", "dev", "eth0", "proto",
                    "static"], check=True)
    for ns in (a, b):
        links, routes, states = dumps.read_node(ns)
        want_links, want_routes = _reference(ns)
        assert _without_counters(links) == _without_counters(want_links)
        assert routes == want_routes
        assert states == dumps.read_link_states(ns)
        assert {name: _state_words(s) for name, s in states.items()} == _reference_states(ns)
        assert _without_counters(dumps.read_namespace(ns)) == _without_counters(want_links)
        assert dumps.read_routes(ns) == want_routes
    kinds = {link["ifname"]: link["kind"] for link in dumps.read_namespace(a)}
    assert kinds == {"lo": "loopback", "eth0": "veth", "v1": "veth", "v2": "veth",
                     "br0": "bridge", "tun0": "tun", "tap0": "tap", "vx0": "vxlan"}
    tun0 = next(link for link in dumps.read_namespace(a) if link["ifname"] == "tun0")
    assert (tun0["owner"], tun0["group"], tun0["mac"]) == (1234, 4321, None)
