"""Processes inside a lab's namespaces: run a command, open a shell, stop what is inside.

Commands go through `ip netns exec`, which also remounts /sys so that /sys/class/net shows
the node's own interfaces, as a person poking at the node expects.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence

from netlab.errors import InputError
from netlab.plan.naming import NS_PREFIX

NETNS_DIR = "/run/netns"


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
    try:
        target = os.stat(os.path.join(NETNS_DIR, ns))
    except FileNotFoundError:
        return []
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue  # gone already, or a kernel thread
        if (st.st_ino, st.st_dev) == (target.st_ino, target.st_dev):
            found.append(int(entry))
    return found


def stop_all_in(namespaces: Sequence[str], grace: float = 2.0) -> int:
    """Stop every process inside these lab namespaces: SIGTERM, then SIGKILL after `grace`
    seconds. A process left inside would keep the namespace (and its cables) alive."""
    targets = [ns for ns in namespaces if ns.startswith(NS_PREFIX)]
    pids = [pid for ns in targets for pid in pids_in(ns) if pid != os.getpid()]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        if pids:
            time.sleep(0.02)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    return len(pids)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False
