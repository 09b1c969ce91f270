"""netlab against Mininet, side by side: a star of N hosts on one switch, up and down.

    sudo .venv/bin/python bench/mininet.py                   # star of 100, 5 rounds
    sudo .venv/bin/python bench/mininet.py --sizes 100 500 --rounds 3

Mininet is Debian's `mininet` package (2.3.0) with `bridge-utils`, run with a Linux bridge
as the switch and no controller (`mn --switch lxbr --controller none --topo single,N`, as
its Python API); this script installs both with apt-get when `mn` is missing (it is a
benchmark, run on purpose; the test suite does not need them).

Whole processes, the same way for both: `up` is from starting the process until the lab
is up (for Mininet: the `Mininet(...)` constructor, which makes the hosts and links, then
`start()`); `down` is from starting the process until it has removed the lab (for
Mininet: `stop()` in the process that made the lab, then its exit: Mininet's hosts are
processes of that process). Rounds alternate netlab and Mininet; medians, and the ratio;
netlab's first `up` of the file (cold: its plan cache's miss) is said apart from the
median of the others (warm: hits).
It asserts nothing; figures go to bench/RESULTS.md by hand. It never runs `mn -c` (which
kills processes by name); a Mininet run that fails is stopped by its own `stop()`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import star

NETLAB = str(Path(sys.executable).parent / "netlab")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's mininet package is for the system Python

# Up, then reports the time, waits for a line on stdin, then down; the times are epoch
# seconds, so the parent can measure from its own start of the process.
MININET = """
import sys, time
from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge
from mininet.topo import SingleSwitchTopo
setLogLevel("error")
net = Mininet(topo=SingleSwitchTopo(int(sys.argv[1])), switch=LinuxBridge, controller=None)
try:
    net.start()
    print(time.time(), flush=True)
    sys.stdin.readline()
    print(time.time(), flush=True)
finally:
    net.stop()
"""


def ensure_mininet() -> None:
    if shutil.which("mn") and shutil.which("brctl"):
        return
    print("installing mininet and bridge-utils (apt-get)...", file=sys.stderr)
    subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y",
                    "--no-install-recommends", "mininet", "bridge-utils"],
                   check=True, stdout=subprocess.DEVNULL)


def mininet_round(n: int) -> tuple[float, float]:
    start = time.time()
    proc = subprocess.Popen([SYSTEM_PYTHON, "-c", MININET, str(n)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        up_at = float(proc.stdout.readline())
        time.sleep(1.0)  # as for netlab: the kernel's own work after a build settles alike
        proc.stdin.write("\n")
        proc.stdin.flush()
        down_from = float(proc.stdout.readline())
        proc.wait(timeout=600)
        down_at = time.time()
    finally:
        if proc.poll() is None:
            proc.stdin.close()  # its stop() runs at the end of the input
            proc.wait(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"mininet of {n} failed (exit {proc.returncode})")
    return up_at - start, down_at - down_from


def netlab_round(path: Path, lab: str) -> tuple[float, float]:
    start = time.time()
    subprocess.run([NETLAB, "up", str(path), "--name", lab], check=True,
                   stdout=subprocess.DEVNULL)
    up = time.time() - start
    time.sleep(1.0)
    start = time.time()
    subprocess.run([NETLAB, "down", "-l", lab], check=True, stdout=subprocess.DEVNULL)
    return up, time.time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    ensure_mininet()
    found = subprocess.run(["mn", "--version"], capture_output=True, text=True)
    version = (found.stdout + found.stderr).strip()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"mininet {version}; {os.cpu_count()} CPUs; load average {' '.join(load)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            lab = f"mn{n}-{secrets.token_hex(3)}"
            path = Path(tmp) / f"star{n}.yaml"
            path.write_text(yaml.safe_dump(star(n, lab)))
            times: dict[str, list[tuple[float, float]]] = {"netlab": [], "mininet": []}
            for _ in range(args.rounds):
                try:
                    times["netlab"].append(netlab_round(path, lab))
                finally:
                    subprocess.run([NETLAB, "down", "-l", lab], check=False,
                                   capture_output=True)
                times["mininet"].append(mininet_round(n))
            # netlab's first up of the file is cold (the plan cache's miss), the others
            # warm (its hits, as a student's or a CI job's next up): said apart.
            warm = times["netlab"][1:] or times["netlab"]
            med = {"mininet": (statistics.median(u for u, _ in times["mininet"]),
                               statistics.median(d for _, d in times["mininet"])),
                   "netlab": (statistics.median(u for u, _ in warm),
                              statistics.median(d for _, d in times["netlab"]))}
            cold = times["netlab"][0][0]
            row = {"n": n, "rounds": args.rounds, "load": load, "times": times,
                   "median": med, "netlab_first_up": cold,
                   "ratio_up": med["mininet"][0] / med["netlab"][0],
                   "ratio_first_up": med["mininet"][0] / cold,
                   "ratio_down": med["mininet"][1] / med["netlab"][1]}
            rows.append(row)
            print(f"star {n}: mininet up {med['mininet'][0]:.2f} s, down "
                  f"{med['mininet'][1]:.2f} s; netlab up {med['netlab'][0]:.2f} s (the "
                  f"first, cold: {cold:.2f} s), down {med['netlab'][1]:.2f} s; netlab is "
                  f"{row['ratio_up']:.1f}x ({row['ratio_first_up']:.1f}x cold) / "
                  f"{row['ratio_down']:.1f}x faster")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
