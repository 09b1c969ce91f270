"""Ctrl-C while `up` makes the nodes' mount and UTS namespaces: the terminal signals the
whole foreground process group, helpers too. `up` must say "interrupted" (exit 130) and
leave nothing, never report the helper's KeyboardInterrupt as a failed op (exit 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .hostcheck import Host, wait_for


def _helper_running(pid: int) -> bool:
    """Whether process pid has a child making nodes' namespaces (netlab.kernel.nodehost)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return False
    for child in children:
        try:
            if b"netlab.kernel.nodehost" not in Path(f"/proc/{child}/cmdline").read_bytes():
                continue
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        # Once Python's own SIGINT handler is in (the moment a helper used to turn Ctrl-C
        # into a KeyboardInterrupt it reported as the op's failure).
        caught = int(status.split("SigCgt:")[1].split()[0], 16)
        if caught & (1 << (signal.SIGINT - 1)):
            return True
    return False


def test_ctrl_c_while_node_hosts_are_made(fresh_lab: str, tmp_path: Path) -> None:
    nodes = "".join(f"  n{k}:\n    services: {{s: {{run: sleep 60}}}}\n" for k in range(8))
    topo = tmp_path / "hosts.yaml"
    topo.write_text(f"name: hosts\nnodes:\n{nodes}")
    before = Host.of(fresh_lab)
    # Its own process group, as a shell's foreground job: killpg is the terminal's Ctrl-C.
    proc = subprocess.Popen([sys.executable, "-m", "netlab", "up", str(topo), "--name",
                             fresh_lab], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        reached = wait_for(lambda: _helper_running(proc.pid), proc, timeout=60)
        if reached:
            os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert reached, "up ended before its helper started"
    assert proc.returncode == 130, stderr
    assert stderr.splitlines()[0] == "error: interrupted", stderr
    assert "KeyboardInterrupt" not in stderr
    assert Host.of(fresh_lab) == before
