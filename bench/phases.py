"""Where the time of one netlab command goes: wall and CPU time per phase, in-process.

    sudo python3 bench/phases.py up topo.yaml          # then: status -l LAB, down -l LAB
    sudo python3 bench/phases.py --profile 25 status -l LAB --json

It runs `netlab ARGS` inside this process (cli.main), with the functions below wrapped to
sum the time spent in them (inclusive: a phase contains the phases it calls). Python's own
start (~0.1 s) is not in it; "imports" is what importing netlab.ui.cli and netlab.api
costs. "sys s" is the kernel's part of a phase's CPU time (system time of this process;
os.times() counts in ticks of 10 ms). --profile N adds cProfile's top N functions by
cumulative time (slower overall).
"""

from __future__ import annotations

import time

T0 = time.perf_counter()
C0 = time.process_time()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import importlib  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# module: attribute (dotted inside the module) - the name as the caller looks it up.
PHASES = [
    ("netlab.api", "load_topology", "load + validate the file"),
    ("netlab.spec.load", "_render", "  Jinja2 render"),
    ("netlab.spec.load", "yamltree.parse", "  YAML parse"),
    ("netlab.spec.load", "Topology.model_validate", "  pydantic"),
    ("netlab.spec.load", "validate.check", "  cross-checks"),
    ("netlab.api", "Lab.attach", "read the lab's record"),
    ("netlab.api", "plan", "plan"),
    ("netlab.api", "apply", "apply (journal + kernel)"),
    ("netlab.kernel.netlink", "NetlinkKernel._create_namespaces", "  namespaces"),
    ("netlab.kernel.netlink", "NetlinkKernel._netlink_batch", "  netlink batches"),
    ("netlab.kernel.netlink", "NetlinkKernel._delete_namespaces", "  namespaces removed"),
    ("netlab.kernel.services", "ProcessOpsKernel._make_hosts",
     "  nodes' mount and UTS namespaces: started, or promised (lazy)"),
    ("netlab.kernel.nodehost", "start", "    helpers started"),
    ("netlab.kernel.nodehost", "promise", "    lazy nodes' promises written"),
    ("netlab.kernel.services", "ProcessOpsKernel.collect",
     "  nodes' mount and UTS namespaces: waited for"),
    ("netlab.kernel.services", "ProcessOpsKernel._unpin_all",
     "  nodes' mount and UTS namespaces unpinned"),
    ("netlab.kernel.processes", "stop_all_in", "  stop processes in doomed namespaces"),
    ("netlab.kernel.lab_kernel", "wait_until_passing", "  wait until the links pass packets"),
    ("netlab.state.store", "LabState.write_meta", "  lab.json written"),
    ("netlab.state.store", "LabState.begin", "  journal: begin lines"),
    ("netlab.state.store", "LabState.done", "  journal: done lines"),
    ("netlab.state.store", "LabState.undone", "  journal: undone lines"),
    ("netlab.state.store", "LabState.entries", "  journal read"),
    ("netlab.lab.teardown_journal", "teardown_journal", "teardown"),
    ("netlab.lab.status_doc", "lab_status", "status document"),
    ("netlab.kernel.dumps", "read_node", "  links, addresses, routes, qdiscs (kernel/dumps)"),
    ("json", "dumps", "JSON output"),
    ("netlab.ui.render", "status_view", "status table built"),
    ("rich.console", "Console.print", "rich printing"),
]


class Clock:
    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.sys: dict[str, float] = {}  # the kernel's part of cpu (system time)
        self.calls: dict[str, int] = {}
        self.depth: dict[str, int] = {}

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            # Recursion (or a wrapper reached twice) counts once, at the outermost call.
            outer = self.depth.get(label, 0) == 0
            self.depth[label] = self.depth.get(label, 0) + 1
            w, c, k = time.perf_counter(), time.process_time(), os.times().system
            try:
                return fn(*args, **kwargs)
            finally:
                self.depth[label] -= 1
                if outer:
                    self.wall[label] = self.wall.get(label, 0.0) + time.perf_counter() - w
                    self.cpu[label] = self.cpu.get(label, 0.0) + time.process_time() - c
                    self.sys[label] = self.sys.get(label, 0.0) + os.times().system - k
                    self.calls[label] = self.calls.get(label, 0) + 1

        return timed


def install(clock: Clock) -> None:
    for module, attr, label in PHASES:
        try:
            owner: Any = importlib.import_module(module)
            *path, name = attr.split(".")
            for part in path:
                owner = getattr(owner, part)
            if isinstance(owner, type):  # the raw attribute: staticmethod, classmethod...
                fn = next(k.__dict__[name] for k in owner.__mro__ if name in k.__dict__)
            else:
                fn = getattr(owner, name)
        except (ImportError, AttributeError, StopIteration):
            continue  # not in this version of netlab
        if isinstance(fn, (staticmethod, classmethod)):
            setattr(owner, name, type(fn)(clock.wrap(label, fn.__func__)))
        elif callable(fn):
            setattr(owner, name, clock.wrap(label, fn))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=int, metavar="N", default=0)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="netlab's arguments")
    opts = parser.parse_args()
    w, c = time.perf_counter(), time.process_time()
    import netlab.api  # noqa: F401
    import netlab.ui.cli as cli

    imports = (time.perf_counter() - w, time.process_time() - c)
    clock = Clock()
    install(clock)
    profiler = None
    if opts.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    w, c = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(opts.args)
    run = (time.perf_counter() - w, time.process_time() - c)
    if profiler is not None:
        profiler.disable()
    total = (time.perf_counter() - T0, time.process_time() - C0)
    print(f"netlab {' '.join(opts.args)}  (exit {code})")
    print(f"{'phase':<48}{'wall s':>8}{'cpu s':>8}{'calls':>7}{'sys s':>8}")
    print(f"{'imports (netlab.ui.cli, netlab.api)':<48}{imports[0]:>8.3f}{imports[1]:>8.3f}")
    print(f"{'command (cli.main)':<48}{run[0]:>8.3f}{run[1]:>8.3f}")
    for _module, _attr, label in PHASES:
        if label in clock.wall:
            print(f"{label:<48}{clock.wall[label]:>8.3f}{clock.cpu[label]:>8.3f}"
                  f"{clock.calls[label]:>7}{clock.sys[label]:>8.3f}")
    print(f"{'total in this process':<48}{total[0]:>8.3f}{total[1]:>8.3f}")
    if profiler is not None:
        import pstats

        pstats.Stats(profiler).sort_stats("cumulative").print_stats(opts.profile)


if __name__ == "__main__":
    main()
