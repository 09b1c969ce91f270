"""Mininet's own examples, ported to netlab (examples/mininet/), run as a user runs them:
linearbandwidth.py, treeping64.py (the tree topology), linuxrouter.py and bind.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "mininet"


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done.stdout


def test_linearbandwidth(fresh_lab: str) -> None:
    out = run("linearbandwidth.py", "--sizes", "1,4", "--seconds", "0.3", "--name", fresh_lab)
    assert "h1 -> h2: ok" in out and "h1 -> h5: ok" in out
    rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "4"]
    assert all(float(row[1]) > 0 for row in rows)


def test_treeping(fresh_lab: str) -> None:
    out = run("treeping64.py", "--depth", "2", "--fanout", "4", "--name", fresh_lab)
    assert "16 hosts" in out
    assert "Results: 0% dropped (240/240 received)" in out


def test_linuxrouter(fresh_lab: str) -> None:
    out = run("linuxrouter.py", "--name", fresh_lab)
    for route in ("10.0.0.0/8 dev r0-eth3", "172.16.0.0/12 dev r0-eth2",
                  "192.168.1.0/24 dev r0-eth1"):
        assert route in out
    assert "all 6 checks passed" in out


def test_bind(fresh_lab: str) -> None:
    out = run("bind.py", "--hosts", "3", "--name", fresh_lab)
    for host in ("h1", "h2", "h3"):
        assert f"{host} reads ['{host}', '{host}'] from /var/log and /var/run" in out
    assert "the machine's own /var/log and /var/run hold the file: False" in out
    assert "the check passed" in out
