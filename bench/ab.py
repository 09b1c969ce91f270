"""Whole processes side by side: wall and CPU time of each command, rounds alternating.

    sudo .venv/bin/python bench/ab.py --rounds 15 \\
        "pass=.venv/bin/python -c pass" \\
        "main=/work/main/.venv/bin/netlab validate star.yaml" \\
        "this=.venv/bin/netlab validate star.yaml" \\
        "main up=/work/main/.venv/bin/netlab up star.yaml ;; /work/main/.venv/bin/netlab down -l s"

Each LABEL=COMMAND is run once a round, in the order given, so that a busy machine weighs
alike on all; `;;` separates a command timed from the ones run after it untimed (to undo
it). Medians of wall time and of CPU time (user + system of the process and the children
it waited for, from wait4), and the load average. A command that fails stops the run.
It asserts nothing: figures go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time


def timed(argv: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        assert proc.stderr is not None
        sys.exit(f"{shlex.join(argv)} failed: {proc.stderr.read().decode()[:500]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("commands", nargs="+", metavar="LABEL=COMMAND")
    args = parser.parse_args()
    commands = []
    for spec in args.commands:
        label, _, line = spec.partition("=")
        commands.append((label, [shlex.split(part) for part in line.split(";;")]))
    times: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in commands}
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for label, (first, *after) in commands:
            times[label].append(timed(first))
            for argv in after:
                timed(argv)
        loads.append(os.getloadavg()[0])
    print(f"{args.rounds} rounds, load average {min(loads):.2f}-{max(loads):.2f}")
    for label, pairs in times.items():
        wall = statistics.median(w for w, _ in pairs) * 1000
        cpu = statistics.median(c for _, c in pairs) * 1000
        fastest = min(pairs)[0] * 1000
        print(f"{label:24s} wall {wall:7.1f} ms  cpu {cpu:7.1f} ms  (fastest {fastest:.1f})")


if __name__ == "__main__":
    main()
