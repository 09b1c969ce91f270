"""The fixed cost of a command: `netlab exec`, `status`, `ls` of a small lab against the
interpreter's bare start-up (`python -c pass` from the same venv).

    sudo .venv/bin/python bench/startup.py                 # 15 rounds, the table
    sudo .venv/bin/python bench/startup.py --imports       # and what each command imports

It brings up a small lab (topologies/hello.yaml under a name of its own) and a lab of plain
nodes (one per round; "exec, first entry" enters a new one each round, so it pays for
making that node's mount and UTS namespaces: kernel/nodehost.py ensure), then times whole
processes in rounds, each round running every command once in turn with `python -c pass`
between each, so that a busy machine weighs alike on all; medians of wall and CPU time
(user + system of the process, from wait4), and each median over the bare start-up's.
`--imports` runs each command once more under `python -X importtime` and lists the modules
it loads that cost the most (self time, summed per top-level package), and whether it
loads the heavy libraries (pydantic, jinja2, rich, yaml). It asserts nothing: figures go to
bench/RESULTS.md by hand, with the load of the machine while they were taken.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HEAVY = ("pydantic", "jinja2", "rich", "yaml")
TARGETS = {"exec": 4.0, "status": 6.0, "status --json": 6.0, "ls": 6.0}


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process (its output thrown away)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def commands(lab: str, ns: str) -> dict[str, list[str]]:
    netlab = [str(Path(PYTHON).parent / "netlab")]
    return {
        "exec": [*netlab, "exec", "-l", lab, "h1", "--", "true"],
        "status": [*netlab, "status", "-l", lab],
        "status --json": [*netlab, "status", "-l", lab, "--json"],
        "ls": [*netlab, "ls"],
        "ip netns exec": ["ip", "netns", "exec", ns, "true"],
    }


def imports(argv: list[str]) -> tuple[float, dict[str, float], set[str]]:
    """Total import time, self time per top-level package, and the heavy ones loaded."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    per: dict[str, float] = {}
    total = 0.0
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, _cumulative, name = (p.strip() for p in line.replace(":", "|", 1).split("|"))
        top = name.strip().split(".")[0]
        seconds = int(self_us) / 1e6
        per[top] = per.get(top, 0.0) + seconds
        total += seconds
    return total, per, {h for h in HEAVY if h in per}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--imports", action="store_true", help="list what each command imports")
    args = parser.parse_args()

    lab = f"start-{secrets.token_hex(3)}"
    netlab = str(Path(PYTHON).parent / "netlab")
    subprocess.run([netlab, "up", str(ROOT / "topologies" / "hello.yaml"), "--name", lab],
                   check=True, stdout=subprocess.DEVNULL)
    plain = f"{lab}-p"
    topo = Path(tempfile.mkdtemp()) / "plain.yaml"
    topo.write_text(f"name: {plain}\nnodes:\n" + "".join(f"  p{i}: {{}}\n"
                                                         for i in range(args.rounds)))
    subprocess.run([netlab, "up", str(topo)], check=True, stdout=subprocess.DEVNULL)
    try:
        cmds = commands(lab, f"netlab-{lab}-h1")
        subprocess.run(cmds["exec"], check=True)  # h1's first entry: "exec" times later ones
        firsts = iter([[netlab, "exec", "-l", plain, f"p{i}", "--", "true"]
                       for i in range(args.rounds)])
        bare = [PYTHON, "-c", "pass"]
        walls: dict[str, list[float]] = {name: [] for name in
                                         ["python -c pass", *cmds, "exec, first entry"]}
        cpus: dict[str, list[float]] = {name: [] for name in walls}
        with open("/proc/loadavg") as f:
            load_before = f.read().split()[:3]
        for _ in range(args.rounds):
            for name, argv in [*cmds.items(), ("exec, first entry", next(firsts))]:
                for label, run in (("python -c pass", bare), (name, argv)):
                    wall, cpu = timed(run)
                    walls[label].append(wall)
                    cpus[label].append(cpu)
        with open("/proc/loadavg") as f:
            load_after = f.read().split()[:3]
        base_wall = statistics.median(walls["python -c pass"])
        base_cpu = statistics.median(cpus["python -c pass"])
        print(f"{args.rounds} rounds; load average before {' '.join(load_before)}, "
              f"after {' '.join(load_after)}; {os.cpu_count()} CPUs")
        heads = ("wall ms", "cpu ms", "wall x", "cpu x", "target")
        print(f"{'command':16} " + " ".join(f"{h:>8}" for h in heads))
        for name in walls:
            wall = statistics.median(walls[name])
            cpu = statistics.median(cpus[name])
            target = f"{TARGETS[name]:.0f}x" if name in TARGETS else ""
            print(f"{name:16} {wall * 1e3:8.1f} {cpu * 1e3:8.1f} {wall / base_wall:8.2f} "
                  f"{cpu / base_cpu:8.2f} {target:>8}")
        if args.imports:
            for name, argv in cmds.items():
                if argv[0] == "ip":
                    continue
                total, per, heavy = imports(argv)
                top = sorted(per.items(), key=lambda kv: -kv[1])[:8]
                listed = ", ".join(f"{k} {v * 1e3:.1f}" for k, v in top)
                print(f"\n{name}: imports {total * 1e3:.1f} ms (self times, ms: {listed}); "
                      f"heavy: {', '.join(sorted(heavy)) or 'none'}")
    finally:
        for name in (lab, plain):
            subprocess.run([netlab, "down", "-l", name], check=False,
                           stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
