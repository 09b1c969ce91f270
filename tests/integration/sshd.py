"""A real sshd in each simulated host (simhosts.py), to drive a lab across hosts over SSH.

Each sshd runs in its host's network and mount namespaces, listens only on the host's
underlay address, and takes its host key, its authorized_keys and its config from a folder
of the test: root logs in by key only. The machine's own ssh config and service are left
alone (the client is given -F /dev/null and no known_hosts file). Every sshd ends with the
block.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from .simhosts import SimHost

SSHD = "/usr/sbin/sshd"  # absolute: sshd re-executes itself for each connection
NETLAB = str(Path(sys.executable).parent / "netlab")  # the program a --via template names

_CONFIG = """\
ListenAddress {address}:22
HostKey {host_key}
AuthorizedKeysFile {authorized_keys}
PidFile none
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel INFO
"""


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netlab-test",
                    "-f", str(path)], check=True)


def ssh_client(key: Path) -> list[str]:
    """ssh with the test's key, no user config, no known_hosts: never asks anything."""
    return ["ssh", "-F", "/dev/null", "-i", str(key), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"]


@contextlib.contextmanager
def sshd_on(hosts: dict[str, SimHost], folder: Path) -> Iterator[Path]:
    """An sshd on every host; yields the client's private key."""
    key = folder / "client_key"
    _keygen(key)
    authorized = folder / "authorized_keys"
    authorized.write_text(key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    daemons: list[subprocess.Popen[str]] = []
    try:
        for host in hosts.values():
            mine = folder / f"sshd-{host.name}"
            mine.mkdir(mode=0o700)
            _keygen(mine / "host_key")
            config = mine / "sshd_config"
            config.write_text(_CONFIG.format(address=host.address, host_key=mine / "host_key",
                                             authorized_keys=authorized))
            daemon = subprocess.Popen(
                ["nsenter", "-t", str(host.pid), "-n", "-m", "--", SSHD, "-D", "-e",
                 "-f", str(config)], stderr=subprocess.PIPE, text=True)
            daemons.append(daemon)
            assert daemon.stderr is not None
            said = []
            for line in daemon.stderr:  # -e: its log on stderr; ready when it says so
                said.append(line)
                if "Server listening on" in line:
                    break
            else:
                raise AssertionError(f"sshd on host {host.name} did not start: {said}")
        yield key
    finally:
        for daemon in daemons:
            daemon.terminate()
            daemon.wait(timeout=30)
