"""Record the netlink dumps of a small lab as test data for tests/unit/kernel/test_dumps.py.

Run as root: `.venv/bin/python scripts/record_dumps.py`. It builds two namespaces with
every kind of device netlab makes (and a point-to-point address and a route of another
protocol, which netlab never makes itself), dumps their links, addresses, routes and
qdiscs, writes the messages to tests/unit/data/dumps.json, and removes the namespaces.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

from netlab.kernel import nlsock, nsfs, rtnl, tcmsg
from netlab.kernel.netlink import NetlinkKernel
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

TARGET = Path(__file__).resolve().parents[1] / "tests" / "unit" / "data" / "dumps.json"
MARK = "netlab:kt"


def lab_ops(a: str, b: str) -> list[Op]:
    return [
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


def dumps_of(ns: str) -> dict[str, list[str]]:
    """The four dumps of `ns`, each message as hex."""
    with nlsock.open_in(ns) as sock:
        found = {
            "links": nlsock.dump(sock, rtnl.get_links(1)),
            "addrs": nlsock.dump(sock, rtnl.get_addresses(2)),
            "routes": nlsock.dump(sock, rtnl.get_routes(3, 0)),
            "qdiscs": nlsock.dump(sock, tcmsg.get_qdiscs(4)),
        }
    return {key: [bytes(r.data).hex() for r in replies] for key, replies in found.items()}


def main() -> None:
    tag = secrets.token_hex(3)
    a, b = (f"netlab-kt{tag}-{x}" for x in ("a", "b"))
    try:
        kernel = NetlinkKernel()
        try:
            kernel.execute(lab_ops(a, b), lambda first, last: None, lambda index: None)
        finally:
            kernel.close()
        subprocess.run(["ip", "-n", a, "addr", "add", "10.5.0.1", "peer", "10.5.0.2", "dev",
                        "v1"], check=True)
        subprocess.run(["ip", "-n", a, "route", "add", "10.8.0.0/16", "dev", "eth0",
                        "proto", "static"], check=True)
        recorded = {"a": dumps_of(a), "b": dumps_of(b)}
    finally:
        for ns in (a, b):
            if nsfs.exists(ns):
                nsfs.remove(ns)
    TARGET.write_text(json.dumps(recorded, indent=1) + "\n")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
