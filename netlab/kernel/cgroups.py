"""The cgroups that hold what netlab runs in a node: found and stopped from the kernel.

Every process netlab starts in a node (an `exec:` command, a service, a check, `netlab
exec`) joins the node's cgroup before it execs, so every child it forks is born there and
no process inside can leave (cgroup.procs belongs to root). `down` stops a node by killing
its cgroup until it is empty; nothing a lab's processes can write (a pid file) decides what
root signals.

Layout, in the hierarchy that tracks processes:
    <root>/netlab/<namespace>/<leaf>   leaf: "run" (exec:, checks, netlab exec) or
                                       "service.<name>" (one per service)
The tracking hierarchy is a cgroup v2 one when there is one (/sys/fs/cgroup on current
distributions, /sys/fs/cgroup/unified beside v1 controllers): killed with cgroup.kill. Else
the v1 freezer: freeze, SIGKILL every task, thaw, until empty. Limits (`limits:`) go to the
node's cgroup of the v2 hierarchy, or of the v1 cpu/memory/pids hierarchies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

BASE = "netlab"  # our folder under each hierarchy's root
RUN_LEAF = "run"
CGROUP_ROOT = "/sys/fs/cgroup"
CPU_PERIOD_US = 100_000
LIMIT_CONTROLLERS = ("cpu", "memory", "pids")


@dataclass(frozen=True)
class Hierarchies:
    """Where the tracking cgroups live and how they are killed; where limits go."""

    tracking: Path  # the hierarchy's root
    version: int  # 2: cgroup.kill (or cgroup.freeze); 1: the freezer controller
    limits: dict[str, Path] = field(default_factory=dict)  # controller -> hierarchy root
    limits_version: int = 2


@dataclass(frozen=True)
class Limits:
    """A node's `limits:`: cpu in cores, memory in bytes, pids in processes."""

    cpu: float | None = None
    memory: int | None = None
    pids: int | None = None

    def any(self) -> bool:
        return any(v is not None for v in (self.cpu, self.memory, self.pids))


def _mounts() -> list[tuple[str, str, str]]:
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4:
                found.append((parts[1], parts[2], parts[3]))
    return found


@lru_cache(maxsize=1)
def detect() -> Hierarchies | None:
    """The cgroup hierarchies of this machine (None: no cgroups we can use)."""
    forced = os.environ.get("NETLAB_CGROUP_MODE", "")  # "v1": tests of the freezer path
    v2 = [Path(m) for m, fs, _ in _mounts() if fs == "cgroup2"]
    v1: dict[str, Path] = {}
    for mount, fs, opts in _mounts():
        if fs == "cgroup":
            for option in opts.split(","):
                v1.setdefault(option, Path(mount))
    v1_limits = {c: v1[c] for c in LIMIT_CONTROLLERS if c in v1}
    if v2 and forced != "v1":
        root = next((p for p in v2 if str(p) == CGROUP_ROOT), v2[0])
        controllers = _read(root / "cgroup.controllers").split()
        if all(c in controllers for c in LIMIT_CONTROLLERS) or not v1_limits:
            return Hierarchies(root, 2, {c: root for c in controllers
                                          if c in LIMIT_CONTROLLERS}, 2)
        return Hierarchies(root, 2, v1_limits, 1)
    if "freezer" in v1:
        return Hierarchies(v1["freezer"], 1, v1_limits, 1)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def node_group(ns: str) -> Path | None:
    h = detect()
    return h.tracking / BASE / ns if h else None


def service_leaf(name: str) -> str:
    return f"service.{name}"


def join_files(ns: str, leaf: str) -> list[str]:
    """The cgroup.procs files a process must write its pid into to run in the node (the
    folders made as needed): the leaf in the tracking hierarchy, and the node's limit
    cgroups of v1 hierarchies where `up` made them."""
    h = detect()
    if h is None:
        return []
    group = h.tracking / BASE / ns / leaf
    group.mkdir(parents=True, exist_ok=True)
    files = [str(group / "cgroup.procs")]
    if h.limits_version == 1:
        for root in set(h.limits.values()):
            limited = root / BASE / ns
            if limited.is_dir():
                files.append(str(limited / "cgroup.procs"))
    return files


