#!/usr/bin/env python3
"""Mininet's examples/linearbandwidth.py, in netlab (run as root).

N hosts and N-1 switches in a line:   h1 - s1 - s2 - ... - s(N-1)
                                             |    |           |
                                             h2   h3          hN
For each length n, h1 pings h(n+1) and sends it TCP for a second: the bandwidth across
n switches. Mininet compared its user and kernel datapaths; a netlab switch is the
kernel's bridge, so there is one datapath. Mininet used iperf; this measures with plain
sockets opened inside the nodes (Lab.socket), so the host needs no iperf.

    python3 examples/mininet/linearbandwidth.py --sizes 1,10,20
"""

from __future__ import annotations

import argparse
import threading
import time
from itertools import pairwise

import netlab

PORT = 5001


def linear_test_topo(hosts: int, name: str) -> netlab.Builder:
    """A string of `hosts` hosts and hosts-1 switches (Mininet's LinearTestTopo)."""
    t = netlab.build(name, description=f"linearbandwidth: {hosts} hosts in a line")
    switches = [t.switch(f"s{k}") for k in range(1, hosts)]
    for a, b in pairwise(switches):
        t.link(a, b)
    t.link(t.host("h1", "10.0.0.1/8"), switches[0])
    for k in range(2, hosts + 1):
        t.link(t.host(f"h{k}", f"10.0.0.{k}/8"), switches[k - 2])
    return t


def bandwidth(lab: netlab.Lab, src: str, dst: str, address: str, seconds: float) -> float:
    """Mbit/s of one TCP connection from src to dst's address, for `seconds`."""
    server = lab.socket(dst)
    server.bind((address, PORT))
    server.listen(1)
    received = [0]

    def sink() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1 << 16):
                received[0] += len(data)

    reader = threading.Thread(target=sink)
    reader.start()
    chunk = b"x" * (1 << 16)
    with lab.socket(src) as client:
        client.connect((address, PORT))
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            client.sendall(chunk)
    reader.join()
    took = time.monotonic() - started
    server.close()
    return received[0] * 8 / took / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,20", help="switch counts to test")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--name", default="linearbw", help="the lab's name")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    lab = linear_test_topo(max(sizes) + 1, args.name).lab()
    print(f"*** building a line of {max(sizes)} switches")
    lab.up()
    try:
        print("*** testing basic connectivity")
        for n in sizes:
            ok = lab.ping("h1", f"h{n + 1}", count=5)
            print(f"h1 -> h{n + 1}: {'ok' if ok else 'NO REPLY'}")
            if not ok:
                return 1
        print("*** testing bandwidth")
        print("switches\tMbit/s")
        for n in sizes:
            mbps = bandwidth(lab, "h1", f"h{n + 1}", f"10.0.0.{n + 1}", args.seconds)
            print(f"{n}\t\t{mbps:.0f}")
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
