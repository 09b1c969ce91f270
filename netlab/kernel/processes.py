"""Processes inside a lab's namespaces, found from the kernel: list them, stop them.
(How a program is started inside a node: kernel/services.node_argv.)"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Sequence

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


def stop_all_in(namespaces: Sequence[str], grace: float = 2.0) -> int:
    """Stop every process inside these lab namespaces: SIGTERM, then SIGKILL after `grace`
    seconds. A process left inside would keep the namespace (and its cables) alive."""
    targets = [ns for ns in namespaces if ns.startswith(NS_PREFIX)]
    by_ns = _pids_by_namespace(targets)
    pids = [pid for found in by_ns.values() for pid in found if pid != os.getpid()]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if alive(pid)]
        if pids:
            time.sleep(0.02)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    return sum(len(found) for found in by_ns.values())


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
