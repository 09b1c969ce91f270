#!/usr/bin/env python3
"""Mininet's examples/linuxrouter.py, in netlab (run as root): a Linux router r0 with
three subnets, one host in each.

 - 192.168.1.0/24 (r0-eth1: 192.168.1.1), h1 192.168.1.100
 - 172.16.0.0/12  (r0-eth2: 172.16.0.1),  h2 172.16.0.100
 - 10.0.0.0/8     (r0-eth3: 10.0.0.1),    h3 10.0.0.100

Mininet's LinuxRouter is a node that runs `sysctl net.ipv4.ip_forward=1`; a netlab router
forwards by its kind. Mininet's `params2={'ip': ...}` is `addresses=(None, ...)` here.

    python3 examples/mininet/linuxrouter.py
"""

from __future__ import annotations

import argparse

import netlab
from netlab.checks.run import check_lab

SUBNETS = [("h1", "192.168.1.100/24", "192.168.1.1/24"),
           ("h2", "172.16.0.100/12", "172.16.0.1/12"),
           ("h3", "10.0.0.100/8", "10.0.0.1/8")]


def network_topo(name: str) -> netlab.Builder:
    t = netlab.build(name, description="linuxrouter: a router with three subnets")
    t.router("r0")
    for k, (host, address, gateway) in enumerate(SUBNETS, 1):
        via = gateway.split("/")[0]
        t.host(host, address, routes=[{"to": "default", "via": via}])
        t.link(host, f"r0:r0-eth{k}", addresses=(None, gateway))
    for a, _, _ in SUBNETS:
        for b, _, _ in SUBNETS:
            if a != b:
                t.check(a, b)
    return t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="linuxrouter", help="the lab's name")
    args = parser.parse_args()
    lab = network_topo(args.name).lab()
    lab.up()
    try:
        print("*** Routing Table on Router:")
        print(lab.exec("r0", "ip route").stdout, end="")
        report = check_lab(lab)
    finally:
        lab.down()
    print(report.summary())
    return 0 if report else 1


if __name__ == "__main__":
    raise SystemExit(main())
