"""`netlab logs -f` ends by itself when the lab it follows is taken down: what the service
wrote is printed, one line on stderr says why it stopped, exit status 0. Ctrl-C stops it
with 130, as it stops every command."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from netlab.api import Lab

from .hostcheck import netlab

TICKER = """\
name: logs
nodes:
  a:
    services:
      ticker: {run: "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done"}
"""


def test_follow_ends_when_the_lab_goes_down(tmp_path: Path, fresh_lab: str) -> None:
    path = tmp_path / "logs.yaml"
    path.write_text(TICKER)
    lab = Lab.from_file(path, name=fresh_lab)
    lab.up()
    follow = subprocess.Popen(
        [sys.executable, "-m", "netlab", "logs", "-l", fresh_lab, "a", "ticker", "-f"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(1.5)
        netlab("down", "-l", fresh_lab)
        stdout, stderr = follow.communicate(timeout=15)
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.communicate()
    assert follow.returncode == 0, stderr
    ticks = [int(line.split()[1]) for line in stdout.splitlines() if line.startswith("tick")]
    assert ticks[:3] == [1, 2, 3] and ticks == list(range(1, len(ticks) + 1)), stdout
    assert stderr.strip() == (f"node 'a' of lab '{fresh_lab}' is gone (the lab was taken "
                              "down); stopped following"), stderr


def test_follow_stopped_by_ctrl_c_exits_130(tmp_path: Path, fresh_lab: str) -> None:
    """Ctrl-C (a real SIGINT) stops following as it stops every command: exit 130, and the
    service goes on."""
    path = tmp_path / "logs.yaml"
    path.write_text(TICKER)
    lab = Lab.from_file(path, name=fresh_lab)
    lab.up()
    follow = subprocess.Popen(
        [sys.executable, "-m", "netlab", "logs", "-l", fresh_lab, "a", "ticker", "-f"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert follow.stdout is not None
        ticks = 0
        while ticks < 3:  # lines come as the service writes them
            line = follow.stdout.readline()
            assert line, "logs -f ended by itself"
            ticks += line.startswith("tick")
        follow.send_signal(signal.SIGINT)
        _, stderr = follow.communicate(timeout=15)
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.communicate()
    assert follow.returncode == 130, stderr
    assert stderr.strip() == "error: interrupted", stderr
    assert lab.status()["drift"] == []  # the service runs on
    lab.down()
