"""Micro-benchmark: a star of N hosts on one bridge, built and removed purely through
NetlinkKernel.execute, next to the iproute2 batch floor measured in the same run.

    sudo python3 bench/kernel_star.py            # N = 100 and 500
    sudo python3 bench/kernel_star.py -n 300 --order per-host --repeat 3

Prints seconds; asserts nothing. "settled" is how long the kernel keeps working after
`down` returned (removing a namespace returns at once; its devices are freed in the
background): a rough figure on a busy machine, and each measurement waits for it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netlab.kernel import nsfs
from netlab.kernel.netlink import NetlinkKernel
from netlab.plan.ops import (
    AddAddress,
    CreateBridge,
    CreateNamespace,
    CreateVeth,
    DeleteNamespace,
    Op,
    SetLink,
    SetLinkUp,
)

MARK = "netlab:bench"


def names(n: int, tag: str) -> tuple[str, list[str]]:
    return f"netlab-{tag}-sw", [f"netlab-{tag}-h{i}" for i in range(n)]


def addr(i: int) -> str:
    return f"10.{(i + 1) // 250}.{(i + 1) % 250}.1/16"


def star_ops(n: int, tag: str, order: str) -> list[Op]:
    """`planner`: the order netlab's planner emits (all cables, then node by node);
    `per-host`: each host's cable followed by everything of that host and its port."""
    sw, hosts = names(n, tag)
    ops: list[Op] = [CreateNamespace(x, alias=MARK) for x in (sw, *hosts)]
    if order == "planner":
        ops += [CreateVeth(h, "eth0", sw, f"p{i}", alias=MARK) for i, h in enumerate(hosts)]
        ops += [CreateBridge(sw, "br0", alias=MARK), SetLink(sw, "br0", addrgen_none=True)]
        ops += [SetLink(sw, f"p{i}", addrgen_none=True) for i in range(n)]
        ops += [SetLink(sw, f"p{i}", master="br0") for i in range(n)]
        ops += [SetLinkUp(sw, "lo"), SetLinkUp(sw, "br0")]
        ops += [SetLinkUp(sw, f"p{i}") for i in range(n)]
        for i, h in enumerate(hosts):
            ops += [AddAddress(h, "eth0", addr(i)), SetLinkUp(h, "lo"), SetLinkUp(h, "eth0")]
    else:
        ops += [CreateBridge(sw, "br0", alias=MARK), SetLink(sw, "br0", addrgen_none=True),
                SetLinkUp(sw, "br0")]
        for i, h in enumerate(hosts):
            ops += [
                CreateVeth(h, "eth0", sw, f"p{i}", alias=MARK),
                AddAddress(h, "eth0", addr(i)), SetLinkUp(h, "lo"), SetLinkUp(h, "eth0"),
                SetLink(sw, f"p{i}", master="br0", addrgen_none=True), SetLinkUp(sw, f"p{i}"),
            ]
    return ops


def _kernel_ticks() -> int:
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[3]) + int(fields[6]) + int(fields[7])  # system, irq, softirq


def settle(limit: float = 60.0) -> float:
    """Seconds until the kernel is quiet again (under 10% of one CPU in system time for
    0.3 s): removing a namespace returns at once, the kernel frees its devices later, and
    that work would otherwise slow down whatever is measured next."""
    hz = os.sysconf("SC_CLK_TCK")
    start = time.perf_counter()
    quiet = 0
    while time.perf_counter() - start < limit:
        before = _kernel_ticks()
        time.sleep(0.1)
        quiet = quiet + 1 if (_kernel_ticks() - before) / hz < 0.01 else 0
        if quiet == 3:
            return time.perf_counter() - start - 0.3
    return limit


def bench_netlab(n: int, order: str) -> tuple[float, float, float, float]:
    tag = f"kb{os.getpid() % 10000}"
    ops = star_ops(n, tag, order)
    stamps: list[tuple[int, float]] = []
    kernel = NetlinkKernel()
    try:
        t0 = time.perf_counter()
        kernel.execute(ops, lambda a, b: stamps.append((a, time.perf_counter())), lambda i: None)
        up = time.perf_counter() - t0
        # Time spent making namespaces: until the first batch that is not CreateNamespace.
        ns_done = next((t for first, t in stamps if first >= n + 1), t0) - t0
        sw, hosts = names(n, tag)
        t0 = time.perf_counter()
        kernel.execute([DeleteNamespace(x) for x in (sw, *hosts)], lambda a, b: None,
                       lambda i: None)
        down = time.perf_counter() - t0
    finally:
        kernel.close()
        for x in nsfs.list_names(f"netlab-{tag}-"):
            nsfs.remove(x)
    return up, ns_done, down, settle()


def bench_iproute2(n: int) -> tuple[float, float, float]:
    """iproute2's best: `ip -b` for the namespaces, then one `ip -n NS -b` per node."""
    tag = f"kr{os.getpid() % 10000}"
    sw, hosts = names(n, tag)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "ns").write_text("".join(f"netns add {x}\n" for x in (sw, *hosts)))
        lines = ["link add br0 type bridge", "link set br0 addrgenmode none", "link set br0 up"]
        for i, h in enumerate(hosts):
            lines += [f"link add p{i} type veth peer name eth0 netns {h}",
                      f"link set p{i} addrgenmode none", f"link set p{i} master br0",
                      f"link set p{i} up"]
        (d / "sw").write_text("\n".join(lines) + "\n")
        for i in range(n):
            (d / f"h{i}").write_text(f"addr add {addr(i)} dev eth0\nlink set lo up\n"
                                     "link set eth0 up\n")
        (d / "del").write_text("".join(f"netns del {x}\n" for x in (sw, *hosts)))
        t0 = time.perf_counter()
        subprocess.run(["ip", "-b", str(d / "ns")], check=True)
        subprocess.run(["ip", "-n", sw, "-b", str(d / "sw")], check=True)
        for i, h in enumerate(hosts):
            subprocess.run(["ip", "-n", h, "-b", str(d / f"h{i}")], check=True)
        up = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(["ip", "-b", str(d / "del")], check=True)
        down = time.perf_counter() - t0
    return up, down, settle()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, action="append", help="hosts (default: 100 and 500)")
    parser.add_argument("--order", choices=("planner", "per-host"), default="planner")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-iproute2", action="store_true")
    args = parser.parse_args()
    print(f"{'N':>5} {'what':<22} {'up s':>7} {'(netns s)':>9} {'down s':>7} {'settled s':>9}")
    for n in args.n or [100, 500]:
        for _ in range(args.repeat):
            if not args.no_iproute2:
                up, down, settled = bench_iproute2(n)
                print(f"{n:>5} {'iproute2 ip -b floor':<22} {up:7.3f} {'':>9} {down:7.3f} "
                      f"{settled:9.2f}", flush=True)
            up, ns_time, down, settled = bench_netlab(n, args.order)
            print(f"{n:>5} {'netlab ' + args.order:<22} {up:7.3f} {ns_time:9.3f} {down:7.3f} "
                  f"{settled:9.2f}", flush=True)


if __name__ == "__main__":
    main()
