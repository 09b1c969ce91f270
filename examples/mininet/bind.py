#!/usr/bin/env python3
"""Mininet's examples/bind.py, in netlab (run as root): hosts with private directories.

Mininet's bind.py gives each host its own /var/log and /var/run (`privateDirs`), so that
daemons in different hosts do not write over each other's logs and pid files. In netlab
every node already has its own /run (so /var/run) and /tmp; `private:` mounts a folder of the
node's own over any other path, here /var/log. Each host writes the same two paths, and each
reads back only its own files; the host machine's /var/log is left as it was.

    python3 examples/mininet/bind.py [--hosts N]
"""

from __future__ import annotations

import argparse
import os

import netlab
from netlab.checks.run import check_lab

PROBE = "netlab-bind-example.txt"


def bind_topo(name: str, hosts: int) -> netlab.Builder:
    t = netlab.build(name, description="bind: hosts with private directories")
    t.switch("s1")
    for k in range(1, hosts + 1):
        # Mininet: privateDirs=['/var/log', '/var/run']; /var/run is every node's own here.
        t.host(f"h{k}", f"10.0.0.{k}/24", private=["/var/log"])
        t.link(f"h{k}", "s1")
    t.check("h1", f"h{hosts}")
    return t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="bind", help="the lab's name")
    parser.add_argument("--hosts", type=int, default=3, help="how many hosts (default 3)")
    args = parser.parse_args()
    lab = bind_topo(args.name, args.hosts).lab()
    lab.up()
    ok = True
    try:
        names = [f"h{k}" for k in range(1, args.hosts + 1)]
        for host in names:
            lab.exec(host, f"echo {host} > /var/log/{PROBE}; echo {host} > /var/run/{PROBE}")
        for host in names:
            seen = lab.exec(host, f"cat /var/log/{PROBE} /var/run/{PROBE}").stdout.split()
            print(f"{host} reads {seen} from /var/log and /var/run")
            ok &= seen == [host, host]
        on_host = os.path.exists(f"/var/log/{PROBE}") or os.path.exists(f"/var/run/{PROBE}")
        print(f"the machine's own /var/log and /var/run hold the file: {on_host}")
        ok &= not on_host
        report = check_lab(lab)
    finally:
        lab.down()
    print(report.summary())
    return 0 if ok and report else 1


if __name__ == "__main__":
    raise SystemExit(main())
