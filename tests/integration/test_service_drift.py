"""A service that dies is drift: status names it, and a dead switch's MAC table is not shown
as if it were current."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from netlab.pytest_plugin import LabFactory

from .hostcheck import netlab

TOPOLOGY = """\
name: svcdrift
nodes:
  h1:
    interfaces: {eth0: {addresses: [10.71.0.1/24]}}
    services:
      idle: {run: "echo ready; exec sleep 300", ready: ready}
  h2:
    interfaces: {eth0: {addresses: [10.71.0.2/24]}}
links: [[h1:eth0, h2:eth0]]
"""


def test_a_killed_service_shows_as_drift(netlab_lab: LabFactory, tmp_path: Path) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text(TOPOLOGY)
    lab = netlab_lab(path)
    doc = lab.status()
    assert doc["drift"] == []
    [service] = doc["nodes"][0]["services"]
    assert service["running"] is True
    os.kill(service["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while lab.status()["nodes"][0]["services"][0]["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    doc = lab.status()
    assert doc["nodes"][0]["services"][0]["running"] is False
    assert doc["drift"] == [f"h1: service idle is not running (its log: netlab logs -l "
                            f"{lab.name} h1 idle)"]
    again = netlab("up", str(path), "--name", lab.name)
    assert "already up and unchanged" in again.stdout
    assert again.stderr == (f"warning: service idle of node h1 is not running; 'netlab up "
                            f"--recreate {path} --name {lab.name}' starts the lab anew\n")
