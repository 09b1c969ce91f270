"""Figures for docs/multi-host.md: one host's part of a lab across two simulated hosts
(tests/integration/simhosts.py), N nodes on each host, each node with one cable to its
twin on the other host (N VXLAN devices per host). Prints the time of `up --host` and
`down` on host a, and the kernel memory the part took (MemAvailable before and after).
Run as root: .venv/bin/python bench/multihost.py 100 500 1000"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.simhosts import sim_hosts


def topology(n: int) -> str:
    lines = ["name: mhbench", "hosts:", "  a: {address: 10.77.0.1}", "  b: {address: 10.77.0.2}",
             "nodes:"]
    for i in range(n):
        net = f"10.{i // 250}.{i % 250}"
        lines.append(f"  a{i}: {{interfaces: {{eth0: {{addresses: [{net}.1/24]}}}}}}")
        lines.append(f"  b{i}: {{host: b, interfaces: {{eth0: {{addresses: [{net}.2/24]}}}}}}")
    lines.append("links:")
    lines += [f"  - [a{i}:eth0, b{i}:eth0]" for i in range(n)]
    return "\n".join(lines) + "\n"


def available_kb() -> int:
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("MemAvailable"))


def main() -> None:
    for n in (int(a) for a in sys.argv[1:] or ["100"]):
        with tempfile.TemporaryDirectory() as folder, sim_hosts(["a", "b"], Path(folder)) as h:
            text = topology(n)
            before = available_kb()
            started = time.monotonic()
            up = h["a"].netlab("up", "-", "--host", "a", input=text)
            took = time.monotonic() - started
            used = before - available_kb()
            assert up.returncode == 0, up.stderr
            started = time.monotonic()
            down = h["a"].netlab("down", "-l", "mhbench")
            assert down.returncode == 0, down.stderr
            print(f"{n} nodes and {n} vxlan on host a: up {took:.2f} s, down "
                  f"{time.monotonic() - started:.2f} s, ~{used / 1024:.0f} MB of memory "
                  f"({used / n:.0f} kB per node with its vxlan)", flush=True)


if __name__ == "__main__":
    main()
