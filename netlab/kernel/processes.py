"""Processes inside a lab's namespaces: run a command, open a shell, stop what is inside.

Commands go through `ip netns exec`, which also remounts /sys so that /sys/class/net shows
the node's own interfaces, as a person poking at the node expects.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence

from netlab.errors import InputError
from netlab.values.names import NETNS_DIR, NS_PREFIX


def _ip() -> str:
    path = shutil.which("ip")
    if path is None:
        raise InputError(
            "the 'ip' command (iproute2) is not installed", hint="apt-get install iproute2"
        )
    return path


def command_in(ns: str, argv: Sequence[str]) -> list[str]:
    return [_ip(), "netns", "exec", ns, *argv]


def run(
    ns: str, argv: Sequence[str], capture: bool = False, timeout: float | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command_in(ns, argv), capture_output=capture, text=True, timeout=timeout,
        input=input, check=False,
    )


def exec_replace(ns: str, argv: Sequence[str]) -> None:
    """Become the command inside the namespace (for `netlab exec` and `netlab shell`), so
    signals, the terminal and the exit code all belong to it."""
    cmd = command_in(ns, argv)
    os.execv(cmd[0], cmd)


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
