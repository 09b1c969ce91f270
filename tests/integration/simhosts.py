"""Hosts simulated as namespaces, for the tests of labs across hosts (docs/multi-host.md).

Each host is a process holding a network namespace and a mount namespace of its own; in
that mount namespace, /run is an empty tmpfs (with netns/, netlab/ and sshd/ made in it), so
each host has its own namespaces and its own lab records, as a separate machine would, and
an sshd of its own can run there (sshd.py). The hosts are joined by an
underlay: a veth pair (two hosts) made straight into their namespaces, 10.77.0.0/24 (never
the real host's network). A command runs on a host through `nsenter`; the --via template
`nsenter --net={dir}/{host}/net --mount={dir}/{host}/mnt -- {cmd}` reaches each by name
(`{dir}/NAME` is a link to the holder's /proc/PID/ns). When the holders end, their mount
namespaces go, and with them every mount and namespace of the hosts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

UNDERLAY = "10.77.0"  # the hosts' underlay addresses: 10.77.0.1, .2, ...
VENV_BIN = str(Path(sys.executable).parent)

_HOLD = (
    "set -e; mount -t tmpfs -o mode=0755 netlab-sim /run; "
    "mkdir -m 0755 /run/netns /run/netlab /run/sshd; "
    "ip link set lo up; echo ready; exec sleep 100000"
)


@dataclass
class SimHost:
    name: str
    address: str
    proc: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def run(self, argv: Sequence[str], input: str | None = None,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        """A command on this host (its network and mount namespaces)."""
        cmd = ["nsenter", "-t", str(self.pid), "-n", "-m", "--", *argv]
        return subprocess.run(cmd, input=input, capture_output=True, text=True, check=check,
                              timeout=120, env=env())

    def netlab(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "netlab", *args], input=input)

    def netns(self) -> list[str]:
        return sorted(self.run(["ls", "/run/netns"], check=True).stdout.split())

    def links(self) -> list[str]:
        out = self.run(["ip", "-o", "link", "show"], check=True).stdout
        return sorted(line.split(": ")[1].split("@")[0] for line in out.splitlines())


def env() -> dict[str, str]:
    """The environment of netlab on a simulated host: this venv's netlab first on PATH."""
    return {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


def via(folder: Path) -> str:
    return f"nsenter --net={folder}/{{host}}/net --mount={folder}/{{host}}/mnt -- {{cmd}}"


@contextlib.contextmanager
def sim_hosts(names: Sequence[str], folder: Path) -> Iterator[dict[str, SimHost]]:
    """Two hosts joined by an underlay veth pair; everything goes when the block ends."""
    assert len(names) == 2
    hosts: dict[str, SimHost] = {}
    try:
        for k, name in enumerate(names, 1):
            proc = subprocess.Popen(
                ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", _HOLD],
                stdout=subprocess.PIPE, text=True,
            )
            hosts[name] = SimHost(name, f"{UNDERLAY}.{k}", proc)
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            os.symlink(f"/proc/{proc.pid}/ns", folder / name)
        a, b = (hosts[n] for n in names)
        subprocess.run(["ip", "link", "add", "u0", "netns", str(a.pid), "type", "veth",
                        "peer", "name", "u0", "netns", str(b.pid)], check=True)
        for host in hosts.values():
            host.run(["ip", "addr", "add", f"{host.address}/24", "dev", "u0"], check=True)
            host.run(["ip", "link", "set", "u0", "up"], check=True)
        yield hosts
    finally:
        for host in hosts.values():
            host.proc.send_signal(signal.SIGKILL)
            host.proc.wait()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(folder / host.name)


def real_host_mounts() -> list[str]:
    """The mounts of the real host that a simulated host could have left (its tmpfs)."""
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if "netlab-sim" in line]
