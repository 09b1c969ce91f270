#!/usr/bin/env python3
"""Mininet's examples/treeping64.py, in netlab (run as root): a tree of switches of depth
2 and fanout 8 (64 hosts), and a ping from every host to every other.

The tree is built by a recursive function, as Mininet's TreeTopo builds it (switches
numbered depth first, hosts left to right); the pings are the topology's checks, run side
by side (check_lab), as `netlab test` runs them. The same lab in one line:
`netlab test --topo tree,depth=2,fanout=8`.

    python3 examples/mininet/treeping64.py --depth 2 --fanout 8
"""

from __future__ import annotations

import argparse

import netlab
from netlab.checks.run import check_lab


def tree_topo(depth: int, fanout: int, name: str) -> netlab.Builder:
    t = netlab.build(name, description=f"treeping64: tree depth {depth} fanout {fanout}")
    hosts: list[str] = []

    def add_tree(level: int) -> str:
        switch = t.switch(f"s{sum(1 for n in t.nodes if n.startswith('s')) + 1}")
        for _ in range(fanout):
            if level == 1:
                k = len(hosts) + 1
                hosts.append(t.host(f"h{k}", f"10.0.{k >> 8}.{k & 255}/8"))
                t.link(hosts[-1], switch)
            else:
                t.link(switch, add_tree(level - 1))
        return switch

    add_tree(depth)
    for a in hosts:  # Mininet's pingAll: every host to every other
        for b in hosts:
            if a != b:
                t.check(a, b)
    return t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--fanout", type=int, default=8)
    parser.add_argument("--name", default="treeping64", help="the lab's name")
    args = parser.parse_args()
    lab = tree_topo(args.depth, args.fanout, args.name).lab()
    hosts = sum(1 for node in lab.topology.nodes.values() if node.kind == "host")
    print(f"*** tree of depth {args.depth}, fanout {args.fanout}: {hosts} hosts")
    lab.up()
    try:
        print("*** Ping: testing ping reachability")
        report = check_lab(lab)
    finally:
        lab.down()
    failed = [r for r in report.results if not r.passed]
    for result in failed:
        print(f"FAIL {result.name}: {result.why}")
    total = len(report.results)
    dropped = 100 * len(failed) / total if total else 0
    print(f"*** Results: {dropped:.0f}% dropped ({total - len(failed)}/{total} received) "
          f"in {report.seconds:.2f} s")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