# sh writes its own pid into each file, then becomes the command: every process netlab
# starts in a node is in the node's cgroup before the command's first instruction.
_JOIN = ('while [ "$1" != -- ]; do echo $$ > "$1" || exit 126; shift; done; shift; '
         'exec "$@"')


def wrap(argv: list[str], ns: str, leaf: str) -> list[str]:
    files = join_files(ns, leaf)
    if not files:
        return argv
    return ["/bin/sh", "-c", _JOIN, "netlab-join", *files, "--", *argv]


def set_limits(ns: str, limits: Limits) -> None:
    """Apply the node's limits to its cgroup (made here); every process of the node is
    below it, so the limits hold for all of them together."""
    h = detect()
    if h is None or not limits.any():
        return
    wanted = {"cpu": limits.cpu, "memory": limits.memory, "pids": limits.pids}
    missing = [c for c, v in wanted.items() if v is not None and c not in h.limits]
    if missing:
        raise OSError(f"this machine's cgroups have no {', '.join(missing)} controller")
    if h.limits_version == 2:
        root = h.limits["cpu" if "cpu" in h.limits else next(iter(h.limits))]
        enable = " ".join(f"+{c}" for c, v in wanted.items() if v is not None)
        for parent in (root, root / BASE):
            parent.mkdir(exist_ok=True)
            _write(parent / "cgroup.subtree_control", enable)
        group = root / BASE / ns
        group.mkdir(exist_ok=True)
        if limits.cpu is not None:
            _write(group / "cpu.max", f"{round(limits.cpu * CPU_PERIOD_US)} {CPU_PERIOD_US}")
        if limits.memory is not None:
            _write(group / "memory.max", str(limits.memory))
        if limits.pids is not None:
            _write(group / "pids.max", str(limits.pids))
        return
    for controller, value in wanted.items():
        if value is None:
            continue
        group = h.limits[controller] / BASE / ns
        group.mkdir(parents=True, exist_ok=True)
        if controller == "cpu":
            _write(group / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(group / "cpu.cfs_quota_us", str(round(float(value) * CPU_PERIOD_US)))
        elif controller == "memory":
            _write(group / "memory.limit_in_bytes", str(value))
        else:
            _write(group / "pids.max", str(value))


def limits_of(ns: str) -> dict[str, str]:
    """The limits in force on the node's cgroup, as the kernel says (for `status`)."""
    h = detect()
    if h is None:
        return {}
    shown: dict[str, str] = {}
    if h.limits_version == 2:
        group = next(iter(h.limits.values()), h.tracking) / BASE / ns
        cpu = _read(group / "cpu.max").split()
        if cpu and cpu[0] != "max":
            shown["cpu"] = f"{int(cpu[0]) / int(cpu[1]):g}"
        for key, name in (("memory", "memory.max"), ("pids", "pids.max")):
            value = _read(group / name).strip()
            if value and value != "max":
                shown[key] = value
        return shown
    for controller, root in h.limits.items():
        group = root / BASE / ns
        if not group.is_dir():
            continue
        if controller == "cpu":
            quota = _read(group / "cpu.cfs_quota_us").strip()
            period = _read(group / "cpu.cfs_period_us").strip()
            if quota and period and int(quota) > 0:
                shown["cpu"] = f"{int(quota) / int(period):g}"
        elif controller == "memory":
            value = _read(group / "memory.limit_in_bytes").strip()
            if value and int(value) < 2**62:
                shown["memory"] = value
        else:
            value = _read(group / "pids.max").strip()
            if value and value != "max":
                shown["pids"] = value
    return shown


def _groups_below(group: Path) -> list[Path]:
    """The group and every cgroup below it, deepest first (the order rmdir needs)."""
    found: list[Path] = []
    if not group.is_dir():
        return found
    for dirpath, dirnames, _ in os.walk(group, topdown=False):
        del dirnames
        found.append(Path(dirpath))
    return found


def pids(ns: str, leaf: str | None = None) -> list[int]:
    """Every process in the node's cgroup (or in one leaf of it), from the kernel."""
    group = node_group(ns)
    if group is None:
        return []
    return _pids_below(group / leaf if leaf else group)


def _pids_below(group: Path) -> list[int]:
    found: list[int] = []
    for g in _groups_below(group):
        found += [int(p) for p in _read(g / "cgroup.procs").split() if p.isdigit()]
    return found


def main_pid(ns: str, leaf: str) -> int | None:
    """The process of the leaf whose parent is not in it: the one netlab started."""
    members = set(pids(ns, leaf))
    for pid in sorted(members):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid not in members:
            return pid
    return None


def signal_all(ns: str, sig: int, leaf: str | None = None) -> list[int]:
    targets = [p for p in pids(ns, leaf) if p != os.getpid()]
    for pid in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    return targets


def kill(ns: str, leaf: str | None = None, timeout: float = 10.0) -> set[int]:
    """Kill every process of the node's cgroup (or leaf) until it is empty, then remove the
    cgroups. Returns the pids killed. A process forking as fast as it can is caught: on v2
    cgroup.kill is atomic; on v1 the freezer stops the group while its tasks are killed."""
    h = detect()
    group = node_group(ns)
    if h is None or group is None:
        return set()
    target = group / leaf if leaf else group
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        members = _pids_below(target)
        if not members:
            break
        killed |= set(members)
        if h.version == 2 and (target / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(target / "cgroup.kill", "1")
        else:
            with _frozen(h, target):
                for pid in _pids_below(target):
                    killed.add(pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    _remove(target, deadline)
    if leaf is None:
        _remove_limits(h, ns)
    return killed


@contextlib.contextmanager
def _frozen(h: Hierarchies, group: Path) -> Iterator[None]:
    """The group frozen (no task runs, so none forks) while the body signals its tasks;
    a SIGKILL is delivered when the group thaws."""
    if h.version == 2:
        control, freeze, thaw = group / "cgroup.freeze", "1", "0"
    else:
        control, freeze, thaw = group / "freezer.state", "FROZEN", "THAWED"
    try:
        _write(control, freeze)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            state = _read(group / "cgroup.events") if h.version == 2 else _read(control)
            if ("frozen 1" in state) if h.version == 2 else state.strip() == "FROZEN":
                break
            time.sleep(0.005)
    except OSError:
        pass  # no freezer there: kill in a loop all the same
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            _write(control, thaw)


def _remove(group: Path, deadline: float) -> None:
    for g in _groups_below(group):
        while True:
            try:
                g.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    break  # still busy: `cleanup` finds it later
                time.sleep(0.01)


def _remove_limits(h: Hierarchies, ns: str) -> None:
    for root in set(h.limits.values()):
        if root == h.tracking:
            continue
        with contextlib.suppress(OSError):
            (root / BASE / ns).rmdir()


def with_groups(namespaces: Iterable[str]) -> list[str]:
    """Those of `namespaces` that have a netlab cgroup, in any hierarchy: one listing of
    each hierarchy's folder, not a look per node (most nodes of a big lab run nothing)."""
    h = detect()
    if h is None:
        return []
    found: set[str] = set()
    for root in {h.tracking, *h.limits.values()}:
        with contextlib.suppress(OSError):
            found.update(os.listdir(root / BASE))
    return [ns for ns in namespaces if ns in found]


def groups() -> list[str]:
    """The namespaces that have a netlab cgroup (of any lab, crashed or not)."""
    h = detect()
    if h is None:
        return []
    roots = {h.tracking, *h.limits.values()}
    found: set[str] = set()
    for root in roots:
        with contextlib.suppress(OSError):
            found |= {p.name for p in (root / BASE).iterdir() if p.is_dir()}
    return sorted(found)
