"""The benchmark: netlab against iproute2 at its best, on generated topologies.

    sudo python3 bench/run.py --quick          # star of 100, under a minute
    sudo python3 bench/run.py                  # star/chain/grid at 10, 100, 500
    sudo python3 bench/run.py --shape star --sizes 500 1000 --rounds 5 --no-each

For each topology and size, alternating in one run, it times whole processes:
- `netlab plan --json`, `netlab up`, `netlab status --json`, `netlab status` (the table,
  piped), `netlab down` (wall time, CPU time and peak RSS of the process);
- the floor: the same objects made with `ip -batch` (one `ip -b` for namespaces and cables,
  then one `ip -n NS -b` per node), and removed with one `ip -b` of `netns del`;
- one `ip` process per command (what a shell script does).
After each `up` (netlab's or the floor's) it pauses (--pause) before measuring what comes
next, so that the kernel's own work after a build (IPv6 addrconf, DAD) weighs alike on
netlab's status and down and on the floor's down.

The first `up` of each topology is a cold one: netlab's plan cache (lab/plancache.py) does
not hold its file yet, so it loads, checks and plans it; every later round's `up` of the
same file runs from the cache. The first is reported apart ("1st up"), and "netlab up" is
the median of the others (of the one round, with --rounds 1).

It prints medians over the rounds, the ratios, and costs per node, and always tears its
labs down (an interrupted run leaves nothing; `python3 -m netlab cleanup` otherwise). CPU
time is the process's own user+system time: on a machine others use at the same time it
moves much less than wall time. It asserts nothing: figures go to bench/RESULTS.md by
hand, with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


# --- topologies ---------------------------------------------------------------------------


def star(n: int, lab: str) -> dict[str, Any]:
    """n hosts on one switch, one /16."""
    nodes: dict[str, Any] = {"sw": {"kind": "switch"}}
    links = []
    for i in range(n):
        ip = ipaddress.ip_address("10.0.0.1") + i
        nodes[f"h{i}"] = {"interfaces": {"eth0": {"addresses": [f"{ip}/16"]}}}
        links.append([f"h{i}:eth0", "sw"])
    return {"name": lab, "nodes": nodes, "links": links}


def chain(n: int, lab: str) -> dict[str, Any]:
    """n routers in a line, a /30 per cable, routes end to end (left side summarised)."""
    base = ipaddress.ip_network("10.0.0.0/8")

    def subnet(j: int) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network((int(base.network_address) + 4 * j, 30))

    nodes: dict[str, Any] = {}
    links = []
    for i in range(n):
        ifaces: dict[str, Any] = {}
        routes: list[dict[str, Any]] = []
        if i > 0:  # left cable j = i-1: this router is .2
            left = subnet(i - 1)
            ifaces["left"] = {"addresses": [f"{left.network_address + 2}/30"]}
            if i > 1:  # everything further left, summarised
                first = base.network_address
                last = subnet(i - 2).broadcast_address
                for net in ipaddress.summarize_address_range(first, last):
                    routes.append({"to": str(net), "via": str(left.network_address + 1)})
        if i < n - 1:
            right = subnet(i)
            ifaces["right"] = {"addresses": [f"{right.network_address + 1}/30"]}
            if i < n - 2:
                routes.append({"to": "default", "via": str(right.network_address + 2)})
            links.append([f"r{i}:right", f"r{i + 1}:left"])
        nodes[f"r{i}"] = {"kind": "router", "interfaces": ifaces, "routes": routes}
    return {"name": lab, "nodes": nodes, "links": links}


def grid(n: int, lab: str) -> dict[str, Any]:
    """about n hosts in a square grid, a /30 per cable to the right and below."""
    side = max(2, round(n**0.5))
    nodes: dict[str, Any] = {f"g{r}x{c}": {"interfaces": {}} for r in range(side)
                             for c in range(side)}
    links = []
    j = 0
    for r in range(side):
        for c in range(side):
            for dr, dc, a_if, b_if in ((0, 1, "e", "w"), (1, 0, "s", "n")):
                rr, cc = r + dr, c + dc
                if rr >= side or cc >= side:
                    continue
                net = ipaddress.ip_network((int(ipaddress.ip_address("10.0.0.0")) + 4 * j, 30))
                j += 1
                a, b = f"g{r}x{c}", f"g{rr}x{cc}"
                nodes[a]["interfaces"][a_if] = {"addresses": [f"{net.network_address + 1}/30"]}
                nodes[b]["interfaces"][b_if] = {"addresses": [f"{net.network_address + 2}/30"]}
                links.append([f"{a}:{a_if}", f"{b}:{b_if}"])
    return {"name": lab, "nodes": nodes, "links": links}


SHAPES: dict[str, Callable[[int, str], dict[str, Any]]] = {
    "star": star, "chain": chain, "grid": grid,
}


# --- the iproute2 scripts, from netlab's own plan ----------------------------------------


def ip_commands(topo_file: Path) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """(host-level batch, per-namespace batches, teardown batch) for the same objects.
    Devices are named after `name`/`dev`: ip takes any prefix of a keyword for the keyword
    (`ip link set n up` reads `n` as `name`; the grid's ports are n, e, s, w)."""
    sys.path.insert(0, str(ROOT))
    from netlab.plan import ops as o
    from netlab.plan.planner import plan
    from netlab.spec import load_topology

    p = plan(load_topology(topo_file).topology)
    host: list[str] = []
    per_ns: dict[str, list[str]] = {}
    for op in p.ops:
        if isinstance(op, o.CreateNamespace):
            host.append(f"netns add {op.ns}")
        elif isinstance(op, o.CreateVeth):
            host.append(f"link add name {op.ifname} netns {op.ns} type veth "
                        f"peer name {op.peer_ifname} netns {op.peer_ns}")
        elif isinstance(op, o.CreateBridge):
            per_ns.setdefault(op.ns, []).append(f"link add name {op.ifname} type bridge")
        elif isinstance(op, o.SetLink) and op.master:
            per_ns.setdefault(op.ns, []).append(f"link set dev {op.ifname} master {op.master}")
        elif isinstance(op, o.AddAddress):
            per_ns.setdefault(op.ns, []).append(
                f"addr add {op.address} dev {op.ifname}"
                + (" nodad" if ":" in op.address else "")
            )
        elif isinstance(op, o.SetLinkUp):
            per_ns.setdefault(op.ns, []).append(f"link set dev {op.ifname} up")
        elif isinstance(op, o.AddRoute):
            words = ["route add", op.to]
            if op.via:
                words.append(f"via {op.via}")
            if op.dev:
                words.append(f"dev {op.dev}")
            if op.metric is not None:
                words.append(f"metric {op.metric}")
            per_ns.setdefault(op.ns, []).append(" ".join(words))
        elif isinstance(op, o.SetSysctl):
            # `ip` writes no sysctls: the floor gets them for free (netlab does not).
            continue
    teardown = [f"netns del {ns}" for ns in p.namespaces.values()]
    return host, per_ns, teardown


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    rss_mb: float
    cpu: float = 0.0  # user + system seconds of the process itself


def timed_rss(argv: list[str]) -> Run:
    """A whole process's wall time, CPU time and peak RSS (from wait4: its own, not its
    children's)."""
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, dict(os.environ),
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed (exit {os.waitstatus_to_exitcode(status)})")
    return Run(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def _kernel_ticks() -> int:
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[3]) + int(fields[6]) + int(fields[7])  # system, irq, softirq


def settle(limit: float = 10.0) -> None:
    """Let the kernel finish freeing the devices of namespaces removed a moment ago: it does
    so in the background for seconds after `netns del` returned, and slows down whatever
    comes next (a namespace's umount waits on RCU while that work runs). Waits until system
    time is under 10% of a CPU for 0.3 s (at least 0.5 s, at most `limit`: on a machine
    others use, it may never be quiet)."""
    hz = os.sysconf("SC_CLK_TCK")
    start = time.perf_counter()
    time.sleep(0.5)
    quiet = 0
    while quiet < 3 and time.perf_counter() - start < limit:
        before = _kernel_ticks()
        time.sleep(0.1)
        quiet = quiet + 1 if (_kernel_ticks() - before) / hz < 0.01 else 0


def netlab_round(python: str, topo: Path, lab: str, pause: float) -> dict[str, Run]:
    cmd = [python, "-m", "netlab"]
    result = {"plan": timed_rss([*cmd, "plan", str(topo), "--json"])}
    result["up"] = timed_rss([*cmd, "up", str(topo)])
    time.sleep(pause)
    result["status"] = timed_rss([*cmd, "status", "-l", lab, "--json"])
    result["status_table"] = timed_rss([*cmd, "status", "-l", lab])
    result["down"] = timed_rss([*cmd, "down", "-l", lab])
    settle()
    return result


def ip_batch_round(host: list[str], per_ns: dict[str, list[str]],
                   teardown: list[str], pause: float) -> dict[str, Run]:
    start = time.perf_counter()
    subprocess.run(["ip", "-b", "-"], input="\n".join(host) + "\n", text=True, check=True)
    for ns, lines in per_ns.items():
        subprocess.run(["ip", "-n", ns, "-b", "-"], input="\n".join(lines) + "\n", text=True,
                       check=True)
    up = time.perf_counter() - start
    time.sleep(pause)
    start = time.perf_counter()
    subprocess.run(["ip", "-b", "-"], input="\n".join(teardown) + "\n", text=True, check=True)
    down = time.perf_counter() - start
    settle()
    return {"up": Run(up, 0), "down": Run(down, 0)}


def ip_each_round(host: list[str], per_ns: dict[str, list[str]],
                  teardown: list[str], pause: float) -> dict[str, Run]:
    start = time.perf_counter()
    for line in host:
        subprocess.run(["ip", *line.split()], check=True)
    for ns, lines in per_ns.items():
        for line in lines:
            subprocess.run(["ip", "-n", ns, *line.split()], check=True)
    up = time.perf_counter() - start
    time.sleep(pause)
    start = time.perf_counter()
    for line in teardown:
        subprocess.run(["ip", *line.split()], check=True)
    down = time.perf_counter() - start
    settle()
    return {"up": Run(up, 0), "down": Run(down, 0)}


def leave_nothing(python: str, lab: str, teardown: list[str]) -> None:
    """Whatever an interrupted or failed round left: the lab, and the floor's namespaces."""
    subprocess.run([python, "-m", "netlab", "down", "-l", lab], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    left = [line for line in teardown if os.path.lexists(f"/run/netns/{line.split()[-1]}")]
    if left:
        subprocess.run(["ip", "-b", "-"], input="\n".join(left) + "\n", text=True,
                       stderr=subprocess.DEVNULL, check=False)


def median(runs: list[dict[str, Run]], key: str) -> float:
    return statistics.median(r[key].seconds for r in runs)


def median_cpu(runs: list[dict[str, Run]], key: str) -> float:
    return statistics.median(r[key].cpu for r in runs)


def peak_rss(runs: list[dict[str, Run]], key: str) -> float:
    return max(r[key].rss_mb for r in runs)


def bench(shape: str, n: int, rounds: int, each: bool, python: str,
          pause: float) -> dict[str, Any]:
    lab = f"bench-{shape}-{n}"
    with tempfile.TemporaryDirectory() as tmp:
        topo = Path(tmp) / f"{lab}.yaml"
        topo.write_text(yaml.safe_dump(SHAPES[shape](n, lab), sort_keys=False))
        host, per_ns, teardown = ip_commands(topo)
        nl: list[dict[str, Run]] = []
        ipb: list[dict[str, Run]] = []
        ipe: list[dict[str, Run]] = []
        try:
            for _ in range(rounds):  # alternate, so drift in the machine hits all alike
                nl.append(netlab_round(python, topo, lab, pause))
                ipb.append(ip_batch_round(host, per_ns, teardown, pause))
                if each:
                    ipe.append(ip_each_round(host, per_ns, teardown, pause))
        finally:
            leave_nothing(python, lab, teardown)
    row: dict[str, Any] = {
        "shape": shape, "n": n, "rounds": rounds, "nodes": len(per_ns),
        "plan_s": median(nl, "plan"),
        # The first up is the plan cache's miss, the others its hits: never one median.
        "netlab_up_first_s": nl[0]["up"].seconds, "netlab_up_first_cpu_s": nl[0]["up"].cpu,
        "netlab_up_s": median(nl[1:] or nl, "up"), "netlab_status_s": median(nl, "status"),
        "netlab_status_table_s": median(nl, "status_table"),
        "netlab_down_s": median(nl, "down"), "netlab_up_rss_mb": peak_rss(nl, "up"),
        "plan_rss_mb": peak_rss(nl, "plan"),
        "plan_cpu_s": median_cpu(nl, "plan"), "netlab_up_cpu_s": median_cpu(nl[1:] or nl, "up"),
        "netlab_status_cpu_s": median_cpu(nl, "status"),
        "netlab_down_cpu_s": median_cpu(nl, "down"),
        "ip_batch_up_s": median(ipb, "up"), "ip_batch_down_s": median(ipb, "down"),
        "all_up_s": [r["up"].seconds for r in nl],
        "all_floor_up_s": [r["up"].seconds for r in ipb],
    }
    if each:
        row["ip_each_up_s"] = median(ipe, "up")
        row["ip_each_down_s"] = median(ipe, "down")
    return row


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(), "kernel": platform.release(),
        "python": platform.python_version(),
        "iproute2": subprocess.run(["ip", "-V"], capture_output=True, text=True,
                                   check=False).stdout.strip(),
        "load_before": os.getloadavg(),
    }


def report(rows: list[dict[str, Any]]) -> None:
    print("\n'netlab up': the median of the warm ups (the plan cache's hits); '1st up': the "
          "first, cold one (its miss)")
    print(f"\n{'topology':<12}{'1st up':>8}{'netlab up':>10}{'floor up':>10}{'ratio':>7}"
          f"{'each up':>9}"
          f"{'×each':>7}{'down':>7}{'floor dn':>9}{'status':>8}{'st.tbl':>8}{'plan':>7}"
          f"{'RSS MB':>8}{'ms/node':>9}")
    for r in rows:
        each = r.get("ip_each_up_s")
        print(
            f"{r['shape'] + ' ' + str(r['n']):<12}{r['netlab_up_first_s']:>8.2f}"
            f"{r['netlab_up_s']:>10.2f}"
            f"{r['ip_batch_up_s']:>10.2f}{r['netlab_up_s'] / r['ip_batch_up_s']:>7.2f}"
            f"{(each or 0):>9.2f}{(each / r['netlab_up_s']) if each else 0:>7.1f}"
            f"{r['netlab_down_s']:>7.2f}{r['ip_batch_down_s']:>9.2f}"
            f"{r['netlab_status_s']:>8.2f}{r['netlab_status_table_s']:>8.2f}{r['plan_s']:>7.2f}"
            f"{r['netlab_up_rss_mb']:>8.0f}{1000 * r['netlab_up_s'] / r['n']:>9.2f}"
        )
    print("\nCPU seconds (user+sys) of the netlab processes, medians:")
    print(f"{'topology':<12}{'plan':>7}{'1st up':>7}{'up':>7}{'status':>8}{'down':>7}")
    for r in rows:
        print(f"{r['shape'] + ' ' + str(r['n']):<12}{r['plan_cpu_s']:>7.2f}"
              f"{r['netlab_up_first_cpu_s']:>7.2f}{r['netlab_up_cpu_s']:>7.2f}{r['netlab_status_cpu_s']:>8.2f}"
              f"{r['netlab_down_cpu_s']:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="star of 100, 3 rounds")
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append")
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pause", type=float, default=1.0,
                        help="seconds to wait after each up before the next measurement")
    parser.add_argument("--no-each", action="store_true",
                        help="skip one-ip-process-per-command (slow at large N)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the benchmark builds real namespaces: run it as root")
    python = sys.executable
    shapes = args.shape or (["star"] if args.quick else ["star", "chain", "grid"])
    sizes = args.sizes or ([100] if args.quick else [10, 100, 500])
    info = machine()
    print(f"machine: {info}", file=sys.stderr)
    rows = []
    for shape in shapes:
        for n in sizes:
            print(f"{shape} {n} ...", file=sys.stderr, flush=True)
            rows.append(bench(shape, n, args.rounds, not args.no_each, python, args.pause))
            if args.json:  # as we go: a long run interrupted keeps what it measured
                args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=1))
    report(rows)


if __name__ == "__main__":
    main()
