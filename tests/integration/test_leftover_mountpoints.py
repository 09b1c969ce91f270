"""A netlab process SIGKILLed while it makes namespaces leaves its mountpoint template in
/run/netns (.netlab-mountpoint-<pid>-<n>), which `ip netns list` then shows with an error
(issue 10.9). `cleanup` removes it: only ours (the name), only when its pid is dead."""

from __future__ import annotations

import os
import subprocess

from .hostcheck import netlab

NETNS = "/run/netns"


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_cleanup_removes_the_template_of_a_dead_netlab_only(fresh_lab: str) -> None:
    os.makedirs(NETNS, exist_ok=True)
    dead = f"{NETNS}/.netlab-mountpoint-{_dead_pid()}-7"
    alive = f"{NETNS}/.netlab-mountpoint-{os.getpid()}-987654"  # this test's own pid
    # A process killed by SIGKILL after os.open(..., O_CREAT | O_EXCL) left this:
    os.close(os.open(dead, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    os.close(os.open(alive, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    try:
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
        assert os.path.basename(dead) in listed.stdout + listed.stderr  # what the user sees
        dry = netlab("cleanup", "--dry-run", "-l", fresh_lab)
        assert f"would remove mountpoint {os.path.basename(dead)}" in dry.stdout
        assert os.path.basename(alive) not in dry.stdout
        netlab("cleanup", "-l", fresh_lab)
        assert not os.path.exists(dead)
        assert os.path.exists(alive)  # its netlab may still be making namespaces
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
        assert os.path.basename(dead) not in listed.stdout + listed.stderr
    finally:
        for path in (dead, alive):
            if os.path.exists(path):
                os.unlink(path)
