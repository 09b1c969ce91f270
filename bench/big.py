"""A very large lab through the CLI: up, traffic, down, with times and peak memory.

    sudo .venv/bin/python bench/big.py                     # a 100 x 100 grid: 10,000 nodes
    sudo .venv/bin/python bench/big.py --shape star --size 1100

`up` and `down` are whole `netlab` processes (wall and CPU time, peak RSS from wait4); the
kernel's own memory for the lab is read from /proc/meminfo before and after `up` (Slab +
percpu + page tables: approximate, the machine is shared). Traffic: pings across cables
at the lab's corners and middle (a grid has no routes: each cable is its own /30; a star
pings its first host from its last). A grid is chosen for 10,000 nodes because one
broadcast domain of 10,000 hosts spends minutes flooding its hosts' IPv6 start-up
(10,000 x 10,000 deliveries per multicast frame). It asserts nothing but that traffic
passes; figures go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import star

from netlab.kernel.reach import ping

NETLAB = str(Path(sys.executable).parent / "netlab")

# The grid as a Jinja2 template (netlab refuses a topology file over 1 MB; a template's
# rendering may be 4 MB): the same nodes, cables and /30s as run.grid, made by loops.
# Cable j has 10.x.y.z/30 from 10.0.0.0 + 4j: east cables first (r * (S-1) + c), then
# south ones (S * (S-1) + r * S + c).
GRID = """name: {{ lab }}
{%- macro ip(j, end) %}{% set n = 4 * j + end %}10.{{ n // 65536 }}.{{ (n // 256) % 256 }}.\
{{- n % 256 }}/30{% endmacro %}
nodes:
{%- for r in range(S) %}{% for c in range(S) %}
  g{{ r }}x{{ c }}:
    interfaces:
{%- if c < S - 1 %}
      e: {addresses: [{{ ip(r * (S - 1) + c, 1) }}]}{% endif %}
{%- if c > 0 %}
      w: {addresses: [{{ ip(r * (S - 1) + c - 1, 2) }}]}{% endif %}
{%- if r < S - 1 %}
      s: {addresses: [{{ ip(S * (S - 1) + r * S + c, 1) }}]}{% endif %}
{%- if r > 0 %}
      n: {addresses: [{{ ip(S * (S - 1) + (r - 1) * S + c, 2) }}]}{% endif %}
{%- endfor %}{% endfor %}
links:
{%- for r in range(S) %}{% for c in range(S) %}
{%- if c < S - 1 %}
  - [g{{ r }}x{{ c }}:e, g{{ r }}x{{ c + 1 }}:w]{% endif %}
{%- if r < S - 1 %}
  - [g{{ r }}x{{ c }}:s, g{{ r + 1 }}x{{ c }}:n]{% endif %}
{%- endfor %}{% endfor %}
"""


def whole(argv: list[str]) -> tuple[float, float, float]:
    """Wall s, CPU s, peak RSS MB of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return (time.perf_counter() - start, usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024)


def kernel_mb() -> float:
    fields = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":")
            fields[key] = int(value.split()[0])
    return (fields["Slab"] + fields.get("Percpu", 0) + fields["PageTables"]) / 1024


def pairs(shape: str, size: int) -> list[tuple[str, str, str]]:
    """(from node, to node, to address) pairs to ping."""
    side = max(2, round(size**0.5))

    def address(node: str, ifname: str) -> str:
        if shape == "star":
            return str(ipaddress.ip_address("10.0.0.1") + int(node[1:]))
        r, c = (int(x) for x in node[1:].split("x"))
        j, end = {"e": (r * (side - 1) + c, 1), "w": (r * (side - 1) + c - 1, 2),
                  "s": (side * (side - 1) + r * side + c, 1),
                  "n": (side * (side - 1) + (r - 1) * side + c, 2)}[ifname]
        return str(ipaddress.ip_address("10.0.0.0") + 4 * j + end)

    if shape == "star":
        return [(f"h{size - 1}", "h0", address("h0", "eth0")),
                ("h0", f"h{size - 1}", address(f"h{size - 1}", "eth0"))]
    side = max(2, round(size**0.5))
    last, mid = side - 1, side // 2
    return [("g0x0", "g0x1", address("g0x1", "w")),
            (f"g{last}x{last}", f"g{last - 1}x{last}", address(f"g{last - 1}x{last}", "s")),
            (f"g{mid}x{mid}", f"g{mid + 1}x{mid}", address(f"g{mid + 1}x{mid}", "n"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=("grid", "star"), default="grid")
    parser.add_argument("--size", type=int, default=10_000)
    args = parser.parse_args()
    lab = f"big-{secrets.token_hex(3)}"
    side = max(2, round(args.size**0.5))
    if args.shape == "grid":
        text = GRID.replace("{{ lab }}", lab)
        nodes, links = side * side, 2 * side * (side - 1)
        overrides = ["--set", f"S={side}"]
    else:
        doc = star(args.size, lab)
        text = yaml.safe_dump(doc)
        nodes, links = len(doc["nodes"]), len(doc["links"])
        overrides = []
    with open("/proc/loadavg") as f:
        print(f"load average {' '.join(f.read().split()[:3])}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(("vars: {S: 2}\n" if overrides else "") + text)
        before = kernel_mb()
        try:
            wall, cpu, rss = whole([NETLAB, "up", str(path), *overrides])
            grown = kernel_mb() - before
            print(f"{args.shape} of {nodes} nodes, {links} links: up {wall:.2f} s wall, "
                  f"{cpu:.2f} s CPU, peak RSS {rss:.0f} MB; kernel memory +{grown:.0f} MB")
            for source, target, address in pairs(args.shape, args.size):
                started = time.perf_counter()
                rtt = ping(f"netlab-{lab}-{source}", address, 1.0, 10)
                took = time.perf_counter() - started
                said = f"{rtt * 1e3:.2f} ms" if rtt is not None else "NO REPLY"
                print(f"  ping {source} -> {target} ({address}): {said} ({took:.2f} s)")
            wall, cpu, rss = whole([NETLAB, "down", "-l", lab])
            print(f"down {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.0f} MB")
        finally:
            subprocess.run([NETLAB, "down", "-l", lab], check=False, capture_output=True)


if __name__ == "__main__":
    main()
