"""Processes inside a lab's namespaces, found from the kernel (the node's cgroups,
kernel/cgroups.py, and its network namespace): list them, stop them. (How a program is
started inside a node: kernel/services.node_argv.)"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass

from netlab.kernel import cgroups
from netlab.values.names import NETNS_DIR, NS_PREFIX


def pids_in(ns: str) -> list[int]:
    """Processes whose network namespace is `ns` (the same test as `ip netns pids`)."""
    return _pids_by_namespace([ns]).get(ns, [])


def _pids_by_namespace(namespaces: Sequence[str]) -> dict[str, list[int]]:
    # One pass over /proc for all namespaces: a lab of 500 nodes must not cost 500 passes.
    wanted: dict[tuple[int, int], str] = {}
    for ns in namespaces:
        try:
            st = os.stat(os.path.join(NETNS_DIR, ns))
        except FileNotFoundError:
            continue
        wanted[(st.st_ino, st.st_dev)] = ns
    found: dict[str, list[int]] = {}
    if not wanted:
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue  # gone already, or a kernel thread
        ns_name = wanted.get((st.st_ino, st.st_dev))
        if ns_name is not None:
            found.setdefault(ns_name, []).append(int(entry))
    return found


@dataclass
class Stopped:
    """What stopping a set of nodes did, as the kernel showed it."""

    terminated: int = 0  # processes that ended within the grace period
    killed: int = 0  # processes killed after it (their cgroup, or found in the namespace)
    escaped: int = 0  # of those, found in the namespace but outside its cgroup

    @property
    def total(self) -> int:
        return self.terminated + self.killed

    def __iadd__(self, other: Stopped) -> Stopped:
        self.terminated += other.terminated
        self.killed += other.killed
        self.escaped += other.escaped
        return self

    def words(self) -> str:
        """What was stopped, for `down` and `cleanup` to say."""
        said = f"{self.total} process{'es' if self.total != 1 else ''} stopped"
        if self.killed:
            said += f" ({self.killed} killed after the grace period"
            said += f", {self.escaped} outside the node's cgroup)" if self.escaped else ")"
        return said


def stop_all_in(namespaces: Sequence[str], grace: float = 2.0) -> Stopped:
    """Stop every process of these lab namespaces: SIGTERM, then after `grace` seconds
    kill their cgroups until empty, and scan the namespaces again and again for a process
    that is not in the cgroup (started by hand with `ip netns exec`). A process left inside
    would keep the namespace (and its cables) alive."""
    targets = [ns for ns in namespaces if ns.startswith(NS_PREFIX)]
    me = os.getpid()
    seen = set(_everyone(targets)) - {me}
    for pid in seen:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while seen and time.monotonic() < deadline:
        left = set(_everyone(targets)) - {me}
        if not left:
            break
        time.sleep(0.02)
    result = Stopped()
    killed: set[int] = set()
    for _ in range(100):  # bounded: a namespace cannot be entered without privilege
        for ns in cgroups.with_groups(targets):
            killed |= cgroups.kill(ns)
        strays = [p for found in _pids_by_namespace(targets).values() for p in found
                  if p != me]
        if not strays:
            break
        result.escaped += len(set(strays) - killed)
        for pid in strays:
            _signal(pid, signal.SIGKILL)
        killed |= set(strays)
        time.sleep(0.01)
    result.killed = len(killed)
    result.terminated = len(seen - killed)
    return result


def _everyone(namespaces: Sequence[str]) -> list[int]:
    in_groups = [p for ns in cgroups.with_groups(namespaces) for p in cgroups.pids(ns)]
    return in_groups + [p for found in _pids_by_namespace(namespaces).values() for p in found]


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False
